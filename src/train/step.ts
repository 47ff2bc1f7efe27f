/**
 * The one gradient step every supervised and semi-supervised trainer takes on an encoder + classifier head:
 * gradients of (objective + penalty) by variableGrads, then separate Adam optimizers for the head and the
 * encoder, so a pretrained encoder can move slower than the fresh head (SimCLR's fine-tuning, LP-FT) and a zero
 * encoder rate freezes it. fitClassifier (images), fitTabular (rows) and SemiMethod (pseudo-label, FixMatch)
 * differ only in the objective they hand to `step`, and in how they regularise (`regularizer`):
 * - 'l2' (from scratch): weightDecay · Σ w² over every kernel, in the loss (coupled, as in FixMatch).
 * - 'l2-sp' (fine-tuning, Li et al. 2018): weightDecay · Σ (w − w₀)², toward the weights the step started
 *   from (the pretrained encoder, the probe-initialised head), so the penalty keeps what pretraining learned
 *   instead of pulling it toward zero.
 * - 'decoupled' (AdamW, Loshchilov & Hutter 2019): w ← w − lr · weightDecay · w after each Adam update,
 *   outside the loss and the Adam moments.
 * Biases and batch-norm scales (rank ≤ 1) are never regularised.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { UlearnError } from '../errors.js';

export const REGULARIZERS = ['l2', 'l2-sp', 'decoupled'] as const;
export type Regularizer = (typeof REGULARIZERS)[number];

export interface EncoderHeadStepOptions {
  encoder: tfl.LayersModel;
  head: tfl.LayersModel;
  /** Adam rate of the head. */
  lrHead: number;
  /** Adam rate of the encoder; 0 freezes it (no gradients are taken for it). */
  lrEncoder: number;
  /** Strength of the regularizer on every kernel (variables of rank > 1). */
  weightDecay: number;
  /** Default 'l2'. */
  regularizer?: Regularizer;
}

/** The penalty in the loss, split by where it falls (0 for 'decoupled', whose decay is not in the loss). */
export interface PenaltyTerms {
  encoder: number;
  head: number;
}

export class EncoderHeadStep {
  /** What the step differentiates: the encoder's variables (unless frozen), then the head's. */
  readonly vars: tf.Variable[];
  readonly regularizer: Regularizer;
  private readonly headVars: tf.Variable[];
  private readonly encoderVars: tf.Variable[];
  private readonly optHead: tf.Optimizer;
  private readonly optEncoder: tf.Optimizer | undefined;
  private readonly weightDecay: number;
  private readonly lrHead: number;
  private readonly lrEncoder: number;
  /** L2-SP's anchors: each regularised kernel's value when the step was built, by variable name. */
  private readonly anchors = new Map<string, tf.Tensor>();

  constructor(o: EncoderHeadStepOptions) {
    if (!(o.lrHead > 0)) throw new UlearnError(`head learning rate must be positive, got ${o.lrHead}`, { code: 'E_CONFIG' });
    if (!(o.lrEncoder >= 0)) throw new UlearnError(`encoder learning rate must be ≥ 0, got ${o.lrEncoder}`, { code: 'E_CONFIG' });
    if (!(o.weightDecay >= 0)) throw new UlearnError(`weight decay must be ≥ 0, got ${o.weightDecay}`, { code: 'E_CONFIG' });
    this.regularizer = o.regularizer ?? 'l2';
    if (!REGULARIZERS.includes(this.regularizer)) {
      throw new UlearnError(`unknown regularizer '${String(this.regularizer)}'`, { code: 'E_CONFIG', hint: `choose one of: ${REGULARIZERS.join(', ')}` });
    }
    // LayerVariable.read() is typed Tensor but returns the backing tf.Variable, which variableGrads needs.
    const vars = (m: tfl.LayersModel) => m.trainableWeights.map((w) => w.read() as tf.Variable);
    this.headVars = vars(o.head);
    this.encoderVars = o.lrEncoder > 0 ? vars(o.encoder) : [];
    this.vars = [...this.encoderVars, ...this.headVars];
    this.optHead = tf.train.adam(o.lrHead);
    this.optEncoder = o.lrEncoder > 0 ? tf.train.adam(o.lrEncoder) : undefined;
    this.weightDecay = o.weightDecay;
    this.lrHead = o.lrHead;
    this.lrEncoder = o.lrEncoder;
    if (this.regularizer === 'l2-sp') for (const v of this.vars.filter(isKernel)) this.anchors.set(v.name, tf.keep(v.clone()));
  }

  /** The penalty the loss carries for `vs` (a scalar under the caller's tidy). */
  private penalty(vs: tf.Variable[]): tf.Scalar {
    const kernels = vs.filter(isKernel);
    if (this.regularizer === 'decoupled' || this.weightDecay === 0 || kernels.length === 0) return tf.scalar(0);
    const sq = kernels.map((v) => tf.sum(tf.square(this.regularizer === 'l2-sp' ? tf.sub(v, this.anchors.get(v.name)!) : v)));
    return tf.mul(this.weightDecay, tf.addN(sq));
  }

  /** The regularised loss and its gradient for every variable in `vars` (by name); the caller disposes both. */
  gradients(objective: () => tf.Scalar): { value: tf.Scalar; grads: tf.NamedTensorMap } {
    return tf.variableGrads(() => tf.add(objective(), this.penalty(this.vars)) as tf.Scalar, this.vars);
  }

  /**
   * One update; returns the regularised loss before it (the caller reads and disposes it). `objective` runs
   * under the gradient tape: tensors it must hand out (statistics, masks) it marks with tf.keep.
   */
  step(objective: () => tf.Scalar): tf.Scalar {
    return tf.tidy(() => {
      const { value, grads } = this.gradients(objective);
      this.optHead.applyGradients(this.headVars.map((v) => ({ name: v.name, tensor: grads[v.name] })));
      this.optEncoder?.applyGradients(this.encoderVars.map((v) => ({ name: v.name, tensor: grads[v.name] })));
      if (this.regularizer === 'decoupled' && this.weightDecay > 0) {
        const shrink = (vs: tf.Variable[], lr: number) => {
          for (const v of vs.filter(isKernel)) v.assign(tf.mul(v, 1 - lr * this.weightDecay));
        };
        shrink(this.headVars, this.lrHead);
        shrink(this.encoderVars, this.lrEncoder);
      }
      return value;
    });
  }

  /** The penalty the loss carries now, on the encoder's kernels and on the head's (diagnostics, logs). */
  penaltyTerms(): PenaltyTerms {
    return tf.tidy(() => ({ encoder: this.penalty(this.encoderVars).dataSync()[0], head: this.penalty(this.headVars).dataSync()[0] }));
  }

  /** Frees the optimizer state and the anchors; encoder and head stay (they are the product). */
  dispose(): void {
    this.optHead.dispose();
    this.optEncoder?.dispose();
    for (const a of this.anchors.values()) a.dispose();
    this.anchors.clear();
  }
}

function isKernel(v: tf.Variable): boolean {
  return v.shape.length > 1;
}
