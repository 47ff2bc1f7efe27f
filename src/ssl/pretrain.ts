/**
 * `pretrain(encoder, data, opts)`: self-supervised pretraining as one library call, the way tfjs-layers'
 * `model.fit` trains a model in place. It builds the named method (head, optimizer, SimCLR-style views) around
 * the caller's encoder, runs the one SSL trainer (`trainSSL`) for `steps` optimizer steps over seeded shuffled
 * batches of every sample (labels are never read), and frees the head and optimizer again: the encoder is what
 * pretraining is for.
 *
 * Work is counted in steps, not time, so a seed gives the same encoder on every machine; a `budget` can stop
 * it earlier, and the result says so.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { simclrAugment } from '../augment/presets.js';
import type { Dataset } from '../data/dataset.js';
import { Rng } from '../engine/seed.js';
import { UlearnError } from '../errors.js';
import type { Budget } from '../util/budget.js';
import { createSSLMethod, createSSLViews, type SSLMethodName } from './registry.js';
import { trainSSL } from './trainer.js';

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
  const sslConfig = { encoder, inputShape, augment: simclrAugment(inputShape), seed, lr: opts.lr };
  const name = opts.method ?? 'simclr';
  const method = createSSLMethod(name, sslConfig);
  const losses: number[] = [];
  try {
    // The one SSL trainer (trainer.ts), capped by steps; a checkpoint after every step reports its loss.
    const r = await trainSSL({
      method,
      views: createSSLViews(name, sslConfig),
      x: data.x,
      batchSize: Math.min(opts.batchSize ?? 256, data.size),
      epochs: Infinity,
      maxSteps: opts.steps,
      budget: opts.budget,
      rng: new Rng(seed).fork('pretrain'),
      every: 1,
      onCheckpoint: (c) => {
        losses.push(c.meanLoss);
        opts.onStep?.(c.step, c.meanLoss);
      },
    });
    return { steps: r.steps, losses, stoppedByBudget: r.stoppedByBudget };
  } finally {
    method.dispose();
  }
}
