/**
 * The one gradient step every supervised and semi-supervised trainer takes on an encoder + classifier head:
 * gradients of (objective + weightDecay · Σ kernel²) by variableGrads, then separate Adam optimizers for the
 * head and the encoder, so a pretrained encoder can move slower than the fresh head (SimCLR's fine-tuning,
 * LP-FT) and a zero encoder rate freezes it. fitClassifier (images), fitTabular (rows) and SemiMethod
 * (pseudo-label, FixMatch) differ only in the objective they hand to `step`.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { UlearnError } from '../errors.js';

export interface EncoderHeadStepOptions {
  encoder: tfl.LayersModel;
  head: tfl.LayersModel;
  /** Adam rate of the head. */
  lrHead: number;
  /** Adam rate of the encoder; 0 freezes it (no gradients are taken for it). */
  lrEncoder: number;
  /** L2 penalty on every kernel (variables of rank > 1; biases and batch-norm scales are not decayed). */
  weightDecay: number;
}

export class EncoderHeadStep {
  /** What the step differentiates: the encoder's variables (unless frozen), then the head's. */
  readonly vars: tf.Variable[];
  private readonly headVars: tf.Variable[];
  private readonly encoderVars: tf.Variable[];
  private readonly optHead: tf.Optimizer;
  private readonly optEncoder: tf.Optimizer | undefined;
  private readonly weightDecay: number;

  constructor(o: EncoderHeadStepOptions) {
    if (!(o.lrHead > 0)) throw new UlearnError(`head learning rate must be positive, got ${o.lrHead}`, { code: 'E_CONFIG' });
    if (!(o.lrEncoder >= 0)) throw new UlearnError(`encoder learning rate must be ≥ 0, got ${o.lrEncoder}`, { code: 'E_CONFIG' });
    // LayerVariable.read() is typed Tensor but returns the backing tf.Variable, which variableGrads needs.
    const vars = (m: tfl.LayersModel) => m.trainableWeights.map((w) => w.read() as tf.Variable);
    this.headVars = vars(o.head);
    this.encoderVars = o.lrEncoder > 0 ? vars(o.encoder) : [];
    this.vars = [...this.encoderVars, ...this.headVars];
    this.optHead = tf.train.adam(o.lrHead);
    this.optEncoder = o.lrEncoder > 0 ? tf.train.adam(o.lrEncoder) : undefined;
    this.weightDecay = o.weightDecay;
  }

  /** The regularised loss and its gradient for every variable in `vars` (by name); the caller disposes both. */
  gradients(objective: () => tf.Scalar): { value: tf.Scalar; grads: tf.NamedTensorMap } {
    return tf.variableGrads(() => {
      const l2 = tf.addN(this.vars.filter((v) => v.shape.length > 1).map((v) => tf.sum(tf.square(v))));
      return tf.add(objective(), tf.mul(this.weightDecay, l2)) as tf.Scalar;
    }, this.vars);
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
      return value;
    });
  }

  /** Frees the optimizer state; encoder and head stay (they are the product). */
  dispose(): void {
    this.optHead.dispose();
    this.optEncoder?.dispose();
  }
}
