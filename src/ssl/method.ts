/**
 * The shared base of every self-supervised method: an encoder (images → [N, D] features), an optional head
 * (projector, expander, decoder) and an optimizer. A method only says how to make views and how to score
 * them; the training step (gradients over encoder + head, tensor hygiene, NaN guard) lives here once.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Rng } from '../engine/seed.js';
import { UlearnError } from '../errors.js';
import type { AugmentLike, ImageShape } from './types.js';

export interface SSLMethodOptions {
  /** Maps [N, H, W, C] to [N, D] features; trained in place (the caller keeps and later fine-tunes it). */
  encoder: tfl.LayersModel;
  /** [H, W, C] of one input image. */
  inputShape: ImageShape;
  /** Makes the random views; joint-embedding methods require one, MaskedPixels may go without. */
  augment?: AugmentLike;
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
  readonly inputShape: ImageShape;
  /** The encoder's feature size D. */
  readonly featureDim: number;
  protected readonly augment: AugmentLike | undefined;

  /** `buildHead(D, seed)` lets a subclass size its head from the encoder before the base freezes its fields. */
  constructor(o: SSLMethodOptions, buildHead?: (featureDim: number, seed: number) => tfl.LayersModel) {
    this.encoder = o.encoder;
    this.inputShape = o.inputShape;
    this.featureDim = encoderDim(o.encoder);
    const inShape = o.encoder.inputs[0].shape.slice(1);
    if (inShape.some((v, i) => v != null && v !== o.inputShape[i]) || inShape.length !== 3) {
      throw new UlearnError(`SSL encoder '${o.encoder.name}' takes [${inShape}] but inputShape is [${o.inputShape}]`, { code: 'E_MODEL' });
    }
    this.augment = o.augment;
    this.head = buildHead?.(this.featureDim, o.seed ?? 0);
    this.optimizer = o.optimizer ?? tf.train.adam(o.lr ?? 1e-3);
  }

  /** What gradients update: the encoder's and the head's trainable variables. */
  get trainableWeights(): tf.Variable[] {
    const layerVars = [...this.encoder.trainableWeights, ...(this.head?.trainableWeights ?? [])];
    // LayerVariable.read() is typed Tensor but returns the backing tf.Variable, which minimize needs.
    return layerVars.map((v) => v.read() as tf.Variable);
  }

  /** Two independent augmentations of the batch (the joint-embedding default); the caller owns the result. */
  views(batch: tf.Tensor4D, rng: Rng): tf.Tensor4D[] {
    const augment = this.augment;
    if (!augment) throw new UlearnError(`${this.name} needs an augment to make its two views`, { code: 'E_CONFIG', hint: 'pass augment (e.g. simclrAugment)' });
    return tf.tidy(() => [augment.apply(batch, rng), augment.apply(batch, rng)]);
  }

  /** The method's objective on the views; called inside optimizer.minimize, so it must be differentiable. */
  abstract loss(views: tf.Tensor4D[]): tf.Scalar;

  /** One optimizer step on one batch; returns the loss before the update. Leaves no tensors behind. */
  trainStep(batch: tf.Tensor4D, rng: Rng): number {
    this.checkBatch(batch);
    const cost = tf.tidy(() => {
      const views = this.views(batch, rng);
      return this.optimizer.minimize(() => this.loss(views), true, this.trainableWeights) as tf.Scalar;
    });
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
  protected features(x: tf.Tensor4D): tf.Tensor2D {
    return this.encoder.apply(x, { training: true }) as tf.Tensor2D;
  }

  /** Encoder then head (a method without a head gets the features). */
  protected forward(x: tf.Tensor4D): tf.Tensor {
    const f = this.features(x);
    return this.head ? (this.head.apply(f, { training: true }) as tf.Tensor) : f;
  }

  private checkBatch(batch: tf.Tensor4D): void {
    const [, h, w, c] = batch.shape;
    const [eh, ew, ec] = this.inputShape;
    if (batch.rank !== 4 || h !== eh || w !== ew || c !== ec) {
      throw new UlearnError(`${this.name}: batch is [${batch.shape}], expected [N, ${this.inputShape}]`, { code: 'E_SHAPE' });
    }
  }
}
