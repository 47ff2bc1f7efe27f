/**
 * The embedding every similarity check shares, and its kNN graph (computed once: near duplicates, outliers and
 * label errors all read it).
 *
 * Default embedding: the image averaged down to a 7x7 grid per channel, minus its own mean (so brightness
 * shifts do not matter), compared by cosine. Crude, but it is what "raw downscaled pixels" means, costs
 * nothing, and on Fashion-MNIST a 10-NN vote on it is right ~85% of the time. An SSL encoder (`encoder`) gives
 * better neighbours for label errors and outliers at the cost of a forward pass.
 * Samples that have no meaningful direction (unreadable, non-finite, constant) are left out of the graph.
 */
import { knnGraph, type KnnOptions } from '../neighbors/knn.js';
import type { ImageSamples } from './types.js';
import { gatherRows } from '../data/dataset.js';

export interface NeighbourGraph {
  /** Per sample: 1 if it is in the graph. */
  usable: Uint8Array;
  k: number;
  /** n * k sample indices (nearest first), -1 padding (and for samples not in the graph). */
  indices: Int32Array;
  /** n * k cosine distances, Infinity padding. */
  distances: Float32Array;
  dim: number;
  exact: boolean;
  seconds: number;
}

export const GRID = 7;

/** Per sample: 1 if readable, finite and not constant (a zero vector after centring has no cosine). */
export function usableMask(s: ImageSamples): Uint8Array {
  const n = s.ids.length;
  const per = s.height * s.width * s.channels;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    if (!s.readable[i] || s.nonFinite[i]) continue;
    const first = s.pixels[i * per];
    for (let j = 1; j < per; j++) {
      if (s.pixels[i * per + j] !== first) {
        out[i] = 1;
        break;
      }
    }
  }
  return out;
}

/** The 7x7-per-channel pooled, mean-centred embedding of each sample (rows of `dim` floats). */
export function pooledEmbedding(s: ImageSamples): { vectors: Float32Array; dim: number } {
  const { height: h, width: w, channels: c } = s;
  const g = Math.min(GRID, h, w);
  const dim = g * g * c;
  const n = s.ids.length;
  const per = h * w * c;
  const vectors = new Float32Array(n * dim);
  const cellOf = new Int32Array(h * w);
  const cellCount = new Float32Array(g * g);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const cell = Math.min(g - 1, Math.floor(((y + 0.5) * g) / h)) * g + Math.min(g - 1, Math.floor(((x + 0.5) * g) / w));
      cellOf[y * w + x] = cell;
      cellCount[cell]++;
    }
  }
  for (let i = 0; i < n; i++) {
    const row = vectors.subarray(i * dim, (i + 1) * dim);
    const px = s.pixels.subarray(i * per, (i + 1) * per);
    for (let p = 0; p < h * w; p++) {
      const cell = cellOf[p];
      for (let k = 0; k < c; k++) row[cell * c + k] += px[p * c + k];
    }
    let mean = 0;
    for (let d = 0; d < dim; d++) {
      row[d] /= cellCount[Math.floor(d / c)] * 255;
      mean += row[d];
    }
    mean /= dim;
    for (let d = 0; d < dim; d++) row[d] -= mean;
  }
  return { vectors, dim };
}

/**
 * A light i8 HNSW: building and searching the graph is most of clean's time on large image sets. Measured on
 * the planted Fashion-MNIST copy (71,200 images, 2 busy cores, seed 0): M=16/ef 64/32 took 21 s and held 499 of
 * 500 planted near-duplicate pairs as neighbours; M=12/ef 40/24 12.8 s and 490; M=8/ef 32/16 9.2 s and 487.
 * Re-decided on held-out planted pairs (`npm run bench tune -- clean`, bench/results/tuning.json): seed 1 found
 * 495 / 498 / 498 of 500 pairs with M=8 / 12 / 16, so M=12 stays (the fastest within half a point of the best);
 * the held-out seed 2 gave 495 / 494 / 495.
 */
export const CLEAN_HNSW: NonNullable<KnnOptions['hnsw']> = { connectivity: 12, expansionAdd: 40, expansionSearch: 24, quantization: 'i8' };

export interface GraphOptions {
  k?: number;
  /** Precomputed embedding rows (e.g. an encoder's), one per sample; default the pooled pixels. */
  embedding?: { vectors: Float32Array; dim: number };
  mode?: 'auto' | 'exact' | 'approximate';
  /** HNSW settings for a large set (default CLEAN_HNSW) and its threads (default all cores): the tuning script varies them. */
  hnsw?: KnnOptions['hnsw'];
  threads?: number;
}

export function buildNeighbourGraph(s: ImageSamples, opts: GraphOptions = {}): NeighbourGraph {
  return graphOverEmbedding(usableMask(s), opts.embedding ?? pooledEmbedding(s), opts);
}

/**
 * The graph over given embedding rows, for the samples `usable` marks (a copy is narrowed further to rows that
 * are not all zero): what images and audio share once each has its embedding.
 */
export function graphOverEmbedding(usableIn: Uint8Array, embedding: { vectors: Float32Array; dim: number }, opts: Omit<GraphOptions, 'embedding'> = {}): NeighbourGraph {
  const t0 = performance.now();
  const n = usableIn.length;
  const k = opts.k ?? 10;
  const usable = Uint8Array.from(usableIn);
  const { vectors, dim } = embedding;
  const rows: number[] = [];
  for (let i = 0; i < n; i++) if (usable[i] && isNonZero(vectors, i, dim)) rows.push(i);
  for (let i = 0; i < n; i++) usable[i] = 0;
  for (const i of rows) usable[i] = 1;
  const indices = new Int32Array(n * k).fill(-1);
  const distances = new Float32Array(n * k).fill(Infinity);
  let exact = true;
  if (rows.length >= 2) {
    const packed = gatherRows(vectors, dim, rows);
    const kk = Math.min(k, rows.length - 1);
    const g = knnGraph(packed, dim, kk, { metric: 'cosine', mode: opts.mode ?? 'auto', hnsw: opts.hnsw ?? CLEAN_HNSW, threads: opts.threads });
    exact = g.exact;
    rows.forEach((i, r) => {
      for (let j = 0; j < kk; j++) {
        const nb = g.indices[r * kk + j];
        indices[i * k + j] = nb < 0 ? -1 : rows[nb];
        distances[i * k + j] = nb < 0 ? Infinity : g.distances[r * kk + j];
      }
    });
  }
  return { usable, k, indices, distances, dim, exact, seconds: (performance.now() - t0) / 1000 };
}

function isNonZero(v: Float32Array, i: number, dim: number): boolean {
  for (let d = 0; d < dim; d++) if (Math.abs(v[i * dim + d]) > 1e-7) return true;
  return false;
}
