/**
 * MaxPoolGrad for the wasm backend when windows tile the input exactly (filter == stride, no padding, sizes
 * divisible), the shape every CNN here uses. The built-in kernel loops in JS (92 ms for 128x32x32x32);
 * this composition of XNNPACK/wasm kernels takes 46 ms:
 *   mask = (x == upsample(y)), count = windowSum(mask), dx = mask * upsample(dy / count).
 * Ties (e.g. a window of ReLU zeros) share the gradient equally instead of all of it going to the first
 * maximum: the total per window is the same, and both are valid subgradients.
 * Other window shapes run the `cpu` backend's kernel on copied data: tfjs-backend-wasm 4.22's own
 * MaxPoolGrad loses gradient for overlapping windows (3x3 stride 1 'same': window sums 286 instead of 288),
 * and a correct slow path beats a fast wrong one for shapes we do not use in our models.
 */
import { findBackend, getKernel, type KernelBackend, type KernelConfig, type KernelFunc, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';
import { cachedScalar, composed } from './scope.js';

function asPair(v: unknown): [number, number] | undefined {
  if (typeof v === 'number') return [v, v];
  if (Array.isArray(v) && v.length === 2) return [v[0], v[1]];
  return undefined;
}


/** Runs the cpu backend's MaxPoolGrad on copies of the inputs and writes the result back to `backend`. */
function onCpuBackend(args: Parameters<KernelFunc>[0]): TensorInfo {
  const backend = args.backend as KernelBackend;
  const cpu = findBackend('cpu') as KernelBackend | null;
  const kernel = getKernel('MaxPoolGrad', 'cpu');
  if (!cpu || !kernel) throw new Error('MaxPoolGrad: this window shape needs the cpu backend, which is not registered');
  const copies: TensorInfo[] = [];
  const copy = (t: TensorInfo): TensorInfo => {
    const c = { dataId: cpu.write(backend.readSync(t.dataId) as Float32Array, t.shape, t.dtype), shape: t.shape, dtype: t.dtype };
    copies.push(c);
    return c;
  };
  const { dy, input, output } = args.inputs as Record<string, TensorInfo>;
  const out = kernel.kernelFunc({ inputs: { dy: copy(dy), input: copy(input), output: copy(output) }, backend: cpu, attrs: args.attrs }) as TensorInfo;
  const values = cpu.readSync(out.dataId) as Float32Array;
  for (const t of [...copies, out]) cpu.disposeData(t.dataId);
  return { dataId: backend.write(values, out.shape, out.dtype), shape: out.shape, dtype: out.dtype };
}

export function makeMaxPoolGrad(): KernelFunc {
  return (args) => {
    const { dy, input, output } = args.inputs as Record<string, TensorInfo>;
    const attrs = (args.attrs ?? {}) as NamedAttrMap;
    const f = asPair(attrs.filterSize);
    const s = asPair(attrs.strides);
    const [, H, W] = input.shape;
    const tiles =
      f && s && f[0] === s[0] && f[1] === s[1] && (attrs.pad === 'valid' || attrs.pad === 'same' || attrs.pad === 0) &&
      input.shape.length === 4 && H % f[0] === 0 && W % f[1] === 0 && input.dtype === 'float32';
    if (!tiles) return onCpuBackend(args);
    const backend = args.backend as KernelBackend;
    return composed(backend, 'wasm', (k) => {
      const up = { alignCorners: false, halfPixelCenters: false, size: [H, W] };
      const yUp = k.run('ResizeNearestNeighbor', { images: output }, up);
      const mask = k.run('Cast', { x: k.run('Equal', { a: input, b: yUp }) }, { dtype: 'float32' });
      const meanMask = k.run('AvgPool', { x: mask }, { filterSize: f, strides: f, pad: 'valid' });
      const count = k.run('Multiply', { a: meanMask, b: cachedScalar(backend, f[0] * f[1]) });
      const share = k.run('RealDiv', { a: dy, b: count });
      return k.run('Multiply', { a: mask, b: k.run('ResizeNearestNeighbor', { images: share }, up) });
    });
  };
}

export const maxPoolGradConfig: KernelConfig = { kernelName: 'MaxPoolGrad', backendName: 'wasm', kernelFunc: makeMaxPoolGrad() };

