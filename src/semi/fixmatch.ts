/**
 * FixMatch (Sohn et al. 2020): the model's prediction on a weakly augmented unlabeled image becomes a hard
 * pseudo-label when its confidence reaches the threshold (0.95), and the model is trained to predict that label
 * on a strongly augmented view of the same image. Unlabeled batches are mu times the labeled batch (the
 * trainer draws them); evaluation uses the EMA weights. Works from scratch or from a self-supervised encoder
 * (pass it as `encoder` with encoderLrScale < 1, as USB and SimCLRv2 do).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../engine/seed.js';
import { UlearnError } from '../errors.js';
import { maskedPseudoLabelLoss, SemiMethod, type SemiMethodOptions, type UnlabeledLoss } from './method.js';

export class FixMatch extends SemiMethod {
  readonly name = 'fixmatch';

  constructor(o: SemiMethodOptions) {
    super(o);
    if (!o.strong) throw new UlearnError('fixmatch needs a strong augment (e.g. strongAugment)', { code: 'E_CONFIG' });
  }

  unlabeledViews(xu: tf.Tensor4D, rng: Rng): tf.Tensor4D[] {
    return tf.tidy(() => [this.weak.apply(xu, rng), this.strong!.apply(xu, rng)]);
  }

  unlabeledLoss([weakLogits, strongLogits]: tf.Tensor2D[]): UnlabeledLoss {
    return maskedPseudoLabelLoss(weakLogits, strongLogits, this.threshold);
  }
}
