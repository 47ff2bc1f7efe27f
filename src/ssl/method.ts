/**
 * The shared base of every self-supervised method, for every modality: an encoder (samples → [N, D]
 * features), an optional head (projector, expander, decoder) and an optimizer. A method only says how to score
 * the views of a batch; the views come from a transform (src/ssl/views.ts: two augmentations, masked pixels,
 * SCARF's corrupted rows), the optimizer step (gradients over encoder + head, tensor hygiene, NaN guard)
 * lives here once, and the loop over batches and epochs is `trainSSL` (src/ssl/trainer.ts), which calls the
 * epoch hooks.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { UlearnError } from '../errors.js';

export interface SSLMethodOptions {
  /** Maps [N, ...inputShape] to [N, D] features; trained in place (the caller keeps and later fine-tunes it). */
  encoder: tfl.LayersModel;
  /** Shape of one sample: [H, W, C] of an image, [D] of a table row. */
  inputShape: readonly number[];
  /** Seeds the head's initializers. Default 0. */
  seed?: number;
  /** Adam learning rate when no optimizer is given. Default 1e-3. */
  lr?: number;
  /** Overrides the default Adam(lr). */
  optimizer?: tf.Optimizer;
}

/** Feature size D of an encoder with a [N, D] output; an error a user can act on otherwise. */
export function encoderDim(encoder: tfl.LayersModel): number {
  const shape = encoder.outputs[0].shape;
  const d = shape[1];
  if (shape.length !== 2 || d == null) {
    throw new UlearnError(`SSL encoder must output [N, D] features, but '${encoder.name}' outputs [${shape}]`, {
      code: 'E_MODEL',
      hint: 'end the encoder with global average pooling or flatten',
    });
  }
  return d;
}

export abstract class SSLMethod {
  /** Registry name, e.g. 'simclr'. */
  abstract readonly name: string;
  readonly encoder: tfl.LayersModel;
  readonly head: tfl.LayersModel | undefined;
  readonly optimizer: tf.Optimizer;
  readonly inputShape: readonly number[];
  /** The encoder's feature size D. */
  readonly featureDim: number;

  /** `buildHead(D, seed)` lets a subclass size its head from the encoder before the base freezes its fields. */
  constructor(o: SSLMethodOptions, buildHead?: (featureDim: number, seed: number) => tfl.LayersModel) {
    this.encoder = o.encoder;
    this.inputShape = o.inputShape;
    this.featureDim = encoderDim(o.encoder);
    const inShape = o.encoder.inputs[0].shape.slice(1);
    if (inShape.some((v, i) => v != null && v !== o.inputShape[i]) || inShape.length !== o.inputShape.length) {
      throw new UlearnError(`SSL encoder '${o.encoder.name}' takes [${inShape}] but the samples are [${o.inputShape}]`, { code: 'E_MODEL' });
    }
    this.head = buildHead?.(this.featureDim, o.seed ?? 0);
    this.optimizer = o.optimizer ?? tf.train.adam(o.lr ?? 1e-3);
  }

  /** What gradients update: the encoder's and the head's trainable variables. */
  get trainableWeights(): tf.Variable[] {
    const layerVars = [...this.encoder.trainableWeights, ...(this.head?.trainableWeights ?? [])];
    // LayerVariable.read() is typed Tensor but returns the backing tf.Variable, which minimize needs.
    return layerVars.map((v) => v.read() as tf.Variable);
  }

  /** The method's objective on the views of one batch; called inside optimizer.minimize, so it must be differentiable. */
  abstract loss(views: tf.Tensor[]): tf.Scalar;

  /**
   * One optimizer step on the views of one batch (from a ViewTransform; the caller owns and disposes them);
   * returns the loss before the update. Leaves no tensors behind.
   */
  trainStep(views: tf.Tensor[]): number {
    this.checkBatch(views[0]);
    const cost = tf.tidy(() => this.optimizer.minimize(() => this.loss(views), true, this.trainableWeights) as tf.Scalar);
    const value = cost.dataSync()[0];
    cost.dispose();
    if (!Number.isFinite(value)) {
      throw new UlearnError(`${this.name}: loss became ${value}`, { code: 'E_DIVERGED', hint: 'lower the learning rate' });
    }
    return value;
  }

  /** Called by the trainer before each epoch (schedules: temperature, EMA momentum, mask ratio). */
  onEpochStart(_epoch: number): void {}

  /** Called by the trainer after each epoch with its mean loss. */
  onEpochEnd(_epoch: number, _meanLoss: number): void {}

  /** Frees the head and the optimizer state; the encoder stays (it is the product of pretraining). */
  dispose(): void {
    this.head?.dispose();
    this.optimizer.dispose();
  }

  /** Features in training mode (BN uses batch statistics, as in every SSL recipe). */
  protected features(x: tf.Tensor): tf.Tensor2D {
    return this.encoder.apply(x, { training: true }) as tf.Tensor2D;
  }

  /** Encoder then head (a method without a head gets the features). */
  protected forward(x: tf.Tensor): tf.Tensor {
    const f = this.features(x);
    return this.head ? (this.head.apply(f, { training: true }) as tf.Tensor) : f;
  }

  private checkBatch(batch: tf.Tensor): void {
    const shape = batch.shape.slice(1);
    if (shape.length !== this.inputShape.length || shape.some((v, i) => v !== this.inputShape[i])) {
      throw new UlearnError(`${this.name}: batch is [${batch.shape}], expected [N, ${this.inputShape}]`, { code: 'E_SHAPE' });
    }
  }
}
