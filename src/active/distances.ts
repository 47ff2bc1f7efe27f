/**
 * Squared Euclidean distances between many rows and a set of centres, as blocked matrix products on the
 * tfjs backend (‖x‖² - 2x·c + ‖c‖²). Plain JS loops manage ~0.25 G multiply-adds/s here, the wasm backend's
 * matmul ~4 G/s, which is what makes k-means with hundreds of clusters over 60k rows take seconds.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Each row's nearest centre and the squared distance to it. */
export function nearestCenters(points: Float32Array, centers: Float32Array, dim: number): { index: Int32Array; dist2: Float32Array } {
  const n = points.length / dim;
  const m = centers.length / dim;
  const index = new Int32Array(n);
  const dist2 = new Float32Array(n);
  if (m === 0) {
    dist2.fill(Infinity);
    index.fill(-1);
    return { index, dist2 };
  }
  const C = tf.tensor2d(centers, [m, dim]);
  const cSq = tf.tidy(() => tf.reshape(tf.sum(tf.square(C), 1), [1, m]));
  // Blocks of rows so that one block's distance matrix stays near 32 MB.
  const block = Math.max(1, Math.min(n, Math.floor(8_000_000 / m)));
  try {
    for (let s = 0; s < n; s += block) {
      const rows = Math.min(block, n - s);
      const [minT, argT] = tf.tidy(() => {
        const X = tf.tensor2d(points.subarray(s * dim, (s + rows) * dim), [rows, dim]);
        const d = tf.add(tf.sub(cSq, tf.mul(tf.matMul(X, C, false, true), 2)), tf.reshape(tf.sum(tf.square(X), 1), [rows, 1]));
        return [tf.min(d, 1), tf.argMin(d, 1)];
      });
      const mins = minT.dataSync();
      const args = argT.dataSync();
      tf.dispose([minT, argT]);
      for (let i = 0; i < rows; i++) {
        // The expanded form can dip below zero by rounding when a point sits on a centre.
        dist2[s + i] = Math.max(0, mins[i]);
        index[s + i] = args[i];
      }
    }
  } finally {
    tf.dispose([C, cSq]);
  }
  return { index, dist2 };
}

/** Squared distance between row i of `a` and row j of `b` (plain loop, for single updates). */
export function rowDist2(a: Float32Array, i: number, b: Float32Array, j: number, dim: number): number {
  let s = 0;
  const oa = i * dim;
  const ob = j * dim;
  for (let d = 0; d < dim; d++) {
    const v = a[oa + d] - b[ob + d];
    s += v * v;
  }
  return s;
}
