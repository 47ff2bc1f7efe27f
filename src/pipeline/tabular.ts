/**
 * Tables end to end: load (streaming CSV/ARFF) → preprocess (fitted on the training rows) → hide labels →
 * SCARF pretraining of an MLP encoder on every training row → on the few labels: linear probe, fine-tuning
 * (LP-FT), label propagation over the embeddings; against the same MLP trained on the labels alone and a
 * logistic regression on the preprocessed features. One function per step so the benchmark can pretrain once
 * per seed and compare several label budgets on the same encoder.
 *
 * `runTabular` writes a run directory: config.json, preprocessor.json + the fine-tuned encoder and head
 * (model/, with the preprocessor saved next to model.json), results.json. Runs take seconds to minutes, so
 * unlike the image pipeline it does not checkpoint mid-way; a killed run is simply run again.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { readManifest, tableRows } from '../data/manifest.js';
import type { Dataset } from '../data/dataset.js';
import { applyLabelBudget } from '../data/label-budget.js';
import { columnGroups, savePreprocessor, type TabularPreprocessor } from '../data/preprocess/index.js';
import { applyPreprocessor, loadTableDataset, type TableDatasets } from '../data/table-dataset.js';
import type { RowProblem } from '../data/csv-stream.js';
import { describeBackend, initBackend } from '../engine/backend.js';
import { Rng } from '../engine/seed.js';
import { UlearnError } from '../errors.js';
import { accuracy, argmaxRows } from '../eval/metrics.js';
import { saveModel } from '../models/io.js';
import { linearHead, mlpEncoder } from '../models/mlp.js';
import { labelSpreading, spreadToNewRows } from '../semi/label-spreading.js';
import { choosePseudoLabels } from '../semi/self-training.js';
import { createTabularSSLMethod, createTabularSSLViews } from '../ssl/registry.js';
import { trainSSL } from '../ssl/trainer.js';
import { encodeTensor } from '../models/encode.js';
import { fitTabular, predictTabular, type FitTabularOptions } from '../train/fit-tabular.js';
import { headFromProbe, trainLinearProbe } from '../train/linear-probe.js';
import { writeJsonAtomic } from '../util/atomic.js';
import { Budget } from '../util/budget.js';
import type { TabularConfig, TabularMethod } from './tabular-config.js';

/** Self-training for tables: 2 rounds, predictions at least 0.9 sure, each class adopting at most 1/K of 60% of the pool. */
const SELF_TRAIN = { rounds: 2, threshold: 0.9, poolShare: 0.6 };

/**
 * Label propagation for tables: 5 neighbours, alpha 0.9, no class balancing (cos^3 affinities, the solver's
 * default). Chosen on validation rows carved from the Weka sets' training splits (`npm run bench tune --
 * tabular`, bench/results/tuning.json): +4.9 points over the former k 10 / alpha 0.99 / balanced graph, 2.7
 * standard errors of the paired difference over 18 dataset x seed x label-share units, and no worse on any of
 * segment, soybean, credit-g. Most of it is alpha (k 10 / alpha 0.9: +4.2); balancing is within 0.2 points
 * either way. The image side (ulearn train, the light model) keeps the solver's defaults: not tuned here.
 */
const LABEL_PROP = { k: 5, alpha: 0.9, balance: false };

export interface TabularMethodResult {
  method: TabularMethod;
  /** Test accuracy over test rows that have a label. */
  accuracy: number;
  /** Seconds for this method alone (SSL methods: excluding the shared pretraining). */
  seconds: number;
  /** Optimizer steps of the trained arms (supervised, ssl-finetune, ssl-pseudo-label: all its rounds). */
  steps?: number;
  /** True when the arm's share of the budget ran out before its steps did. */
  stoppedByBudget?: boolean;
}

/** The arms that train a network with gradient steps, and so get a share of the run budget each. */
const TRAINED_ARMS: readonly TabularMethod[] = ['supervised', 'ssl-finetune', 'ssl-pseudo-label'];

/**
 * Loads train (+ test) rows and fits the preprocessor on the training rows. `cfg.data` may be a table or the
 * manifest `ulearn clean` wrote for one: then its excluded rows are left out and its `unlabel` rows lose
 * their label.
 */
export async function loadTabularData(cfg: TabularConfig, onSkip?: (p: RowProblem & { source: string }) => void): Promise<TableDatasets> {
  const tableOpts = { labelColumn: cfg.labelColumn, features: cfg.features, exclude: cfg.exclude, types: cfg.types, delimiter: cfg.delimiter, missing: cfg.missing, skipBadRows: cfg.skipBadRows, onSkip };
  let file = cfg.data;
  let rows: { exclude: Set<number>; unlabel: Set<number> } | undefined;
  if (/\.json$/i.test(cfg.data)) ({ table: file, ...rows } = tableRows(await readManifest(cfg.data), cfg.data));
  const data = await loadTableDataset(file, { ...tableOpts, rows, preprocess: cfg.preprocess, seed: cfg.seed, testFraction: cfg.testData ? 0 : cfg.testFraction });
  if (!cfg.testData) return data;
  const test = await applyPreprocessor(cfg.testData, data.preprocessor, { ...tableOpts, classes: data.train.classes, split: 'test' });
  return { ...data, test };
}

/** Training rows whose labels stay visible: a stratified share (at least one per class) or a count per class. */
export function chooseLabeled(train: Dataset, cfg: Pick<TabularConfig, 'labelFraction' | 'labelsPerClass'>, seed: number): Int32Array {
  const known = train.y.reduce((a, c) => a + (c >= 0 ? 1 : 0), 0);
  if (cfg.labelsPerClass !== undefined) return applyLabelBudget(train, { perClass: cfg.labelsPerClass, seed }).labeled;
  if (cfg.labelFraction === undefined || cfg.labelFraction >= 1) return Int32Array.from(Array.from(train.y.keys()).filter((i) => train.y[i] >= 0));
  const present = new Set(Array.from(train.y).filter((c) => c >= 0)).size;
  const total = Math.max(present, Math.round(cfg.labelFraction * known));
  return applyLabelBudget(train, { total, seed }).labeled;
}

export interface PretrainResult {
  encoder: tfl.LayersModel;
  steps: number;
  epochs: number;
  finalLoss: number;
  seconds: number;
  stoppedByBudget: boolean;
}

/** SCARF on every training row (labels unused), in the shared SSL trainer. */
export async function pretrainTabular(train: Dataset, preprocessor: TabularPreprocessor, cfg: TabularConfig, seed: number, budget?: Budget, log?: (s: string) => void): Promise<PretrainResult> {
  const t0 = performance.now();
  const dim = train.inputShape[0];
  const encoder = mlpEncoder({ inputDim: dim, widths: cfg.encoder.widths, dropout: cfg.encoder.dropout, seed });
  const p = cfg.pretrain;
  const method = createTabularSSLMethod(p.method, { encoder, inputDim: dim, temperature: p.temperature, lr: p.lr, seed });
  try {
    const r = await trainSSL({
      method,
      views: createTabularSSLViews(p.method, { pool: train.x, inputDim: dim, groups: columnGroups(preprocessor.json), corruptionRate: p.corruptionRate }),
      x: train.x,
      batchSize: p.batchSize,
      epochs: p.epochs,
      maxSteps: p.maxSteps,
      budget,
      rng: new Rng(seed).fork('scarf'),
      progress: log ? `${p.method} pretraining` : undefined,
    });
    const epochs = r.epochLosses.length;
    return { encoder, steps: r.steps, epochs, finalLoss: epochs ? r.epochLosses[epochs - 1] : NaN, seconds: (performance.now() - t0) / 1000, stoppedByBudget: r.stoppedByBudget };
  } finally {
    method.dispose();
  }
}

function copyEncoder(src: tfl.LayersModel, cfg: TabularConfig, dim: number, seed: number): tfl.LayersModel {
  const copy = mlpEncoder({ inputDim: dim, widths: cfg.encoder.widths, dropout: cfg.encoder.dropout, seed });
  copy.setWeights(src.getWeights());
  return copy;
}

function testAccuracy(test: Dataset, probs: Float32Array): number {
  const keep = Array.from(test.y.keys()).filter((i) => test.y[i] >= 0);
  const k = test.classes.length;
  const pred = argmaxRows(probs, k);
  return accuracy(Int32Array.from(keep, (i) => test.y[i]), Int32Array.from(keep, (i) => pred[i]));
}

function probeProbs(trainFeat: tf.Tensor2D, testFeat: tf.Tensor2D, y: Int32Array, labeled: Int32Array, nClasses: number, seed: number) {
  const lab = tf.gather(trainFeat, tf.tensor1d(labeled, 'int32')) as tf.Tensor2D;
  const probe = trainLinearProbe(lab, Int32Array.from(labeled, (i) => y[i]), nClasses, { seed });
  lab.dispose();
  const p = probe.predictProba(testFeat);
  const probs = p.dataSync() as Float32Array;
  p.dispose();
  return { probe, probs };
}

/**
 * Every method in `cfg.methods` on one label budget. `pretrained` (for the ssl-* methods) is not modified:
 * fine-tuning works on a copy. Returns per-method accuracy and the fine-tuned model (for saving).
 *
 * `budget` is split between the trained arms as each starts (the first of three gets a third of what is left,
 * the next half of what is then left, the last the rest), so no arm is starved by the ones before it; the
 * closed-form arms (logreg, ssl-linear, ssl-labelprop) take milliseconds and are not budgeted.
 */
export function compareTabular(
  data: { train: Dataset; test: Dataset },
  labeled: Int32Array,
  pretrained: tfl.LayersModel | undefined,
  cfg: TabularConfig,
  seed: number,
  budget?: Budget,
): { results: TabularMethodResult[]; model?: { encoder: tfl.LayersModel; head: tfl.LayersModel } } {
  const { train, test } = data;
  const dim = train.inputShape[0];
  const k = train.classes.length;
  const results: TabularMethodResult[] = [];
  const ft = cfg.finetune;
  // Each trained arm's fits, with their steps summed into its result.
  let armsLeft = cfg.methods.filter((m) => TRAINED_ARMS.includes(m)).length;
  let arm: { budget?: Budget; steps: number; stoppedByBudget: boolean } | undefined;
  const time = (method: TabularMethod, f: () => Float32Array) => {
    const t0 = performance.now();
    arm = TRAINED_ARMS.includes(method) ? { budget: budget?.child(1 / armsLeft--), steps: 0, stoppedByBudget: false } : undefined;
    const probs = f();
    const trained = arm ? { steps: arm.steps, stoppedByBudget: arm.stoppedByBudget } : {};
    results.push({ method, accuracy: testAccuracy(test, probs), seconds: (performance.now() - t0) / 1000, ...trained });
  };
  /** fitTabular within the current arm's budget; `share` of what the arm has left (its later fits need the rest). */
  const fit = (o: Omit<FitTabularOptions, 'budget' | 'seed' | 'steps' | 'batchSize' | 'lrHead' | 'weightDecay' | 'x' | 'dim' | 'nClasses'>, share = 1) => {
    const r = fitTabular({ ...o, x: train.x, dim, nClasses: k, steps: ft.steps, batchSize: ft.batchSize, lrHead: ft.lr, weightDecay: ft.weightDecay, seed, budget: arm?.budget?.child(share) });
    if (arm) {
      arm.steps += r.steps;
      arm.stoppedByBudget ||= r.stoppedByBudget;
    }
  };
  let model: { encoder: tfl.LayersModel; head: tfl.LayersModel } | undefined;
  const want = new Set(cfg.methods);
  if (want.has('logreg')) {
    time('logreg', () => {
      const [xtr, xte] = [tf.tensor2d(train.x, [train.size, dim]), tf.tensor2d(test.x, [test.size, dim])];
      const { probe, probs } = probeProbs(xtr, xte, train.y, labeled, k, seed);
      probe.dispose();
      tf.dispose([xtr, xte]);
      return probs;
    });
  }
  if (want.has('supervised')) {
    time('supervised', () => {
      const encoder = mlpEncoder({ inputDim: dim, widths: cfg.encoder.widths, dropout: cfg.encoder.dropout, seed });
      const head = linearHead(cfg.encoder.widths[cfg.encoder.widths.length - 1], k, seed);
      fit({ encoder, head, y: train.y, indices: labeled });
      const probs = predictTabular(encoder, head, test.x, dim);
      encoder.dispose();
      head.dispose();
      return probs;
    });
  }
  const ssl = cfg.methods.filter((m) => m.startsWith('ssl-'));
  if (ssl.length > 0) {
    if (!pretrained) throw new UlearnError(`methods ${ssl.join(', ')} need a pretrained encoder`, { code: 'E_CONFIG' });
    // The frozen features and the linear probe on them are shared by the ssl-* arms: each computed once, when
    // the first arm needs it (so that arm's seconds include it), and freed after the last.
    let features: { ftr: tf.Tensor2D; fte: tf.Tensor2D } | undefined;
    let sharedProbe: ReturnType<typeof probeProbs> | undefined;
    const feats = () => (features ??= { ftr: encodeTensor(pretrained, train.x, [dim]), fte: encodeTensor(pretrained, test.x, [dim]) });
    const probeOnFeatures = () => (sharedProbe ??= probeProbs(feats().ftr, feats().fte, train.y, labeled, k, seed));
    if (want.has('ssl-linear')) time('ssl-linear', () => probeOnFeatures().probs);
    // LP-FT (Kumar et al. 2022): start the head from the linear probe so early gradients do not wreck the features.
    // `fits`: how many fits the arm makes in all, so the first takes only its share of the arm's budget.
    const lpft = (fits: number) => {
      const encoder = copyEncoder(pretrained, cfg, dim, seed);
      const head = headFromProbe(linearHead(encoder.outputs[0].shape[1]!, k, seed), probeOnFeatures().probe);
      const refit = (y: Int32Array, indices: ArrayLike<number>, share: number) => fit({ encoder, head, y, indices, lrEncoder: ft.lr * ft.encoderLrScale }, share);
      refit(train.y, labeled, 1 / fits);
      return { encoder, head, refit };
    };
    if (want.has('ssl-finetune')) {
      time('ssl-finetune', () => {
        const { encoder, head } = lpft(1);
        model = { encoder, head };
        return predictTabular(encoder, head, test.x, dim);
      });
    }
    if (want.has('ssl-pseudo-label')) {
      time('ssl-pseudo-label', () => {
        // LP-FT, then rounds of class-balanced self-training on the unlabeled training rows (their true labels,
        // where the file has them, are never read: y holds only the visible labels and the adopted predictions).
        const rounds = SELF_TRAIN.rounds;
        const { encoder, head, refit } = lpft(1 + rounds);
        const isLabeled = new Uint8Array(train.size);
        for (const i of labeled) isLabeled[i] = 1;
        const pool = Int32Array.from({ length: train.size }, (_, i) => i).filter((i) => !isLabeled[i]);
        const perClass = Math.max(1, Math.round((SELF_TRAIN.poolShare * pool.length) / k));
        for (let round = 0; round < rounds && pool.length > 0; round++) {
          const choice = choosePseudoLabels(predictTabular(encoder, head, train.x, dim), k, pool, SELF_TRAIN.threshold, perClass);
          const y = new Int32Array(train.size).fill(-1);
          for (const i of labeled) y[i] = train.y[i];
          choice.indices.forEach((i, j) => (y[i] = choice.labels[j]));
          refit(y, [...labeled, ...choice.indices], 1 / (rounds - round));
        }
        const probs = predictTabular(encoder, head, test.x, dim);
        encoder.dispose();
        head.dispose();
        return probs;
      });
    }
    if (want.has('ssl-labelprop')) {
      time('ssl-labelprop', () => {
        const { ftr, fte } = feats();
        const [etr, ete] = [ftr.dataSync() as Float32Array, fte.dataSync() as Float32Array];
        const d = ftr.shape[1];
        const visible = new Int32Array(train.size).fill(-1);
        for (const i of labeled) visible[i] = train.y[i];
        // Spread over the training rows' graph, then classify test rows by their nearest training rows.
        const spread = labelSpreading(etr, d, visible, k, LABEL_PROP);
        return spreadToNewRows(etr, spread.proba, k, ete, d, LABEL_PROP.k);
      });
    }
    sharedProbe?.probe.dispose();
    if (features) tf.dispose([features.ftr, features.fte]);
  }
  return { results, model };
}

export interface TabularRunResult {
  runDir: string;
  backend: string;
  labeled: number;
  trainRows: number;
  testRows: number;
  pretrain?: Omit<PretrainResult, 'encoder'>;
  results: TabularMethodResult[];
}

/** The whole pipeline for one config, into `runDir`. */
export async function runTabular(cfg: TabularConfig, runDir: string, log: (s: string) => void = () => undefined): Promise<TabularRunResult> {
  const budget = Budget.parse(cfg.budget);
  // Data first: a bad file is reported before any backend start-up output.
  const data = await loadTabularData(cfg, (p) => log(`skipped ${p.source} line ${p.line}, column ${p.column}: ${p.message}`));
  const backend = describeBackend(await initBackend(cfg.backend));
  log(`backend: ${backend}`);
  if (!data.test || data.test.size === 0) throw new UlearnError(`${cfg.data}: no test rows (set testFraction > 0 or testData)`, { code: 'E_CONFIG' });
  const labeled = chooseLabeled(data.train, cfg, cfg.seed);
  log(`${data.train.size} training rows (${labeled.length} labeled), ${data.test.size} test rows, ${data.preprocessor.width} features, ${data.train.classes.length} classes`);
  for (const d of data.preprocessor.json.dropped) if (d.reason !== 'label') log(`column '${d.name}' not used: ${d.reason}`);
  await mkdir(runDir, { recursive: true });
  await writeJsonAtomic(join(runDir, 'config.json'), cfg);
  const needsSsl = cfg.methods.some((m) => m.startsWith('ssl-'));
  // Pretraining may take its share of the budget and no more: the trained arms split what is left.
  const pre = needsSsl ? await pretrainTabular(data.train, data.preprocessor, cfg, cfg.seed, budget.child(cfg.pretrain.budgetShare), log) : undefined;
  if (pre) log(`${cfg.pretrain.method}: ${pre.steps} steps (${pre.epochs} epochs) in ${pre.seconds.toFixed(1)} s, loss ${pre.finalLoss.toFixed(3)}${pre.stoppedByBudget ? ' (stopped by the budget)' : ''}`);
  const { results, model } = compareTabular({ train: data.train, test: data.test }, labeled, pre?.encoder, cfg, cfg.seed, budget);
  for (const r of results) log(`${r.method.padEnd(16)} ${(100 * r.accuracy).toFixed(1)}%  ${r.seconds.toFixed(1)} s${r.steps === undefined ? '' : `  ${r.steps} steps${r.stoppedByBudget ? ' (budget)' : ''}`}`);
  if (model) {
    const dir = join(runDir, 'model');
    // One model (encoder → head) so `predict` loads a single file; the preprocessor goes next to it.
    const input = tfl.input({ shape: [data.train.inputShape[0]] });
    const full = tfl.model({ inputs: input, outputs: model.head.apply(model.encoder.apply(input)) as tfl.SymbolicTensor, name: 'tabular_classifier' });
    await saveModel(full, dir);
    await savePreprocessor(dir, data.preprocessor);
    await writeJsonAtomic(join(dir, 'classes.json'), { labelColumn: cfg.labelColumn, classes: data.train.classes });
    model.encoder.dispose();
    model.head.dispose();
  }
  const result: TabularRunResult = {
    runDir,
    backend,
    labeled: labeled.length,
    trainRows: data.train.size,
    testRows: data.test.size,
    ...(pre ? { pretrain: { steps: pre.steps, epochs: pre.epochs, finalLoss: pre.finalLoss, seconds: pre.seconds, stoppedByBudget: pre.stoppedByBudget } } : {}),
    results,
  };
  pre?.encoder.dispose();
  await writeJsonAtomic(join(runDir, 'results.json'), result);
  return result;
}
