/**
 * Pseudo-labeling (Lee 2013) as online self-training: the model's own confident predictions on weakly
 * augmented unlabeled images are its targets on those same views. Two things keep it from collapsing onto the
 * easy classes:
 * - a confidence threshold (only predictions at least this sure count);
 * - class balancing: each pseudo-labeled sample is weighted by (1/K) / p_c, where p_c is a running average of
 *   how often class c is pseudo-labeled (FreeMatch-style fairness, in its simplest form), clipped to [0.2, 5] so
 *   one rare early prediction cannot dominate a batch.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../engine/seed.js';
import { maskedPseudoLabelLoss, SemiMethod, type SemiMethodOptions, type UnlabeledLoss } from './method.js';

export interface PseudoLabelOptions extends SemiMethodOptions {
  /** Reweight pseudo-labels so every class counts equally. Default true. */
  classBalance?: boolean;
  /** Momentum of the running class frequencies. Default 0.99. */
  balanceMomentum?: number;
}

export class PseudoLabel extends SemiMethod {
  readonly name = 'pseudo-label';
  /** Running share of confident pseudo-labels per class, starting uniform. */
  readonly classFrequency: Float64Array;
  private readonly classBalance: boolean;
  private readonly momentum: number;

  constructor(o: PseudoLabelOptions) {
    super({ ...o, threshold: o.threshold ?? 0.95 });
    this.classBalance = o.classBalance ?? true;
    this.momentum = o.balanceMomentum ?? 0.99;
    this.classFrequency = new Float64Array(o.nClasses).fill(1 / o.nClasses);
  }

  unlabeledViews(xu: tf.Tensor4D, rng: Rng): tf.Tensor4D[] {
    return [this.weak.apply(xu, rng)];
  }

  /** Per-class weights (1/K)/p_c, clipped to [0.2, 5]. */
  classWeights(): Float32Array {
    const k = this.nClasses;
    return Float32Array.from(this.classFrequency, (p) => Math.min(5, Math.max(0.2, 1 / (k * Math.max(p, 1e-6)))));
  }

  unlabeledLoss([logits]: tf.Tensor2D[]): UnlabeledLoss {
    if (!this.classBalance) return maskedPseudoLabelLoss(logits, logits, this.threshold);
    const { loss, mask } = tf.tidy(() => {
      // Each sample's weight is its predicted class's. Picked with a one-hot product, not tf.gather: the
      // indices come from the taped logits, and tfjs's gather gradient refuses int32 indices on that path.
      const perClass = tf.tensor2d(this.classWeights(), [1, this.nClasses]);
      const w = tf.sum(tf.mul(tf.oneHot(tf.argMax(logits, 1), this.nClasses), perClass), 1) as tf.Tensor1D;
      return maskedPseudoLabelLoss(logits, logits, this.threshold, w) as unknown as tf.NamedTensorMap;
    });
    return { loss: loss as tf.Scalar, mask: mask as tf.Tensor1D };
  }

  protected override afterStep(pseudo: Int32Array, mask: Float32Array): void {
    const counts = new Float64Array(this.nClasses);
    let total = 0;
    for (let i = 0; i < pseudo.length; i++) {
      if (mask[i] > 0) {
        counts[pseudo[i]]++;
        total++;
      }
    }
    if (total === 0) return;
    for (let c = 0; c < this.nClasses; c++) this.classFrequency[c] = this.momentum * this.classFrequency[c] + (1 - this.momentum) * (counts[c] / total);
  }
}
