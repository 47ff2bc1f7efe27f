/**
 * Label spreading against an independent dense reference: the kNN graph by brute force, W + W^T, D^-1/2 W D^-1/2
 * and F* = (1 - alpha)(I - alpha S)^-1 Y by Gaussian elimination, all in float64 plain loops.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/engine/seed.js';
import { UlearnError } from '../../src/errors.js';
import { FOLD_SPREADING_ITERATIONS } from '../../src/semi/estimate.js';
import { DEFAULT_GAMMA, labelSpreading, solveSpreading, spreadingGraph, spreadToNewRows } from '../../src/semi/label-spreading.js';
import { useWasm } from '../ssl/helpers.js';
import { denseReference } from './dense-reference.js';

before(useWasm);

function clusters(n: number, dim: number, centres: number, seed: number): { x: Float32Array; truth: Int32Array } {
  const rng = new Rng(seed);
  const mu = Array.from({ length: centres }, () => Array.from({ length: dim }, () => rng.normal() * 3));
  const x = new Float32Array(n * dim);
  const truth = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    truth[i] = i % centres;
    for (let j = 0; j < dim; j++) x[i * dim + j] = mu[truth[i]][j] + rng.normal() * 0.8;
  }
  return { x, truth };
}


describe('label spreading', () => {
  test('matches the dense closed-form solve (I - alpha S)^-1 Y on a small graph', () => {
    const dim = 5, K = 3, n = 60, k = 6, alpha = 0.9, gamma = 3;
    const { x, truth } = clusters(n, dim, K, 1);
    const y = new Int32Array(n).fill(-1);
    [0, 1, 2, 3, 4, 5, 9].forEach((i) => (y[i] = truth[i]));
    const ref = denseReference(x, dim, y, K, k, alpha, gamma);
    const g = spreadingGraph(x, dim, k, gamma, { mode: 'exact' });
    // The solver works in the graph's row order (row r = sample g.perm[r]), which must be a permutation.
    assert.deepEqual([...g.perm].sort((a, b) => a - b), Array.from({ length: n }, (_, i) => i));
    const Y = new Float32Array(n * K);
    const counts = [3, 2, 2];
    for (let r = 0; r < n; r++) if (y[g.perm[r]] >= 0) Y[r * K + y[g.perm[r]]] = 1 / counts[y[g.perm[r]]];
    const { F, iterations } = solveSpreading(g, Y, K, alpha, 500, 1e-9);
    assert.ok(iterations < 500, 'conjugate gradients converged');
    let maxErr = 0, maxRef = 0;
    for (let r = 0; r < n; r++) for (let c = 0; c < K; c++) {
      const i = g.perm[r];
      maxErr = Math.max(maxErr, Math.abs(F[r * K + c] - ref[i][c]));
      maxRef = Math.max(maxRef, Math.abs(ref[i][c]));
    }
    assert.ok(maxErr < 1e-5 * Math.max(1, maxRef), `max |F - F*| = ${maxErr}`);
    // And the public call turns the same scores into row-normalised probabilities.
    const res = labelSpreading(x, dim, y, K, { k, alpha, gamma, tol: 1e-9, maxIterations: 500, knn: { mode: 'exact' } });
    for (let i = 0; i < n; i++) {
      const s = ref[i].reduce((a, v) => a + Math.max(0, v), 0);
      for (let c = 0; c < K; c++) assert.ok(Math.abs(res.proba[i * K + c] - Math.max(0, ref[i][c]) / s) < 1e-4);
    }
  });

  test('one label per cluster labels well-separated clusters, with the approximate graph too', () => {
    const dim = 8, K = 4, n = 400;
    const { x, truth } = clusters(n, dim, K, 2);
    const y = new Int32Array(n).fill(-1);
    for (let c = 0; c < K; c++) y[c] = truth[c];
    for (const mode of ['exact', 'approximate'] as const) {
      const res = labelSpreading(x, dim, y, K, { k: 8, knn: { mode } });
      const correct = res.labels.reduce((s, l, i) => s + (l === truth[i] ? 1 : 0), 0);
      assert.ok(correct / n > 0.97, `${mode}: ${correct}/${n} correct`);
      assert.equal(res.exactGraph, mode === 'exact');
      for (let i = 0; i < K; i++) assert.equal(res.labels[i], y[i], 'given labels are kept');
    }
  });

  test("the estimate's folds stop at FOLD_SPREADING_ITERATIONS: the labels of the converged solve, at a fraction of its iterations", () => {
    // Overlapping clusters, so the spread is not decided by the first sweeps alone.
    const dim = 6, K = 5, n = 3000;
    const rng = new Rng(7);
    const mu = Array.from({ length: K }, () => Array.from({ length: dim }, () => rng.normal() * 1.5));
    const x = new Float32Array(n * dim);
    const truth = Int32Array.from({ length: n }, (_, i) => i % K);
    for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) x[i * dim + j] = mu[truth[i]][j] + rng.normal();
    const y = new Int32Array(n).fill(-1);
    for (let i = 0; i < 10 * K; i++) y[i] = truth[i];
    const graph = spreadingGraph(x, dim, 10, DEFAULT_GAMMA, { mode: 'exact' });
    const converged = labelSpreading(x, dim, y, K, { graph, maxIterations: 500, tol: 1e-6 });
    const fold = labelSpreading(x, dim, y, K, { graph, maxIterations: FOLD_SPREADING_ITERATIONS, tol: 0 });
    assert.equal(fold.iterations, FOLD_SPREADING_ITERATIONS);
    assert.ok(converged.iterations >= FOLD_SPREADING_ITERATIONS + 15, `the converged solve took ${converged.iterations} iterations`);
    const agree = fold.labels.reduce((s, l, i) => s + (l === converged.labels[i] ? 1 : 0), 0) / n;
    const acc = (l: Int32Array) => l.reduce((s, v, i) => s + (v === truth[i] ? 1 : 0), 0) / n;
    assert.ok(agree >= 0.99, `${(agree * 100).toFixed(2)}% of labels as the converged solve's`);
    assert.ok(Math.abs(acc(fold.labels) - acc(converged.labels)) <= 0.01, `accuracy ${acc(fold.labels)} vs ${acc(converged.labels)}`);
    assert.ok(acc(converged.labels) < 0.99, 'the clusters overlap: propagation does not get everything right');
  });

  test('a prebuilt graph gives the same result as building it, and must match the sample count', () => {
    const { x, truth } = clusters(80, 4, 3, 7);
    const y = new Int32Array(80).fill(-1);
    for (let c = 0; c < 3; c++) y[c] = truth[c];
    const g = spreadingGraph(x, 4, 6, 3, { mode: 'exact' });
    const a = labelSpreading(x, 4, y, 3, { k: 6, knn: { mode: 'exact' } });
    const b = labelSpreading(x, 4, y, 3, { graph: g });
    assert.deepEqual(Array.from(b.proba), Array.from(a.proba));
    assert.throws(() => labelSpreading(x.subarray(0, 40), 4, y.subarray(0, 10), 3, { graph: g }), /graph has 80 nodes but there are 10 samples/);
  });

  test('graph rows are symmetric: S_ij == S_ji', () => {
    const { x } = clusters(50, 4, 2, 3);
    const g = spreadingGraph(x, 4, 5, 3, { mode: 'exact' });
    const dense = new Map<string, number>();
    for (let i = 0; i < g.n; i++) for (let e = g.rowStart[i]; e < g.rowStart[i + 1]; e++) dense.set(`${i},${g.cols[e]}`, (dense.get(`${i},${g.cols[e]}`) ?? 0) + g.vals[e]);
    for (const [key, v] of dense) {
      const [i, j] = key.split(',');
      assert.ok(Math.abs(v - (dense.get(`${j},${i}`) ?? NaN)) < 1e-7, `S[${i},${j}]`);
    }
  });

  test('everyClass: false lets a class without labels take no mass (the labeling app early on)', () => {
    const { x, truth } = clusters(60, 4, 3, 5);
    const y = new Int32Array(60).fill(-1);
    y[0] = truth[0];
    y[1] = truth[1];
    const missing = [0, 1, 2].find((c) => c !== truth[0] && c !== truth[1])!;
    const res = labelSpreading(x, 4, y, 3, { k: 6, everyClass: false, knn: { mode: 'exact' } });
    for (let i = 0; i < 60; i++) assert.equal(res.proba[i * 3 + missing], 0, `row ${i} gives mass to the unlabeled class`);
    assert.ok(res.labels.every((l) => l !== missing));
  });

  test('new rows get the similarity-weighted mean of their k nearest graph rows (checked by brute force)', () => {
    const dim = 4, K = 3, n = 50, k = 5;
    const { x, truth } = clusters(n, dim, K, 6);
    const y = new Int32Array(n).fill(-1);
    for (let c = 0; c < K; c++) y[c] = truth[c];
    const res = labelSpreading(x, dim, y, K, { k: 6, knn: { mode: 'exact' } });
    const q = clusters(7, dim, K, 8).x;
    const got = spreadToNewRows(x, res.proba, K, q, dim, k, { mode: 'exact' });
    const cos = (a: Float32Array, i: number, b: Float32Array, j: number) => {
      let d = 0, na = 0, nb = 0;
      for (let t = 0; t < dim; t++) [d, na, nb] = [d + a[i * dim + t] * b[j * dim + t], na + a[i * dim + t] ** 2, nb + b[j * dim + t] ** 2];
      return d / Math.sqrt(na * nb);
    };
    for (let qi = 0; qi < 7; qi++) {
      const near = Array.from({ length: n }, (_, j) => j).sort((a, b) => cos(q, qi, x, b) - cos(q, qi, x, a)).slice(0, k);
      const w = near.map((j) => Math.max(0, cos(q, qi, x, j)) + 1e-6);
      const total = w.reduce((s, v) => s + v, 0);
      for (let c = 0; c < K; c++) {
        const want = near.reduce((s, j, t) => s + w[t] * res.proba[j * K + c], 0) / total;
        assert.ok(Math.abs(got[qi * K + c] - want) < 1e-4, `query ${qi} class ${c}: ${got[qi * K + c]} vs ${want}`);
      }
    }
    assert.throws(() => spreadToNewRows(x, res.proba.subarray(0, 30), K, q, dim, k), /50 graph rows but 10 rows of scores/);
  });

  test('a class with no label and alpha outside (0, 1) are errors before any graph is built', () => {
    const { x } = clusters(20, 3, 2, 4);
    const y = new Int32Array(20).fill(-1);
    y[0] = 0;
    assert.throws(() => labelSpreading(x, 3, y, 2), (e: unknown) => e instanceof UlearnError && /class\(es\) 1 have no labeled sample/.test(e.message));
    y[1] = 1;
    assert.throws(() => labelSpreading(x, 3, y, 2, { alpha: 1 }), (e: unknown) => e instanceof UlearnError && /alpha must be in \(0, 1\)/.test(e.message));
  });
});
