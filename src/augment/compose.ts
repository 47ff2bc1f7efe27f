/**
 * Combinators. All of them keep the per-sample masks flowing into built-in ops (`applyWhere`), so a composed
 * pipeline is still one kernel per op per batch, and all of them draw from one `rng` in a fixed order.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../engine/seed.js';
import { UlearnError } from '../errors.js';
import { applyWhere, assertBatch, assertProb, type Augment } from './augment.js';

function allOn(x: tf.Tensor4D): boolean[] {
  return new Array<boolean>(x.shape[0]).fill(true);
}

/** Leaves the batch unchanged (returns a copy the caller may dispose). */
export const identity = (): Augment => ({ name: 'identity', apply: (x) => tf.clone(x), applyWhere: (x) => tf.clone(x) });

/** Runs the ops in order; intermediate batches are freed as it goes. */
export function compose(...ops: Augment[]): Augment {
  const run = (x: tf.Tensor4D, rng: Rng, active: readonly boolean[]): tf.Tensor4D => {
    assertBatch(x, 'compose');
    // tidy frees each intermediate batch; the inputs of the first op (the caller's batch) are not touched.
    return tf.tidy(() => ops.reduce((cur, op) => applyWhere(op, cur, rng, active), tf.clone(x)));
  };
  return {
    name: `compose(${ops.map((o) => o.name).join(', ')})`,
    apply: (x, rng) => run(x, rng, allOn(x)),
    applyWhere: run,
  };
}

/** Applies `op` to each sample with probability p (e.g. SimCLR's colour jitter with p = 0.8). */
export function randomApply(op: Augment, p: number): Augment {
  assertProb(p, 'randomApply');
  const run = (x: tf.Tensor4D, rng: Rng, active: readonly boolean[]): tf.Tensor4D => {
    // Always one draw per sample, so the stream does not depend on the incoming mask.
    const mine = active.map((a) => rng.random() < p && a);
    return applyWhere(op, x, rng, mine);
  };
  return { name: `randomApply(${op.name}, ${p})`, apply: (x, rng) => run(x, rng, allOn(x)), applyWhere: run };
}

/**
 * RandAugment's selection: every sample gets `n` distinct ops of the list, chosen independently per sample.
 * The chosen ops run in list order (not a random order): each op then stays one masked kernel per batch.
 */
export function randomSubset(ops: Augment[], n: number): Augment {
  if (!Number.isInteger(n) || n < 0 || n > ops.length) {
    throw new UlearnError(`randomSubset: n must be an integer in [0, ${ops.length}], got ${n}`, { code: 'E_AUGMENT' });
  }
  const run = (x: tf.Tensor4D, rng: Rng, active: readonly boolean[]): tf.Tensor4D => {
    assertBatch(x, 'randomSubset');
    const chosen = ops.map(() => new Array<boolean>(x.shape[0]).fill(false));
    active.forEach((a, i) => {
      // Partial Fisher-Yates: the first n entries of a random permutation.
      const order = ops.map((_, j) => j);
      for (let k = 0; k < n; k++) {
        const j = k + rng.int(ops.length - k);
        [order[k], order[j]] = [order[j], order[k]];
        if (a) chosen[order[k]][i] = true;
      }
    });
    return tf.tidy(() => ops.reduce((cur, op, j) => applyWhere(op, cur, rng, chosen[j]), tf.clone(x)));
  };
  return { name: `randomSubset(${n} of ${ops.length})`, apply: (x, rng) => run(x, rng, allOn(x)), applyWhere: run };
}

/**
 * `count` independently augmented views of the same batch (SimCLR/VICReg use 2). The copies are stacked into
 * one batch of count*n so every op runs once, not `count` times, then split; each copy draws its own
 * per-sample parameters, so the views are independent.
 */
export function views(aug: Augment, batch: tf.Tensor4D, rng: Rng, count = 2): tf.Tensor4D[] {
  assertBatch(batch, 'views');
  if (!Number.isInteger(count) || count < 1) throw new UlearnError(`views: count must be a positive integer, got ${count}`, { code: 'E_AUGMENT' });
  return tf.tidy(() => {
    const stacked = count === 1 ? batch : tf.concat(new Array<tf.Tensor4D>(count).fill(batch), 0);
    const out = aug.apply(stacked, rng);
    return count === 1 ? [out] : tf.split(out, count, 0);
  });
}
