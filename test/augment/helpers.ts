/** Shared fixtures for the src/augment tests: backend start, tiny images, leak and range checks. */
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../../src/engine/seed.js';
import type { Augment } from '../../src/augment/index.js';

// Backend start and the cpu cross-check are shared with the engine tests.
export { onCpu, useWasm } from '../engine/helpers.js';

/** A [n, h, w, c] batch from nested numbers or a flat list. */
export function batch(values: number[], shape: [number, number, number, number]): tf.Tensor4D {
  return tf.tensor4d(values, shape);
}

/** Uniform [0, 1) pixels from a seed (plain JS, so the input does not depend on tfjs's RNG). */
export function randomBatch(seed: number, shape: [number, number, number, number]): tf.Tensor4D {
  const rng = new Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor4d(Float32Array.from({ length: n }, () => rng.random()), shape);
}

/** Applies `aug` and returns its values, disposing the output. */
export function run(aug: Augment, x: tf.Tensor4D, seed = 1): Float32Array {
  const y = aug.apply(x, new Rng(seed));
  assert.deepEqual(y.shape, x.shape, `${aug.name} changed the shape`);
  const v = y.dataSync() as Float32Array;
  y.dispose();
  return v;
}

export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-6, what = ''): void {
  assert.equal(actual.length, expected.length, `${what} length`);
  for (let i = 0; i < actual.length; i++) {
    if (!(Math.abs(actual[i] - expected[i]) <= tol)) {
      assert.fail(`${what} [${i}]: got ${actual[i]}, expected ${expected[i]} (tol ${tol})`);
    }
  }
}

/** Fails if `fn` leaves tensors behind. */
export function assertNoLeak(fn: () => void, what: string): void {
  const before = tf.memory().numTensors;
  fn();
  assert.equal(tf.memory().numTensors, before, `${what} leaked ${tf.memory().numTensors - before} tensors`);
}

export function assertInUnitRange(v: ArrayLike<number>, what: string): void {
  for (let i = 0; i < v.length; i++) {
    if (!(v[i] >= 0 && v[i] <= 1)) assert.fail(`${what}: value ${v[i]} at ${i} outside [0, 1]`);
  }
}

/** Reflect index as tf.mirrorPad 'reflect' (no edge repeat): -1 -> 1, n -> n - 2. */
export function reflect(i: number, n: number): number {
  if (i < 0) return -i;
  if (i >= n) return 2 * (n - 1) - i;
  return i;
}
