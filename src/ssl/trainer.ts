/**
 * The one self-supervised training loop, for every method and modality (images in the pipeline, table rows
 * in `ulearn tabular`): seeded shuffled passes over the pool, a batch at a time → the views from a transform →
 * one `method.trainStep`; the method's epoch hooks around each pass; stops at the step cap (epochs × steps
 * per epoch, or `maxSteps`) or when the budget runs out, whichever comes first; progress against whichever
 * will stop it; every `every` steps (and once at the end) the optional kNN monitor scores the encoder and the
 * caller's checkpoint callback runs, so a killed run can resume from `startStep`.
 *
 * An epoch is one pass over a fresh permutation: floor(pool / batch) full batches, the rest dropped (a short
 * last batch would change the contrastive losses' negatives).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../engine/seed.js';
import { UlearnError } from '../errors.js';
import type { Budget } from '../util/budget.js';
import { Progress, type ProgressInfo } from '../util/progress.js';
import type { KnnReport } from './knn-monitor.js';
import type { SSLMethod } from './method.js';
import type { ViewTransform } from './views.js';

/** What the trainer hands the checkpoint callback. */
export interface SSLCheckpoint {
  /** Steps taken so far (including those before a resume). */
  step: number;
  /** step / stepsPerEpoch. */
  epoch: number;
  /** Mean loss of the steps since the previous checkpoint (NaN when there were none). */
  meanLoss: number;
  /** The kNN monitor's report, when a monitor was given. */
  knn?: KnnReport;
}

export interface TrainSSLOptions {
  method: SSLMethod;
  /** Makes the views of each batch (e.g. createSSLViews(name, …) or scarfViews). */
  views: ViewTransform;
  /** Samples, row-major, prod(method.inputShape) values each. */
  x: Float32Array;
  /** Draw from the first `poolSize` samples only (default: all). */
  poolSize?: number;
  batchSize: number;
  /** Passes over the pool at most. */
  epochs: number;
  /** Optimizer steps at most (on top of `epochs`); tests and benchmarks use it for work that does not depend on time. */
  maxSteps?: number;
  budget?: Budget;
  /** Draws the permutations and the views. */
  rng: Rng;
  /** Steps already taken by an earlier run of the same job (resuming). Default 0. */
  startStep?: number;
  /** Reports representation quality at each checkpoint (anything with solo-learn's kNN `evaluate`). */
  monitor?: { evaluate(encoder: SSLMethod['encoder']): KnnReport };
  /** Steps between checkpoints (monitor + onCheckpoint); a last one follows the last step. */
  every?: number;
  onCheckpoint?: (c: SSLCheckpoint) => Promise<void> | void;
  /** Progress label; no progress output when undefined. */
  progress?: string;
}

export interface TrainSSLResult {
  /** Steps taken in total (startStep included). */
  steps: number;
  /** Mean loss of each completed epoch of this run, in order. */
  epochLosses: number[];
  /** The step cap this run aimed for. */
  targetSteps: number;
  /** True when the budget, not the step cap, ended the run. */
  stoppedByBudget: boolean;
  /** The last checkpoint's kNN report, when a monitor was given. */
  knn?: KnnReport;
}

export async function trainSSL(o: TrainSSLOptions): Promise<TrainSSLResult> {
  const m = o.method;
  const size = m.inputShape.reduce((a, b) => a * b, 1);
  const available = o.x.length / size;
  if (!Number.isInteger(available)) throw new UlearnError(`${m.name}: ${o.x.length} values are not whole samples of [${m.inputShape}]`, { code: 'E_SHAPE' });
  const poolN = o.poolSize && o.poolSize > 0 ? Math.min(o.poolSize, available) : available;
  if (poolN < 2) throw new UlearnError(`${m.name}: self-supervised training needs at least 2 samples, got ${poolN}`, { code: 'E_DATA' });
  const bs = Math.min(o.batchSize, poolN);
  const stepsPerEpoch = Math.max(1, Math.floor(poolN / bs));
  const targetSteps = Math.min(stepsPerEpoch * o.epochs, o.maxSteps ?? Infinity);
  let step = o.startStep ?? 0;
  const progress = o.progress ? new Progress(o.progress, targetSteps, { budget: o.budget }) : undefined;
  progress?.tick(step);
  let info: ProgressInfo = {};
  let knn: KnnReport | undefined;
  let sinceSum = 0;
  let sinceCount = 0;
  let checkpoints = 0;
  const checkpoint = async () => {
    knn = o.monitor?.evaluate(m.encoder);
    if (knn) {
      info = { knn: `${(knn.accuracy * 100).toFixed(1)}%` };
      if (knn.collapsed) progress?.log(`warning: representation collapse at step ${step} (feature std ${knn.normalizedStd.toFixed(4)})`);
    }
    await o.onCheckpoint?.({ step, epoch: step / stepsPerEpoch, meanLoss: sinceCount ? sinceSum / sinceCount : NaN, knn });
    sinceSum = 0;
    sinceCount = 0;
    checkpoints++;
  };

  const epochLosses: number[] = [];
  let epoch = Math.floor(step / stepsPerEpoch);
  let order: number[] = [];
  let epochSum = 0;
  let epochSteps = 0;
  while (step < targetSteps && !o.budget?.exceeded()) {
    if (order.length < bs) {
      order = o.rng.permutation(poolN);
      m.onEpochStart(epoch);
    }
    const idx = order.splice(0, bs);
    // A fresh array per batch: a backend may keep a reference to the values it was given (cpu does).
    const xb = new Float32Array(bs * size);
    idx.forEach((i, k) => xb.set(o.x.subarray(i * size, (i + 1) * size), k * size));
    const batch = tf.tensor(xb, [bs, ...m.inputShape]);
    let loss: number;
    try {
      const views = o.views(batch, o.rng);
      try {
        loss = m.trainStep(views);
      } finally {
        tf.dispose(views);
      }
    } finally {
      batch.dispose();
    }
    step++;
    sinceSum += loss;
    sinceCount++;
    epochSum += loss;
    epochSteps++;
    progress?.tick(1, { loss: loss.toFixed(3), ...info });
    if (order.length < bs) {
      epochLosses.push(epochSum / epochSteps);
      m.onEpochEnd(epoch, epochSum / epochSteps);
      epoch++;
      epochSum = 0;
      epochSteps = 0;
    }
    if (o.every && step % o.every === 0) await checkpoint();
  }
  // A run that took no step still checkpoints once, unless it resumed a job that already has its checkpoints.
  if (sinceCount > 0 || (checkpoints === 0 && !o.startStep)) await checkpoint();
  const stoppedByBudget = step < targetSteps;
  progress?.done(`${step} steps, ${((step * bs) / poolN).toFixed(2)} epochs${knn ? `, kNN ${(knn.accuracy * 100).toFixed(1)}%` : ''}${stoppedByBudget ? ' (budget)' : ''}`);
  return { steps: step, epochLosses, targetSteps, stoppedByBudget, knn };
}
