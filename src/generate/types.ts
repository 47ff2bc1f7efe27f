/** What every generator is to the training loop, the checkpoint code and `ulearn generate`. */
import type { ClassPrior } from './latent-prior.js';
import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

export const GENERATOR_KINDS = ['vae', 'ssvae', 'diffusion'] as const;
export type GeneratorKind = (typeof GENERATOR_KINDS)[number];

/** A batch as the loop hands it over: samples in the data's range ([0, 1] for images) and labels (−1 = none). */
export interface GenBatch {
  x: tf.Tensor;
  y: Int32Array;
}

export interface Generator<C = unknown> {
  readonly kind: GeneratorKind;
  /** Everything needed to rebuild the networks (JSON), recorded in the checkpoint. */
  readonly config: C;
  /** Every weight, in one model (nets.ts `bundle`), for the checkpoint. */
  readonly model: tfl.LayersModel;
  /** The scalar to minimise on one batch (called inside the optimizer's gradient tape); `seed` draws its noise. */
  loss(batch: GenBatch, seed: number): tf.Scalar;
  /** `labels.length` samples of those classes, in the data's range, [N, ...shape]. */
  sample(labels: Int32Array, seed: number, opts?: { steps?: number; guidance?: number }): tf.Tensor;
  dispose(): void;
}

/** What the VAE and the semi-supervised VAE (M2) share: the data, the networks and the latent. */
export interface LatentVaeConfig {
  shape: number[];
  classes: number;
  latent: number;
  widths: [number, number];
  hidden: number;
  likelihood: 'bernoulli' | 'gaussian';
  seed: number;
  /**
   * Per-class Gaussian over z fitted on the labelled samples' posteriors after training (`fitClassPrior`), which
   * sampling draws from instead of N(0, I); recorded with the config so a checkpoint samples the same way.
   */
  classPrior?: ClassPrior;
}
