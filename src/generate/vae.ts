/**
 * A convolutional VAE (Kingma & Welling 2014) conditioned on the class where a label exists (a conditional VAE,
 * Sohn et al. 2015). The condition is a one-hot over K + 1 slots: the K classes and a learned "no label" slot
 * that every unlabelled sample takes, so the unlabelled pool trains the same encoder and decoder (the
 * decoder learns p(x | z, no label), the marginal over classes) instead of being left out or marginalised at
 * K times the cost (that is what M2 does, ssvae.ts). Sampling asks for a class, never for "no label".
 * With few labels the decoder learns to read the class from z rather than from y, so sampling draws z from a
 * per-class Gaussian fitted to the labelled posteriors (latent-prior.ts) and feeds the one-hot too; before it is
 * fitted, N(0, I).
 * Likelihood: Bernoulli on [0, 1] pixels, or a unit-variance Gaussian for feature vectors (M1+M2's M1 on
 * standardised features).
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { bernoulliLogLik, gaussianKl, gaussianLogLik, reparameterize } from './losses.js';
import { fitClassPrior, priorSample } from './latent-prior.js';
import { bundle, decoderNet, encoderNet, Inits, run } from './nets.js';
import type { GenBatch, Generator, LatentVaeConfig } from './types.js';

export interface VaeConfig extends LatentVaeConfig {
  /** Weight of the KL term (1 = the ELBO). */
  beta: number;
}

export const DEFAULT_VAE: Omit<VaeConfig, 'shape' | 'classes' | 'seed'> = { latent: 16, widths: [32, 64], hidden: 256, likelihood: 'bernoulli', beta: 1 };

/** One-hot [N, K + 1] with slot K for "no label" (y < 0). */
export function conditionOneHot(y: Int32Array, classes: number): tf.Tensor2D {
  return tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(Int32Array.from(y, (v) => (v < 0 ? classes : v)), 'int32'), classes + 1), 'float32') as tf.Tensor2D);
}

export class Vae implements Generator<VaeConfig> {
  readonly kind = 'vae' as const;
  readonly encoder: tfl.LayersModel;
  readonly decoder: tfl.LayersModel;
  readonly model: tfl.LayersModel;

  constructor(readonly config: VaeConfig) {
    const init = new Inits(config.seed);
    const c = config.classes + 1;
    this.encoder = encoderNet(config.shape, c, 2 * config.latent, { widths: config.widths, hidden: config.hidden, init, name: 'vae_encoder' });
    this.decoder = decoderNet(config.latent, c, config.shape, { widths: config.widths, hidden: config.hidden, init, name: 'vae_decoder' });
    this.model = bundle([this.encoder, this.decoder], 'vae');
  }

  /** μ and log σ² of q(z | x, y). */
  encode(x: tf.Tensor, y: Int32Array): { mu: tf.Tensor2D; logvar: tf.Tensor2D } {
    return tf.tidy(() => {
      const h = run(this.encoder, x, conditionOneHot(y, this.config.classes)) as tf.Tensor2D;
      const [mu, logvar] = tf.split(h, 2, 1) as [tf.Tensor2D, tf.Tensor2D];
      return { mu, logvar };
    });
  }

  /** The negative ELBO per sample, and its parts. */
  terms(batch: GenBatch, seed: number): { logLik: tf.Tensor1D; kl: tf.Tensor1D } {
    return tf.tidy(() => {
      const { mu, logvar } = this.encode(batch.x, batch.y);
      const z = reparameterize(mu, logvar, tf.randomNormal(mu.shape, 0, 1, 'float32', seed));
      const out = run(this.decoder, z, conditionOneHot(batch.y, this.config.classes));
      const logLik = this.config.likelihood === 'bernoulli' ? bernoulliLogLik(batch.x, out) : gaussianLogLik(batch.x, out, 0);
      return { logLik, kl: gaussianKl(mu, logvar) };
    });
  }

  loss(batch: GenBatch, seed: number): tf.Scalar {
    return tf.tidy(() => {
      const { logLik, kl } = this.terms(batch, seed);
      return tf.mean(tf.sub(tf.mul(kl, this.config.beta), logLik)) as tf.Scalar;
    });
  }

  /** Fits `config.classPrior` from the labelled samples (x [N, ...shape], labels ≥ 0). */
  fitClassPrior(x: Float32Array, y: Int32Array): void {
    this.config.classPrior = fitClassPrior((xs, ys) => this.encode(xs, ys), x, y, this.config.shape, this.config.latent, this.config.classes);
  }

  sample(labels: Int32Array, seed: number): tf.Tensor {
    return tf.tidy(() => {
      const z = priorSample(labels, this.config.latent, seed, this.config.classPrior);
      const out = this.decoder.apply([z, conditionOneHot(labels, this.config.classes)]) as tf.Tensor;
      // The Bernoulli mean; a Gaussian decoder's mean is the sample's expected value.
      return this.config.likelihood === 'bernoulli' ? tf.sigmoid(out) : out;
    });
  }

  dispose(): void {
    this.model.dispose();
  }
}
