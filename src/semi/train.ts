/**
 * The training loop for SemiMethods: each step draws B labeled samples (cycling through seeded permutations)
 * and mu * B unlabeled ones, runs one method step, reports progress and stops at `steps` or when the budget
 * runs out (a CPU run is budget-capped long before FixMatch's 2^20 steps). The EMA weights are put into the
 * model at the end, so what the caller evaluates and saves is what FixMatch evaluates.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../engine/seed.js';
import { UlearnError } from '../errors.js';
import type { Budget } from '../util/budget.js';
import { Progress } from '../util/progress.js';
import type { SemiMethod, SemiStepStats } from './method.js';
import { gatherRows } from '../data/dataset.js';

export interface TrainSemiOptions {
  method: SemiMethod;
  /** All samples, [n * prod(inputShape)]. */
  x: Float32Array;
  /** Visible labels (only `labeled` are read). */
  y: Int32Array;
  labeled: ArrayLike<number>;
  unlabeled: ArrayLike<number>;
  /** Labeled batch size B. Default 32. */
  batchSize?: number;
  /** Unlabeled-to-labeled batch ratio mu. Default 7 (FixMatch). */
  mu?: number;
  /** Steps at most. */
  steps: number;
  seed?: number;
  budget?: Budget;
  /** Progress label; no progress output when undefined. */
  progressLabel?: string;
  onStep?: (step: number, stats: SemiStepStats) => void;
}

export interface TrainSemiResult {
  steps: number;
  stoppedByBudget: boolean;
  /** Mean stats over the last (up to) 20 steps. */
  last: SemiStepStats | undefined;
}

/** Endless seeded shuffled passes over `pool`, `n` at a time. */
class Sampler {
  private order: number[] = [];
  constructor(
    private readonly pool: ArrayLike<number>,
    private readonly rng: Rng,
  ) {}
  next(n: number): number[] {
    const out: number[] = [];
    while (out.length < n) {
      if (this.order.length === 0) this.order = this.rng.shuffle(Array.from(this.pool));
      out.push(...this.order.splice(0, n - out.length));
    }
    return out;
  }
}

export function trainSemi(o: TrainSemiOptions): TrainSemiResult {
  const m = o.method;
  const mu = o.mu ?? 7;
  if (!(Number.isInteger(mu) && mu >= 1)) throw new UlearnError(`mu must be a positive integer, got ${mu}`, { code: 'E_CONFIG' });
  if (o.labeled.length === 0) throw new UlearnError(`${m.name}: no labeled samples`, { code: 'E_BUDGET' });
  if (o.unlabeled.length === 0) throw new UlearnError(`${m.name}: the unlabeled pool is empty`, { code: 'E_DATA' });
  const size = m.inputShape.reduce((a, b) => a * b, 1);
  const bs = Math.min(o.batchSize ?? 32, o.labeled.length);
  const rng = new Rng(o.seed ?? 0);
  const labeled = new Sampler(o.labeled, rng.fork('labeled'));
  const unlabeled = new Sampler(o.unlabeled, rng.fork('unlabeled'));
  const augRng = rng.fork('augment');
  const progress = o.progressLabel ? new Progress(o.progressLabel, o.steps, { budget: o.budget }) : undefined;
  const recent: SemiStepStats[] = [];
  let step = 0;
  let stoppedByBudget = false;
  const batch = (idx: number[]) => tf.tensor4d(gatherRows(o.x, size, idx), [idx.length, ...m.inputShape]);
  while (step < o.steps) {
    if (o.budget?.exceeded()) {
      stoppedByBudget = true;
      break;
    }
    const li = labeled.next(bs);
    const xl = batch(li);
    const xu = batch(unlabeled.next(bs * mu));
    let stats: SemiStepStats;
    try {
      stats = m.trainStep(xl, Int32Array.from(li, (i) => o.y[i]), xu, augRng);
    } finally {
      tf.dispose([xl, xu]);
    }
    step++;
    recent.push(stats);
    if (recent.length > 20) recent.shift();
    progress?.tick(1, { loss: stats.loss.toFixed(3), mask: `${(stats.maskRate * 100).toFixed(0)}%` });
    o.onStep?.(step, stats);
  }
  progress?.done(`${step} steps${stoppedByBudget ? ' (budget)' : ''}`);
  m.useEmaWeights();
  const mean = (f: (s: SemiStepStats) => number) => recent.reduce((a, s) => a + f(s), 0) / recent.length;
  const last = recent.length ? { loss: mean((s) => s.loss), lossLabeled: mean((s) => s.lossLabeled), lossUnlabeled: mean((s) => s.lossUnlabeled), maskRate: mean((s) => s.maskRate) } : undefined;
  return { steps: step, stoppedByBudget, last };
}
