/**
 * The semi-supervised VAE as a classifier (`ulearn train --method ssvae`, fitMethod): M2's q(y|x) predicts.
 * From scratch, M2 runs on the images, or (`m1`) on the posterior of a VAE trained on the pool, Kingma et al.'s
 * M1+M2. With a pretrained encoder it is M1+M2 with our SSL encoder in M1's place: M2 on the encoder's features, standardised over the pool, with a Gaussian likelihood;
 * the standardisation is then folded into the classifier's first layer, so the head takes raw features like
 * every other method's head.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { Dataset } from '../data/dataset.js';
import { encode } from '../models/encode.js';
import type { Budget } from '../util/budget.js';
import { DEFAULT_BATCH, DEFAULT_STEPS } from './generate.js';
import { encoderNet, Inits } from './nets.js';
import { DEFAULT_SSVAE, defaultAlpha, Ssvae } from './ssvae.js';
import { DEFAULT_VAE, Vae } from './vae.js';
import { trainGenerator } from './trainer.js';

export interface FitSsvaeInput {
  train: Dataset;
  y: Int32Array;
  /** A pretrained encoder: M1+M2 on its features. */
  encoder?: tfl.LayersModel;
  /**
   * Without an encoder: M1+M2 as Kingma et al. ran it, M1 being a VAE trained on the pool with every label
   * hidden from it, whose posterior (μ, log σ²) is M2's input. Default false (M2 on the images).
   */
  m1?: boolean;
  steps?: number;
  batchSize?: number;
  lr?: number;
  seed: number;
  budget: Budget;
}

export async function fitSsvae(input: FitSsvaeInput): Promise<{ encoder: tfl.LayersModel; head: tfl.LayersModel; info: Record<string, unknown> }> {
  let i = input;
  const shape = i.train.inputShape as [number, number, number];
  const steps = i.steps ?? DEFAULT_STEPS.ssvae;
  const classes = i.train.classes;
  let m1Info: Record<string, unknown> = {};
  if (!i.encoder && i.m1) {
    const vae = new Vae({ ...DEFAULT_VAE, shape, classes: classes.length, seed: i.seed + 1 });
    const hidden = new Int32Array(i.train.size).fill(-1);
    const r1 = await trainGenerator(vae, { x: i.train.x, shape, y: hidden, classes }, { steps: i.steps ?? DEFAULT_STEPS.vae, batchSize: DEFAULT_BATCH.vae, seed: i.seed + 1, budget: i.budget.child(0.5), progressLabel: 'ssvae M1 (vae)' });
    i = { ...i, encoder: posteriorEncoder(vae) };
    vae.dispose();
    m1Info = { m1Steps: r1.steps, m1StoppedByBudget: r1.stoppedByBudget };
  }
  if (!i.encoder) {
    const m2 = new Ssvae({ ...DEFAULT_SSVAE, shape, classes: classes.length, alpha: defaultAlpha(shape), seed: i.seed });
    const r = await trainGenerator(m2, { x: i.train.x, shape, y: i.y, classes }, { steps, batchSize: i.batchSize ?? DEFAULT_BATCH.ssvae, lr: i.lr, seed: i.seed, budget: i.budget, progressLabel: 'ssvae' });
    return { encoder: m2.body, head: m2.head, info: { steps: r.steps, stoppedByBudget: r.stoppedByBudget, finalLoss: r.losses.at(-1), variant: 'M2', alpha: m2.config.alpha } };
  }
  const feats = encode(i.encoder, i.train.x, shape, { progress: 'encode' });
  const dim = feats.length / i.train.size;
  const { mean, std } = moments(feats, dim);
  const z = new Float32Array(feats.length);
  for (let k = 0; k < feats.length; k++) z[k] = (feats[k] - mean[k % dim]) / std[k % dim];
  const fshape = [dim];
  const m2 = new Ssvae({ ...DEFAULT_SSVAE, shape: fshape, classes: classes.length, likelihood: 'gaussian', alpha: defaultAlpha(fshape), seed: i.seed });
  const r = await trainGenerator(m2, { x: z, shape: fshape, y: i.y, classes }, { steps, batchSize: i.batchSize ?? DEFAULT_BATCH.ssvae, lr: i.lr, seed: i.seed, budget: i.budget, progressLabel: 'ssvae (M1+M2)' });
  foldStandardization(m2.body, mean, std);
  const f = tfl.input({ shape: [dim] });
  const head = tfl.model({ inputs: f, outputs: m2.head.apply(m2.body.apply(f)) as tfl.SymbolicTensor, name: 'ssvae_head' });
  return { encoder: i.encoder, head, info: { steps: r.steps, stoppedByBudget: r.stoppedByBudget, finalLoss: r.losses.at(-1), variant: input.encoder ? 'M1+M2 (encoder features)' : 'M1+M2 (VAE posterior)', alpha: m2.config.alpha, ...m1Info } };
}

function moments(x: Float32Array, dim: number): { mean: Float64Array; std: Float64Array } {
  const n = x.length / dim;
  const mean = new Float64Array(dim);
  const sq = new Float64Array(dim);
  for (let k = 0; k < x.length; k++) mean[k % dim] += x[k] / n;
  for (let k = 0; k < x.length; k++) sq[k % dim] += (x[k] - mean[k % dim]) ** 2 / n;
  // A dead feature (constant over the pool) keeps scale 1 rather than dividing by zero.
  return { mean, std: sq.map((v) => (v > 1e-12 ? Math.sqrt(v) : 1)) };
}

/** The first dense layer of `body` then reads raw features: W' = W / s (per input row), b' = b − (m / s)·W. */
export function foldStandardization(body: tfl.LayersModel, mean: Float64Array, std: Float64Array): void {
  const first = body.layers.find((l) => l.getClassName() === 'Dense');
  if (!first) throw new Error('ssvae classifier has no dense layer to fold the standardisation into');
  const [w, b] = first.getWeights();
  const folded = tf.tidy(() => {
    const inv = tf.tensor2d(Float32Array.from(std, (s) => 1 / s), [std.length, 1]);
    const scaled = tf.mul(w, inv);
    const shift = tf.matMul(tf.tensor2d(Float32Array.from(mean, (m, k) => m / std[k]), [1, mean.length]), w);
    return [scaled, tf.sub(b, tf.reshape(shift, [-1]))];
  });
  first.setWeights(folded);
  tf.dispose(folded);
}

/**
 * The VAE's encoder with the "no label" condition folded in: an image → (μ, log σ²) model of one input, so it
 * serves as a classifier's encoder. The condition's one-hot enters one dense layer (concatenated after the
 * body), whose kernel rows for it are dropped and the "no label" row added to the bias.
 */
export function posteriorEncoder(vae: Vae): tfl.LayersModel {
  const { shape, latent, widths, hidden, classes } = vae.config;
  const out = encoderNet(shape, 0, 2 * latent, { widths, hidden, init: new Inits(vae.config.seed), name: 'm1_encoder' });
  tf.tidy(() => {
    const src = vae.encoder.getWeights();
    const dst = out.getWeights();
    const w: tf.Tensor[] = [];
    for (let k = 0; k < src.length; k++) {
      const rows = dst[k].shape[0];
      if (dst[k].rank === 2 && src[k].shape[0] === rows + classes + 1) {
        w.push(tf.slice(src[k], [0, 0], [rows, -1]));
        w.push(tf.add(src[k + 1], tf.reshape(tf.slice(src[k], [rows + classes, 0], [1, -1]), [-1])));
        k++;
      } else {
        w.push(src[k]);
      }
    }
    out.setWeights(w);
  });
  return out;
}
