/** kNN search against a brute-force JS reference, and the approximate index's recall against exact search. */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/engine/seed.js';
import { UlearnError } from '../../src/errors.js';
import { knnGraph, searchKnn, type KnnMetric } from '../../src/neighbors/knn.js';
import { useWasm } from '../ssl/helpers.js';

before(useWasm);

function randomRows(n: number, dim: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const v = new Float32Array(n * dim);
  for (let i = 0; i < v.length; i++) v[i] = rng.normal();
  return v;
}

/** Plain double loops, written independently of the tfjs path. */
function bruteForce(base: Float32Array, queries: Float32Array, dim: number, k: number, metric: KnnMetric) {
  const nB = base.length / dim;
  const nQ = queries.length / dim;
  const out: number[][] = [];
  for (let q = 0; q < nQ; q++) {
    const d: [number, number][] = [];
    for (let b = 0; b < nB; b++) {
      let dot = 0, qq = 0, bb = 0, l2 = 0;
      for (let j = 0; j < dim; j++) {
        const x = queries[q * dim + j], y = base[b * dim + j];
        dot += x * y; qq += x * x; bb += y * y; l2 += (x - y) ** 2;
      }
      d.push([metric === 'cosine' ? 1 - dot / Math.sqrt(qq * bb) : l2, b]);
    }
    d.sort((a, b) => a[0] - b[0]);
    out.push(d.slice(0, k).map(([dist, b]) => [b, dist]).flat());
  }
  return out;
}

describe('searchKnn', () => {
  for (const metric of ['cosine', 'l2sq'] as const) {
    test(`exact ${metric} matches brute force (indices and distances)`, () => {
      const dim = 7, k = 5;
      const base = randomRows(300, dim, 1);
      const queries = randomRows(40, dim, 2);
      const r = searchKnn(base, queries, dim, k, { metric, mode: 'exact' });
      assert.equal(r.exact, true);
      const ref = bruteForce(base, queries, dim, k, metric);
      for (let q = 0; q < 40; q++) {
        for (let j = 0; j < k; j++) {
          assert.equal(r.indices[q * k + j], ref[q][2 * j], `query ${q} rank ${j}`);
          assert.ok(Math.abs(r.distances[q * k + j] - ref[q][2 * j + 1]) < 1e-3 * Math.max(1, ref[q][2 * j + 1]));
        }
      }
    });
  }

  test('approximate index finds ≥ 95% of the exact neighbours', () => {
    const dim = 16, k = 10, n = 3000;
    const v = randomRows(n, dim, 3);
    const exact = knnGraph(v, dim, k, { mode: 'exact' });
    const approx = knnGraph(v, dim, k, { mode: 'approximate' });
    assert.equal(approx.exact, false);
    let hit = 0;
    for (let i = 0; i < n; i++) {
      const truth = new Set(exact.indices.subarray(i * k, (i + 1) * k));
      for (const j of approx.indices.subarray(i * k, (i + 1) * k)) if (truth.has(j)) hit++;
    }
    assert.ok(hit / (n * k) >= 0.95, `recall ${hit / (n * k)}`);
  });

  for (const mode of ['exact', 'approximate'] as const) {
    test(`${mode}: a graph leaves each row out of its own list, even beside an exact duplicate`, () => {
      const dim = 4;
      const v = randomRows(50, dim, 4);
      v.set(v.subarray(0, dim), 7 * dim); // row 7 duplicates row 0
      const g = knnGraph(v, dim, 3, { mode });
      for (let i = 0; i < 50; i++) assert.ok(!g.indices.subarray(i * 3, i * 3 + 3).includes(i), `row ${i}`);
      assert.equal(g.indices[0], 7);
      assert.equal(g.indices[7 * 3], 0);
      assert.ok(g.distances[0] < 1e-5);
    });
  }

  test('k larger than the base pads with -1 / Infinity', () => {
    const r = searchKnn(randomRows(3, 2, 5), randomRows(2, 2, 6), 2, 5, { mode: 'exact' });
    assert.deepEqual([...r.indices.subarray(3, 5)], [-1, -1]);
    assert.equal(r.distances[4], Infinity);
  });

  test('bad input: ragged rows, non-finite values, k < 1', () => {
    assert.throws(() => searchKnn(new Float32Array(7), new Float32Array(4), 2, 1), (e: unknown) => e instanceof UlearnError && /multiple of dimension 2/.test(e.message));
    const bad = randomRows(4, 2, 7);
    bad[5] = NaN;
    assert.throws(() => knnGraph(bad, 2, 1), /non-finite value at row 2, column 1/);
    assert.throws(() => knnGraph(bad.fill(0), 2, 0), /k must be a positive integer/);
  });
});
