/**
 * Tile for the wasm backend when it only broadcasts (every tiled axis has size 1), as in the BatchNorm
 * gradient, which tiles [1,1,1,C] to [N,H,W,C] several times per layer. The built-in Tile copies element by
 * element (55 ms for 64x28x28x16); Fill + broadcasting Add does the same in a few ms.
 * Real tiling (repeating a dimension larger than 1) goes to the built-in kernel.
 */
import type { KernelBackend, KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { composed } from './scope.js';

export function tileConfig(builtin: KernelFunc): KernelConfig {
  return {
    kernelName: 'Tile',
    backendName: 'wasm',
    kernelFunc: (args) => {
      const { x } = args.inputs as Record<string, TensorInfo>;
      const reps = ((args.attrs ?? {}) as NamedAttrMap).reps as number[];
      const broadcastOnly = x.dtype === 'float32' && reps.length === x.shape.length && reps.every((r, i) => r === 1 || x.shape[i] === 1);
      if (!broadcastOnly) return builtin(args);
      const shape = x.shape.map((d, i) => d * reps[i]);
      return composed(args.backend as KernelBackend, 'wasm', (s) =>
        s.run('Add', { a: s.run('Fill', {}, { shape, value: 0, dtype: 'float32' }), b: x }),
      );
    },
  };
}
