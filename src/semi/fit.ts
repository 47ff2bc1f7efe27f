/**
 * One entry point that turns (training set, visible labels, optional pretrained encoder) into an encoder +
 * classifier head, for every method ulearn compares: supervised-only, SSL + linear probe, SSL + fine-tune,
 * label propagation, pseudo-labeling and FixMatch (from scratch or from the encoder). `ulearn train`, the
 * pipeline's `semi` stage and the label-efficiency benchmark all call this, so they measure the same thing.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { strongAugment, weakAugment } from '../augment/presets.js';
import type { Dataset } from '../data/dataset.js';
import { UlearnError } from '../errors.js';
import { buildResNetEncoder, classifierHead, featureDim } from '../models/resnet.js';
import { loadCheckpoint } from '../runs/checkpoint.js';
import { fitClassifier } from '../train/fit-classifier.js';
import { encodeAll } from '../train/features.js';
import { trainLinearProbe } from '../train/linear-probe.js';
import type { Budget } from '../util/budget.js';
import { Progress } from '../util/progress.js';
import { FixMatch } from './fixmatch.js';
import { labelSpreading, type SparseGraph } from './label-spreading.js';
import type { SemiMethod, SemiMethodOptions } from './method.js';
import { PseudoLabel } from './pseudo-label.js';
import { trainSemi } from './train.js';
import { checkSemiSetup, checkThreshold } from './validate.js';

import { FIT_METHODS, NEEDS_ENCODER, type FitMethod } from './names.js';

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
  /** Epochs over the labels for supervised / fine-tune; default max(20, 600 / labels per class). */
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
};

export interface EncoderSpec {
  widths: number[];
  blocksPerStage: number;
}

export interface FitInput {
  method: FitMethod;
  train: Dataset;
  /** Visible labels (-1 = hidden), same length as train.size. */
  y: Int32Array;
  labeled: Int32Array;
  /** The architecture of the encoder to build; not needed when `pretrained` is the encoder itself. */
  encoder?: EncoderSpec;
  /**
   * A pretrained encoder: its checkpoint dir (built as `encoder` says), or the model itself (a library
   * caller's, e.g. from `pretrain`; methods that train the encoder train it in place). Required by
   * NEEDS_ENCODER methods.
   */
  pretrained?: string | tfl.LayersModel;
  /** Encoder features of every training sample, if already computed for this encoder (the benchmark caches them). */
  features?: Float32Array;
  settings?: Partial<SemiSettings>;
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

function imageShape(ds: Dataset): [number, number, number] {
  if (ds.modality !== 'image' || ds.inputShape.length !== 3) throw new UlearnError(`${ds.source}: needs images [H, W, C], got ${ds.modality} [${ds.inputShape}]`, { code: 'E_DATA' });
  return ds.inputShape as [number, number, number];
}

/** Every check that can fail fast, before any model is built or data is encoded. */
export function checkFitInput(i: Pick<FitInput, 'method' | 'train' | 'y' | 'labeled' | 'pretrained' | 'settings'>): SemiSettings {
  if (!(FIT_METHODS as readonly string[]).includes(i.method)) {
    throw new UlearnError(`unknown training method '${i.method}'`, { code: 'E_CONFIG', hint: `choose one of: ${FIT_METHODS.join(', ')}` });
  }
  const s = { ...DEFAULT_SEMI_SETTINGS, ...i.settings };
  checkThreshold(s.threshold);
  if (!(s.alpha > 0 && s.alpha < 1)) throw new UlearnError(`alpha must be in (0, 1), got ${s.alpha}`, { code: 'E_CONFIG' });
  if (!Number.isInteger(s.mu) || s.mu < 1) throw new UlearnError(`mu must be a positive integer, got ${s.mu}`, { code: 'E_CONFIG' });
  if (NEEDS_ENCODER.includes(i.method) && !i.pretrained) {
    throw new UlearnError(`method '${i.method}' needs a pretrained encoder`, { code: 'E_CONFIG', hint: 'pass --encoder <checkpoint dir> (e.g. runs/<id>/checkpoints/pretrain-encoder)' });
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

export async function buildEncoder(inputShape: [number, number, number], spec: EncoderSpec, seed: number, pretrained?: string): Promise<tfl.LayersModel> {
  const encoder = buildResNetEncoder({ inputShape, widths: spec.widths, blocksPerStage: spec.blocksPerStage, seed });
  if (pretrained) await loadCheckpoint(pretrained, encoder);
  return encoder;
}

/** Features of the rows of `x` as a plain array (batched; no tensors left behind). */
export function features(encoder: tfl.LayersModel, x: Float32Array, inputShape: [number, number, number], label?: string): Float32Array {
  const size = inputShape.reduce((a, b) => a * b, 1);
  const n = x.length / size;
  const dim = featureDim(encoder);
  const out = new Float32Array(n * dim);
  const chunk = 2048;
  const progress = label ? new Progress(label, n) : undefined;
  for (let s = 0; s < n; s += chunk) {
    const m = Math.min(chunk, n - s);
    const f = encodeAll(encoder, x.subarray(s * size, (s + m) * size), inputShape);
    out.set(f.dataSync(), s * dim);
    f.dispose();
    progress?.tick(m);
  }
  progress?.done();
  return out;
}

function rows(all: Float32Array, dim: number, idx: ArrayLike<number>): Float32Array {
  const out = new Float32Array(idx.length * dim);
  for (let k = 0; k < idx.length; k++) out.set(all.subarray(idx[k] * dim, (idx[k] + 1) * dim), k * dim);
  return out;
}

/** A linear probe on frozen features, turned into a classifier head on the raw (unstandardised) features. */
function probeHead(feats: Float32Array, dim: number, labels: Int32Array, nClasses: number, seed: number): tfl.LayersModel {
  const f = tf.tensor2d(feats, [labels.length, dim]);
  const probe = trainLinearProbe(f, labels, nClasses, { seed });
  f.dispose();
  const head = classifierHead(dim, nClasses, { seed });
  const w = probe.denseWeights();
  head.layers[0].setWeights(w);
  tf.dispose(w);
  probe.dispose();
  return head;
}

export async function fitMethod(input: FitInput): Promise<FitOutput> {
  const s = checkFitInput(input);
  const log = input.log ?? (() => {});
  const { train, y, labeled, seed, budget } = input;
  const shape = imageShape(train);
  const K = train.classes.length;
  const lpc = labeled.length / K;
  const encoder = typeof input.pretrained === 'object' ? input.pretrained : await buildEncoder(shape, encoderSpec(input), seed + 1, input.pretrained);
  const dim = featureDim(encoder);
  const yl = Int32Array.from(labeled, (i) => y[i]);
  const allFeatures = () => input.features ?? features(encoder, train.x, shape, 'encode');
  const labeledFeatures = () => (input.features ? rows(input.features, dim, labeled) : features(encoder, rows(train.x, shape[0] * shape[1] * shape[2], labeled), shape));

  if (input.method === 'linear') {
    return { encoder, head: probeHead(labeledFeatures(), dim, yl, K, seed), info: { labels: labeled.length } };
  }
  if (input.method === 'label-propagation') {
    const f = allFeatures();
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

  const head = input.pretrained ? probeHead(labeledFeatures(), dim, yl, K, seed) : classifierHead(dim, K, { seed: seed + 7 });
  if (input.method === 'supervised' || input.method === 'finetune') {
    const epochs = s.epochs ?? Math.max(20, Math.round(600 / lpc));
    const progress = new Progress(input.method, epochs, { deadlineAt: budget.unlimited ? undefined : Date.now() + budget.remainingMs() });
    const r = fitClassifier({
      encoder,
      head,
      x: train.x,
      inputShape: shape,
      y,
      indices: labeled,
      nClasses: K,
      augment: weakAugment(shape, { flip: s.flip }),
      epochs,
      batchSize: s.batchSize,
      lrHead: s.lr,
      lrEncoder: input.pretrained ? s.lr * s.encoderLrScale : s.lr,
      seed,
      budget,
      onEpoch: (_e, loss) => progress.tick(1, { loss: loss.toFixed(3) }),
    });
    progress.done();
    return { encoder, head, info: { epochs: r.epochs, stoppedByBudget: r.stoppedByBudget, pretrained: Boolean(input.pretrained) } };
  }

  const isLabeled = new Uint8Array(train.size);
  for (const k of labeled) isLabeled[k] = 1;
  const opts: SemiMethodOptions = {
    encoder,
    head,
    inputShape: shape,
    nClasses: K,
    weak: weakAugment(shape, { flip: s.flip }),
    strong: strongAugment(shape, { flip: s.flip }),
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

function encoderSpec(input: FitInput): EncoderSpec {
  if (!input.encoder) throw new UlearnError(`method '${input.method}': give the encoder's architecture (widths, blocksPerStage) or a pretrained encoder model`, { code: 'E_CONFIG' });
  return input.encoder;
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
