/**
 * Label spreading (Zhou et al. 2004, "Learning with local and global consistency") on a k-nearest-neighbour
 * graph of encoder embeddings, with the graph of Iscen et al. 2019 ("Label propagation for deep semi-supervised
 * learning"): affinity w_ij = max(0, cos_ij)^gamma over each row's k nearest neighbours, symmetrised
 * (W + W^T), normalised S = D^-1/2 W D^-1/2, and F* = (1 - alpha)(I - alpha S)^-1 Y, the fixed point of
 * F <- alpha S F + (1 - alpha) Y, solved by conjugate gradients (the tests compare it with a dense solve).
 *
 * The graph comes from src/neighbors (exact search for small sets, HNSW above `exactLimit`), and each
 * iteration is a sparse product over the edge list (n * k * 2 * classes multiply-adds per step), so a
 * million samples cost memory for the edges and seconds per iteration, never an n x n matrix.
 */
import { UlearnError } from '../errors.js';
import { knnGraph, type KnnOptions } from '../neighbors/knn.js';

export interface LabelSpreadingOptions {
  /** Neighbours per sample. Default 10. */
  k?: number;
  /** Weight of the graph vs the given labels, in (0, 1). Default 0.99 (Zhou et al., Iscen et al.). */
  alpha?: number;
  /** Affinity sharpening exponent on the cosine similarity. Default 3 (Iscen et al.). */
  gamma?: number;
  /** Conjugate-gradient iterations at most. Default 100. */
  maxIterations?: number;
  /** Stop when each class's residual norm is below tol times its right-hand side's. Default 1e-6. */
  tol?: number;
  /**
   * Divide each class's column of Y by its label count, so a class with more labels does not spread further
   * just for having more sources (Iscen et al.'s class-balanced Y). Default true.
   */
  balance?: boolean;
  /** Search engine settings (exact vs HNSW, threads); the metric is always cosine. */
  knn?: Omit<KnnOptions, 'metric' | 'excludeSelf'>;
  /**
   * A graph already built by `spreadingGraph` on these features (with this k and gamma): building it is most of
   * the cost, and it does not depend on the labels, so every label draw over one pool can share one.
   */
  graph?: SparseGraph;
}

export interface SparseGraph {
  n: number;
  /** CSR: row i's neighbours are cols[rowStart[i] .. rowStart[i + 1]) with normalised weights vals. */
  rowStart: Int32Array;
  cols: Int32Array;
  vals: Float32Array;
  /** Which kNN engine built it. */
  exact: boolean;
}

export interface LabelSpreadingResult {
  /** Row-normalised class scores [n, nClasses]; a row of zeros becomes uniform (no path to any label). */
  proba: Float32Array;
  /** argmax of each row (given labels are kept as they are). */
  labels: Int32Array;
  /** Largest score of each row, in [0, 1]. */
  confidence: Float32Array;
  iterations: number;
  exactGraph: boolean;
}

/** S = D^-1/2 (A + A^T) D^-1/2 for A the sharpened kNN affinities, as a CSR matrix. */
export function spreadingGraph(features: Float32Array, dim: number, k: number, gamma: number, knn: LabelSpreadingOptions['knn'] = {}): SparseGraph {
  const n = features.length / dim;
  const res = knnGraph(features, dim, Math.min(k, Math.max(1, n - 1)), { ...knn, metric: 'cosine' });
  const kk = res.k;
  // Symmetrise by listing each directed edge in both rows; a pair found from both sides adds up, as in W + W^T.
  const deg = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < kk; j++) {
      const nb = res.indices[i * kk + j];
      if (nb < 0) continue;
      deg[i]++;
      deg[nb]++;
    }
  }
  const rowStart = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) rowStart[i + 1] = rowStart[i] + deg[i];
  const cols = new Int32Array(rowStart[n]);
  const vals = new Float32Array(rowStart[n]);
  const fill = rowStart.slice(0, n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < kk; j++) {
      const nb = res.indices[i * kk + j];
      if (nb < 0) continue;
      // cosine distance d = 1 - cos; negative similarities carry no affinity.
      const w = Math.max(0, 1 - res.distances[i * kk + j]) ** gamma;
      cols[fill[i]] = nb;
      vals[fill[i]++] = w;
      cols[fill[nb]] = i;
      vals[fill[nb]++] = w;
    }
  }
  const d = new Float64Array(n);
  for (let i = 0; i < n; i++) for (let e = rowStart[i]; e < rowStart[i + 1]; e++) d[i] += vals[e];
  for (let i = 0; i < n; i++) {
    for (let e = rowStart[i]; e < rowStart[i + 1]; e++) {
      const denom = Math.sqrt(d[i] * d[cols[e]]);
      vals[e] = denom > 0 ? vals[e] / denom : 0;
    }
  }
  return { n, rowStart, cols, vals, exact: res.exact };
}

/** Checks that labels are usable before any graph is built (the expensive part). */
export function checkSpreadingInput(n: number, y: Int32Array, nClasses: number, alpha: number): number[] {
  if (y.length !== n) throw new UlearnError(`label spreading: ${n} feature rows but ${y.length} labels`, { code: 'E_ARG' });
  if (!(alpha > 0 && alpha < 1)) throw new UlearnError(`label spreading: alpha must be in (0, 1), got ${alpha}`, { code: 'E_CONFIG' });
  const counts = new Array<number>(nClasses).fill(0);
  for (let i = 0; i < n; i++) {
    const c = y[i];
    if (c === -1) continue;
    if (!Number.isInteger(c) || c < -1 || c >= nClasses) throw new UlearnError(`label spreading: sample ${i} has label ${c}, outside 0..${nClasses - 1}`, { code: 'E_DATA' });
    counts[c]++;
  }
  const missing = counts.flatMap((c, i) => (c === 0 ? [i] : []));
  if (missing.length > 0) {
    throw new UlearnError(`label spreading: class(es) ${missing.join(', ')} have no labeled sample, so nothing can spread to them`, { code: 'E_BUDGET' });
  }
  return counts;
}

/** Spreads the labels in `y` (-1 = unlabeled) over the kNN graph of `features` ([n, dim], any scale). */
export function labelSpreading(features: Float32Array, dim: number, y: Int32Array, nClasses: number, opts: LabelSpreadingOptions = {}): LabelSpreadingResult {
  const n = features.length / dim;
  const alpha = opts.alpha ?? 0.99;
  const counts = checkSpreadingInput(n, y, nClasses, alpha);
  const graph = opts.graph ?? spreadingGraph(features, dim, opts.k ?? 10, opts.gamma ?? 3, opts.knn);
  if (graph.n !== n) throw new UlearnError(`label spreading: the given graph has ${graph.n} nodes but there are ${n} samples`, { code: 'E_ARG' });
  const Y = new Float32Array(n * nClasses);
  for (let i = 0; i < n; i++) if (y[i] >= 0) Y[i * nClasses + y[i]] = (opts.balance ?? true) ? 1 / counts[y[i]] : 1;
  const { F, iterations } = solveSpreading(graph, Y, nClasses, alpha, opts.maxIterations ?? 100, opts.tol ?? 1e-6);
  const proba = new Float32Array(n * nClasses);
  const labels = new Int32Array(n);
  const confidence = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (let c = 0; c < nClasses; c++) sum += Math.max(0, F[i * nClasses + c]);
    let best = 0;
    for (let c = 0; c < nClasses; c++) {
      const p = sum > 0 ? Math.max(0, F[i * nClasses + c]) / sum : 1 / nClasses;
      proba[i * nClasses + c] = p;
      if (p > proba[i * nClasses + best]) best = c;
    }
    labels[i] = y[i] >= 0 ? y[i] : best;
    confidence[i] = proba[i * nClasses + best];
  }
  return { proba, labels, confidence, iterations, exactGraph: graph.exact };
}

/**
 * Solves (I - alpha S) F = (1 - alpha) Y, the fixed point of F <- alpha S F + (1 - alpha) Y, by conjugate
 * gradients, one independent solve per class column run side by side. Why not the plain iteration: it
 * converges like alpha^t, and at alpha = 0.99 that is ~1,000 sweeps for 1e-5; I - alpha S is symmetric positive
 * definite (S's eigenvalues lie in [-1, 1]), so CG needs a few dozen (Iscen et al. do the same).
 */
export function solveSpreading(g: SparseGraph, Y: Float32Array, nClasses: number, alpha: number, maxIterations: number, tol: number): { F: Float32Array; iterations: number } {
  const K = nClasses;
  const len = g.n * K;
  const x = new Float64Array(len);
  const r = new Float64Array(len);
  for (let i = 0; i < len; i++) r[i] = (1 - alpha) * Y[i];
  const p = Float64Array.from(r);
  const Ap = new Float64Array(len);
  const rr = new Float64Array(K);
  const bNorm = new Float64Array(K);
  for (let i = 0; i < len; i++) rr[i % K] += r[i] * r[i];
  for (let c = 0; c < K; c++) bNorm[c] = Math.sqrt(rr[c]);
  const pAp = new Float64Array(K);
  const rrNew = new Float64Array(K);
  let it = 0;
  const converged = () => rr.every((v, c) => Math.sqrt(v) <= tol * Math.max(bNorm[c], 1e-300));
  while (it < maxIterations && !converged()) {
    it++;
    // Ap = p - alpha S p
    for (let i = 0; i < g.n; i++) {
      const o = i * K;
      for (let c = 0; c < K; c++) Ap[o + c] = p[o + c];
      for (let e = g.rowStart[i]; e < g.rowStart[i + 1]; e++) {
        const w = alpha * g.vals[e];
        const src = g.cols[e] * K;
        for (let c = 0; c < K; c++) Ap[o + c] -= w * p[src + c];
      }
    }
    pAp.fill(0);
    for (let i = 0; i < len; i++) pAp[i % K] += p[i] * Ap[i];
    rrNew.fill(0);
    for (let i = 0; i < len; i++) {
      const c = i % K;
      const a = pAp[c] > 0 ? rr[c] / pAp[c] : 0;
      x[i] += a * p[i];
      r[i] -= a * Ap[i];
      rrNew[c] += r[i] * r[i];
    }
    for (let i = 0; i < len; i++) {
      const c = i % K;
      p[i] = r[i] + (rr[c] > 0 ? rrNew[c] / rr[c] : 0) * p[i];
    }
    rr.set(rrNew);
  }
  return { F: Float32Array.from(x), iterations: it };
}
