/**
 * The shared base of every semi-supervised method that trains encoder + classifier head on labeled and
 * unlabeled batches at once (pseudo-labeling, FixMatch). A method says which views of the unlabeled batch it
 * needs and how to score them; the step lives here once: one forward pass over [labeled weak view, unlabeled
 * views] (one batch, so batch-norm statistics see both, as in FixMatch), supervised cross-entropy on the
 * labeled part, `lambdaU` times the method's unlabeled loss, L2 weight decay, separate Adam rates for head and
 * encoder (a pretrained encoder moves slower; both in EncoderHeadStep, shared with the supervised trainers), and
 * an EMA of the weights for evaluation.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Rng } from '../engine/seed.js';
import { UlearnError } from '../errors.js';
import type { AugmentLike, ImageShape } from '../ssl/types.js';
import { EncoderHeadStep } from '../train/step.js';
import { WeightEma } from './ema.js';
import { checkThreshold } from './validate.js';

export interface SemiMethodOptions {
  /** Maps [N, H, W, C] to [N, D] features: a fresh encoder (from scratch) or a self-supervised one. */
  encoder: tfl.LayersModel;
  /** Maps [N, D] to [N, classes] logits. */
  head: tfl.LayersModel;
  inputShape: ImageShape;
  nClasses: number;
  /** Weak view (flip + translate): labeled batches, and the pseudo-label source. */
  weak: AugmentLike;
  /** Strong view (RandAugment + cutout); FixMatch needs it. */
  strong?: AugmentLike;
  /** Confidence a pseudo-label must reach to count, in (0, 1]. Default 0.95 (FixMatch). */
  threshold?: number;
  /** Weight of the unlabeled loss. Default 1. */
  lambdaU?: number;
  /** Head learning rate (Adam). Default 2e-3. */
  lr?: number;
  /** Encoder learning rate as a fraction of lr: 1 from scratch, lower for a pretrained encoder. Default 1. */
  encoderLrScale?: number;
  /** L2 penalty on kernels. Default 5e-4 (FixMatch). */
  weightDecay?: number;
  /** EMA decay of the evaluation weights; 0 turns the EMA off. Default 0.999 (FixMatch). */
  emaDecay?: number;
}

export interface SemiStepStats {
  loss: number;
  lossLabeled: number;
  lossUnlabeled: number;
  /** Share of unlabeled samples whose pseudo-label passed the threshold. */
  maskRate: number;
}

/** What a method's unlabeled loss returns: the loss (a scalar) and the 0/1 mask (for the statistics). */
export interface UnlabeledLoss {
  loss: tf.Scalar;
  mask: tf.Tensor1D;
}

export abstract class SemiMethod {
  abstract readonly name: string;
  readonly encoder: tfl.LayersModel;
  readonly head: tfl.LayersModel;
  readonly inputShape: ImageShape;
  readonly nClasses: number;
  readonly threshold: number;
  readonly lambdaU: number;
  protected readonly weak: AugmentLike;
  protected readonly strong: AugmentLike | undefined;
  private readonly update: EncoderHeadStep;
  readonly ema: WeightEma | undefined;

  constructor(o: SemiMethodOptions) {
    this.encoder = o.encoder;
    this.head = o.head;
    this.inputShape = o.inputShape;
    this.nClasses = o.nClasses;
    this.threshold = checkThreshold(o.threshold ?? 0.95);
    this.lambdaU = o.lambdaU ?? 1;
    this.weak = o.weak;
    this.strong = o.strong;
    const lr = o.lr ?? 2e-3;
    const scale = o.encoderLrScale ?? 1;
    if (!(scale >= 0 && scale <= 1)) throw new UlearnError(`encoderLrScale must be in [0, 1], got ${scale}`, { code: 'E_CONFIG' });
    this.update = new EncoderHeadStep({ encoder: o.encoder, head: o.head, lrHead: lr, lrEncoder: lr * scale, weightDecay: o.weightDecay ?? 5e-4 });
    const decay = o.emaDecay ?? 0.999;
    this.ema = decay > 0 ? new WeightEma([o.encoder, o.head], decay) : undefined;
  }

  /** The views of the unlabeled batch this method scores (the caller owns them). */
  abstract unlabeledViews(xu: tf.Tensor4D, rng: Rng): tf.Tensor4D[];

  /** The unlabeled loss from the logits of each view (same order as unlabeledViews); must be differentiable. */
  abstract unlabeledLoss(logits: tf.Tensor2D[]): UnlabeledLoss;

  /** Called after each step's update with the step's pseudo-label statistics (class balancing hooks in here). */
  protected afterStep(_pseudo: Int32Array, _mask: Float32Array): void {}

  logits(x: tf.Tensor4D, training: boolean): tf.Tensor2D {
    return this.head.apply(this.encoder.apply(x, { training }), { training }) as tf.Tensor2D;
  }

  /** One optimizer step on a labeled batch (xl, yl) and an unlabeled batch xu. Leaves no tensors behind. */
  trainStep(xl: tf.Tensor4D, yl: Int32Array, xu: tf.Tensor4D, rng: Rng): SemiStepStats {
    const nl = xl.shape[0];
    const nu = xu.shape[0];
    const out = tf.tidy(() => {
      const views = [this.weak.apply(xl, rng), ...this.unlabeledViews(xu, rng)];
      const target = tf.oneHot(tf.tensor1d(yl, 'int32'), this.nClasses);
      let parts: tf.Tensor[] = [];
      let mask: tf.Tensor1D | undefined;
      let pseudo: tf.Tensor1D | undefined;
      const value = this.update.step(() => {
        const all = this.logits(tf.concat(views, 0) as tf.Tensor4D, true);
        const pieces = tf.split(all, [nl, ...views.slice(1).map(() => nu)], 0) as tf.Tensor2D[];
        const lossX = tf.losses.softmaxCrossEntropy(target, pieces[0]) as tf.Scalar;
        const u = this.unlabeledLoss(pieces.slice(1));
        mask = tf.keep(u.mask);
        pseudo = tf.keep(tf.argMax(pieces[1], 1) as tf.Tensor1D);
        parts = [tf.keep(lossX), tf.keep(u.loss)];
        return tf.add(lossX, tf.mul(this.lambdaU, u.loss)) as tf.Scalar;
      });
      return { value, parts, mask: mask!, pseudo: pseudo! };
    });
    const loss = out.value.dataSync()[0];
    const [lossLabeled, lossUnlabeled] = out.parts.map((t) => t.dataSync()[0]);
    const mask = out.mask.dataSync() as Float32Array;
    const pseudo = out.pseudo.dataSync() as Int32Array;
    tf.dispose([out.value, ...out.parts, out.mask, out.pseudo]);
    if (!Number.isFinite(loss)) throw new UlearnError(`${this.name}: loss became ${loss}`, { code: 'E_DIVERGED', hint: 'lower the learning rate' });
    this.ema?.update();
    this.afterStep(pseudo, mask);
    return { loss, lossLabeled, lossUnlabeled, maskRate: mask.reduce((a, b) => a + b, 0) / Math.max(1, mask.length) };
  }

  /** Puts the EMA weights into the model (for evaluation and saving); a no-op without EMA. */
  useEmaWeights(): void {
    this.ema?.swap();
  }

  /** Frees optimizers and the EMA; encoder and head stay (they are the product). */
  dispose(): void {
    this.update.dispose();
    this.ema?.dispose();
  }
}

/**
 * Confidence-masked cross-entropy of `logits` against the argmax of `source`. No gradient flows into `source`
 * (tfjs has no stopGradient, and needs none here): the target is a one-hot of an argmax and the mask a
 * comparison, and both have zero gradient.
 */
export function maskedPseudoLabelLoss(source: tf.Tensor2D, logits: tf.Tensor2D, threshold: number, sampleWeights?: tf.Tensor1D): UnlabeledLoss {
  return tf.tidy(() => {
    const probs = tf.softmax(source);
    const conf = tf.max(probs, 1) as tf.Tensor1D;
    const pseudo = tf.argMax(probs, 1);
    const mask = tf.cast(tf.greaterEqual(conf, threshold), 'float32') as tf.Tensor1D;
    const weights = sampleWeights ? tf.mul(mask, sampleWeights) : mask;
    const ce = tf.neg(tf.sum(tf.mul(tf.oneHot(pseudo, logits.shape[1]), tf.logSoftmax(logits)), 1));
    // Mean over all unlabeled samples, not only the masked ones (FixMatch): fewer confident samples, smaller loss.
    const loss = tf.mean(tf.mul(ce, weights)) as tf.Scalar;
    return { loss, mask };
  });
}
