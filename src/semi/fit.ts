/**
 * One entry point that turns (training set, visible labels, optional pretrained encoder) into an encoder +
 * classifier head, for every method ulearn compares: supervised-only, SSL + linear probe, SSL + fine-tune,
 * label propagation, pseudo-labeling and FixMatch (from scratch or from the encoder). `ulearn train`, the
 * pipeline's `semi` stage and the label-efficiency benchmark all call this, so they measure the same thing.
 */
import { existsSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { gatherRows, sampleSize, type Dataset, type Modality } from '../data/dataset.js';
import { UlearnError } from '../errors.js';
import { buildEncoder as buildEncoderOf } from '../models/architecture.js';
import { loadEncoder } from '../models/load-encoder.js';
import { classifierHead, featureDim } from '../models/resnet.js';
import { fitClassifier } from '../train/fit-classifier.js';
import { encodeFrozen } from '../models/encode.js';
import { headFromProbe, trainLinearProbe } from '../train/linear-probe.js';
import { REGULARIZERS, type Regularizer } from '../train/step.js';
import type { Budget } from '../util/budget.js';
import { Progress } from '../util/progress.js';
import { FixMatch } from './fixmatch.js';
import { labelSpreading, type SparseGraph } from './label-spreading.js';
import type { SemiMethod, SemiMethodOptions } from './method.js';
import { PseudoLabel } from './pseudo-label.js';
import { trainSemi } from './train.js';
import { checkSemiSetup, checkThreshold } from './validate.js';

import { FIT_METHODS, NEEDS_ENCODER, type FitMethod } from './names.js';
import { modality } from '../modality.js';
import { fitSsvae } from '../generate/fit-ssvae.js';

export { FIT_METHODS, NEEDS_ENCODER, type FitMethod };

export interface SemiSettings {
  /** Pseudo-label confidence threshold, (0, 1]. Default 0.95. */
  threshold: number;
  /** Unlabeled-to-labeled batch ratio. Default 7. */
  mu: number;
  /** Labeled batch size. Default 32. */
  batchSize: number;
  /** Steps at most for pseudo-label / FixMatch (the budget usually stops them first). Default 100000. */
  steps: number;
  /** Epochs over the labels for supervised / fine-tune; default `fitEpochs`: max(20, 600 / labels per class). */
  epochs?: number;
  lr: number;
  /** Encoder rate as a share of lr when starting from a pretrained encoder. Default 0.3. */
  encoderLrScale: number;
  emaDecay: number;
  lambdaU: number;
  /** Label propagation: neighbours and alpha. */
  k: number;
  alpha: number;
  /** Horizontal flips in the augmentations (off for digits and text). Default true. */
  flip: boolean;
  /**
   * Fine-tuning a pretrained encoder (`finetune`): how its kernels and the head's are regularised
   * (train/step.ts) and how strongly. Training from scratch (`supervised`) keeps coupled L2 at 5e-4, its own
   * recipe. Defaults measured in bench/results/finetune-recipes.json.
   */
  finetuneRegularizer: Regularizer;
  finetuneWeightDecay: number;
  /**
   * L2 weight decay of the linear probe on the labels (the `linear` method, and LP-FT's head). Label propagation's
   * probe, fitted on the whole pool's propagated labels, keeps the probe's own 1e-3.
   */
  probeWeightDecay: number;
  /** Fine-tune from a head a linear probe initialised (LP-FT, Kumar et al. 2022) rather than a random one. Default true. */
  lpft: boolean;
  /** `ssvae` without an encoder: M1+M2 on a VAE's posterior instead of M2 on the images (src/generate/fit-ssvae.ts). */
  ssvaeM1?: boolean;
}

export const DEFAULT_SEMI_SETTINGS: SemiSettings = {
  threshold: 0.95,
  mu: 7,
  batchSize: 32,
  steps: 100_000,
  lr: 2e-3,
  encoderLrScale: 0.3,
  emaDecay: 0.999,
  lambdaU: 1,
  k: 10,
  alpha: 0.99,
  flip: true,
  // bench/results/finetune-recipes.json (small scale: Fashion-MNIST, glyphs, shapes at 10 labels per class,
  // seeds 0-1, validation split from train): the LP-FT recipes tie within 0.4 points (coupled L2 52.5%,
  // decoupled 52.5%, L2-SP 1e-3 52.4%, L2-SP 1e-2 52.2%; seed noise is 2-5 points), LP-FT beats a random head
  // by 1.9-3.0. L2-SP at 1e-3 breaks the tie: it never decays the pretrained weights toward zero, and the loss
  // it reports is cross-entropy, not a penalty on the probe head's folded scale (68-86% of the old loss).
  finetuneRegularizer: 'l2-sp',
  finetuneWeightDecay: 1e-3,
  // bench/results/encoder-widths.json (validation splits, 10 labels per class, 5 draws): 1e-2 is at least as good
  // as the old 1e-3 on every dataset and encoder (16-32-64: Fashion-MNIST +1.0, glyphs +0.4, shapes +0.03;
  // 16-32-64-128: +0.58, +0.45, +0.11). Stronger decay helps Fashion-MNIST more but costs shapes (3e-2 against
  // 1e-2: -1.1 and -0.7), and choosing it by cross-validation on 100 labels cost shapes 0.8: too few labels.
  probeWeightDecay: 1e-2,
  lpft: true,
};

/** From scratch: coupled L2 on every kernel (the supervised baseline's recipe, and FixMatch's). */
const SCRATCH_WEIGHT_DECAY = 5e-4;

/** A fresh encoder's shape (a pretrained one brings its own, recorded in its checkpoint). */
export interface EncoderSpec {
  /** Default: the modality's (src/modality.ts). */
  widths?: number[];
  blocksPerStage?: number;
}

export interface FitInput {
  method: FitMethod;
  train: Dataset;
  /** Visible labels (-1 = hidden), same length as train.size. */
  y: Int32Array;
  labeled: Int32Array;
  /** The architecture of a fresh encoder; not needed with `pretrained`, which brings its own. */
  encoder?: EncoderSpec;
  /**
   * A pretrained encoder: a checkpoint dir, run directory or model folder (loadEncoder; its recorded
   * architecture is used), or the model itself (a library caller's, e.g. from `pretrain`; methods that train
   * the encoder train it in place). Required by NEEDS_ENCODER methods.
   */
  pretrained?: string | tfl.LayersModel;
  /** Encoder features of every training sample, if already computed for this encoder (the benchmark caches them). */
  features?: Float32Array;
  settings?: Partial<SemiSettings>;
  /**
   * Extra labeled samples appended to the training set (generated ones: src/generate/filter.ts draws and
   * filters them), `train.inputShape` each, labels in `train.classes`. They count as labels everywhere a
   * method uses labels (batches, the LP-FT probe, label propagation's seeds, the epochs rule), which is what
   * "adding generated samples to the labeled set" means; `features` and `graph` cover the real samples only
   * and are recomputed when these are given.
   */
  generated?: { x: Float32Array; y: Int32Array; ids?: string[] };
  /** Label propagation: a kNN graph of `features` built earlier with the same k (see labelSpreading's graph). */
  graph?: SparseGraph;
  seed: number;
  budget: Budget;
  log?: (line: string) => void;
}

export interface FitOutput {
  encoder: tfl.LayersModel;
  head: tfl.LayersModel;
  /** What the method did (steps, epochs, mask rate, propagation accuracy on the pool...), for results and logs. */
  info: Record<string, unknown>;
}

/** [H, W, C] of an image, or [frames, 1, bins] of featurized audio (src/data/preprocess/audio.ts). */
function imageShape(ds: Dataset): [number, number, number] {
  if ((ds.modality !== 'image' && ds.modality !== 'audio') || ds.inputShape.length !== 3) {
    const hint = ds.modality === 'audio' ? 'featurize the clips first (featurize in src/data/preprocess/audio.ts; the CLI and pipeline do it)' : undefined;
    throw new UlearnError(`${ds.source}: needs images [H, W, C] or audio features [frames, 1, bins], got ${ds.modality} [${ds.inputShape}]`, { code: 'E_DATA', hint });
  }
  return ds.inputShape as [number, number, number];
}

/** Every check that can fail fast, before any model is built or data is encoded. */
export function checkFitInput(i: Pick<FitInput, 'method' | 'train' | 'y' | 'labeled' | 'pretrained' | 'settings'>): SemiSettings {
  if (!(FIT_METHODS as readonly string[]).includes(i.method)) {
    throw new UlearnError(`unknown training method '${i.method}'`, { code: 'E_CONFIG', hint: `choose one of: ${FIT_METHODS.join(', ')}` });
  }
  const s = { ...DEFAULT_SEMI_SETTINGS, ...i.settings };
  checkThreshold(s.threshold);
  if (!REGULARIZERS.includes(s.finetuneRegularizer)) throw new UlearnError(`unknown fine-tune regularizer '${String(s.finetuneRegularizer)}'`, { code: 'E_CONFIG', hint: `choose one of: ${REGULARIZERS.join(', ')}` });
  if (!(s.finetuneWeightDecay >= 0)) throw new UlearnError(`fine-tune weight decay must be ≥ 0, got ${s.finetuneWeightDecay}`, { code: 'E_CONFIG' });
  if (!(s.probeWeightDecay >= 0)) throw new UlearnError(`probe weight decay must be ≥ 0, got ${s.probeWeightDecay}`, { code: 'E_CONFIG' });
  if (!(s.alpha > 0 && s.alpha < 1)) throw new UlearnError(`alpha must be in (0, 1), got ${s.alpha}`, { code: 'E_CONFIG' });
  if (!Number.isInteger(s.mu) || s.mu < 1) throw new UlearnError(`mu must be a positive integer, got ${s.mu}`, { code: 'E_CONFIG' });
  if (NEEDS_ENCODER.includes(i.method) && !i.pretrained) {
    throw new UlearnError(`method '${i.method}' needs a pretrained encoder`, { code: 'E_CONFIG', hint: 'pass --encoder <run dir, checkpoint or model folder> (e.g. runs/<id>)' });
  }
  if (typeof i.pretrained === 'string' && !existsSync(i.pretrained)) {
    throw new UlearnError(`encoder ${i.pretrained}: no such folder`, { code: 'E_CHECKPOINT', hint: 'give a run directory, its checkpoints/pretrain-encoder, or a model folder' });
  }
  imageShape(i.train);
  const isLabeled = new Uint8Array(i.train.size);
  for (const k of i.labeled) isLabeled[k] = 1;
  const unlabeled = unlabeledIndices(isLabeled);
  checkSemiSetup({ name: i.train.name, classes: i.train.classes, y: i.y, labeled: i.labeled, unlabeled, needsUnlabeled: ['label-propagation', 'pseudo-label', 'fixmatch'].includes(i.method) });
  return s;
}

function unlabeledIndices(isLabeled: Uint8Array): Int32Array {
  const out: number[] = [];
  for (let k = 0; k < isLabeled.length; k++) if (!isLabeled[k]) out.push(k);
  return Int32Array.from(out);
}

/**
 * The pretrained encoder (rebuilt from what its checkpoint records, at the data's image size), or a fresh
 * one of `spec` when there is none.
 */
export async function buildEncoder(inputShape: [number, number, number], spec: EncoderSpec | undefined, seed: number, pretrained?: string, kind: Modality = 'image'): Promise<tfl.LayersModel> {
  if (pretrained) return (await loadEncoder(pretrained, { inputShape })).encoder;
  if (!spec) throw new UlearnError("give the encoder's architecture (widths, blocksPerStage) or a pretrained encoder", { code: 'E_CONFIG' });
  return buildEncoderOf({ ...modality(kind).encoder(inputShape, spec), method: 'none' }, seed);
}

/** A linear probe on frozen features, turned into a classifier head on the raw (unstandardised) features. */
function probeHead(feats: Float32Array, dim: number, labels: Int32Array, nClasses: number, seed: number, weightDecay?: number): tfl.LayersModel {
  const f = tf.tensor2d(feats, [labels.length, dim]);
  const probe = trainLinearProbe(f, labels, nClasses, { seed, weightDecay });
  f.dispose();
  const head = headFromProbe(classifierHead(dim, nClasses, { seed }), probe);
  probe.dispose();
  return head;
}

/**
 * Epochs over the labels for supervised training and fine-tuning: 60 at 10 labels per class, and the same
 * number of steps' worth at other counts (600 / labels per class), but at least 20. The label-efficiency and
 * SSL benchmark figures in docs/semi.md and the README were measured with this rule.
 */
export function fitEpochs(labelsPerClass: number): number {
  return Math.max(20, Math.round(600 / labelsPerClass));
}

/**
 * The one place the labeled set is assembled: the real training set and visible labels, plus any generated
 * samples, appended after the real ones as labeled samples.
 */
function withGenerated(i: FitInput): FitInput {
  const g = i.generated;
  if (!g || g.y.length === 0) return { ...i, generated: undefined };
  const per = sampleSize(i.train);
  const n = i.train.size;
  const m = g.y.length;
  if (g.x.length !== m * per) throw new UlearnError(`generated samples: ${g.x.length} values for ${m} samples of [${i.train.inputShape}]`, { code: 'E_GENERATED' });
  const K = i.train.classes.length;
  const bad = g.y.findIndex((c) => !(c >= 0 && c < K));
  if (bad >= 0) throw new UlearnError(`generated sample ${g.ids?.[bad] ?? bad} has label ${g.y[bad]}, expected one of the ${K} classes`, { code: 'E_GENERATED' });
  const x = new Float32Array((n + m) * per);
  x.set(i.train.x);
  x.set(g.x, n * per);
  const concat = (a: Int32Array, b: Int32Array) => {
    const out = new Int32Array(n + m);
    out.set(a);
    out.set(b, n);
    return out;
  };
  const ids = [...i.train.ids, ...Array.from({ length: m }, (_, k) => g.ids?.[k] ?? `generated/${k}`)];
  const train: Dataset = { ...i.train, size: n + m, x, y: concat(i.train.y, g.y), ids };
  const labeled = new Int32Array(i.labeled.length + m);
  labeled.set(i.labeled);
  for (let k = 0; k < m; k++) labeled[i.labeled.length + k] = n + k;
  return { ...i, train, y: concat(i.y, g.y), labeled, features: undefined, graph: undefined, generated: undefined };
}

export async function fitMethod(rawInput: FitInput): Promise<FitOutput> {
  const input = withGenerated(rawInput);
  const s = checkFitInput(input);
  const log = input.log ?? (() => {});
  const { train, y, labeled, seed, budget } = input;
  const shape = imageShape(train);
  const K = train.classes.length;
  const lpc = labeled.length / K;
  if (input.method === 'ssvae') {
    // The semi-supervised VAE brings its own classifier q(y|x); a pretrained encoder makes it M1+M2.
    const pre = typeof input.pretrained === 'object' ? input.pretrained : input.pretrained ? await buildEncoder(shape, undefined, seed + 1, input.pretrained, train.modality) : undefined;
    return fitSsvae({ train, y, encoder: pre, m1: input.settings?.ssvaeM1, steps: input.settings?.steps, batchSize: input.settings?.batchSize, lr: input.settings?.lr, seed, budget });
  }
  const encoder = typeof input.pretrained === 'object' ? input.pretrained : await buildEncoder(shape, input.encoder, seed + 1, input.pretrained, train.modality);
  const augments = modality(train.modality).trainAugments!(shape, { flip: s.flip, data: train });
  const dim = featureDim(encoder);
  const yl = Int32Array.from(labeled, (i) => y[i]);
  // Frozen features: an imported ONNX encoder, untouched so far, runs them in onnxruntime (encodeFrozen).
  const allFeatures = async () => input.features ?? (await encodeFrozen(encoder, train.x, shape, { progress: 'encode' }));
  const labeledFeatures = async () => (input.features ? gatherRows(input.features, dim, labeled) : await encodeFrozen(encoder, gatherRows(train.x, shape[0] * shape[1] * shape[2], labeled), shape));

  if (input.method === 'linear') {
    return { encoder, head: probeHead(await labeledFeatures(), dim, yl, K, seed, s.probeWeightDecay), info: { labels: labeled.length, probeWeightDecay: s.probeWeightDecay } };
  }
  if (input.method === 'label-propagation') {
    const f = await allFeatures();
    const t0 = Date.now();
    const lp = labelSpreading(f, dim, y, K, { k: s.k, alpha: s.alpha, graph: input.graph });
    // Inductive step (Iscen et al.): a linear classifier on the propagated labels of the whole pool, so new
    // images get predictions without rebuilding the graph.
    const all = Int32Array.from({ length: train.size }, (_, i) => i);
    const head = probeHead(f, dim, Int32Array.from(all, (i) => lp.labels[i]), K, seed);
    const poolAcc = propagationAccuracy(train.y, y, lp.labels);
    log(`label propagation: ${lp.iterations} CG iterations, ${lp.exactGraph ? 'exact' : 'HNSW'} graph, ${((Date.now() - t0) / 1000).toFixed(1)} s${poolAcc === undefined ? '' : `, pool accuracy ${(poolAcc * 100).toFixed(1)}%`}`);
    return { encoder, head, info: { iterations: lp.iterations, exactGraph: lp.exactGraph, k: s.k, alpha: s.alpha, poolAccuracy: poolAcc } };
  }

  const lpft = input.pretrained && (input.method !== 'finetune' || s.lpft);
  const head = lpft ? probeHead(await labeledFeatures(), dim, yl, K, seed, s.probeWeightDecay) : classifierHead(dim, K, { seed: seed + 7 });
  if (input.method === 'supervised' || input.method === 'finetune') {
    const tuning = input.method === 'finetune';
    const epochs = s.epochs ?? fitEpochs(lpc);
    const progress = new Progress(input.method, epochs, { budget });
    const r = fitClassifier({
      encoder,
      head,
      x: train.x,
      inputShape: shape,
      y,
      indices: labeled,
      nClasses: K,
      augment: augments.weak,
      epochs,
      batchSize: s.batchSize,
      lrHead: s.lr,
      lrEncoder: input.pretrained ? s.lr * s.encoderLrScale : s.lr,
      regularizer: tuning ? s.finetuneRegularizer : 'l2',
      weightDecay: tuning ? s.finetuneWeightDecay : SCRATCH_WEIGHT_DECAY,
      seed,
      budget,
      onEpoch: (_e, loss) => progress.tick(1, { loss: loss.toFixed(3) }),
    });
    progress.done();
    const last = r.penalties[r.penalties.length - 1];
    const recipe = tuning ? { regularizer: s.finetuneRegularizer, weightDecay: s.finetuneWeightDecay, lpft: s.lpft, ...(s.lpft ? { probeWeightDecay: s.probeWeightDecay } : {}) } : { regularizer: 'l2', weightDecay: SCRATCH_WEIGHT_DECAY };
    return {
      encoder,
      head,
      info: { epochs: r.epochs, steps: r.steps, stoppedByBudget: r.stoppedByBudget, pretrained: Boolean(input.pretrained), ...recipe, finalLoss: r.losses[r.losses.length - 1], firstPenalty: r.penalties[0], finalPenalty: last },
    };
  }

  const isLabeled = new Uint8Array(train.size);
  for (const k of labeled) isLabeled[k] = 1;
  const opts: SemiMethodOptions = {
    encoder,
    head,
    inputShape: shape,
    nClasses: K,
    weak: augments.weak,
    strong: augments.strong,
    threshold: s.threshold,
    lambdaU: s.lambdaU,
    lr: s.lr,
    encoderLrScale: input.pretrained ? s.encoderLrScale : 1,
    emaDecay: s.emaDecay,
  };
  const method: SemiMethod = input.method === 'fixmatch' ? new FixMatch(opts) : new PseudoLabel(opts);
  try {
    const r = trainSemi({ method, x: train.x, y, labeled, unlabeled: unlabeledIndices(isLabeled), batchSize: s.batchSize, mu: s.mu, steps: s.steps, seed, budget, progressLabel: method.name });
    return { encoder, head, info: { steps: r.steps, stoppedByBudget: r.stoppedByBudget, maskRate: r.last?.maskRate, pretrained: Boolean(input.pretrained), mu: s.mu, threshold: s.threshold } };
  } finally {
    method.dispose();
  }
}


/** Accuracy of propagated labels on the hidden part of the pool, when the true labels are known (benchmarks). */
function propagationAccuracy(truth: Int32Array, visible: Int32Array, predicted: Int32Array): number | undefined {
  let n = 0;
  let ok = 0;
  for (let i = 0; i < truth.length; i++) {
    if (visible[i] >= 0 || truth[i] < 0) continue;
    n++;
    if (predicted[i] === truth[i]) ok++;
  }
  return n ? ok / n : undefined;
}
