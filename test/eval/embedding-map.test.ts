import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/engine/seed.js';
import { umap2d } from '../../src/eval/embedding-map.js';

const DIM = 10;

/** Two unit-variance Gaussian blobs in 10-D whose centres are 5·√10 ≈ 15.8 apart; labels 0 then 1. */
function blobs(perBlob: number, seed = 1): { x: Float32Array; y: number[] } {
  const rng = new Rng(seed);
  const x = new Float32Array(2 * perBlob * DIM);
  const y: number[] = [];
  for (let i = 0; i < 2 * perBlob; i++) {
    const c = i < perBlob ? 0 : 1;
    y.push(c);
    for (let d = 0; d < DIM; d++) x[i * DIM + d] = c * 5 + rng.normal();
  }
  return { x, y };
}

function centroid(coords: Float32Array, rows: number[]): [number, number] {
  let sx = 0;
  let sy = 0;
  for (const r of rows) {
    sx += coords[2 * r];
    sy += coords[2 * r + 1];
  }
  return [sx / rows.length, sy / rows.length];
}

test('umap2d keeps two well-separated 10-D blobs apart in 2-D', () => {
  const { x, y } = blobs(80);
  const { coords, indices } = umap2d(x, DIM, { seed: 3, nEpochs: 200 });
  assert.equal(indices.length, 160);
  assert.equal(coords.length, 320);
  assert.ok(coords.every(Number.isFinite));
  const rows = [0, 1].map((c) => [...indices.keys()].filter((i) => y[indices[i]] === c));
  const cents = rows.map((r) => centroid(coords, r));
  const between = Math.hypot(cents[0][0] - cents[1][0], cents[0][1] - cents[1][1]);
  // Mean distance of a point to its own blob's centroid, over both blobs.
  let spread = 0;
  rows.forEach((r, c) => {
    for (const i of r) spread += Math.hypot(coords[2 * i] - cents[c][0], coords[2 * i + 1] - cents[c][1]);
  });
  spread /= indices.length;
  assert.ok(between > 2 * spread, `centroid distance ${between.toFixed(2)} vs within-blob spread ${spread.toFixed(2)}`);
});

test('umap2d is deterministic for a seed and changes with it', () => {
  const { x } = blobs(30);
  const a = umap2d(x, DIM, { seed: 11, nEpochs: 50 });
  const b = umap2d(x, DIM, { seed: 11, nEpochs: 50 });
  const c = umap2d(x, DIM, { seed: 12, nEpochs: 50 });
  assert.deepEqual(a.coords, b.coords);
  assert.notDeepEqual(a.coords, c.coords);
});

test('umap2d subsamples deterministically to maxPoints, keeping input order', () => {
  const { x } = blobs(150);
  const a = umap2d(x, DIM, { seed: 5, maxPoints: 60, nEpochs: 30 });
  const b = umap2d(x, DIM, { seed: 5, maxPoints: 60, nEpochs: 30 });
  const other = umap2d(x, DIM, { seed: 6, maxPoints: 60, nEpochs: 30 });
  assert.equal(a.indices.length, 60);
  assert.equal(a.coords.length, 120);
  assert.deepEqual(a.indices, b.indices);
  assert.notDeepEqual(a.indices, other.indices);
  for (let i = 1; i < a.indices.length; i++) assert.ok(a.indices[i] > a.indices[i - 1], 'ascending, no repeats');
  assert.ok(a.indices[0] >= 0 && a.indices[59] < 300);
});

test('umap2d handles tiny inputs and rejects bad ones', () => {
  assert.equal(umap2d(new Float32Array(0), DIM, { seed: 1 }).coords.length, 0);
  assert.deepEqual([...umap2d(new Float32Array(DIM), DIM, { seed: 1 }).coords], [0, 0]);
  // Fewer points than nNeighbors: the neighbourhood is capped instead of failing.
  const five = umap2d(blobs(3).x.subarray(0, 5 * DIM), DIM, { seed: 1, nEpochs: 20 });
  assert.equal(five.coords.length, 10);
  assert.ok(five.coords.every(Number.isFinite));
  assert.throws(() => umap2d(new Float32Array(7), 3, { seed: 1 }), /rows of 3/);
  const bad = blobs(5).x;
  bad[3 * DIM + 2] = NaN;
  assert.throws(() => umap2d(bad, DIM, { seed: 1 }), /sample 3/);
});
