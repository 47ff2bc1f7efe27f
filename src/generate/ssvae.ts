/**
 * The semi-supervised VAE M2 (Kingma, Rezende, Mohamed & Welling 2014): a classifier q(y|x), an encoder
 * q(z|x, y) and a decoder p(x|y, z), trained on J^α = Σ_labelled L(x, y) + Σ_unlabelled U(x) + α·E[−log q(y|x)]
 * (losses.ts). Unlabelled samples are marginalised over every class (the batch is evaluated K times), which is
 * what lets the classifier learn from them. Images use Bernoulli pixels; M1+M2 runs the same model on feature
 * vectors (an SSL encoder's, standardised) with a unit-variance Gaussian likelihood.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { bernoulliLogLik, crossEntropy, gaussianKl, gaussianLogLik, m2LabelledBound, m2Objective, m2UnlabelledBound, reparameterize } from './losses.js';
import { fitClassPrior, priorSample } from './latent-prior.js';
import { bundle, decoderNet, encoderNet, Inits, prod, run } from './nets.js';
import type { GenBatch, Generator, LatentVaeConfig } from './types.js';

export interface SsvaeConfig extends LatentVaeConfig {
  /**
   * α, the classification weight. Kingma et al. use 0.1·N for sums over the data set; with our per-sample means
   * the comparable scale is relative to the reconstruction term, so the default is 0.1 × the sample's size
   * (78 for 28×28 images), which gives cross-entropy a weight of the order of the likelihood's gradient.
   */
  alpha: number;
}

export const DEFAULT_SSVAE: Omit<SsvaeConfig, 'shape' | 'classes' | 'seed' | 'alpha'> = { latent: 16, widths: [32, 64], hidden: 256, likelihood: 'bernoulli' };

export function defaultAlpha(shape: number[]): number {
  return 0.1 * prod(shape);
}

export class Ssvae implements Generator<SsvaeConfig> {
  readonly kind = 'ssvae' as const;
  /** q(y|x) as body (sample → features) and head (features → logits), the encoder + head a classifier folder holds. */
  readonly body: tfl.LayersModel;
  readonly head: tfl.LayersModel;
  readonly encoder: tfl.LayersModel;
  readonly decoder: tfl.LayersModel;
  readonly model: tfl.LayersModel;

  constructor(readonly config: SsvaeConfig) {
    const init = new Inits(config.seed);
    const K = config.classes;
    const o = { widths: config.widths, hidden: config.hidden, init };
    this.body = encoderNet(config.shape, 0, config.hidden, { ...o, name: 'ssvae_classifier' });
    const f = tfl.input({ shape: [config.hidden] });
    const logits = tfl.layers.dense({ units: K, kernelInitializer: init.kernel() }).apply(tfl.layers.activation({ activation: 'relu' }).apply(f));
    this.head = tfl.model({ inputs: f, outputs: logits as tfl.SymbolicTensor, name: 'ssvae_head' });
    this.encoder = encoderNet(config.shape, K, 2 * config.latent, { ...o, name: 'ssvae_encoder' });
    this.decoder = decoderNet(config.latent, K, config.shape, { ...o, name: 'ssvae_decoder' });
    this.model = bundle([this.body, this.head, this.encoder, this.decoder], 'ssvae');
  }

  logits(x: tf.Tensor): tf.Tensor2D {
    return tf.tidy(() => run(this.head, run(this.body, x)) as tf.Tensor2D);
  }

  /** −L(x, y) per sample for the given classes (M2's labelled bound, one z draw). */
  labelledBound(x: tf.Tensor, y: tf.Tensor1D, seed: number): tf.Tensor1D {
    return tf.tidy(() => {
      const K = this.config.classes;
      const c = tf.cast(tf.oneHot(tf.cast(y, 'int32'), K), 'float32');
      const h = run(this.encoder, x, c) as tf.Tensor2D;
      const [mu, logvar] = tf.split(h, 2, 1);
      const z = reparameterize(mu, logvar, tf.randomNormal(mu.shape, 0, 1, 'float32', seed));
      const out = run(this.decoder, z, c);
      const logLik = this.config.likelihood === 'bernoulli' ? bernoulliLogLik(x, out) : gaussianLogLik(x, out, 0);
      return m2LabelledBound(logLik, gaussianKl(mu, logvar), K);
    });
  }

  /** The parts of J^α for one batch: labelled bounds, unlabelled bounds, labelled cross-entropy. */
  terms(batch: GenBatch, seed: number): { labelled?: tf.Tensor1D; unlabelled?: tf.Tensor1D; ce?: tf.Tensor1D } {
    return tf.tidy(() => {
      const K = this.config.classes;
      const li: number[] = [];
      const ui: number[] = [];
      batch.y.forEach((v, i) => (v >= 0 ? li : ui).push(i));
      const out: { labelled?: tf.Tensor1D; unlabelled?: tf.Tensor1D; ce?: tf.Tensor1D } = {};
      if (li.length) {
        const xl = tf.gather(batch.x, li);
        const yl = tf.tensor1d(li.map((i) => batch.y[i]), 'int32');
        out.labelled = this.labelledBound(xl, yl, seed);
        out.ce = crossEntropy(this.logits(xl), yl);
      }
      if (ui.length) {
        const xu = tf.gather(batch.x, ui);
        const n = ui.length;
        // Every unlabelled sample under every class, class-major: rows k·n .. k·n + n − 1 hold class k.
        const xr = tf.concat(Array.from({ length: K }, () => xu));
        const yr = tf.tensor1d(Int32Array.from({ length: K * n }, (_, r) => Math.floor(r / n)), 'int32');
        const bounds = tf.transpose(tf.reshape(this.labelledBound(xr, yr, seed + 1), [K, n])) as tf.Tensor2D;
        out.unlabelled = m2UnlabelledBound(bounds, this.logits(xu));
      }
      return out;
    });
  }

  loss(batch: GenBatch, seed: number): tf.Scalar {
    return tf.tidy(() => m2Objective(this.terms(batch, seed), this.config.alpha));
  }

  /** μ and log σ² of q(z | x, y). */
  encode(x: tf.Tensor, y: Int32Array): { mu: tf.Tensor2D; logvar: tf.Tensor2D } {
    return tf.tidy(() => {
      const c = tf.cast(tf.oneHot(tf.tensor1d(y, 'int32'), this.config.classes), 'float32');
      const [mu, logvar] = tf.split(run(this.encoder, x, c) as tf.Tensor2D, 2, 1) as [tf.Tensor2D, tf.Tensor2D];
      return { mu, logvar };
    });
  }

  /** Fits `config.classPrior` from the labelled samples (latent-prior.ts). */
  fitClassPrior(x: Float32Array, y: Int32Array): void {
    this.config.classPrior = fitClassPrior((xs, ys) => this.encode(xs, ys), x, y, this.config.shape, this.config.latent, this.config.classes);
  }

  sample(labels: Int32Array, seed: number): tf.Tensor {
    return tf.tidy(() => {
      const z = priorSample(labels, this.config.latent, seed, this.config.classPrior);
      const c = tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), this.config.classes), 'float32');
      const out = this.decoder.apply([z, c]) as tf.Tensor;
      return this.config.likelihood === 'bernoulli' ? tf.sigmoid(out) : out;
    });
  }

  dispose(): void {
    this.model.dispose();
  }
}
