/**
 * 2-D map of learned features for the report's scatter plot, via UMAP (umap-js).
 *
 * UMAP's cost grows faster than linearly (nearest-neighbour descent plus hundreds of SGD epochs in plain JS),
 * so at most `maxPoints` samples are embedded; which ones is drawn from the seed, and their indices come back
 * so the caller can colour them by label. umap-js draws every random number through the `random` it is
 * given (its default is Math.random), so a seeded stream makes the map reproducible.
 */
import { UMAP } from 'umap-js';
import { UlearnError } from '../errors.js';
import { Rng } from '../engine/seed.js';

export interface Umap2dOptions {
  /** Neighbourhood size: larger keeps more global structure. Default 15 (capped at points - 1). */
  nNeighbors?: number;
  /** How tightly points may pack in 2-D. Default 0.1. */
  minDist?: number;
  /** Seeds both the subsample and UMAP itself. */
  seed: number;
  /** Embed at most this many points (a seeded random subset). Default 3000. */
  maxPoints?: number;
  /** SGD epochs; default lets umap-js choose (500 below 10k points). Fewer is faster and rougher. */
  nEpochs?: number;
}

export interface Umap2dResult {
  /** Row-major [indices.length, 2] coordinates. */
  coords: Float32Array;
  /** Which input rows were embedded, ascending (all of them when n ≤ maxPoints). */
  indices: Int32Array;
}

export function umap2d(features: Float32Array, dim: number, opts: Umap2dOptions): Umap2dResult {
  if (!Number.isInteger(dim) || dim < 1 || features.length % dim !== 0) {
    throw new UlearnError(`${features.length} feature values do not split into rows of ${dim}`, {
      code: 'E_EMBED_SHAPE',
    });
  }
  const maxPoints = opts.maxPoints ?? 3000;
  if (!Number.isInteger(maxPoints) || maxPoints < 1) {
    throw new UlearnError(`maxPoints must be a positive integer, got ${maxPoints}`, { code: 'E_EMBED_OPTS' });
  }
  const rng = new Rng(opts.seed);
  const indices = pickIndices(features.length / dim, maxPoints, rng.fork('umap-subsample'));
  const n = indices.length;

  const rows: number[][] = new Array(n);
  for (let i = 0; i < n; i++) {
    const start = indices[i] * dim;
    const row = Array.from(features.subarray(start, start + dim));
    // A NaN would silently poison every neighbour distance; better to say which row is broken.
    if (!row.every(Number.isFinite)) {
      throw new UlearnError(`features of sample ${indices[i]} contain NaN or Infinity`, { code: 'E_EMBED_NAN' });
    }
    rows[i] = row;
  }

  // UMAP needs a neighbour graph; with fewer than 3 points there is nothing to lay out, so place them directly.
  if (n < 3) return { coords: Float32Array.from({ length: n * 2 }, (_, k) => (k % 2 === 0 ? k / 2 : 0)), indices };

  const umapRng = rng.fork('umap');
  const umap = new UMAP({
    nComponents: 2,
    nNeighbors: Math.max(2, Math.min(opts.nNeighbors ?? 15, n - 1)),
    minDist: opts.minDist ?? 0.1,
    nEpochs: opts.nEpochs,
    random: () => umapRng.random(),
  });
  const emb = umap.fit(rows);
  const coords = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) {
    coords[2 * i] = emb[i][0];
    coords[2 * i + 1] = emb[i][1];
  }
  return { coords, indices };
}

/** All rows when they fit, else a seeded random subset kept in input order (stable colours, easy joins). */
function pickIndices(n: number, maxPoints: number, rng: Rng): Int32Array {
  if (n <= maxPoints) return Int32Array.from({ length: n }, (_, i) => i);
  return Int32Array.from(rng.permutation(n).slice(0, maxPoints)).sort();
}
