/**
 * k-nearest-neighbour search over embedding rows, shared by label propagation (semi/), near-duplicate and
 * outlier checks (clean/) and coreset selection (active/).
 *
 * Two engines behind one call:
 * - exact: blocked matrix products on the current tfjs backend. Exact, and fast enough up to tens of
 *   thousands of rows (cost n_queries x n_base x dim).
 * - approximate: an HNSW graph from `usearch` (prebuilt native binaries in its npm package, so nothing
 *   compiles at install). Building and querying are O(n log n), which is what makes a kNN graph over a
 *   million samples possible on a laptop.
 * `mode: 'auto'` picks exact up to `exactLimit` base rows.
 */
import os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import usearch from 'usearch';
import { UlearnError } from '../errors.js';

export type KnnMetric = 'cosine' | 'l2sq';

export interface KnnOptions {
  /** 'cosine': 1 - cos(a, b) (default). 'l2sq': squared Euclidean distance. */
  metric?: KnnMetric;
  mode?: 'auto' | 'exact' | 'approximate';
  /** Largest base set searched exactly in 'auto' mode. */
  exactLimit?: number;
  /** Queries are the base rows themselves: leave each row out of its own neighbour list. */
  excludeSelf?: boolean;
  /** Threads for the approximate index (default: all cores). */
  threads?: number;
  /** HNSW build settings for the approximate index (defaults: connectivity 16, expansionAdd 128, f32). */
  hnsw?: { connectivity?: number; expansionAdd?: number; expansionSearch?: number; quantization?: 'f32' | 'f16' | 'i8' };
}

/** Row i's neighbours are at [i*k, (i+1)*k), nearest first; index -1 (distance Infinity) pads short lists. */
export interface KnnResult {
  n: number;
  k: number;
  indices: Int32Array;
  distances: Float32Array;
  /** Which engine answered. */
  exact: boolean;
}

export const DEFAULT_EXACT_LIMIT = 20_000;

function check(name: string, v: Float32Array, dim: number): number {
  if (!Number.isInteger(dim) || dim <= 0) throw new UlearnError(`knn: dimension must be a positive integer, got ${dim}`, { code: 'E_ARG' });
  if (v.length % dim !== 0) throw new UlearnError(`knn: ${name} has ${v.length} values, not a multiple of dimension ${dim}`, { code: 'E_ARG' });
  for (let i = 0; i < v.length; i++) {
    if (!Number.isFinite(v[i])) throw new UlearnError(`knn: ${name} has a non-finite value at row ${Math.floor(i / dim)}, column ${i % dim}`, { code: 'E_ARG' });
  }
  return v.length / dim;
}

/** The k nearest base rows of each query row. */
export function searchKnn(base: Float32Array, queries: Float32Array, dim: number, k: number, opts: KnnOptions = {}): KnnResult {
  const nBase = check('base', base, dim);
  const nQ = check('queries', queries, dim);
  if (!Number.isInteger(k) || k < 1) throw new UlearnError(`knn: k must be a positive integer, got ${k}`, { code: 'E_ARG' });
  const metric = opts.metric ?? 'cosine';
  const mode = opts.mode ?? 'auto';
  const exact = mode === 'exact' || (mode === 'auto' && nBase <= (opts.exactLimit ?? DEFAULT_EXACT_LIMIT));
  const excludeSelf = opts.excludeSelf ?? false;
  if (excludeSelf && nQ !== nBase) throw new UlearnError('knn: excludeSelf needs the queries to be the base rows', { code: 'E_ARG' });
  // One extra candidate so that dropping the row itself still leaves k.
  const want = Math.min(nBase, k + (excludeSelf ? 1 : 0));
  const raw = exact ? exactSearch(base, queries, dim, nQ, want, metric) : approximateSearch(base, queries, dim, nBase, nQ, want, metric, opts.threads, opts.hnsw);
  const indices = new Int32Array(nQ * k).fill(-1);
  const distances = new Float32Array(nQ * k).fill(Infinity);
  for (let q = 0; q < nQ; q++) {
    let out = 0;
    for (let j = 0; j < want && out < k; j++) {
      const idx = raw.indices[q * want + j];
      if (idx < 0 || (excludeSelf && idx === q)) continue;
      indices[q * k + out] = idx;
      distances[q * k + out] = Math.max(0, raw.distances[q * want + j]);
      out++;
    }
  }
  return { n: nQ, k, indices, distances, exact };
}

/** Each row's k nearest other rows: the graph label propagation and outlier scores are built on. */
export function knnGraph(vectors: Float32Array, dim: number, k: number, opts: Omit<KnnOptions, 'excludeSelf'> = {}): KnnResult {
  return searchKnn(vectors, vectors, dim, k, { ...opts, excludeSelf: true });
}

function exactSearch(base: Float32Array, queries: Float32Array, dim: number, nQ: number, k: number, metric: KnnMetric) {
  const nBase = base.length / dim;
  const indices = new Int32Array(nQ * k);
  const distances = new Float32Array(nQ * k);
  const prep = (t: tf.Tensor2D) => (metric === 'cosine' ? tf.div(t, tf.maximum(tf.norm(t, 2, 1, true), 1e-12)) : t);
  const B = tf.tidy(() => prep(tf.tensor2d(base, [nBase, dim])));
  const bSq = metric === 'l2sq' ? tf.tidy(() => tf.reshape(tf.sum(tf.square(B), 1), [1, nBase])) : null;
  // Query blocks sized so one block of scores stays near 64 MB.
  const block = Math.max(1, Math.min(nQ, Math.floor(16_000_000 / nBase)));
  try {
    for (let start = 0; start < nQ; start += block) {
      const rows = Math.min(block, nQ - start);
      const [vals, idx] = tf.tidy(() => {
        const Q = prep(tf.tensor2d(queries.subarray(start * dim, (start + rows) * dim), [rows, dim]));
        const dots = tf.matMul(Q, B, false, true);
        // Rank by negated distance so topk's "largest" is the nearest.
        const negDist =
          metric === 'cosine'
            ? tf.sub(dots, 1)
            : tf.sub(tf.mul(dots, 2), tf.add(tf.reshape(tf.sum(tf.square(Q), 1), [rows, 1]), bSq!));
        const top = tf.topk(negDist, k, true);
        return [top.values, top.indices];
      });
      const v = vals.dataSync();
      const i = idx.dataSync();
      vals.dispose();
      idx.dispose();
      for (let j = 0; j < rows * k; j++) {
        distances[start * k + j] = -v[j];
        indices[start * k + j] = i[j];
      }
    }
  } finally {
    B.dispose();
    bSq?.dispose();
  }
  return { indices, distances };
}

function approximateSearch(base: Float32Array, queries: Float32Array, dim: number, nBase: number, nQ: number, k: number, metric: KnnMetric, threads?: number, hnsw: KnnOptions['hnsw'] = {}) {
  const t = threads ?? os.availableParallelism();
  const index = new usearch.Index({
    dimensions: dim,
    metric: metric === 'cosine' ? 'cos' : 'l2sq',
    connectivity: hnsw.connectivity ?? 16,
    expansion_add: hnsw.expansionAdd ?? 128,
    expansion_search: hnsw.expansionSearch ?? Math.max(64, 2 * k),
    quantization: hnsw.quantization ?? 'f32',
  } as ConstructorParameters<typeof usearch.Index>[0]);
  const keys = new BigUint64Array(nBase);
  for (let i = 0; i < nBase; i++) keys[i] = BigInt(i);
  index.add(keys, base, t);
  const found = index.search(queries, k, t) as unknown as { keys: BigUint64Array; distances: Float32Array; counts: BigUint64Array };
  const indices = new Int32Array(nQ * k).fill(-1);
  const distances = new Float32Array(nQ * k).fill(Infinity);
  for (let q = 0; q < nQ; q++) {
    const count = nQ === 1 && found.counts === undefined ? found.keys.length : Number(found.counts[q]);
    for (let j = 0; j < count; j++) {
      indices[q * k + j] = Number(found.keys[q * k + j]);
      distances[q * k + j] = found.distances[q * k + j];
    }
  }
  return { indices, distances };
}
