/**
 * How good each arm will be, judged from the labels alone, before the final fit (issue 18 part 4): stratified
 * k-fold cross-validation on the labeled samples, read along the learning curve. Each fold trains the arm with
 * `fitMethod` (the same code the final fit runs) on the other folds' labels, for as many optimizer steps as the
 * final fit will take, and scores it on its own; every labeled sample is held out once, so the pooled accuracy
 * has a binomial uncertainty. That answers for (k-1)/k of the labels, and at 10 labels per class accuracy
 * still climbs steeply with labels: plain 3-fold read 4-8 points low on validation (bench/results/estimate.json).
 * So the folds are also run inverted (train on one fold, score on the rest: 1/k of the labels), and the line
 * through the two points in log(labels) is read at all the labels (`extrapolate`), with the standard error
 * carried through it (`curveEstimate`).
 *
 * Cheap enough to run inside the user's budget: the trained arms' folds see only the labeled images, the probe
 * trains on features in milliseconds, label propagation's folds spread labels over features and a graph the
 * pipeline computes once for them and its arm (2-6 s a fold on 50,000 images), and the two trained arms
 * (fine-tune, supervised) cost 2k fits of the final fit's steps on fewer images each: 101 s on 2 threads for the
 * default pipeline on Fashion-MNIST at 100 labels, where the first estimator (k fits of the final fit's epochs)
 * took 41-49 s; the pipeline gives it three quarters of what pretraining leaves. What it is for is ranking the
 * arms, and saying when SSL did not help.
 */
import type { Dataset } from '../data/dataset.js';
import { gatherRows, subset } from '../data/dataset.js';
import { Rng } from '../engine/seed.js';
import { UlearnError } from '../errors.js';
import { argmaxRows } from '../eval/metrics.js';
import { predictProba } from '../train/fit-classifier.js';
import type { Budget } from '../util/budget.js';
import { DEFAULT_SEMI_SETTINGS, fitEpochs, fitMethod, type EncoderSpec, type SemiSettings } from './fit.js';
import { labelSpreading, type SparseGraph } from './label-spreading.js';

/** The arms the pipeline chooses between (the optional semi stage is not estimated). */
export type EstimatedArm = 'supervised' | 'linear' | 'finetune' | 'label-propagation';

/**
 * What label propagation's folds spread over: the encoder's features of every training sample and their kNN
 * graph (built once; it does not depend on the labels). Rows are training-set indices.
 */
export interface PropagationPool {
  features: Float32Array;
  dim: number;
  graph: SparseGraph;
}

export interface EstimateSettings {
  /** Folds (≥ 2; more than the smallest class's label count is lowered to it). Default 3. */
  folds: number;
  /**
   * Share of the final fit's optimizer steps each fold trains (fine-tune, supervised). Default 1: a fold trains
   * as many steps as the final fit will, on fewer labels, so what it measures is the final recipe at a smaller
   * label count, not a shorter run of it.
   */
  stepsScale: number;
  /**
   * Read the learning curve: besides the k folds (each trains on (k-1)/k of the labels), train on one fold and
   * score on the rest (1/k of the labels), and extrapolate the two points to all the labels (`extrapolate`).
   * Cross-validation alone answers for (k-1)/k of the labels, which at 10 per class reads low. Needs 3 folds
   * or more (with 2, both points are half the labels; the curve is then skipped).
   */
  curve: boolean;
  /** Deprecated (configs from before `stepsScale`): share of the final fit's epochs per fold. */
  epochsScale?: number;
}

/**
 * Chosen on validation (bench/results/estimate.json: 10 labels per class, Fashion-MNIST, glyphs and shapes,
 * seeds 0-2, each arm trained on all the labels and scored on 2,000 validation images from train; 27 arm
 * estimates). Mean signed / absolute error: plain 3-fold at the final fit's epochs (the first estimator)
 * -6.3 / 6.6 points, 3-fold at the final fit's steps -5.4 / 6.3, with the curve +0.5 / 5.8. The curve removes
 * the bias; its noise stays (supervised-only reads high, +4.7, the probe low, -2.2). docs/semi.md has the rows.
 */
export const DEFAULT_ESTIMATE: EstimateSettings = { folds: 3, stepsScale: 1, curve: true };

/**
 * Conjugate-gradient iterations of each propagation fold (run to this count, no tolerance). Solving to 1e-6
 * takes about 73 iterations on 50,000 images, and the argmax settles long before. On validation
 * (bench/results/label-propagation-cost.json: the pool's propagated labels, 5 draws per dataset), 30 iterations
 * read within 0.06 point of the converged solve on Fashion-MNIST, glyphs and shapes in about 40% of its time;
 * 20 (Iscen et al.'s count) lost 0.45 on shapes. Six folds then cost about 8 s instead of about 18 s of the
 * run's budget, which the fine-tune folds after them were short of. The arm itself solves to convergence.
 */
export const FOLD_SPREADING_ITERATIONS = 30;

/** One way of training the folds, scored on the held-out labels. */
export interface FoldScore {
  /** Share of the labels each fold trained on. */
  share: number;
  acc: number;
  correct: number;
  total: number;
}

export interface ArmEstimate {
  method: EstimatedArm;
  /** The estimate for all the labels, in [0, 1]. */
  acc: number;
  /** Its standard error (binomial; through the extrapolation when the curve is read). */
  stderr: number;
  /** 95% interval: Wilson for plain cross-validation, acc ± 1.96 stderr (clipped) for the extrapolation. */
  low: number;
  high: number;
  /** Held-out predictions behind the (k-1)/k point (every labeled sample once). */
  correct: number;
  total: number;
  folds: number;
  /** The points measured: (k-1)/k of the labels, and with the curve 1/k. */
  points: FoldScore[];
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
  /** Required with the 'label-propagation' arm. */
  pool?: PropagationPool;
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

/** The settings with defaults filled in and checked (keys given as undefined take the defaults). */
export function estimateSettings(given: Partial<EstimateSettings> = {}): EstimateSettings {
  const g = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) as Partial<EstimateSettings>;
  const e: EstimateSettings = { ...DEFAULT_ESTIMATE, ...g };
  if (!Number.isInteger(e.folds) || e.folds < 2) throw new UlearnError(`estimate: folds must be an integer ≥ 2, got ${e.folds}`, { code: 'E_CONFIG' });
  if (g.epochsScale !== undefined && g.stepsScale !== undefined) throw new UlearnError('estimate: give stepsScale or the older epochsScale, not both', { code: 'E_CONFIG' });
  if (g.epochsScale !== undefined) {
    if (!(g.epochsScale > 0 && g.epochsScale <= 1)) throw new UlearnError(`estimate: epochsScale must be in (0, 1], got ${g.epochsScale}`, { code: 'E_CONFIG' });
    // The old meaning: a fold trained that share of the final fit's epochs on (k-1)/k of the labels.
    e.stepsScale = (g.epochsScale * (e.folds - 1)) / e.folds;
  }
  if (!(e.stepsScale > 0 && e.stepsScale <= 1)) throw new UlearnError(`estimate: stepsScale must be in (0, 1], got ${e.stepsScale}`, { code: 'E_CONFIG' });
  return e;
}

export async function estimateArms(input: EstimateInput): Promise<ArmEstimate[]> {
  const e = estimateSettings(input.estimate);
  if (input.arms.some((a) => a !== 'supervised' && a !== 'label-propagation') && !input.pretrained) throw new UlearnError('estimate: the SSL arms need the pretrained encoder checkpoint', { code: 'E_CONFIG' });
  if (input.arms.includes('label-propagation') && input.pool?.features.length !== input.train.size * (input.pool?.dim ?? 0)) {
    throw new UlearnError('estimate: label propagation needs the features of every training sample (pool)', { code: 'E_CONFIG' });
  }
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
  const finalEpochs = s.epochs ?? fitEpochs(input.labeled.length / K);
  const batch = s.batchSize ?? DEFAULT_SEMI_SETTINGS.batchSize;
  const size = data.x.length / data.size;
  const out: ArmEstimate[] = [];
  for (const arm of input.arms) {
    let steps = 0;
    let stoppedByBudget = false;
    /** Trains on the positions of `trainFolds`, scores on the rest. */
    const point = async (which: 'k-1' | '1'): Promise<FoldScore> => {
      let correct = 0;
      let total = 0;
      for (let f = 0; f < folds; f++) {
        const held = new Set(parts[f]);
        const inTrain = (p: number) => (which === 'k-1' ? !held.has(p) : held.has(p));
        const trainPos = Int32Array.from(yl.keys()).filter(inTrain);
        const testPos = Int32Array.from(yl.keys()).filter((p) => !inTrain(p));
        if (arm === 'label-propagation') {
          // Transductive, as the arm is: the held-out labels are hidden, the pool spreads the others, and
          // the held-out samples' propagated labels are scored. (The final arm then fits a probe on every
          // sample's propagated label; scoring that probe per fold would cost a 60k-row fit each.)
          const pool = input.pool!;
          const yPool = new Int32Array(input.train.size).fill(-1);
          for (const p of trainPos) yPool[input.labeled[p]] = yl[p];
          const lp = labelSpreading(pool.features, pool.dim, yPool, K, { graph: pool.graph, alpha: s.alpha, maxIterations: FOLD_SPREADING_ITERATIONS, tol: 0 });
          testPos.forEach((p) => (correct += lp.labels[input.labeled[p]] === yl[p] ? 1 : 0));
          total += testPos.length;
          continue;
        }
        const yVisible = Int32Array.from(yl, (c, p) => (inTrain(p) ? c : -1));
        // The final fit's steps (times stepsScale), on fewer labels: more epochs over them.
        const epochs = Math.max(1, Math.round((finalEpochs * stepsPerEpoch(input.labeled.length, batch) * e.stepsScale) / stepsPerEpoch(trainPos.length, batch)));
        const fit = await fitMethod({
          method: arm,
          train: data,
          y: yVisible,
          labeled: trainPos,
          encoder: input.encoder,
          pretrained: arm === 'supervised' ? undefined : input.pretrained,
          settings: { ...s, epochs },
          // The inverted folds get their own seeds, so the two points' training noise is independent.
          seed: input.seed + 1000 * (f + 1) + (which === '1' ? 500 : 0),
          budget: input.budget,
        });
        const pred = argmaxRows(predictProba(fit.encoder, fit.head, gatherRows(data.x, size, testPos), data.inputShape as [number, number, number]), K);
        testPos.forEach((p, k) => (correct += pred[k] === yl[p] ? 1 : 0));
        total += testPos.length;
        fit.encoder.dispose();
        fit.head.dispose();
        if (typeof fit.info.steps === 'number') steps += fit.info.steps;
        if (fit.info.stoppedByBudget === true) stoppedByBudget = true;
      }
      return { share: which === 'k-1' ? (folds - 1) / folds : 1 / folds, acc: correct / total, correct, total };
    };
    const hi = await point('k-1');
    const points = [hi];
    let est: { acc: number; stderr: number; low: number; high: number } = binomial(hi.correct, hi.total);
    // With two folds both points are the same share of the labels: there is no curve to read.
    if (e.curve && folds >= 3) {
      const lo = await point('1');
      points.push(lo);
      est = curveEstimate(lo, hi);
    }
    out.push({ method: arm, ...est, correct: hi.correct, total: hi.total, folds, points, steps, stoppedByBudget });
  }
  return out;
}

/** Optimizer steps in one epoch over `n` labels (fitClassifier drops a last partial batch when a full one exists). */
export function stepsPerEpoch(n: number, batchSize: number): number {
  return Math.max(1, Math.floor(n / Math.min(batchSize, n)));
}

/**
 * The extrapolated estimate and its uncertainty: the delta method through `extrapolate`'s line, each point's
 * binomial variance taken as independent (they are scored on different predictions of different models).
 */
export function curveEstimate(lo: FoldScore, hi: FoldScore): { acc: number; stderr: number; low: number; high: number } {
  const acc = extrapolate(lo.acc, hi.acc, lo.share, hi.share);
  const vHi = (hi.acc * (1 - hi.acc)) / hi.total;
  const vLo = (lo.acc * (1 - lo.acc)) / lo.total;
  const c = hi.acc > lo.acc ? Math.log(1 / hi.share) / Math.log(hi.share / lo.share) : 0;
  const stderr = Math.sqrt((1 + c) ** 2 * vHi + c ** 2 * vLo);
  return { acc, stderr, low: Math.max(0, acc - 1.96 * stderr), high: Math.min(1, acc + 1.96 * stderr) };
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

/**
 * The accuracy at the full label count, from two points of the learning curve: `accLo` measured training on
 * a `fracLo` share of the labels, `accHi` on `fracHi`. Accuracy is taken as linear in log(labels), which is
 * how few-shot learning curves look over a factor of two or three; the line through the two points is read
 * at share 1. A curve that did not rise (noise) is not extrapolated, and the result never exceeds 1.
 */
export function extrapolate(accLo: number, accHi: number, fracLo: number, fracHi: number): number {
  if (!(fracLo > 0 && fracLo < fracHi && fracHi < 1)) throw new UlearnError(`extrapolate: need 0 < fracLo < fracHi < 1, got ${fracLo}, ${fracHi}`);
  if (accHi <= accLo) return accHi;
  return Math.min(1, accHi + ((accHi - accLo) * Math.log(1 / fracHi)) / Math.log(fracHi / fracLo));
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
 * (an SSL arm must earn its place; ties go to the simpler model). Among SSL arms a tie goes to the probe, then
 * to label propagation, then to fine-tuning.
 *
 * Arms are ranked by plain cross-validation (`rankAccuracy`: the (k-1)/k point, every arm at the same label
 * count), not by the extrapolated accuracy reported beside the test number. Measured on validation
 * (bench/results/estimate.json, 9 runs): ranking by the extrapolation cost 1.9 points of the best arm's
 * validation accuracy on average, against 0.45 for plain cross-validation. The extrapolation amplifies noise (its standard
 * error is 7-8 points at 100 labels, against 4-5), and it reads supervised-only from scratch high (+4.7 on
 * average): at a third of the labels (3 per class) training from scratch is near chance, so the line through
 * that point is too steep. Once it chose supervised-only where fine-tuning was 13.7 points better.
 */
export function chooseArm(estimates: readonly ArmEstimate[]): ArmChoice {
  const sup = estimates.find((e) => e.method === 'supervised');
  const ssl = estimates.filter((e) => e.method !== 'supervised').sort((a, b) => rankAccuracy(b) - rankAccuracy(a) || order(a.method) - order(b.method))[0];
  if (!ssl) return { chosen: 'supervised', sslHelped: false };
  if (!sup) return { chosen: ssl.method, sslHelped: true };
  return rankAccuracy(ssl) > rankAccuracy(sup) ? { chosen: ssl.method, sslHelped: true } : { chosen: 'supervised', sslHelped: false };
}

/** What arms are ranked by: plain cross-validation accuracy (the (k-1)/k point); `acc` for records without points. */
export function rankAccuracy(e: Pick<ArmEstimate, 'acc' | 'points'>): number {
  return e.points?.[0]?.acc ?? e.acc;
}

/** Ties between SSL arms go to the cheaper, simpler one: the probe, then propagation, then fine-tuning. */
function order(m: EstimatedArm): number {
  return m === 'linear' ? 0 : m === 'label-propagation' ? 1 : 2;
}
