/** k-means and the distance helper against plain-loop references. */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/engine/seed.js';
import { nearestCenters } from '../../src/active/distances.js';
import { kmeans, kmeansPlusPlus } from '../../src/active/kmeans.js';
import { useWasm } from '../ssl/helpers.js';
import { blobs } from './helpers.js';

before(useWasm);

describe('nearestCenters', () => {
  test('matches brute force, in more than one block', () => {
    const rng = new Rng(2);
    const dim = 5;
    const x = Float32Array.from({ length: 700 * dim }, () => rng.normal());
    const c = Float32Array.from({ length: 13000 * dim }, () => rng.normal()); // 8M / 13000 → blocks of 615 rows
    const got = nearestCenters(x, c, dim);
    for (let i = 0; i < 700; i += 37) {
      let best = -1;
      let bestD = Infinity;
      for (let j = 0; j < 13000; j++) {
        let d = 0;
        for (let t = 0; t < dim; t++) d += (x[i * dim + t] - c[j * dim + t]) ** 2;
        if (d < bestD) [best, bestD] = [j, d];
      }
      assert.equal(got.index[i], best, `row ${i}`);
      assert.ok(Math.abs(got.dist2[i] - bestD) < 1e-3 * Math.max(1, bestD));
    }
  });
});

describe('kmeans', () => {
  const centers = [[0, 0, 0], [8, 0, 0], [0, 8, 0], [0, 0, 8], [8, 8, 8]];
  const data = blobs(centers, 80, 1, 5);

  test('recovers well-separated blobs, with centroids at the blob means and the right inertia', () => {
    for (const seed of [0, 1, 2]) {
      const km = kmeans(data.x, 3, 5, { rng: new Rng(seed) });
      // Each cluster is exactly one blob (a bijection between clusters and blobs).
      const blobOf = new Map<number, number>();
      for (let i = 0; i < data.blob.length; i++) {
        const c = km.assignments[i];
        if (!blobOf.has(c)) blobOf.set(c, data.blob[i]);
        assert.equal(blobOf.get(c), data.blob[i], `seed ${seed}: cluster ${c} mixes blobs`);
      }
      assert.equal(new Set(blobOf.values()).size, 5);
      let inertia = 0;
      for (let i = 0; i < data.blob.length; i++) {
        const c = km.assignments[i];
        for (let t = 0; t < 3; t++) inertia += (data.x[i * 3 + t] - km.centroids[c * 3 + t]) ** 2;
      }
      assert.ok(Math.abs(inertia - km.inertia) < 1e-3 * inertia);
      for (const [c, b] of blobOf) {
        for (let t = 0; t < 3; t++) {
          let mean = 0;
          for (let i = b * 80; i < (b + 1) * 80; i++) mean += data.x[i * 3 + t] / 80;
          assert.ok(Math.abs(km.centroids[c * 3 + t] - mean) < 1e-4, `centroid ${c} dim ${t}`);
        }
      }
    }
  });

  test('is deterministic for a seed, also when seeding from a subsample', () => {
    const a = kmeans(data.x, 3, 7, { rng: new Rng(4), initSample: 100 });
    const b = kmeans(data.x, 3, 7, { rng: new Rng(4), initSample: 100 });
    assert.deepEqual(a.assignments, b.assignments);
    assert.deepEqual(a.centroids, b.centroids);
  });

  test('k-means++ gives distinct rows even when rows repeat', () => {
    const x = new Float32Array(20 * 2); // 20 copies of the origin, then make 2 distinct
    x[2] = 1;
    x[5] = 3;
    const picks = kmeansPlusPlus(x, 2, 6, new Rng(0));
    assert.equal(new Set(picks).size, 6);
    assert.ok(picks.includes(1) && picks.includes(2), 'the two distinct rows are chosen before duplicates');
  });

  test('k outside [1, n] is an error', () => {
    assert.throws(() => kmeans(data.x, 3, 401, { rng: new Rng(0) }), /k must be an integer in \[1, 400\]/);
  });
});
