/**
 * `pretrain(encoder, data, opts)`: self-supervised pretraining as one library call, the way tfjs-layers'
 * `model.fit` trains a model in place. It builds the named method (head, optimizer, SimCLR-style views) around
 * the caller's encoder, takes `steps` optimizer steps over seeded shuffled batches of every sample (labels
 * are never read), and frees the head and optimizer again: the encoder is what pretraining is for.
 *
 * Work is counted in steps, not time, so a seed gives the same encoder on every machine; a `budget` can stop
 * it earlier, and the result says so.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { simclrAugment } from '../augment/presets.js';
import { sampleSize, type Dataset } from '../data/dataset.js';
import { Rng } from '../engine/seed.js';
import { UlearnError } from '../errors.js';
import type { Budget } from '../util/budget.js';
import { createSSLMethod, type SSLMethodName } from './registry.js';

export interface PretrainOptions {
  /** Default 'simclr'. */
  method?: SSLMethodName;
  /** Optimizer steps to take. */
  steps: number;
  /** Samples per step (capped at the dataset's size). Default 256. */
  batchSize?: number;
  /** Adam learning rate. Default 1e-3. */
  lr?: number;
  /** Seeds the head, the batch order and the augmentations. Default 0. */
  seed?: number;
  /** Stops before `steps` when it runs out. Default: none. */
  budget?: Budget;
  /** Called after each step with the loss before the update. */
  onStep?: (step: number, loss: number) => void;
}

export interface PretrainResult {
  /** Steps taken. */
  steps: number;
  /** The loss of each step. */
  losses: number[];
  stoppedByBudget: boolean;
}

export async function pretrain(encoder: tfl.LayersModel, data: Dataset, opts: PretrainOptions): Promise<PretrainResult> {
  if (data.modality !== 'image' || data.inputShape.length !== 3) {
    throw new UlearnError(`${data.source}: pretrain takes images [H, W, C], got ${data.modality} [${data.inputShape}]`, { code: 'E_DATA' });
  }
  if (!(Number.isInteger(opts.steps) && opts.steps >= 0)) throw new UlearnError(`pretrain: steps must be a non-negative integer, got ${opts.steps}`, { code: 'E_CONFIG' });
  if (data.size < 2) throw new UlearnError(`${data.source}: pretraining needs at least 2 images, got ${data.size}`, { code: 'E_DATA' });
  const inputShape = data.inputShape as [number, number, number];
  const seed = opts.seed ?? 0;
  const method = createSSLMethod(opts.method ?? 'simclr', { encoder, inputShape, augment: simclrAugment(inputShape), seed, lr: opts.lr });
  const size = sampleSize(data);
  const bs = Math.min(opts.batchSize ?? 256, data.size);
  const rng = new Rng(seed).fork('pretrain');
  const losses: number[] = [];
  let order: number[] = [];
  try {
    while (losses.length < opts.steps && !opts.budget?.exceeded()) {
      // A fresh permutation when the rest cannot fill a batch: every batch is full (contrastive losses take
      // their negatives from the batch), and every sample is seen once per pass.
      if (order.length < bs) order = rng.permutation(data.size);
      const idx = order.splice(0, bs);
      const xb = new Float32Array(bs * size);
      idx.forEach((i, k) => xb.set(data.x.subarray(i * size, (i + 1) * size), k * size));
      const batch = tf.tensor4d(xb, [bs, ...inputShape]);
      try {
        losses.push(method.trainStep(batch, rng));
      } finally {
        batch.dispose();
      }
      opts.onStep?.(losses.length, losses[losses.length - 1]);
      // Let timers and I/O run between steps (progress output, a caller's abort).
      await new Promise((resolve) => setImmediate(resolve));
    }
  } finally {
    method.dispose();
  }
  return { steps: losses.length, losses, stoppedByBudget: losses.length < opts.steps };
}
