/**
 * View transforms: what turns one batch into the views a self-supervised method scores (lightly's
 * `SimCLRTransform` plays this part). They live apart from the methods so that one method runs on any
 * modality's views (SimCLR's NT-Xent scores two augmented images and SCARF's row + corrupted row alike) and
 * the trainer, not the method, owns the randomness: a transform draws only from the `rng` it is handed.
 *
 * The transforms of each method are in its own file (`maskedPixelViews`, `scarfViews`); the registry picks
 * a method's default (`createSSLViews`).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../engine/seed.js';
import { UlearnError } from '../errors.js';
import type { AugmentLike } from './types.js';

/** One batch [N, ...sample] → the views of it; the caller owns (and disposes) the result. */
export type ViewTransform = (batch: tf.Tensor, rng: Rng) => tf.Tensor[];

/** Two independent augmentations of the batch: the joint-embedding methods' views (SimCLR, VICReg, Barlow Twins). */
export function twoViews(augment: AugmentLike | undefined, method = 'this method'): ViewTransform {
  if (!augment) throw new UlearnError(`${method} needs an augment to make its two views`, { code: 'E_CONFIG', hint: 'pass augment (e.g. simclrAugment)' });
  return (batch, rng) => tf.tidy(() => [augment.apply(batch as tf.Tensor4D, rng), augment.apply(batch as tf.Tensor4D, rng)]);
}
