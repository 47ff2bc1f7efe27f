/**
 * The SSL losses against float64 loop references (helpers.ts) and hand-computed values, their invariances,
 * tf.grad against finite differences of the references, and tensor hygiene.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../../src/engine/seed.js';
import { UlearnError } from '../../src/errors.js';
import { barlowTwinsLoss, maskedReconstructionLoss, ntXentLoss, vicregLoss, vicregTerms } from '../../src/ssl/losses.js';
import { barlowRef, maxAbsDiff, ntXentRef, numericGrad, randomMat, scalarOf, useWasm, vicregRef, vicregTermsRef, type Mat } from './helpers.js';

before(useWasm);

const t2 = (m: Mat) => tf.tensor2d(m);
type PairLoss = (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Scalar;

/** Loss value on [z1, z2] in float32 tensors. */
function value(loss: PairLoss, z1: Mat, z2: Mat): number {
  return tf.tidy(() => loss(t2(z1), t2(z2)).dataSync()[0]);
}

/** tf.grads of the loss vs central differences of its float64 reference, for both inputs. */
function checkGrad(loss: PairLoss, ref: (a: Mat, b: Mat) => number, z1: Mat, z2: Mat, tol: number): void {
  const [g1, g2] = tf.tidy(() => tf.grads((a: tf.Tensor, b: tf.Tensor) => loss(a as tf.Tensor2D, b as tf.Tensor2D))([t2(z1), t2(z2)]).map((g) => g.arraySync() as Mat));
  const n1 = numericGrad((a) => ref(a, z2), z1);
  const n2 = numericGrad((b) => ref(z1, b), z2);
  const scale = Math.max(1, ...[...n1, ...n2].flat().map(Math.abs));
  assert.ok(maxAbsDiff(g1.flat(), n1.flat()) < tol * scale, `dz1 differs by ${maxAbsDiff(g1.flat(), n1.flat())}`);
  assert.ok(maxAbsDiff(g2.flat(), n2.flat()) < tol * scale, `dz2 differs by ${maxAbsDiff(g2.flat(), n2.flat())}`);
}

function assertNoLeak(fn: () => void): void {
  fn(); // first call may create cached constants
  const before = tf.memory().numTensors;
  fn();
  assert.equal(tf.memory().numTensors, before);
}

describe('ntXentLoss', () => {
  const rng = new Rng(1);
  const z1 = randomMat(rng, 3, 2);
  const z2 = randomMat(rng, 3, 2);

  test('hand-computed values', () => {
    // One pair: the softmax has a single candidate (the positive), so the loss is exactly 0.
    assert.ok(Math.abs(value((a, b) => ntXentLoss(a, b, 0.5), [[1, 2]], [[3, -1]])) < 1e-6);
    // Orthonormal pairs at T = 1: every anchor sees cosines (other view 1, the two others 0): log(2 + e) - 1.
    const e = [[1, 0], [0, 1]];
    assert.ok(Math.abs(value((a, b) => ntXentLoss(a, b, 1), e, e) - (Math.log(2 + Math.E) - 1)) < 1e-6);
  });

  test('matches the float64 reference (3 × 2, several temperatures)', () => {
    for (const t of [0.07, 0.2, 1]) {
      const got = value((a, b) => ntXentLoss(a, b, t), z1, z2);
      assert.ok(Math.abs(got - ntXentRef(z1, z2, t)) < 1e-4 * Math.max(1, got), `T=${t}: ${got} vs ${ntXentRef(z1, z2, t)}`);
    }
  });

  test('invariant to a consistent permutation of pairs, to swapping views and to row scale', () => {
    const big = randomMat(new Rng(2), 6, 4);
    const big2 = randomMat(new Rng(3), 6, 4);
    const base = value((a, b) => ntXentLoss(a, b, 0.2), big, big2);
    const perm = [4, 2, 0, 5, 1, 3];
    const permuted = value((a, b) => ntXentLoss(a, b, 0.2), perm.map((i) => big[i]), perm.map((i) => big2[i]));
    const swapped = value((a, b) => ntXentLoss(a, b, 0.2), big2, big);
    const scaled = value((a, b) => ntXentLoss(a, b, 0.2), big.map((r, i) => r.map((v) => v * (i + 0.5))), big2);
    for (const v of [permuted, swapped, scaled]) assert.ok(Math.abs(v - base) < 1e-5, `${v} vs ${base}`);
    // Permuting only one view breaks the pairing and must change the loss.
    const broken = value((a, b) => ntXentLoss(a, b, 0.2), perm.map((i) => big[i]), big2);
    assert.ok(Math.abs(broken - base) > 1e-3);
  });

  test('gradient matches finite differences', () => {
    checkGrad((a, b) => ntXentLoss(a, b, 0.5), (a, b) => ntXentRef(a, b, 0.5), z1, z2, 1e-3);
  });

  test('rejects bad shapes and temperature; no tensors leak', () => {
    assert.throws(() => ntXentLoss(tf.zeros([2, 3]), tf.zeros([3, 3]), 0.2), UlearnError);
    assert.throws(() => ntXentLoss(tf.ones([2, 3]), tf.ones([2, 3]), 0), UlearnError);
    assertNoLeak(() => tf.tidy(() => void scalarOf(ntXentLoss(t2(z1), t2(z2), 0.2))));
  });
});

describe('vicregLoss', () => {
  const rng = new Rng(4);
  const z1 = randomMat(rng, 3, 2);
  const z2 = randomMat(rng, 3, 2);

  test('hand-computed value', () => {
    // z = [[1, 0], [-1, 0]] in both views: no invariance term; dim 0 has std √(2 + 1e-4) > 1 (no hinge);
    // dim 1 has std √1e-4 = 0.01, hinge 0.99, mean over dims 0.495, (view 1 + view 2) / 2 = 0.495;
    // covariance of dims 0 and 1 is 0. Total 25 × 0.495.
    const z = [[1, 0], [-1, 0]];
    assert.ok(Math.abs(value((a, b) => vicregLoss(a, b), z, z) - 25 * 0.495) < 1e-4);
  });

  test('matches the float64 reference, total and each term', () => {
    assert.ok(Math.abs(value((a, b) => vicregLoss(a, b), z1, z2) - vicregRef(z1, z2)) < 1e-4);
    const coeffs = { simCoeff: 2, stdCoeff: 3, covCoeff: 5 };
    assert.ok(Math.abs(value((a, b) => vicregLoss(a, b, coeffs), z1, z2) - vicregRef(z1, z2, 2, 3, 5)) < 1e-4);
    const ref = vicregTermsRef(z1, z2);
    const t = vicregTerms(t2(z1), t2(z2));
    assert.ok(Math.abs(scalarOf(t.invariance) - ref.invariance) < 1e-5);
    assert.ok(Math.abs(scalarOf(t.variance) - ref.variance) < 1e-5);
    assert.ok(Math.abs(scalarOf(t.covariance) - ref.covariance) < 1e-5);
  });

  test('identical views with unit std: only the covariance term remains', () => {
    // Correlated dims standardized to unbiased std exactly 1: invariance 0, hinge 1 - √(1 + eps) < 0 → 0.
    const r = new Rng(5);
    const raw = Array.from({ length: 8 }, () => {
      const u = r.normal();
      return [u, u + 0.5 * r.normal(), r.normal()];
    });
    const z = raw.map((row) => [...row]);
    for (let k = 0; k < 3; k++) {
      const m = z.reduce((s, row) => s + row[k], 0) / z.length;
      const sd = Math.sqrt(z.reduce((s, row) => s + (row[k] - m) ** 2, 0) / (z.length - 1));
      for (const row of z) row[k] = (row[k] - m) / sd;
    }
    const cov = vicregTermsRef(z, z).covariance;
    assert.ok(cov > 0.1);
    assert.ok(Math.abs(value((a, b) => vicregLoss(a, b), z, z) - cov) < 1e-4);
    assert.ok(Math.abs(value((a, b) => vicregLoss(a, b, { covCoeff: 0 }), z, z)) < 1e-5);
  });

  test('gradient matches finite differences', () => {
    checkGrad((a, b) => vicregLoss(a, b), (a, b) => vicregRef(a, b), z1, z2, 1e-3);
  });

  test('needs two samples; no tensors leak', () => {
    assert.throws(() => vicregLoss(tf.ones([1, 3]), tf.ones([1, 3])), UlearnError);
    assertNoLeak(() => void scalarOf(tf.tidy(() => vicregLoss(t2(z1), t2(z2)))));
  });
});

describe('barlowTwinsLoss', () => {
  const rng = new Rng(6);
  const z1 = randomMat(rng, 4, 3);
  const z2 = randomMat(rng, 4, 3);

  test('hand-computed value and the reference', () => {
    // One dim, identical views: C = var / (var + 1e-5), loss = (1 - C)²; with var = 1 that is (1e-5 / (1 + 1e-5))² ≈ 0.
    assert.ok(Math.abs(value((a, b) => barlowTwinsLoss(a, b), [[1], [-1]], [[1], [-1]])) < 1e-6);
    // Anti-correlated single dim: C = -1/(1 + 1e-5), loss ≈ 4.
    assert.ok(Math.abs(value((a, b) => barlowTwinsLoss(a, b), [[1], [-1]], [[-1], [1]]) - 4) < 1e-3);
    for (const lambda of [0.0051, 0.5]) {
      assert.ok(Math.abs(value((a, b) => barlowTwinsLoss(a, b, lambda), z1, z2) - barlowRef(z1, z2, lambda)) < 1e-4);
    }
  });

  test('gradient matches finite differences', () => {
    checkGrad((a, b) => barlowTwinsLoss(a, b, 0.5), (a, b) => barlowRef(a, b, 0.5), z1, z2, 2e-3);
  });
});

describe('maskedReconstructionLoss', () => {
  test('hand-computed values: only masked pixels count', () => {
    // pred 1..4 vs target 0, mask on pixels 0 and 2: (1² + 3²) / 2 = 5.
    const got = tf.tidy(() => maskedReconstructionLoss(tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]), tf.zeros([1, 2, 2, 1]), tf.tensor4d([1, 0, 1, 0], [1, 2, 2, 1])));
    assert.ok(Math.abs(scalarOf(got) - 5) < 1e-6);
    // A [N, H, W, 1] mask covers every channel: 2 channels, pixel 0 masked → (1² + 2²) / 2 = 2.5.
    const rgb = tf.tidy(() => maskedReconstructionLoss(tf.tensor4d([1, 2, 5, 5], [1, 1, 2, 2]), tf.zeros([1, 1, 2, 2]), tf.tensor4d([1, 0], [1, 1, 2, 1])));
    assert.ok(Math.abs(scalarOf(rgb) - 2.5) < 1e-6);
    // Nothing masked: 0, not NaN.
    assert.equal(scalarOf(tf.tidy(() => maskedReconstructionLoss(tf.ones([1, 2, 2, 1]), tf.zeros([1, 2, 2, 1]), tf.zeros([1, 2, 2, 1])))), 0);
  });

  test('gradient: 2(pred - target)/count on masked pixels, 0 elsewhere', () => {
    const r = new Rng(7);
    const p = Array.from({ length: 8 }, () => r.normal());
    const t = Array.from({ length: 8 }, () => r.normal());
    const m = [1, 0, 0, 1, 1, 0, 1, 0];
    const g = tf.tidy(() => tf.grad((x: tf.Tensor) => maskedReconstructionLoss(x, tf.tensor4d(t, [2, 2, 2, 1]), tf.tensor4d(m, [2, 2, 2, 1])))(tf.tensor4d(p, [2, 2, 2, 1])).arraySync() as number[][][][]);
    const expected = p.map((v, i) => (m[i] ? (2 * (v - t[i])) / 4 : 0));
    assert.ok(maxAbsDiff(g.flat(3), expected) < 1e-5);
  });

  test('rejects mismatched shapes; no tensors leak', () => {
    assert.throws(() => maskedReconstructionLoss(tf.zeros([1, 2, 2, 1]), tf.zeros([1, 2, 3, 1]), tf.zeros([1, 2, 2, 1])), UlearnError);
    assertNoLeak(() => void scalarOf(tf.tidy(() => maskedReconstructionLoss(tf.ones([1, 2, 2, 1]), tf.zeros([1, 2, 2, 1]), tf.ones([1, 2, 2, 1])))));
  });
});
