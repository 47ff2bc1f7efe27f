/**
 * Identity, and Cast to the dtype a tensor already has, for the wasm backend: both share the input's data (one
 * more reference) where the built-ins copy it, as tfjs' cpu backend shares it. tfjs-core clones through
 * Identity every tensor it saves for the backward pass (a conv's input and filter, a ReLU's input, ...), and
 * the ReLU gradient casts its float32 mask to float32: about 480 + 16 full copies per SimCLR step of ResNet
 * 16-32-64, 9% of the step on native (per-kernel timing at 1 thread: Identity 415 -> 3 ms over 4 steps).
 * Tensors are immutable, so sharing is safe; the one in-place writer, the native fused Adam, already refuses
 * a variable whose data is shared (fused-adam.ts). Strings and real casts keep the built-in kernels.
 */
import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';

interface RefCounted {
  incRef(dataId: object): void;
}

function shared(args: Parameters<KernelFunc>[0]): TensorInfo {
  const { x } = args.inputs as Record<string, TensorInfo>;
  (args.backend as unknown as RefCounted).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

export function identityConfig(builtin: KernelFunc): KernelConfig {
  return {
    kernelName: 'Identity',
    backendName: 'wasm',
    kernelFunc: (args) => ((args.inputs as Record<string, TensorInfo>).x.dtype === 'string' ? builtin(args) : shared(args)),
  };
}

export function castConfig(builtin: KernelFunc): KernelConfig {
  return {
    kernelName: 'Cast',
    backendName: 'wasm',
    kernelFunc: (args) => {
      const { x } = args.inputs as Record<string, TensorInfo>;
      const dtype = ((args.attrs ?? {}) as NamedAttrMap).dtype;
      return x.dtype === dtype && x.dtype !== 'string' ? shared(args) : builtin(args);
    },
  };
}
