/**
 * The one training loop of the generators: seeded batches that mix the few labelled samples with the unlabelled
 * pool, Adam, progress against the step cap or the budget, a checkpoint every `checkpointEvery` steps and at
 * the end, and a stop on a non-finite loss that keeps the last checkpoint written after a finite one. With `ema`,
 * the checkpoints and the model left after training hold the moving average of the weights (ema.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { gatherRows } from '../data/dataset.js';
import { Rng } from '../engine/seed.js';
import { UlearnError } from '../errors.js';
import { Budget } from '../util/budget.js';
import { Progress } from '../util/progress.js';
import { saveGenerator } from './checkpoint.js';
import { WeightEma } from './ema.js';
import { prod } from './nets.js';
import type { Generator } from './types.js';

export interface GenTrainData {
  x: Float32Array;
  shape: number[];
  /** Visible labels, −1 = unlabelled. */
  y: Int32Array;
  classes: string[];
}

export interface GenTrainOptions {
  steps: number;
  batchSize?: number;
  /** Share of each batch drawn from the labelled samples (oversampled: they are few). Default 0.25. */
  labeledShare?: number;
  lr?: number;
  seed: number;
  budget?: Budget;
  /** Checkpoint folder; none: nothing is written. */
  checkpoint?: string;
  checkpointEvery?: number;
  progressLabel?: string;
  /**
   * Decay of an exponential moving average of the weights (e.g. 0.999); the checkpoints and the trained model
   * hold the average. Default: none, the last step's weights.
   */
  ema?: number;
  /** Called after each step with its loss (tests, logs). */
  onStep?: (step: number, loss: number) => void;
  quiet?: boolean;
}

export interface GenTrainResult {
  steps: number;
  losses: number[];
  stoppedByBudget: boolean;
  seconds: number;
}

export async function trainGenerator(gen: Generator, data: GenTrainData, o: GenTrainOptions): Promise<GenTrainResult> {
  const per = prod(data.shape);
  const labeled: number[] = [];
  const unlabeled: number[] = [];
  for (let i = 0; i < data.y.length; i++) (data.y[i] >= 0 ? labeled : unlabeled).push(i);
  const batch = o.batchSize ?? 64;
  const nL = labeled.length === 0 ? 0 : unlabeled.length === 0 ? batch : Math.max(1, Math.round(batch * (o.labeledShare ?? 0.25)));
  const nU = batch - nL;
  const rng = new Rng(o.seed).fork('generator-batches');
  const draw = (pool: number[], n: number, state: { perm: number[]; at: number }): number[] => {
    const out: number[] = [];
    while (out.length < n) {
      if (state.at >= state.perm.length) {
        state.perm = rng.shuffle([...pool]);
        state.at = 0;
      }
      out.push(state.perm[state.at++]);
    }
    return out;
  };
  const sL = { perm: [] as number[], at: 0 };
  const sU = { perm: [] as number[], at: 0 };
  const optimizer = tf.train.adam(o.lr ?? 1e-3);
  const budget = o.budget ?? new Budget(undefined);
  const progress = o.quiet ? undefined : new Progress(o.progressLabel ?? gen.kind, o.steps, { budget });
  const every = o.checkpointEvery ?? 500;
  const losses: number[] = [];
  const t0 = Date.now();
  let step = 0;
  let stoppedByBudget = false;
  let lastSaved = 0;
  const ema = o.ema ? new WeightEma(gen.model, o.ema) : undefined;
  // The averaged weights are what a checkpoint keeps; training goes on with the raw ones.
  const save = async (): Promise<void> => {
    ema?.swap();
    try {
      await saveGenerator(o.checkpoint!, gen, { step, classes: data.classes, shape: data.shape });
    } finally {
      ema?.swap();
    }
  };
  try {
    while (step < o.steps) {
      if (budget.exceeded()) {
        stoppedByBudget = true;
        break;
      }
      const idx = [...draw(labeled, nL, sL), ...(nU > 0 ? draw(unlabeled, nU, sU) : [])];
      const x = tf.tensor(gatherRows(data.x, per, idx), [idx.length, ...data.shape]);
      const y = Int32Array.from(idx, (i) => data.y[i]);
      const stepSeed = rng.seedInt();
      const lossT = optimizer.minimize(() => gen.loss({ x, y }, stepSeed), true) as tf.Scalar;
      x.dispose();
      const loss = (await lossT.data())[0];
      lossT.dispose();
      if (!Number.isFinite(loss)) {
        const kept = o.checkpoint && lastSaved > 0 ? ` The last good checkpoint (step ${lastSaved}) is kept in ${o.checkpoint}.` : '';
        throw new UlearnError(`${gen.kind} training stopped: the loss became ${loss} at step ${step + 1}.${kept}`, {
          code: 'E_NAN',
          hint: 'lower the learning rate, or check the data for NaN or infinite values',
        });
      }
      ema?.update();
      step++;
      losses.push(loss);
      o.onStep?.(step, loss);
      progress?.tick(1, { loss });
      if (o.checkpoint && step % every === 0 && step < o.steps) {
        await save();
        lastSaved = step;
      }
    }
    // The model leaves training with the averaged weights: sampling right after uses what the checkpoint holds.
    ema?.swap();
    if (o.checkpoint) await saveGenerator(o.checkpoint, gen, { step, classes: data.classes, shape: data.shape });
  } finally {
    optimizer.dispose();
    ema?.dispose();
  }
  progress?.done(stoppedByBudget ? '(budget reached)' : undefined);
  return { steps: step, losses, stoppedByBudget, seconds: (Date.now() - t0) / 1000 };
}
