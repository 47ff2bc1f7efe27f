/**
 * The light model: a classifier on frozen SSL embeddings that is cheap enough to retrain after every batch of
 * new labels (seconds on 70k × 64), whose class probabilities drive uncertainty-based strategies and the
 * label suggestions in the web app.
 *
 * - 'linear': multinomial logistic regression (softmax + L2), full-batch Adam on the labeled rows, features
 *   standardised with statistics of *all* rows (labels are few; the rows are not). Convex, started from zero
 *   weights, in plain JS loops: the seed does not matter and the result is the same on every backend.
 * - 'label-propagation': Zhou et al. 2004 in the form of Iscen et al. 2019 (CVPR, "Label Propagation for Deep
 *   Semi-supervised Learning"): a kNN graph (k = 10, cosine), weights sim³, W + Wᵀ, symmetric normalisation
 *   S = D^-½ W D^-½, then (I - αS) F = Y solved by conjugate gradient (α = 0.99), with each class's column of
 *   Y normalised by its number of labels so that classes with many labels do not flood the graph. The solver
 *   is the shared one in src/semi/label-spreading.ts (20 CG steps here; a class without labels gets no mass).
 *   Probabilities are F's rows normalised to sum 1 (rows no label reaches get uniform probabilities). Uses
 *   every row, labeled or not, as a node: pass the unlabeled pool (and any evaluation rows) together.
 *
 * k = 10 rather than Iscen's 50: on Fashion-MNIST SimCLR embeddings (10…500 random labels) k = 10 and k = 20
 * scored within 0.7 points of each other, and k = 10 propagates 40% faster.
 *
 * The kNN graph depends only on the embeddings, not on the labels: build it once with `buildLightGraph` and
 * pass it as `graph` on every retrain.
 */
import { UlearnError } from '../errors.js';
import { knnGraph, type KnnResult } from '../neighbors/knn.js';
import { graphFromKnn, labelSpreading, type SparseGraph } from '../semi/label-spreading.js';
import { argmaxRows } from '../eval/metrics.js';

export type LightModelKind = 'linear' | 'label-propagation';
export const LIGHT_MODEL_KINDS: readonly LightModelKind[] = ['linear', 'label-propagation'];

export interface LightModelOptions {
  /** n × dim, row-major. */
  embeddings: Float32Array;
  dim: number;
  /** Per row: class index, or -1 = unlabeled. */
  labels: Int32Array;
  numClasses: number;
  kind: LightModelKind;
  seed: number;
  /** label-propagation: a graph from `buildLightGraph(embeddings, dim)`, reused across retrains. */
  graph?: SparseGraph;
  /** label-propagation: neighbours per row when the graph is built here (default 10). */
  neighbors?: number;
  /** label-propagation: α (default 0.99; closer to 1 propagates farther). */
  alpha?: number;
  /** label-propagation: conjugate-gradient iterations (default 20, as Iscen et al.). */
  iterations?: number;
  /** linear: Adam steps (default 300). */
  epochs?: number;
  /** linear: L2 penalty on the weights (default 1e-3). */
  weightDecay?: number;
}

export interface LightModel {
  kind: LightModelKind;
  /** n × numClasses class probabilities. */
  probs: Float32Array;
  /** argmax class per row. */
  predictions: Int32Array;
  /** Fraction of `indices` whose predicted class equals `trueLabels[j]` (one per index). */
  accuracyOn(indices: ArrayLike<number>, trueLabels: ArrayLike<number>): number;
}

/**
 * The neighbours label propagation runs on. Approximate (HNSW) above 20k rows; single-threaded so the same
 * embeddings always give the same graph (multi-threaded inserts change it from run to run).
 */
export function lightKnn(embeddings: Float32Array, dim: number, neighbors = 10): KnnResult {
  return knnGraph(embeddings, dim, neighbors, { metric: 'cosine', threads: 1 });
}

/** The spreading graph of `lightKnn` (affinity cos³, as in src/semi/label-spreading.ts). */
export function buildLightGraph(embeddings: Float32Array, dim: number, neighbors = 10): SparseGraph {
  return graphFromKnn(lightKnn(embeddings, dim, neighbors), 3);
}

export function trainLightModel(opts: LightModelOptions): LightModel {
  const { numClasses, kind } = opts;
  const n = checkInputs(opts);
  const probs = kind === 'linear' ? linearProbs(opts, n) : kind === 'label-propagation' ? propagate(opts, n) : unknownKind(kind);
  const predictions = argmaxRows(probs, numClasses);
  return {
    kind,
    probs,
    predictions,
    accuracyOn(indices, trueLabels) {
      if (indices.length !== trueLabels.length) {
        throw new UlearnError(`light model: ${indices.length} indices but ${trueLabels.length} true labels`, { code: 'E_SHAPE' });
      }
      if (indices.length === 0) throw new UlearnError('light model: accuracy of an empty set of rows is undefined', { code: 'E_ARG' });
      let correct = 0;
      for (let j = 0; j < indices.length; j++) {
        const i = indices[j];
        if (!(Number.isInteger(i) && i >= 0 && i < n)) throw new UlearnError(`light model: index ${i} (position ${j}) is not a row in [0, ${n})`, { code: 'E_ARG' });
        if (predictions[i] === trueLabels[j]) correct++;
      }
      return correct / indices.length;
    },
  };
}

function unknownKind(kind: string): never {
  throw new UlearnError(`light model: unknown kind '${kind}'`, { code: 'E_ARG', hint: `one of: ${LIGHT_MODEL_KINDS.join(', ')}` });
}

function checkInputs({ embeddings, dim, labels, numClasses }: LightModelOptions): number {
  if (!Number.isInteger(dim) || dim <= 0) throw new UlearnError(`light model: dim must be a positive integer, got ${dim}`, { code: 'E_ARG' });
  const n = embeddings.length / dim;
  if (!Number.isInteger(n) || n === 0) throw new UlearnError(`light model: ${embeddings.length} embedding values do not form rows of ${dim}`, { code: 'E_SHAPE' });
  if (labels.length !== n) throw new UlearnError(`light model: ${n} embedding rows but ${labels.length} labels`, { code: 'E_SHAPE' });
  if (!Number.isInteger(numClasses) || numClasses < 2) throw new UlearnError(`light model: numClasses must be an integer ≥ 2, got ${numClasses}`, { code: 'E_ARG' });
  let labeled = 0;
  for (let i = 0; i < n; i++) {
    const l = labels[i];
    if (l === -1) continue;
    if (!(Number.isInteger(l) && l >= 0 && l < numClasses)) {
      throw new UlearnError(`light model: label of row ${i} is ${l}; expected -1 (unlabeled) or a class in [0, ${numClasses})`, { code: 'E_LABELS' });
    }
    labeled++;
  }
  if (labeled === 0) throw new UlearnError('light model: no labeled rows to learn from', { code: 'E_LABELS', hint: 'label a few samples first' });
  return n;
}

/**
 * Softmax regression in plain loops: with at most a few thousand labeled rows a gradient step costs well
 * under a millisecond, where a tfjs step costs ~10 ms of dispatch, and plain loops need no backend.
 */
function linearProbs(opts: LightModelOptions, n: number): Float32Array {
  const { embeddings: x, dim, labels, numClasses: C } = opts;
  const mean = new Float64Array(dim);
  const invStd = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let d = 0; d < dim; d++) mean[d] += x[i * dim + d] / n;
  for (let i = 0; i < n; i++) for (let d = 0; d < dim; d++) invStd[d] += (x[i * dim + d] - mean[d]) ** 2 / n;
  for (let d = 0; d < dim; d++) invStd[d] = 1 / Math.sqrt(invStd[d] + 1e-6);
  const rows: number[] = [];
  for (let i = 0; i < n; i++) if (labels[i] !== -1) rows.push(i);
  const m = rows.length;
  const xs = new Float64Array(m * dim);
  rows.forEach((i, r) => {
    for (let d = 0; d < dim; d++) xs[r * dim + d] = (x[i * dim + d] - mean[d]) * invStd[d];
  });

  // Parameters: W (dim × C) then b (C), one flat vector for Adam.
  const P = dim * C + C;
  const theta = new Float64Array(P);
  const grad = new Float64Array(P);
  const m1 = new Float64Array(P);
  const m2 = new Float64Array(P);
  const [lr, beta1, beta2, eps] = [0.01, 0.9, 0.999, 1e-8];
  const wd = opts.weightDecay ?? 1e-3;
  const logits = new Float64Array(C);
  const epochs = opts.epochs ?? 300;
  for (let t = 1; t <= epochs; t++) {
    grad.fill(0);
    for (let r = 0; r < m; r++) {
      softmaxRow(xs, r, dim, theta, C, logits);
      logits[labels[rows[r]]] -= 1;
      for (let d = 0; d < dim; d++) {
        const v = xs[r * dim + d] / m;
        for (let c = 0; c < C; c++) grad[d * C + c] += v * logits[c];
      }
      for (let c = 0; c < C; c++) grad[dim * C + c] += logits[c] / m;
    }
    for (let j = 0; j < dim * C; j++) grad[j] += 2 * wd * theta[j];
    const corr1 = 1 - beta1 ** t;
    const corr2 = 1 - beta2 ** t;
    for (let j = 0; j < P; j++) {
      m1[j] = beta1 * m1[j] + (1 - beta1) * grad[j];
      m2[j] = beta2 * m2[j] + (1 - beta2) * grad[j] * grad[j];
      theta[j] -= (lr * (m1[j] / corr1)) / (Math.sqrt(m2[j] / corr2) + eps);
    }
  }
  const probs = new Float32Array(n * C);
  const row = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    for (let d = 0; d < dim; d++) row[d] = (x[i * dim + d] - mean[d]) * invStd[d];
    softmaxRow(row, 0, dim, theta, C, logits);
    for (let c = 0; c < C; c++) probs[i * C + c] = logits[c];
  }
  return probs;
}

/** out = softmax(x[r] · W + b) for the flat parameters [W (dim × C), b (C)]. */
function softmaxRow(x: Float64Array, r: number, dim: number, theta: Float64Array, C: number, out: Float64Array): void {
  for (let c = 0; c < C; c++) out[c] = theta[dim * C + c];
  for (let d = 0; d < dim; d++) {
    const v = x[r * dim + d];
    if (v === 0) continue;
    for (let c = 0; c < C; c++) out[c] += v * theta[d * C + c];
  }
  let max = -Infinity;
  for (let c = 0; c < C; c++) max = Math.max(max, out[c]);
  let s = 0;
  for (let c = 0; c < C; c++) s += out[c] = Math.exp(out[c] - max);
  for (let c = 0; c < C; c++) out[c] /= s;
}

/** Label spreading (src/semi/label-spreading.ts) with Iscen et al.'s fixed 20 conjugate-gradient steps. */
function propagate(opts: LightModelOptions, n: number): Float32Array {
  const { embeddings, dim, labels, numClasses } = opts;
  const graph = opts.graph ?? buildLightGraph(embeddings, dim, opts.neighbors ?? 10);
  if (graph.n !== n) throw new UlearnError(`light model: the graph has ${graph.n} rows but there are ${n} embeddings`, { code: 'E_SHAPE' });
  return labelSpreading(embeddings, dim, labels, numClasses, { graph, alpha: opts.alpha ?? 0.99, maxIterations: opts.iterations ?? 20, tol: 0, everyClass: false }).proba;
}
