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
 *
 * This is ulearn's one label-propagation solver: `ulearn train --method label-propagation` and the benchmark
 * (images), the active-learning light model and the labeling app's suggestions, and tables
 * (`spreadToNewRows` classifies rows that were not in the graph).
 */
import { UlearnError } from '../errors.js';
import { knnGraph, searchKnn, type KnnOptions, type KnnResult } from '../neighbors/knn.js';
import { argmaxRows } from '../eval/metrics.js';

/** Iscen et al.'s affinity sharpening exponent: the default of `gamma`, and of graphs built ahead for a spreading. */
export const DEFAULT_GAMMA = 3;

export interface LabelSpreadingOptions {
  /** Neighbours per sample. Default 10. */
  k?: number;
  /** Weight of the graph vs the given labels, in (0, 1). Default 0.99 (Zhou et al., Iscen et al.). */
  alpha?: number;
  /** Affinity sharpening exponent on the cosine similarity. Default 3 (Iscen et al.). */
  gamma?: number;
  /** Conjugate-gradient iterations at most. Default 100. */
  maxIterations?: number;
  /**
   * Stop when each class's residual norm is below tol times its right-hand side's. Default 1e-6. With tol 0 it
   * runs exactly maxIterations (the light model does 20, as Iscen et al.: its argmax has settled by then).
   */
  tol?: number;
  /**
   * Divide each class's column of Y by its label count, so a class with more labels does not spread further
   * just for having more sources (Iscen et al.'s class-balanced Y). Default true.
   */
  balance?: boolean;
  /**
   * Require a label for every class (default true: a training run without one is a mistake). The labeling
   * app's light model says false: early on some classes have no label yet, and they simply get no mass.
   */
  everyClass?: boolean;
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
  /**
   * The CSR rows are the samples renumbered in breadth-first order over the graph: row r is sample perm[r],
   * and cols hold row numbers. kNN neighbours are scattered all over the original numbering, so a product with
   * S missed the cache on nearly every edge; in BFS order they sit close together (2.3x faster products on 70k
   * rows, measured when the active-learning light model introduced it).
   */
  perm: Int32Array;
  /** CSR: row r's neighbours are cols[rowStart[r] .. rowStart[r + 1]) with normalised weights vals. */
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

/** S = D^-1/2 (A + A^T) D^-1/2 for A the sharpened kNN affinities (cosine), as a CSR matrix in BFS order. */
export function spreadingGraph(features: Float32Array, dim: number, k: number, gamma: number, knn: LabelSpreadingOptions['knn'] = {}): SparseGraph {
  const n = features.length / dim;
  return graphFromKnn(knnGraph(features, dim, Math.min(k, Math.max(1, n - 1)), { ...knn, metric: 'cosine' }), gamma);
}

/** The spreading graph of a kNN result found with the cosine metric (distances are 1 - cos). */
export function graphFromKnn(res: KnnResult, gamma: number): SparseGraph {
  const { n, k, indices, distances } = res;
  // Symmetrise by listing each directed edge in both rows; a pair found from both sides adds up, as in W + W^T.
  // One CSR in the samples' own numbering first (the BFS walks it), then the same rows renumbered.
  const deg = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < k; j++) {
      const t = indices[i * k + j];
      if (t < 0 || t === i) continue;
      deg[i]++;
      deg[t]++;
    }
  }
  const start = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) start[i + 1] = start[i] + deg[i];
  const nbr = new Int32Array(start[n]);
  const w = new Float32Array(start[n]);
  const fill = start.slice(0, n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < k; j++) {
      const t = indices[i * k + j];
      if (t < 0 || t === i) continue;
      // cosine distance d = 1 - cos; negative similarities carry no affinity.
      const wt = Math.max(0, 1 - distances[i * k + j]) ** gamma;
      nbr[fill[i]] = t;
      w[fill[i]++] = wt;
      nbr[fill[t]] = i;
      w[fill[t]++] = wt;
    }
  }
  const perm = bfsOrder(start, nbr);
  const inv = new Int32Array(n);
  for (let r = 0; r < n; r++) inv[perm[r]] = r;
  const rowStart = new Int32Array(n + 1);
  for (let r = 0; r < n; r++) rowStart[r + 1] = rowStart[r] + deg[perm[r]];
  const cols = new Int32Array(rowStart[n]);
  const vals = new Float32Array(rowStart[n]);
  for (let r = 0; r < n; r++) {
    for (let e = start[perm[r]], o = rowStart[r]; e < start[perm[r] + 1]; e++, o++) {
      cols[o] = inv[nbr[e]];
      vals[o] = w[e];
    }
  }
  const d = new Float64Array(n);
  for (let r = 0; r < n; r++) for (let e = rowStart[r]; e < rowStart[r + 1]; e++) d[r] += vals[e];
  for (let r = 0; r < n; r++) {
    for (let e = rowStart[r]; e < rowStart[r + 1]; e++) {
      const denom = Math.sqrt(d[r] * d[cols[e]]);
      vals[e] = denom > 0 ? vals[e] / denom : 0;
    }
  }
  return { n, perm, rowStart, cols, vals, exact: res.exact };
}

/** Rows in breadth-first order over a CSR adjacency (start, nbr), one connected component after another. */
function bfsOrder(start: Int32Array, nbr: Int32Array): Int32Array {
  const n = start.length - 1;
  const perm = new Int32Array(n);
  const seen = new Uint8Array(n);
  let [head, tail] = [0, 0];
  for (let s = 0; s < n; s++) {
    if (seen[s]) continue;
    seen[s] = 1;
    perm[tail++] = s;
    while (head < tail) {
      const u = perm[head++];
      for (let e = start[u]; e < start[u + 1]; e++) {
        if (seen[nbr[e]]) continue;
        seen[nbr[e]] = 1;
        perm[tail++] = nbr[e];
      }
    }
  }
  return perm;
}

/** Checks that labels are usable before any graph is built (the expensive part). */
export function checkSpreadingInput(n: number, y: Int32Array, nClasses: number, alpha: number, everyClass = true): number[] {
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
  if (missing.length > 0 && everyClass) {
    throw new UlearnError(`label spreading: class(es) ${missing.join(', ')} have no labeled sample, so nothing can spread to them`, { code: 'E_BUDGET' });
  }
  return counts;
}

/** Spreads the labels in `y` (-1 = unlabeled) over the kNN graph of `features` ([n, dim], any scale). */
export function labelSpreading(features: Float32Array, dim: number, y: Int32Array, nClasses: number, opts: LabelSpreadingOptions = {}): LabelSpreadingResult {
  const n = features.length / dim;
  const alpha = opts.alpha ?? 0.99;
  const counts = checkSpreadingInput(n, y, nClasses, alpha, opts.everyClass ?? true);
  const graph = opts.graph ?? spreadingGraph(features, dim, opts.k ?? 10, opts.gamma ?? DEFAULT_GAMMA, opts.knn);
  if (graph.n !== n) throw new UlearnError(`label spreading: the given graph has ${graph.n} nodes but there are ${n} samples`, { code: 'E_ARG' });
  // Y and F are in the graph's row order: row r is sample perm[r].
  const { perm } = graph;
  const Y = new Float32Array(n * nClasses);
  for (let r = 0; r < n; r++) {
    const l = y[perm[r]];
    if (l >= 0) Y[r * nClasses + l] = (opts.balance ?? true) ? 1 / counts[l] : 1;
  }
  const { F, iterations } = solveSpreading(graph, Y, nClasses, alpha, opts.maxIterations ?? 100, opts.tol ?? 1e-6);
  const inv = new Int32Array(n);
  for (let r = 0; r < n; r++) inv[perm[r]] = r;
  const proba = new Float32Array(n * nClasses);
  const labels = new Int32Array(n);
  const confidence = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const o = inv[i] * nClasses;
    let sum = 0;
    for (let c = 0; c < nClasses; c++) sum += Math.max(0, F[o + c]);
    for (let c = 0; c < nClasses; c++) proba[i * nClasses + c] = sum > 0 ? Math.max(0, F[o + c]) / sum : 1 / nClasses;
  }
  const best = argmaxRows(proba, nClasses);
  for (let i = 0; i < n; i++) {
    labels[i] = y[i] >= 0 ? y[i] : best[i];
    confidence[i] = proba[i * nClasses + best[i]];
  }
  return { proba, labels, confidence, iterations, exactGraph: graph.exact };
}

/**
 * Inductive step for rows that were not in the graph (a table's test split): each new row's class scores are
 * the similarity-weighted mean of its k nearest graph rows' spread scores, so no new row reshapes the graph
 * the labels spread over.
 */
export function spreadToNewRows(features: Float32Array, proba: Float32Array, nClasses: number, queries: Float32Array, dim: number, k: number, knn: LabelSpreadingOptions['knn'] = {}): Float32Array {
  const n = features.length / dim;
  if (proba.length !== n * nClasses) throw new UlearnError(`label spreading: ${n} graph rows but ${proba.length / nClasses} rows of scores`, { code: 'E_SHAPE' });
  const kk = Math.min(k, n);
  const r = searchKnn(features, queries, dim, kk, { ...knn, metric: 'cosine' });
  const out = new Float32Array(r.n * nClasses);
  for (let q = 0; q < r.n; q++) {
    let total = 0;
    for (let j = 0; j < r.k; j++) {
      const nb = r.indices[q * r.k + j];
      if (nb < 0) continue;
      const w = Math.max(0, 1 - r.distances[q * r.k + j]) + 1e-6;
      for (let c = 0; c < nClasses; c++) out[q * nClasses + c] += w * proba[nb * nClasses + c];
      total += w;
    }
    for (let c = 0; c < nClasses; c++) out[q * nClasses + c] = total > 0 ? out[q * nClasses + c] / total : 1 / nClasses;
  }
  return out;
}

/**
 * Solves (I - alpha S) F = (1 - alpha) Y (Y and F in the graph's row order, see SparseGraph.perm), the fixed point of F <- alpha S F + (1 - alpha) Y, by conjugate
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
