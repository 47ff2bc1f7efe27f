/**
 * Composing new wasm kernels out of the backend's own (XNNPACK-backed) kernels.
 *
 * A kernel function receives TensorInfos, not Tensors, and must not call tf ops (that would record on the
 * gradient tape and allocate through the engine). So we call other registered kernels' functions directly,
 * and free every intermediate ourselves: `KernelScope` remembers what it made and disposes all of it except
 * the result. Shape-only kernels (Reshape) share data by reference count, so disposing each once is right.
 */
import { getKernel, type KernelBackend, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';
import { UlearnError } from '../../errors.js';

export type Inputs = Record<string, TensorInfo> | TensorInfo[];

export class KernelScope {
  private readonly made: TensorInfo[] = [];
  constructor(
    readonly backend: KernelBackend,
    readonly backendName: string,
  ) {}

  /** Runs the registered kernel `name` of this backend; its output is freed at `finish` unless returned. */
  run(name: string, inputs: Inputs, attrs: NamedAttrMap = {}): TensorInfo {
    const kernel = getKernel(name, this.backendName);
    if (!kernel) throw new UlearnError(`kernel '${name}' is not registered for backend '${this.backendName}'`, { code: 'E_KERNEL' });
    const out = kernel.kernelFunc({ inputs: inputs as unknown as Record<string, TensorInfo>, backend: this.backend, attrs });
    if (Array.isArray(out)) throw new Error(`kernel '${name}' returned several outputs; KernelScope.run expects one`);
    this.made.push(out);
    return out;
  }

  reshape(x: TensorInfo, shape: number[]): TensorInfo {
    return this.run('Reshape', { x }, { shape });
  }

  transpose(x: TensorInfo, perm: number[]): TensorInfo {
    return this.run('Transpose', { x }, { perm });
  }

  /** Zero padding, `paddings` per axis as [before, after]. Skips the copy when all are zero. */
  pad(x: TensorInfo, paddings: Array<[number, number]>): TensorInfo {
    if (paddings.every(([a, b]) => a === 0 && b === 0)) return x;
    return this.run('PadV2', { x }, { paddings, constantValue: 0 });
  }

  /** Frees every intermediate except `result`, and returns `result`. */
  finish(result: TensorInfo): TensorInfo {
    for (const t of this.made) if (t !== result) this.backend.disposeData(t.dataId);
    this.made.length = 0;
    return result;
  }

  /** Frees everything (on error paths). */
  dispose(): void {
    for (const t of this.made) this.backend.disposeData(t.dataId);
    this.made.length = 0;
  }
}

/** Runs `body` in a scope, freeing intermediates on success and on error. */
export function composed(backend: KernelBackend, backendName: string, body: (s: KernelScope) => TensorInfo): TensorInfo {
  const s = new KernelScope(backend, backendName);
  try {
    return s.finish(body(s));
  } catch (e) {
    s.dispose();
    throw e;
  }
}

export function unsupported(kernel: string, what: string, supported: string): never {
  throw new UlearnError(`${kernel}: unsupported ${what}`, { code: 'E_KERNEL_ATTR', hint: `supported: ${supported}` });
}

/**
 * A float32 scalar owned by the backend and kept for the process (kernels need constants as TensorInfos;
 * caching avoids a write per call). Keyed per backend instance.
 */
const scalarCache = new WeakMap<KernelBackend, Map<number, TensorInfo>>();
export function cachedScalar(backend: KernelBackend, value: number): TensorInfo {
  let byValue = scalarCache.get(backend);
  if (!byValue) scalarCache.set(backend, (byValue = new Map()));
  let s = byValue.get(value);
  if (!s) {
    s = { dataId: backend.write(new Float32Array([value]), [], 'float32'), shape: [], dtype: 'float32' };
    byValue.set(value, s);
  }
  return s;
}
