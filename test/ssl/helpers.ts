/**
 * Shared test fixtures for src/ssl: float64 reference implementations of the losses written as plain loops
 * (independent of the tensor code they check), finite differences, a bars dataset, a tiny encoder and a
 * tiny augment (src/ssl takes any `{ apply(batch, rng) }`, so the tests do not depend on src/augment).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { Rng } from '../../src/engine/seed.js';
import type { AugmentLike } from '../../src/ssl/types.js';

export type Mat = number[][];

export { maxAbsDiff, useWasm } from '../engine/helpers.js';

export function randomMat(rng: Rng, n: number, d: number): Mat {
  return Array.from({ length: n }, () => Array.from({ length: d }, () => rng.normal()));
}

export function scalarOf(t: tf.Tensor): number {
  const v = t.dataSync()[0];
  t.dispose();
  return v;
}

// ---- float64 references ------------------------------------------------------------------------------

function norm(v: number[]): number {
  return Math.sqrt(v.reduce((s, x) => s + x * x, 0));
}

export function ntXentRef(z1: Mat, z2: Mat, t: number): number {
  const z = [...z1, ...z2].map((v) => v.map((x) => x / norm(v)));
  const n = z1.length;
  let total = 0;
  for (let i = 0; i < 2 * n; i++) {
    const pos = (i + n) % (2 * n);
    let denom = 0;
    let posLogit = 0;
    for (let j = 0; j < 2 * n; j++) {
      if (j === i) continue;
      let s = 0;
      for (let k = 0; k < z[i].length; k++) s += z[i][k] * z[j][k];
      denom += Math.exp(s / t);
      if (j === pos) posLogit = s / t;
    }
    total += Math.log(denom) - posLogit;
  }
  return total / (2 * n);
}

export interface VicRegRef {
  invariance: number;
  variance: number;
  covariance: number;
}

export function vicregTermsRef(z1: Mat, z2: Mat, eps = 1e-4): VicRegRef {
  const n = z1.length;
  const d = z1[0].length;
  let invariance = 0;
  for (let i = 0; i < n; i++) for (let k = 0; k < d; k++) invariance += (z1[i][k] - z2[i][k]) ** 2;
  invariance /= n * d;
  let variance = 0;
  let covariance = 0;
  for (const z of [z1, z2]) {
    const mean = Array.from({ length: d }, (_, k) => z.reduce((s, r) => s + r[k], 0) / n);
    for (let k = 0; k < d; k++) {
      const v = z.reduce((s, r) => s + (r[k] - mean[k]) ** 2, 0) / (n - 1);
      variance += Math.max(0, 1 - Math.sqrt(v + eps)) / d / 2;
    }
    for (let a = 0; a < d; a++) {
      for (let b = 0; b < d; b++) {
        if (a === b) continue;
        const c = z.reduce((s, r) => s + (r[a] - mean[a]) * (r[b] - mean[b]), 0) / (n - 1);
        covariance += (c * c) / d;
      }
    }
  }
  return { invariance, variance, covariance };
}

export function vicregRef(z1: Mat, z2: Mat, sim = 25, std = 25, cov = 1): number {
  const t = vicregTermsRef(z1, z2);
  return sim * t.invariance + std * t.variance + cov * t.covariance;
}

export function barlowRef(z1: Mat, z2: Mat, lambda: number): number {
  const n = z1.length;
  const d = z1[0].length;
  const standardize = (z: Mat): Mat => {
    const cols = Array.from({ length: d }, (_, k) => {
      const m = z.reduce((s, r) => s + r[k], 0) / n;
      const v = z.reduce((s, r) => s + (r[k] - m) ** 2, 0) / n;
      return [m, Math.sqrt(v + 1e-5)];
    });
    return z.map((r) => r.map((x, k) => (x - cols[k][0]) / cols[k][1]));
  };
  const a = standardize(z1);
  const b = standardize(z2);
  let loss = 0;
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < d; j++) {
      let c = 0;
      for (let s = 0; s < n; s++) c += a[s][i] * b[s][j];
      c /= n;
      loss += i === j ? (1 - c) ** 2 : lambda * c * c;
    }
  }
  return loss;
}

/** Central differences of f at x (float64), h small enough for float64 and smooth losses. */
export function numericGrad(f: (x: Mat) => number, x: Mat, h = 1e-6): Mat {
  return x.map((row, i) =>
    row.map((_, k) => {
      const plus = x.map((r) => [...r]);
      const minus = x.map((r) => [...r]);
      plus[i][k] += h;
      minus[i][k] -= h;
      return (f(plus) - f(minus)) / (2 * h);
    }),
  );
}

// ---- training fixtures -------------------------------------------------------------------------------

/** n 8x8 grey images, class 0 a horizontal bar at a random row, class 1 a vertical bar, plus noise. */
export function barsData(n: number, seed: number): { x: Float32Array; y: Int32Array } {
  const rng = new Rng(seed);
  const x = new Float32Array(n * 64);
  const y = new Int32Array(n);
  for (let s = 0; s < n; s++) {
    y[s] = s % 2;
    const at = rng.int(8);
    for (let r = 0; r < 8; r++) {
      for (let c = 0; c < 8; c++) {
        const on = y[s] === 0 ? r === at : c === at;
        x[s * 64 + r * 8 + c] = (on ? 1 : 0) + 0.1 * rng.normal();
      }
    }
  }
  return { x, y };
}

/** conv(8) → conv(16, stride 2) → global average pool: [N, 8, 8, 1] → [N, 16]. */
export function tinyEncoder(seed = 1): tfl.LayersModel {
  return tfl.sequential({
    layers: [
      tfl.layers.conv2d({ inputShape: [8, 8, 1], filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: tfl.initializers.heNormal({ seed }) }),
      tfl.layers.conv2d({ filters: 16, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', kernelInitializer: tfl.initializers.heNormal({ seed: seed + 1 }) }),
      tfl.layers.globalAveragePooling2d({}),
    ],
  });
}

/** Gaussian noise plus a random per-image contrast: different each call, same shape. */
export const noiseAugment: AugmentLike = {
  apply(batch: tf.Tensor4D, rng: Rng): tf.Tensor4D {
    return tf.tidy(() => {
      const n = batch.shape[0];
      const scale = tf.randomUniform([n, 1, 1, 1], 0.7, 1.3, 'float32', rng.seedInt());
      return tf.add(tf.mul(batch, scale), tf.randomNormal(batch.shape, 0, 0.15, 'float32', rng.seedInt())) as tf.Tensor4D;
    });
  },
};
