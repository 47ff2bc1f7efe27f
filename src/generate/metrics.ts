/**
 * How good generated samples are, measured three ways (docs/generative-metrics.md):
 *
 * - Classification accuracy score, CAS (Ravuri & Vinyals 2019, "Classification Accuracy Score for
 *   Conditional Generative Models"): train a classifier on generated samples only, test it on real test data.
 *   It asks whether the samples carry their class, which is what augmentation needs. Trained and evaluated
 *   with the same `fitMethod` and `predictProba` as every other classifier here.
 * - Fréchet distance, FD (Heusel et al. 2017, the formula of FID; Dowson & Landau 1982 for Gaussians):
 *   between Gaussians fitted to features of real and generated samples,
 *   FD = |μ1 − μ2|² + tr(Σ1 + Σ2 − 2 (Σ1^½ Σ2 Σ1^½)^½).
 * - Precision and recall with k-NN manifolds (Kynkäänniemi et al. 2019, "Improved Precision and Recall Metric
 *   for Assessing Generative Models"): each sample's ball reaches its k-th nearest neighbour within its own
 *   set; precision is the share of generated samples inside some real ball (fidelity), recall the share of
 *   real samples inside some generated ball (coverage). k = 3 as in the paper.
 *
 * The features are our own SSL encoder's, not Inception-v3's, so FD here is NOT comparable with an
 * Inception-based FID, nor precision/recall with numbers published in Inception (or VGG) feature space: they
 * compare generators with each other on the same data and encoder only.
 *
 * FD and precision/recall are computed in float64 JS (the sizes are thousands of samples and tens to hundreds
 * of dimensions), so they do not depend on the tfjs backend.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { gatherRows, type Dataset } from '../data/dataset.js';
import { Rng } from '../engine/seed.js';
import { UlearnError } from '../errors.js';
import type { GeneratedMetricsReport } from '../eval/report-generated.js';
import { encode } from '../models/encode.js';
import { loadEncoder } from '../models/load-encoder.js';
import { generatedDataset, type GeneratedSet } from './generated-folder.js';
import { accuracy, argmaxRows } from '../eval/metrics.js';
import { fitMethod, type EncoderSpec, type SemiSettings } from '../semi/fit.js';
import { predictProba } from '../train/fit-classifier.js';
import type { Budget } from '../util/budget.js';

/** Said wherever these numbers are shown (the report's section defines it). */
export { NOT_INCEPTION_NOTE } from '../eval/report-generated.js';

/** Mean and covariance (unbiased, n − 1) of `n` rows of `dim` features, in float64. */
export function gaussianStats(x: ArrayLike<number>, dim: number): { mean: Float64Array; cov: Float64Array; n: number } {
  const n = x.length / dim;
  if (!Number.isInteger(n) || n < 2) throw new UlearnError(`Fréchet distance: needs at least 2 samples of ${dim} features, got ${x.length} values`, { code: 'E_ARG' });
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i])) throw new UlearnError(`Fréchet distance: feature ${i % dim} of sample ${Math.floor(i / dim)} is ${x[i]}`, { code: 'E_ARG', hint: 'the encoder produced non-finite features: check the encoder checkpoint and the samples' });
  }
  const mean = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let d = 0; d < dim; d++) mean[d] += x[i * dim + d];
  for (let d = 0; d < dim; d++) mean[d] /= n;
  const cov = new Float64Array(dim * dim);
  const c = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    for (let d = 0; d < dim; d++) c[d] = x[i * dim + d] - mean[d];
    for (let a = 0; a < dim; a++) {
      const ca = c[a];
      if (ca === 0) continue;
      for (let b = a; b < dim; b++) cov[a * dim + b] += ca * c[b];
    }
  }
  for (let a = 0; a < dim; a++) {
    for (let b = a; b < dim; b++) {
      const v = cov[a * dim + b] / (n - 1);
      cov[a * dim + b] = v;
      cov[b * dim + a] = v;
    }
  }
  return { mean, cov, n };
}

/**
 * Eigenvalues and eigenvectors of a symmetric n×n matrix (row-major) by the cyclic Jacobi method: rotations
 * zero the off-diagonal entries one by one until they are negligible. Slower than QR-based solvers but simple,
 * unconditionally stable for symmetric input and accurate to a few ulps, which is what a trace of a square root
 * needs. `vectors` holds eigenvector j in column j.
 */
export function symmetricEigen(m: ArrayLike<number>, n: number, maxSweeps = 100): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(m);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  let scale = 0;
  for (let i = 0; i < n * n; i++) scale += a[i] * a[i];
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q] * a[p * n + q];
    if (off <= 1e-30 * scale || off === 0) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (apq === 0) continue;
        // The rotation angle that zeroes a[p][q] (Golub & Van Loan, Algorithm 8.4.1), the smaller root for stability.
        const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p];
          const akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k];
          const aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p];
          const vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = a[i * n + i];
  return { values, vectors: v };
}

/** The square root of a symmetric positive semi-definite matrix, V diag(√max(λ, 0)) Vᵀ (round-off negatives clipped). */
export function sqrtPsd(m: ArrayLike<number>, n: number): Float64Array {
  const { values, vectors: v } = symmetricEigen(m, n);
  const out = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const s = Math.sqrt(Math.max(0, values[k]));
    if (s === 0) continue;
    for (let i = 0; i < n; i++) {
      const vik = v[i * n + k] * s;
      for (let j = 0; j < n; j++) out[i * n + j] += vik * v[j * n + k];
    }
  }
  return out;
}

function matmul(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      const aik = a[i * n + k];
      if (aik === 0) continue;
      for (let j = 0; j < n; j++) out[i * n + j] += aik * b[k * n + j];
    }
  }
  return out;
}

/**
 * FD between two Gaussians: |μ1 − μ2|² + tr Σ1 + tr Σ2 − 2 tr (Σ1^½ Σ2 Σ1^½)^½. The cross term is computed as a
 * symmetric square root (Σ1^½ Σ2 Σ1^½ is symmetric PSD, unlike Σ1 Σ2, whose square root scipy's sqrtm takes in
 * the usual FID code); both have the same trace.
 */
export function frechetFromStats(a: { mean: Float64Array; cov: Float64Array }, b: { mean: Float64Array; cov: Float64Array }): number {
  const dim = a.mean.length;
  let d2 = 0;
  let tr = 0;
  for (let i = 0; i < dim; i++) {
    d2 += (a.mean[i] - b.mean[i]) ** 2;
    tr += a.cov[i * dim + i] + b.cov[i * dim + i];
  }
  const s1 = sqrtPsd(a.cov, dim);
  const inner = matmul(matmul(s1, b.cov, dim), s1, dim);
  // Symmetrise away round-off before the eigendecomposition.
  for (let i = 0; i < dim; i++) for (let j = i + 1; j < dim; j++) inner[i * dim + j] = inner[j * dim + i] = (inner[i * dim + j] + inner[j * dim + i]) / 2;
  const { values } = symmetricEigen(inner, dim);
  let trSqrt = 0;
  for (const v of values) trSqrt += Math.sqrt(Math.max(0, v));
  // Never below zero: round-off on identical sets can leave -1e-12.
  return Math.max(0, d2 + tr - 2 * trSqrt);
}

/** FD between the Gaussians fitted to two sets of feature rows (`dim` per row). */
export function frechetDistance(real: ArrayLike<number>, generated: ArrayLike<number>, dim: number): number {
  return frechetFromStats(gaussianStats(real, dim), gaussianStats(generated, dim));
}

/** Squared Euclidean distances between rows i of `a` and j of `b`, in float64. */
function sqDist(a: ArrayLike<number>, i: number, b: ArrayLike<number>, j: number, dim: number): number {
  let s = 0;
  for (let d = 0; d < dim; d++) {
    const t = a[i * dim + d] - b[j * dim + d];
    s += t * t;
  }
  return s;
}

/** Each row's squared distance to its k-th nearest other row in the same set (the radius of its k-NN ball). */
export function knnRadii(x: ArrayLike<number>, dim: number, k: number): Float64Array {
  const n = x.length / dim;
  if (n <= k) throw new UlearnError(`precision/recall: k = ${k} needs more than ${k} samples per set, got ${n}`, { code: 'E_ARG', hint: 'generate or load more samples, or lower k' });
  const radii = new Float64Array(n);
  const best = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    // The k smallest distances so far, kept sorted (k is small: 3 by default).
    best.fill(Infinity);
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      const d = sqDist(x, i, x, j, dim);
      if (d >= best[k - 1]) continue;
      let p = k - 1;
      while (p > 0 && best[p - 1] > d) {
        best[p] = best[p - 1];
        p--;
      }
      best[p] = d;
    }
    radii[i] = best[k - 1];
  }
  return radii;
}

/** Share of `queries` rows inside at least one ball (centre a row of `ref`, squared radius `radii`). */
function coverage(queries: ArrayLike<number>, ref: ArrayLike<number>, radii: Float64Array, dim: number): number {
  const nq = queries.length / dim;
  const nr = ref.length / dim;
  let inside = 0;
  for (let i = 0; i < nq; i++) {
    for (let j = 0; j < nr; j++) {
      if (sqDist(queries, i, ref, j, dim) <= radii[j]) {
        inside++;
        break;
      }
    }
  }
  return inside / nq;
}

/**
 * Improved precision and recall (Kynkäänniemi et al. 2019) of `generated` against `real` feature rows, with
 * k-NN balls (Euclidean distance; a point on a ball's surface counts as inside, as in the paper's `<=`).
 */
export function precisionRecall(real: ArrayLike<number>, generated: ArrayLike<number>, dim: number, k = 3): { precision: number; recall: number } {
  const rr = knnRadii(real, dim, k);
  const gr = knnRadii(generated, dim, k);
  return { precision: coverage(generated, real, rr, dim), recall: coverage(real, generated, gr, dim) };
}

export interface CasInput {
  /** Generated samples with their labels (every sample is used as labeled). */
  generated: Dataset;
  /** Real labeled test data, never seen by the generator's classifier. */
  test: Dataset;
  /** The classifier's fresh encoder (CAS trains from scratch: a pretrained encoder would carry real data in). */
  encoder: EncoderSpec;
  settings?: Partial<SemiSettings>;
  seed: number;
  budget: Budget;
  log?: (line: string) => void;
}

/**
 * Classification accuracy score: supervised-only training on the generated samples alone (the same
 * `fitMethod` as `ulearn train --method supervised`), accuracy on the real test split.
 */
export async function classificationAccuracyScore(i: CasInput): Promise<{ cas: number; steps: number; stoppedByBudget: boolean }> {
  const g = i.generated;
  const labeled = Int32Array.from({ length: g.size }, (_, k) => k);
  const fit = await fitMethod({ method: 'supervised', train: g, y: g.y, labeled, encoder: i.encoder, settings: i.settings, seed: i.seed, budget: i.budget, log: i.log });
  try {
    const probs = predictProba(fit.encoder, fit.head, i.test.x, i.test.inputShape as [number, number, number]);
    const cas = accuracy(i.test.y, argmaxRows(probs, g.classes.length));
    return { cas, steps: Number(fit.info.steps ?? 0), stoppedByBudget: Boolean(fit.info.stoppedByBudget) };
  } finally {
    fit.encoder.dispose();
    fit.head.dispose();
  }
}

export interface EvaluateGeneratedInput {
  set: GeneratedSet;
  /** Real samples whose features the generated ones are compared with (the training split). */
  real: Dataset;
  /** Real labeled test data for CAS; without it CAS is skipped. */
  test?: Dataset;
  /** The SSL encoder (path or model) whose feature space FD and precision/recall use. */
  encoder: string | tfl.LayersModel;
  /** Neighbours of the precision/recall balls. Default 3 (the paper's). */
  k?: number;
  /** Samples per side at most (drawn seeded): precision/recall cost grows with the square. Default 2000. */
  maxSamples?: number;
  /** CAS's classifier: a fresh encoder of this shape, trained with these settings. */
  casEncoder?: EncoderSpec;
  casSettings?: Partial<SemiSettings>;
  seed: number;
  budget: Budget;
  log?: (line: string) => void;
}

export const DEFAULT_PR_K = 3;
export const DEFAULT_MAX_SAMPLES = 2000;

/** `n` of `size` indices, seeded (all of them, in order, when size ≤ n). */
function sampleIndices(size: number, n: number, rng: Rng): Int32Array {
  if (size <= n) return Int32Array.from({ length: size }, (_, i) => i);
  return Int32Array.from(rng.permutation(size).slice(0, n)).sort();
}

/** CAS, FD, precision and recall of a generated folder against real data, as the report shows them. */
export async function evaluateGenerated(i: EvaluateGeneratedInput): Promise<GeneratedMetricsReport> {
  const log = i.log ?? (() => {});
  const k = i.k ?? DEFAULT_PR_K;
  const max = i.maxSamples ?? DEFAULT_MAX_SAMPLES;
  const shape = i.set.shape;
  const per = shape[0] * shape[1] * shape[2];
  const rng = new Rng(i.seed).fork('generated-metrics');
  const realIdx = sampleIndices(i.real.size, max, rng.fork('real'));
  const genIdx = sampleIndices(i.set.size, max, rng.fork('generated'));
  if (realIdx.length <= k || genIdx.length <= k) {
    throw new UlearnError(`precision/recall with k = ${k} needs more than ${k} samples on each side (real ${realIdx.length}, generated ${genIdx.length})`, { code: 'E_ARG', hint: 'generate more samples, or lower --k' });
  }
  const loaded = typeof i.encoder === 'object' ? undefined : await loadEncoder(i.encoder, { inputShape: shape });
  const encoder = loaded?.encoder ?? (i.encoder as tfl.LayersModel);
  let fd: number;
  let pr: { precision: number; recall: number };
  let dim: number;
  try {
    const real = encode(encoder, gatherRows(i.real.x, per, realIdx), shape, { progress: 'encode real' });
    const gen = encode(encoder, gatherRows(i.set.x, per, genIdx), shape, { progress: 'encode generated' });
    dim = real.length / realIdx.length;
    fd = frechetDistance(real, gen, dim);
    pr = precisionRecall(real, gen, dim, k);
  } finally {
    if (loaded) encoder.dispose();
  }
  log(`generated: FD ${fd.toFixed(3)}, precision ${(pr.precision * 100).toFixed(1)}%, recall ${(pr.recall * 100).toFixed(1)}% (k = ${k}, ${dim}-d features)`);
  let cas: number | undefined;
  let casSteps: number | undefined;
  if (i.test) {
    const r = await classificationAccuracyScore({
      generated: generatedDataset(i.set),
      test: i.test,
      encoder: i.casEncoder ?? { widths: [16, 32, 64], blocksPerStage: 1 },
      settings: i.casSettings,
      seed: i.seed,
      budget: i.budget,
      log,
    });
    cas = r.cas;
    casSteps = r.steps;
  }
  const encoderName = typeof i.encoder === 'string' ? i.encoder : 'the given encoder';
  return { ...(cas === undefined ? {} : { cas, casSteps }), fd, precision: pr.precision, recall: pr.recall, k, realSamples: realIdx.length, generatedSamples: genIdx.length, encoder: encoderName };
}
