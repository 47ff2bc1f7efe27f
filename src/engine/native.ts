/**
 * The native add-on (native/, oneDNN through N-API): loading it, and running its primitives in place on the
 * wasm backend's heap. tfjs-backend-wasm keeps every tensor in one WebAssembly.Memory; the add-on receives a
 * Float32Array view over it plus element offsets, so no tensor is ever copied between JS, wasm and C++.
 *
 * The add-on is optional: where it is not built (no compiler, no libdnnl-dev) or ULEARN_NATIVE=0, `loadNative`
 * says why and ulearn runs on plain wasm.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type { KernelBackend, TensorInfo } from '@tensorflow/tfjs-core';
import { UlearnError } from '../errors.js';

export interface NativeInfo {
  version: string;
  isa: string;
  threads: number;
  plans: number;
}

/** The add-on's surface (native/src/addon.cc documents each parameter block). */
export interface NativeAddon {
  conv(heap: Float32Array, params: Int32Array): void;
  matmul(heap: Float32Array, params: Int32Array): void;
  bnForward(heap: Float32Array, params: Int32Array, epsilon: number): void;
  bnBackward(heap: Float32Array, params: Int32Array, epsilon: number): void;
  pool(heap: Float32Array, params: Int32Array): void;
  adam(heap: Float32Array, params: Int32Array, lr: number, beta1: number, beta2: number, epsilon: number, c1: number, c2: number): void;
  setThreads(n: number): void;
  clearPlans(): void;
  info(): NativeInfo;
}

export type NativeLoad = { addon: NativeAddon; why?: undefined } | { addon?: undefined; why: string };

/** native/build/Release/ulearn_native.node, from src/engine (tsx) or dist/engine (built). */
export function addonPath(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return path.resolve(here, '../../native/build/Release/ulearn_native.node');
}

let loaded: NativeLoad | undefined;

/** Loads the add-on once; `why` says, in a few words, why it is not available. */
export function loadNative(): NativeLoad {
  if (loaded) return loaded;
  const env = process.env.ULEARN_NATIVE;
  if (env !== undefined && ['0', 'false', 'off', 'no'].includes(env.toLowerCase())) {
    return (loaded = { why: `native kernels switched off by ULEARN_NATIVE=${env}` });
  }
  const file = addonPath();
  if (!existsSync(file)) return (loaded = { why: 'native add-on not built (run scripts/setup.sh)' });
  // oneDNN's OpenMP threads share the cores with the wasm backend's thread pool, which runs every op between
  // two native calls. libgomp's default spin-wait after each parallel region takes those cores from it (and
  // on a busy machine made 2 threads 2x slower than PASSIVE, measured); it must be set before libgomp loads.
  process.env.OMP_WAIT_POLICY ??= 'PASSIVE';
  try {
    const addon = createRequire(import.meta.url)(file) as NativeAddon;
    addon.info();
    return (loaded = { addon });
  } catch (e) {
    // Typically libdnnl.so.2 missing at run time (the package was removed after the build).
    const first = String((e as Error).message ?? e).split('\n')[0];
    return (loaded = { why: `native add-on failed to load: ${first}` });
  }
}

/** The wasm backend's internals the native kernels use (not in its public typings). */
export interface WasmInternals extends KernelBackend {
  wasm: { HEAPF32: Float32Array };
  dataIdMap: { get(dataId: object): { memoryOffset: number; refCount: number } | undefined };
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
}

let view: Float32Array | undefined;

/**
 * A Float32Array over the whole wasm heap. Growing the heap replaces Emscripten's HEAPF32 (and, for a shared
 * memory, its buffer), so the view is remade whenever the buffer changed: a stale one would not cover tensors
 * allocated after the growth. Call it after allocating the outputs.
 */
export function heapView(backend: WasmInternals): Float32Array {
  const buffer = backend.wasm.HEAPF32.buffer;
  if (view?.buffer !== buffer) view = new Float32Array(buffer);
  return view;
}

/** Element offset of a tensor in the wasm heap. */
export function offsetOf(backend: WasmInternals, t: TensorInfo): number {
  const d = backend.dataIdMap.get(t.dataId);
  if (!d) throw new Error('native kernel: tensor has no data on the wasm backend');
  return d.memoryOffset / 4;
}

/** Runs an add-on call, turning a oneDNN failure into a UlearnError that carries oneDNN's status. */
export function callNative(kernel: string, fn: () => void): void {
  try {
    fn();
  } catch (e) {
    const status = (e as { status?: number }).status;
    throw new UlearnError(`${kernel}: native kernel failed: ${(e as Error).message}`, {
      code: 'E_NATIVE',
      cause: e,
      hint:
        status !== undefined
          ? `oneDNN status ${status}; rerun with --backend wasm (or ULEARN_NATIVE=0) to use the wasm kernels`
          : 'rerun with --backend wasm (or ULEARN_NATIVE=0) to use the wasm kernels',
    });
  }
}
