/** Fixtures for src/active tests: Gaussian blobs with known centres, and a plain context builder. */
import { Rng } from '../../src/engine/seed.js';
import type { SelectContext } from '../../src/active/strategy.js';

export interface Blobs {
  x: Float32Array;
  dim: number;
  /** The blob each row came from. */
  blob: Int32Array;
  centers: number[][];
}

/** `perBlob` rows around each centre with per-coordinate std `spread`. */
export function blobs(centers: number[][], perBlob: number, spread: number, seed: number): Blobs {
  const dim = centers[0].length;
  const rng = new Rng(seed);
  const n = centers.length * perBlob;
  const x = new Float32Array(n * dim);
  const blob = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    blob[i] = Math.floor(i / perBlob);
    for (let d = 0; d < dim; d++) x[i * dim + d] = centers[blob[i]][d] + spread * rng.normal();
  }
  return { x, dim, blob, centers };
}

export function context(embeddings: Float32Array, dim: number, labels: Int32Array | number[], numClasses: number, seed = 0, probs?: number[][]): SelectContext {
  return {
    embeddings,
    dim,
    labels: Int32Array.from(labels),
    numClasses,
    probs: probs ? Float32Array.from(probs.flat()) : undefined,
    rng: new Rng(seed),
  };
}

/** Index of the row nearest to `point` (brute force). */
export function nearestRow(x: Float32Array, dim: number, point: number[], rows?: number[]): number {
  let best = -1;
  let bestD = Infinity;
  for (const i of rows ?? Array.from({ length: x.length / dim }, (_, j) => j)) {
    let d = 0;
    for (let t = 0; t < dim; t++) d += (x[i * dim + t] - point[t]) ** 2;
    if (d < bestD) {
      bestD = d;
      best = i;
    }
  }
  return best;
}
