/**
 * k-means (Lloyd) with k-means++ initialisation (Arthur & Vassilvitskii 2007), seeded: TypiClust's clusters.
 *
 * k-means++ picks each next centre with probability ∝ squared distance to the nearest centre chosen so far.
 * That loop is sequential (k passes over the rows), so it runs on a seeded subsample of at most `initSample`
 * rows: for k = 500 over 60k rows the full version would take longer than all of Lloyd's iterations.
 * Distances come from the backend's matrix product (distances.ts), ~15x faster than JS loops here.
 */
import * as tf from '@tensorflow/tfjs-core';
import { UlearnError } from '../errors.js';
import type { Rng } from '../engine/seed.js';
import { gatherRows } from '../data/dataset.js';
import { nearestCenters } from './distances.js';

export interface KMeansOptions {
  rng: Rng;
  /**
   * Lloyd iterations at most (default 15: with hundreds of clusters over 60k rows the last iterations move
   * a few rows each, for half a second per iteration).
   */
  maxIter?: number;
  /** Stop when fewer than this fraction of rows change cluster (default 0.001). */
  tol?: number;
  /** Rows k-means++ draws its initial centres from (default 20,000). */
  initSample?: number;
}

export interface KMeansResult {
  /** k × dim. */
  centroids: Float32Array;
  /** Cluster of each row. */
  assignments: Int32Array;
  /** Sum of squared distances of rows to their centroid. */
  inertia: number;
  iterations: number;
}

/**
 * Greedy k-means++ seeding (as scikit-learn): each step draws 2 + ⌊ln k⌋ candidates by D² sampling and keeps
 * the one that lowers the total squared distance most. Plain k-means++ sometimes drops two seeds into one
 * blob and none into another, and Lloyd's iterations cannot undo that; the greedy variant rarely does.
 * Returns k distinct row indices of `x`.
 */
export function kmeansPlusPlus(x: Float32Array, dim: number, k: number, rng: Rng): number[] {
  const n = x.length / dim;
  const trials = 2 + Math.floor(Math.log(k));
  const X = tf.tensor2d(x, [n, dim]);
  const xSq = tf.tidy(() => tf.reshape(tf.sum(tf.square(X), 1), [n, 1]) as tf.Tensor2D);
  const norms = xSq.dataSync();
  try {
    const chosen = [rng.int(n)];
    const taken = new Uint8Array(n);
    taken[chosen[0]] = 1;
    const d2 = Float64Array.from(distancesTo(X, xSq, x, dim, [chosen[0]], norms));
    while (chosen.length < k) {
      let total = 0;
      for (let i = 0; i < n; i++) total += d2[i];
      const cands: number[] = [];
      for (let t = 0; t < trials; t++) {
        let pick = -1;
        if (total > 0) {
          let r = rng.random() * total;
          for (let i = 0; i < n && pick < 0; i++) {
            if (d2[i] <= 0 || taken[i]) continue;
            r -= d2[i];
            if (r < 0) pick = i;
          }
        }
        // All remaining mass is zero (duplicate rows) or rounding ran off the end: any row not chosen yet.
        if (pick < 0) pick = firstFree(taken, rng);
        cands.push(pick);
      }
      const D = distancesTo(X, xSq, x, dim, cands, norms);
      let best = 0;
      let bestPot = Infinity;
      for (let t = 0; t < cands.length; t++) {
        let pot = 0;
        for (let i = 0; i < n; i++) pot += Math.min(d2[i], D[i * cands.length + t]);
        if (pot < bestPot) {
          bestPot = pot;
          best = t;
        }
      }
      const c = cands[best];
      chosen.push(c);
      taken[c] = 1;
      for (let i = 0; i < n; i++) d2[i] = Math.min(d2[i], D[i * cands.length + best]);
      d2[c] = 0;
    }
    return chosen;
  } finally {
    tf.dispose([X, xSq]);
  }
}

function firstFree(taken: Uint8Array, rng: Rng): number {
  const start = rng.int(taken.length);
  for (let j = 0; j < taken.length; j++) {
    const i = (start + j) % taken.length;
    if (!taken[i]) return i;
  }
  throw new Error('k-means++: more centres than rows');
}

/** n × m squared distances from every row of X to rows `cols` of x (clamped at 0). */
function distancesTo(X: tf.Tensor2D, xSq: tf.Tensor2D, x: Float32Array, dim: number, cols: number[], norms: ArrayLike<number>): Float32Array {
  const m = cols.length;
  const C = tf.tensor2d(gatherRows(x, dim, cols), [m, dim]);
  const D = tf.tidy(() => tf.add(tf.sub(xSq, tf.mul(tf.matMul(X, C, false, true), 2)), tf.tensor2d(cols.map((c) => norms[c]), [1, m])));
  const out = D.dataSync() as Float32Array;
  tf.dispose([C, D]);
  for (let i = 0; i < out.length; i++) if (out[i] < 0) out[i] = 0;
  return out;
}

export function kmeans(x: Float32Array, dim: number, k: number, opts: KMeansOptions): KMeansResult {
  const n = x.length / dim;
  if (!Number.isInteger(n) || n === 0) throw new UlearnError(`k-means: ${x.length} values do not form rows of ${dim}`, { code: 'E_SHAPE' });
  if (!Number.isInteger(k) || k < 1 || k > n) throw new UlearnError(`k-means: k must be an integer in [1, ${n}], got ${k}`, { code: 'E_ARG' });
  const { rng, maxIter = 15, tol = 1e-3, initSample = 20_000 } = opts;

  let initRows: number[];
  if (n > initSample && initSample >= k) {
    const sample = rng.permutation(n).slice(0, initSample);
    initRows = kmeansPlusPlus(gatherRows(x, dim, sample), dim, k, rng).map((i) => sample[i]);
  } else {
    initRows = kmeansPlusPlus(x, dim, k, rng);
  }
  const centroids = gatherRows(x, dim, initRows);
  let assignments: Int32Array = new Int32Array(n).fill(-1);
  let dist2: Float32Array = new Float32Array(n);
  let iterations = 0;
  for (let it = 0; it < maxIter; it++) {
    iterations = it + 1;
    const near = nearestCenters(x, centroids, dim);
    let changed = 0;
    for (let i = 0; i < n; i++) if (near.index[i] !== assignments[i]) changed++;
    assignments = near.index;
    dist2 = near.dist2;
    // Converged, or out of iterations: stop before moving the centroids, so they match the assignments.
    if ((changed <= tol * n && it > 0) || it === maxIter - 1) break;
    updateCentroids(x, dim, k, assignments, dist2, centroids);
  }
  let inertia = 0;
  for (let i = 0; i < n; i++) inertia += dist2[i];
  return { centroids, assignments, inertia, iterations };
}

/** Means of each cluster's rows; an empty cluster restarts at the row farthest from its centroid. */
function updateCentroids(x: Float32Array, dim: number, k: number, assignments: Int32Array, dist2: Float32Array, centroids: Float32Array): void {
  const n = assignments.length;
  const sums = new Float64Array(k * dim);
  const counts = new Int32Array(k);
  for (let i = 0; i < n; i++) {
    const c = assignments[i];
    counts[c]++;
    const o = i * dim;
    const co = c * dim;
    for (let d = 0; d < dim; d++) sums[co + d] += x[o + d];
  }
  const far = dist2.slice();
  for (let c = 0; c < k; c++) {
    if (counts[c] > 0) {
      for (let d = 0; d < dim; d++) centroids[c * dim + d] = sums[c * dim + d] / counts[c];
      continue;
    }
    let best = 0;
    for (let i = 1; i < n; i++) if (far[i] > far[best]) best = i;
    far[best] = -1;
    centroids.set(x.subarray(best * dim, (best + 1) * dim), c * dim);
  }
}
