/**
 * The few shapes src/ssl shares. `AugmentLike` is structural on purpose: src/augment's `Augment` satisfies it,
 * and tests can pass a three-line stand-in without src/ssl importing (and so depending on) a specific preset.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../engine/seed.js';

/** Anything that turns a batch into a randomly transformed batch of the same shape (one draw per call). */
export interface AugmentLike {
  apply(batch: tf.Tensor4D, rng: Rng): tf.Tensor4D;
}

/** [H, W, C] of one image. */
export type ImageShape = [number, number, number];
