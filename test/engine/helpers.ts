import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/backend.js';
import { Rng } from '../../src/engine/seed.js';
import { loadNative } from '../../src/engine/native.js';

export async function useWasm(): Promise<void> {
  await initBackend('wasm', { threads: 2 });
}

/**
 * The engines kernel tests run on: wasm always, native (wasm + oneDNN kernels) where the add-on loads. Where
 * it does not, NATIVE_SKIP says why, and tests that need it skip with that reason (CI sets
 * ULEARN_REQUIRE_NATIVE=1 and test/engine/native.test.ts then fails instead).
 */
export const NATIVE_SKIP: string | undefined = loadNative().why;
export const ENGINES: Array<'wasm' | 'native'> = NATIVE_SKIP ? ['wasm'] : ['wasm', 'native'];

/** Switches the wasm backend's kernels to `engine`'s. oneDNN on one thread: its results do not vary by run. */
export async function useEngine(engine: 'wasm' | 'native'): Promise<void> {
  await useWasm();
  await initBackend(engine, { threads: 2 });
  if (engine === 'native') loadNative().addon!.setThreads(1);
}

/** Runs `fn` with the `cpu` backend active (the pure-JS reference), then switches back to wasm. */
export async function onCpu<T>(fn: () => T): Promise<T> {
  await tf.setBackend('cpu');
  try {
    return fn();
  } finally {
    await tf.setBackend('wasm');
  }
}

export function randomArray(rng: Rng, n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal();
  return a;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length mismatch ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** Runs a kernel by name on the active backend and returns its values. */
export function runKernel(name: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, unknown>): Float32Array {
  const out = tf.engine().runKernel(name, inputs, attrs as tf.NamedAttrMap) as tf.Tensor;
  const v = out.dataSync() as Float32Array;
  out.dispose();
  return v;
}
