/**
 * Sum and Mean over every axis but the last (per-channel reductions: BatchNorm statistics and gradients,
 * bias gradients), as one XNNPACK average pooling over a [1, M, 1, C] view. The built-in kernels transpose
 * first and take 6.7 ms for 256x28x28x16; the pooling takes 0.4 ms and agrees to float32 rounding.
 * Other reductions go to the built-in kernels.
 */
import { util, type KernelBackend, type KernelConfig, type KernelFunc, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';
import { cachedScalar, composed } from './scope.js';



export function channelReduceConfig(kernelName: 'Sum' | 'Mean', builtin: KernelFunc): KernelConfig {
  return {
    kernelName,
    backendName: 'wasm',
    kernelFunc: (args) => {
      const { x } = args.inputs as Record<string, TensorInfo>;
      const attrs = (args.attrs ?? {}) as NamedAttrMap;
      const rank = x.shape.length;
      const axes = rank > 0 ? util.parseAxisParam(attrs.axis as number | number[], x.shape) : [];
      const allButLast = rank >= 2 && axes.length === rank - 1 && [...axes].sort((a, b) => a - b).every((a, i) => a === i);
      if (!allButLast || x.dtype !== 'float32' || x.shape.some((d) => d === 0)) return builtin(args);
      const C = x.shape[rank - 1];
      const M = util.sizeFromShape(x.shape) / C;
      const outShape = attrs.keepDims ? [...x.shape.slice(0, -1).map(() => 1), C] : [C];
      const backend = args.backend as KernelBackend;
      return composed(backend, 'wasm', (s) => {
        const mean = s.run('AvgPool', { x: s.reshape(x, [1, M, 1, C]) }, { filterSize: [M, 1], strides: [1, 1], pad: 'valid' });
        const out = kernelName === 'Sum' ? s.run('Multiply', { a: mean, b: cachedScalar(backend, M) }) : mean;
        return s.reshape(out, outShape);
      });
    },
  };
}
