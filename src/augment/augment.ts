/**
 * The Augment contract and the one helper every built-in op is made with.
 *
 * Why batched: a 28x28 image is ~800 floats, so per-image tfjs calls would cost far more in dispatch than in
 * arithmetic (256 images x 6 ops x 2 views = 3000 calls a step). Every op here draws its per-sample parameters
 * on the JS side from `rng` (a few numbers per image), passes them as small tensors and runs one kernel (or a
 * short fixed chain of kernels) per batch.
 *
 * Why `applyWhere`: `randomApply` and `randomSubset` decide per sample whether an op runs. Built-in ops take
 * that decision as a mask, run on the whole batch and keep the result only where the mask is set (the
 * bit-exact `selectSamples`), so a composed pipeline is still one pass per op per batch.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../engine/seed.js';
import { UlearnError } from '../errors.js';

/** A closed interval [lo, hi] a per-sample parameter is drawn from uniformly. */
export type Range = readonly [number, number];

export interface Augment {
  /** Short name for logs and error messages. */
  readonly name: string;
  /**
   * Returns a new batch (NHWC float32 in [0, 1], same shape). Never disposes `batch`; the caller disposes the
   * result. Draws every random number from `rng`, so the same seed gives the same output.
   */
  apply(batch: tf.Tensor4D, rng: Rng): tf.Tensor4D;
  /** Like `apply`, but samples whose `active[i]` is false come back unchanged. Optional: see `applyWhere`. */
  applyWhere?(batch: tf.Tensor4D, rng: Rng, active: readonly boolean[]): tf.Tensor4D;
}

/** What an op needs to say about itself; `defineOp` turns it into an Augment. */
export interface OpSpec<P> {
  name: string;
  /** Per-sample probability of applying the op. */
  p: number;
  /**
   * Draws the parameters for all `n` samples (typed arrays, numbers). Called outside tf.tidy and always for the
   * whole batch, so how many numbers are drawn never depends on which samples are active.
   */
  draw(rng: Rng, shape: readonly [number, number, number, number]): P;
  /** The batched kernel: transforms every sample with its parameters. Runs inside tf.tidy. */
  run(x: tf.Tensor4D, params: P): tf.Tensor4D;
}

export function assertProb(p: number, what: string): void {
  if (!(p >= 0 && p <= 1)) throw new UlearnError(`${what}: probability p must be in [0, 1], got ${p}`, { code: 'E_AUGMENT' });
}

export function assertRange(r: Range, what: string, min = -Infinity, max = Infinity): void {
  const ok = Array.isArray(r) && r.length === 2 && Number.isFinite(r[0]) && Number.isFinite(r[1]) && r[0] <= r[1];
  if (!ok || r[0] < min || r[1] > max) {
    throw new UlearnError(`${what}: expected a range [lo, hi] with ${min} <= lo <= hi <= ${max}, got ${JSON.stringify(r)}`, {
      code: 'E_AUGMENT',
    });
  }
}

export function assertBatch(x: tf.Tensor, what: string): asserts x is tf.Tensor4D {
  if (x.rank !== 4 || x.dtype !== 'float32') {
    throw new UlearnError(`${what}: expected a float32 NHWC batch (rank 4), got ${x.dtype} of shape [${x.shape.join(', ')}]`, {
      code: 'E_AUGMENT',
      hint: 'augmentations take images scaled to [0, 1] as a float32 tensor [batch, height, width, channels]',
    });
  }
}

/** Uniform draw in [lo, hi]. */
export function uniform(rng: Rng, r: Range): number {
  return r[0] + (r[1] - r[0]) * rng.random();
}

/** n uniform draws in [lo, hi] as a Float32Array (ready for tf.tensor). */
export function uniforms(rng: Rng, n: number, r: Range): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = uniform(rng, r);
  return out;
}

/**
 * Per-sample select: sample i of the result is y[i] where active[i], else x[i], bit-exact for finite values.
 * Written as y*m + x*(1-m) with a float [n,1,1,1] mask, not tf.where: where broadcasts its condition with
 * Tile, which on wasm costs ~20 ms for 256 28x28 images against ~1 ms for the two broadcast multiplies.
 */
export function selectSamples(active: readonly boolean[], y: tf.Tensor4D, x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const m = tf.tensor4d(Float32Array.from(active, Number), [active.length, 1, 1, 1]);
    return tf.add(tf.mul(y, m), tf.mul(x, tf.sub(1, m)));
  });
}

/** Runs `op` on the samples marked active, passing the rest through; works for ops without `applyWhere`. */
export function applyWhere(op: Augment, x: tf.Tensor4D, rng: Rng, active: readonly boolean[]): tf.Tensor4D {
  if (op.applyWhere) return op.applyWhere(x, rng, active);
  if (!active.some(Boolean)) return tf.clone(x);
  const y = op.apply(x, rng);
  if (active.every(Boolean)) return y;
  const out = selectSamples(active, y, x);
  y.dispose();
  return out;
}

/** Builds an Augment from an OpSpec: draws the p-flags, then the parameters, then runs one batched kernel. */
export function defineOp<P>(spec: OpSpec<P>): Augment {
  assertProb(spec.p, spec.name);
  const applyMasked = (x: tf.Tensor4D, rng: Rng, on: readonly boolean[]): tf.Tensor4D => {
    assertBatch(x, spec.name);
    if (on.length !== x.shape[0]) {
      throw new UlearnError(`${spec.name}: mask has ${on.length} entries for a batch of ${x.shape[0]}`, { code: 'E_AUGMENT' });
    }
    // rng.random() is evaluated for every sample (before &&), so the stream does not depend on the mask.
    const active = on.map((a) => rng.random() < spec.p && a);
    const params = spec.draw(rng, x.shape);
    if (!active.some(Boolean)) return tf.clone(x);
    return tf.tidy(() => {
      const y = spec.run(x, params);
      if (y === x) return tf.clone(x); // never hand the caller its own input to dispose
      return active.every(Boolean) ? y : selectSamples(active, y, x);
    });
  };
  return {
    name: spec.name,
    apply: (x, rng) => applyMasked(x, rng, new Array<boolean>(x.shape[0]).fill(true)),
    applyWhere: applyMasked,
  };
}
