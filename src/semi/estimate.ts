/**
 * How good each arm will be, judged from the labels alone, before the final fit (issue 18 part 4): stratified
 * k-fold cross-validation on the labeled samples. Each fold trains the arm with `fitMethod` (the same code the
 * final fit runs) on the other folds' labels and scores it on its own; every labeled sample is held out once,
 * so the pooled accuracy has a binomial uncertainty, reported as a standard error and a Wilson 95% interval.
 *
 * Cheap by construction, because it runs inside the user's budget: the folds see only the labeled images (no
 * pass over the unlabeled pool), the probe is closed-form-cheap, and the trained arms (fine-tune, supervised)
 * run their epochs on two thirds of the labels per fold (3 folds, `epochsScale` 1: about two final fits per
 * trained arm). Fewer labels and fewer steps make the estimate pessimistic, most for training from scratch,
 * whose accuracy climbs fastest with labels (see DEFAULT_ESTIMATE); what it is for is ranking the arms, and
 * saying when SSL did not help.
 */
import type { Dataset } from '../data/dataset.js';
import { subset } from '../data/dataset.js';
import { Rng } from '../engine/seed.js';
import { UlearnError } from '../errors.js';
import { argmaxRows } from '../eval/metrics.js';
import { predictProba } from '../train/fit-classifier.js';
import type { Budget } from '../util/budget.js';
import { fitEpochs, fitMethod, type EncoderSpec, type SemiSettings } from './fit.js';

/** The arms the pipeline chooses between (label propagation and the semi stage are not estimated). */
export type EstimatedArm = 'supervised' | 'linear' | 'finetune';

export interface EstimateSettings {
  /** Folds (≥ 2; more than the smallest class's label count is lowered to it). Default 3. */
  folds: number;
  /** Share of the arm's epochs each fold trains (fine-tune, supervised). Default 1. */
  epochsScale: number;
}

/**
 * Measured at 10 labels per class, seed 0, on the bench finetune-recipes encoders (120 SimCLR steps), against
 * accuracy on a validation split carved from train: with half the epochs per fold the trained arms came out
 * 5-38 points low (Fashion-MNIST supervised 47 vs 57, fine-tune 60 vs 65; glyphs 34 vs 72 and 57 vs 79); with
 * all of them, 50 / 65 and 56 / 65 (the probe, untrained by epochs: 63 vs 64, 51 vs 66). Full epochs cost
 * about two final fits per trained arm (64-69 s on one thread for all three arms), and rank the arms better.
 */
export const DEFAULT_ESTIMATE: EstimateSettings = { folds: 3, epochsScale: 1 };

export interface ArmEstimate {
  method: EstimatedArm;
  /** Pooled held-out accuracy, in [0, 1]. */
  acc: number;
  /** Binomial standard error of `acc`. */
  stderr: number;
  /** Wilson 95% interval. */
  low: number;
  high: number;
  correct: number;
  total: number;
  folds: number;
  /** Optimizer steps over all folds (0 for the probe). */
  steps: number;
  /** True when the budget cut a fold's training short (the estimate is then of a shorter run). */
  stoppedByBudget: boolean;
}

export interface EstimateInput {
  arms: readonly EstimatedArm[];
  train: Dataset;
  /** Visible labels (-1 = hidden), same length as train.size. */
  y: Int32Array;
  labeled: Int32Array;
  encoder?: EncoderSpec;
  /** The pretrained encoder's checkpoint (a path: each fold loads a fresh copy, so fine-tuning never leaks between folds). */
  pretrained?: string;
  settings?: Partial<SemiSettings>;
  estimate?: Partial<EstimateSettings>;
  seed: number;
  budget: Budget;
}

/** Stratified folds: each class's labeled samples, shuffled by the seed, dealt round-robin. Positions into `labeled`. */
export function stratifiedFolds(labels: Int32Array, folds: number, seed: number): number[][] {
  const out: number[][] = Array.from({ length: folds }, () => []);
  const rng = new Rng(seed).fork('estimate-folds');
  const byClass = new Map<number, number[]>();
  labels.forEach((c, p) => byClass.set(c, [...(byClass.get(c) ?? []), p]));
  let next = 0;
  for (const c of [...byClass.keys()].sort((a, b) => a - b)) {
    const ps = byClass.get(c)!;
    rng.shuffle(ps);
    // Continue the deal where the last class stopped, so fold sizes stay within one of each other.
    for (const p of ps) out[next++ % folds].push(p);
  }
  return out.map((f) => f.sort((a, b) => a - b));
}

export async function estimateArms(input: EstimateInput): Promise<ArmEstimate[]> {
  // Keys given as undefined (a config that leaves them out) take the defaults.
  const given = Object.fromEntries(Object.entries(input.estimate ?? {}).filter(([, v]) => v !== undefined));
  const e: EstimateSettings = { ...DEFAULT_ESTIMATE, ...given };
  if (!Number.isInteger(e.folds) || e.folds < 2) throw new UlearnError(`estimate: folds must be an integer ≥ 2, got ${e.folds}`, { code: 'E_CONFIG' });
  if (!(e.epochsScale > 0 && e.epochsScale <= 1)) throw new UlearnError(`estimate: epochsScale must be in (0, 1], got ${e.epochsScale}`, { code: 'E_CONFIG' });
  if (input.arms.some((a) => a !== 'supervised') && !input.pretrained) throw new UlearnError('estimate: the SSL arms need the pretrained encoder checkpoint', { code: 'E_CONFIG' });
  const K = input.train.classes.length;
  const yl = Int32Array.from(input.labeled, (i) => input.y[i]);
  const folds = usableFolds(yl, K, e.folds);
  if (folds < 2) {
    throw new UlearnError('estimate: a class has a single label, so no fold can hold it out and still train on it', {
      code: 'E_BUDGET',
      hint: 'label at least two examples of each class, or turn the estimate off (estimate: { folds: 0 })',
    });
  }
  const parts = stratifiedFolds(yl, folds, input.seed);
  // The folds see only the labeled images: a dataset of those, every label visible except the held-out fold's.
  const data = subset(input.train, input.labeled);
  const s = { ...input.settings };
  // The epochs rule of the full label set, scaled: each fold trains a fixed share of one final fit.
  const epochs = Math.max(1, Math.round((s.epochs ?? fitEpochs(input.labeled.length / K)) * e.epochsScale));
  const out: ArmEstimate[] = [];
  for (const arm of input.arms) {
    let correct = 0;
    let steps = 0;
    let stoppedByBudget = false;
    for (let f = 0; f < folds; f++) {
      const held = new Set(parts[f]);
      const trainPos = Int32Array.from(yl.keys()).filter((p) => !held.has(p));
      const yVisible = Int32Array.from(yl, (c, p) => (held.has(p) ? -1 : c));
      const fit = await fitMethod({
        method: arm,
        train: data,
        y: yVisible,
        labeled: trainPos,
        encoder: input.encoder,
        pretrained: arm === 'supervised' ? undefined : input.pretrained,
        settings: { ...s, epochs },
        seed: input.seed + 1000 * (f + 1),
        budget: input.budget,
      });
      const size = data.x.length / data.size;
      const heldX = new Float32Array(parts[f].length * size);
      parts[f].forEach((p, k) => heldX.set(data.x.subarray(p * size, (p + 1) * size), k * size));
      const pred = argmaxRows(predictProba(fit.encoder, fit.head, heldX, data.inputShape as [number, number, number]), K);
      parts[f].forEach((p, k) => (correct += pred[k] === yl[p] ? 1 : 0));
      fit.encoder.dispose();
      fit.head.dispose();
      if (typeof fit.info.steps === 'number') steps += fit.info.steps;
      if (fit.info.stoppedByBudget === true) stoppedByBudget = true;
    }
    out.push({ method: arm, ...binomial(correct, yl.length), correct, total: yl.length, folds, steps, stoppedByBudget });
  }
  return out;
}

/**
 * How many folds the labels allow, at most `wanted`: every training fold must keep every class (fitMethod
 * refuses a class without labels), so no more folds than the smallest class has labels. Below 2: none.
 */
export function usableFolds(labels: Int32Array, nClasses: number, wanted: number): number {
  const perClass = new Array<number>(nClasses).fill(0);
  for (const c of labels) perClass[c]++;
  const fewest = Math.min(...perClass.filter((n) => n > 0));
  return Math.min(wanted, fewest);
}

/** Accuracy, its standard error and the Wilson 95% interval for `k` successes in `n`. */
export function binomial(k: number, n: number): { acc: number; stderr: number; low: number; high: number } {
  const p = k / n;
  const z = 1.96;
  const denom = 1 + (z * z) / n;
  const centre = (p + (z * z) / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / denom;
  // The ends are exact at 0 and n (rounding would otherwise leave 1 just outside its own interval).
  return { acc: p, stderr: Math.sqrt((p * (1 - p)) / n), low: k === 0 ? 0 : Math.max(0, centre - half), high: k === n ? 1 : Math.min(1, centre + half) };
}

export interface ArmChoice {
  chosen: EstimatedArm;
  /** True when an SSL arm's estimate beats supervised-only's. */
  sslHelped: boolean;
}

/**
 * The default arm: the SSL arm with the best estimate when it beats supervised-only's, else supervised-only
 * (an SSL arm must earn its place; ties go to the simpler model). Among SSL arms a tie goes to the probe.
 */
export function chooseArm(estimates: readonly ArmEstimate[]): ArmChoice {
  const sup = estimates.find((e) => e.method === 'supervised');
  const ssl = estimates.filter((e) => e.method !== 'supervised').sort((a, b) => b.acc - a.acc || order(a.method) - order(b.method))[0];
  if (!ssl) return { chosen: 'supervised', sslHelped: false };
  if (!sup) return { chosen: ssl.method, sslHelped: true };
  return ssl.acc > sup.acc ? { chosen: ssl.method, sslHelped: true } : { chosen: 'supervised', sslHelped: false };
}

function order(m: EstimatedArm): number {
  return m === 'linear' ? 0 : 1;
}
