/** Each strategy on a case small enough to check by hand or by a plain-loop reference. */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/engine/seed.js';
import { UlearnError } from '../../src/errors.js';
import { createStrategy, STRATEGIES } from '../../src/active/strategy.js';
import { typiclustPick } from '../../src/active/typicality.js';
import { uncertaintyScores } from '../../src/active/uncertainty.js';
import { useWasm } from '../ssl/helpers.js';
import { blobs, context } from './helpers.js';

before(useWasm);

const UNCERTAIN = [
  [0.5, 0.5, 0], // entropy ln 2 = 0.693, margin 0, top 0.5
  [0.4, 0.3, 0.3], // entropy 1.089, margin 0.1, top 0.4
  [0.9, 0.05, 0.05], // entropy 0.394, margin 0.85, top 0.9
  [0.6, 0.4, 0], // entropy 0.673, margin 0.2, top 0.6
  [0.34, 0.33, 0.33], // labeled: never returned, though the most uncertain by every measure
];
const line = (xs: number[]) => Float32Array.from(xs.flatMap((v) => [v, 0]));

describe('uncertainty', () => {
  test('scores equal the hand-computed entropy, margin and least confidence', () => {
    const p = Float32Array.from(UNCERTAIN.flat());
    const h = uncertaintyScores(p, 3, 'entropy');
    assert.ok(Math.abs(h[0] - Math.log(2)) < 1e-6);
    assert.ok(Math.abs(h[1] - -(0.4 * Math.log(0.4) + 0.6 * Math.log(0.3))) < 1e-6);
    assert.deepEqual(Array.from(uncertaintyScores(p, 3, 'margin'), (v) => Number(v.toFixed(5)) + 0), [0, -0.1, -0.85, -0.2, -0.01]);
    assert.deepEqual(Array.from(uncertaintyScores(p, 3, 'least-confidence'), (v) => Number(v.toFixed(5))), [0.5, 0.6, 0.1, 0.4, 0.66]);
  });

  for (const [name, want] of [
    ['entropy', [1, 0, 3, 2]],
    ['margin', [0, 1, 3, 2]],
    ['least-confidence', [1, 0, 3, 2]],
  ] as const) {
    test(`${name} ranks the unlabeled rows by its score, skipping labeled ones`, () => {
      const ctx = context(line([0, 1, 2, 3, 4]), 2, [-1, -1, -1, -1, 0], 3, 0, UNCERTAIN);
      assert.deepEqual(createStrategy(name).select(ctx, 4), want);
      assert.deepEqual(createStrategy(name).select(ctx, 2), want.slice(0, 2));
    });
  }

  test('without probabilities it says what is missing', () => {
    const ctx = context(line([0, 1, 2]), 2, [-1, -1, -1], 3);
    assert.throws(() => createStrategy('margin').select(ctx, 1), (e: unknown) => e instanceof UlearnError && e.code === 'E_ACTIVE_NO_PROBS');
  });
});

describe('coreset (k-center greedy)', () => {
  test('picks the point farthest from the labeled set, then the next farthest from both', () => {
    // x = 0 labeled; unlabeled at 1, 2, 10, 11, 5. From {0}: 11 is farthest. From {0, 11}: 5 (5 vs 6).
    // From {0, 11, 5}: 2 (distance 2; 1 and 10 are at 1).
    const ctx = context(line([0, 1, 2, 10, 11, 5]), 2, [0, -1, -1, -1, -1, -1], 2);
    assert.deepEqual(createStrategy('coreset').select(ctx, 3), [4, 5, 2]);
  });
});

/** Plain-loop typicality of row `i` among `rows`: 1 / mean distance to its k nearest other rows. */
function referenceTypicality(x: Float32Array, dim: number, rows: number[], i: number, k: number): number {
  const d = rows.filter((j) => j !== i).map((j) => Math.hypot(...Array.from({ length: dim }, (_, t) => x[i * dim + t] - x[j * dim + t])));
  d.sort((a, b) => a - b);
  return 1 / (d.slice(0, k).reduce((a, b) => a + b, 0) / k);
}

describe('typicality (TypiClust)', () => {
  const data = blobs([[0, 0], [10, 0], [0, 10]], 60, 1, 3);
  const rowsOf = (b: number) => Array.from({ length: 60 }, (_, j) => b * 60 + j);
  const mostTypical = (b: number) => {
    const rows = rowsOf(b);
    return rows.reduce((best, i) => (referenceTypicality(data.x, 2, rows, i, 20) > referenceTypicality(data.x, 2, rows, best, 20) ? i : best));
  };

  test('cold start: one pick per blob, each the most typical sample of its blob', () => {
    const picks = createStrategy('typicality').select(context(data.x, 2, new Int32Array(180).fill(-1), 3), 3);
    assert.deepEqual([...picks].sort((a, b) => a - b), [mostTypical(0), mostTypical(1), mostTypical(2)]);
  });

  test('a blob that already has a label gets no pick while the others have none', () => {
    const labels = new Int32Array(180).fill(-1);
    labels[5] = 0;
    const picks = createStrategy('typicality', { maxClusters: 3 }).select(context(data.x, 2, labels, 3), 2);
    assert.deepEqual([...picks].sort((a, b) => a - b), [mostTypical(1), mostTypical(2)]);
  });

  test('least-labeled cluster first, larger cluster on ties, clusters under 5 samples last', () => {
    // Cluster 0: 6 rows, 1 labeled. Cluster 1: 8 rows, none labeled. Cluster 2: 6 rows, none. Cluster 3: 3 rows.
    const sizes = [6, 8, 6, 3];
    const assignments = Int32Array.from(sizes.flatMap((s, c) => Array<number>(s).fill(c)));
    const n = assignments.length;
    const x = new Float32Array(n * 2);
    const rng = new Rng(1);
    for (let i = 0; i < n; i++) x[i * 2] = assignments[i] * 100 + rng.normal();
    const labels = new Int32Array(n).fill(-1);
    labels[0] = 0;
    const clusterOf = (picks: number[]) => picks.map((i) => assignments[i]);
    // Order: 1 (0 labeled, size 8), 2 (0 labeled, 6), then 0, 1, 2 all at 1 labeled: 1 (size 8) first.
    assert.deepEqual(clusterOf(typiclustPick(x, 2, labels, assignments, 4, 5, 20)), [1, 2, 1, 0, 2]);
  });
});

describe('badge', () => {
  /** Plain gradient embedding g = (p - onehot(argmax p)) ⊗ h. */
  const grad = (p: number[], h: number[]) => {
    const top = p.indexOf(Math.max(...p));
    return p.flatMap((pc, c) => h.map((hv) => (pc - (c === top ? 1 : 0)) * hv));
  };
  const probs = [
    [0.9, 0.1],
    [0.55, 0.45],
    [0.55, 0.45],
    [0.7, 0.3],
    [0.5, 0.5],
  ];
  const h = [
    [1, 0],
    [2, 1],
    [2, 1],
    [0, 3],
    [0.1, 0],
  ];

  test('starts with the largest gradient embedding (by a materialised reference)', () => {
    const norms = probs.map((p, i) => grad(p, h[i]).reduce((s, v) => s + v * v, 0));
    const want = norms.indexOf(Math.max(...norms));
    const ctx = context(Float32Array.from(h.flat()), 2, [-1, -1, -1, -1, -1], 2, 0, probs);
    assert.equal(createStrategy('badge').select(ctx, 1)[0], want);
  });

  test('never picks an exact duplicate of a chosen gradient while others are left', () => {
    for (let seed = 0; seed < 20; seed++) {
      const picks = createStrategy('badge').select(context(Float32Array.from(h.flat()), 2, [-1, -1, -1, -1, 0], 2, seed, probs), 3);
      assert.ok(!(picks.includes(1) && picks.includes(2)), `seed ${seed}: picked both duplicates ${picks}`);
    }
  });
});

describe('hybrid', () => {
  const data = blobs([[0, 0], [10, 0], [0, 10]], 30, 1, 4);
  test('is TypiClust during the cold start', () => {
    const labels = new Int32Array(90).fill(-1);
    const a = createStrategy('hybrid').select(context(data.x, 2, labels, 3, 7), 3);
    const b = createStrategy('typicality').select(context(data.x, 2, labels, 3, 7), 3);
    assert.deepEqual(a, b);
  });

  test('after it: the most typical samples of the cluster the light model is least sure about', () => {
    const labels = new Int32Array(90).fill(-1);
    labels[0] = 0;
    labels[30] = 1;
    labels[60] = 2;
    // Blob 1 confused (uncertainty 1 - margin = 0.95), blobs 0 and 2 sure (0.15). Weights: blob 1 stays
    // ahead after one pick (0.95 / 3 > 0.15 / 2), so both picks come from it, most typical first.
    const probs = Array.from({ length: 90 }, (_, i) => (i >= 30 && i < 60 ? [0.45, 0.5, 0.05] : [0.9, 0.05, 0.05]));
    const picks = createStrategy('hybrid', { coldStartLabels: 3, maxClusters: 3 }).select(context(data.x, 2, labels, 3, 0, probs), 2);
    const rows = Array.from({ length: 30 }, (_, j) => 30 + j);
    const byTypicality = rows.filter((i) => i !== 30).sort((a, b) => referenceTypicality(data.x, 2, rows, b, 15) - referenceTypicality(data.x, 2, rows, a, 15));
    assert.deepEqual(picks, byTypicality.slice(0, 2));
  });
});

describe('every strategy', () => {
  const n = 120;
  const dim = 4;
  const rng = new Rng(11);
  const x = Float32Array.from({ length: n * dim }, () => rng.normal());
  const labels = Int32Array.from({ length: n }, (_, i) => (i % 7 === 0 ? i % 3 : -1));
  const probs = Array.from({ length: n }, () => {
    const r = [rng.random() + 0.01, rng.random() + 0.01, rng.random() + 0.01];
    const s = r[0] + r[1] + r[2];
    return r.map((v) => v / s);
  });
  const unlabeled = labels.filter((l) => l === -1).length;

  for (const name of STRATEGIES) {
    test(`${name}: k distinct unlabeled indices, the same for the same seed, and an error past the pool`, () => {
      const s = createStrategy(name, { coldStartLabels: 5 });
      const picks = s.select(context(x, dim, labels, 3, 1, probs), 25);
      assert.equal(picks.length, 25);
      assert.equal(new Set(picks).size, 25);
      for (const i of picks) assert.ok(Number.isInteger(i) && i >= 0 && i < n && labels[i] === -1, `${i} is not an unlabeled row`);
      assert.deepEqual(s.select(context(x, dim, labels, 3, 1, probs), 25), picks);
      const all = s.select(context(x, dim, labels, 3, 1, probs), unlabeled);
      assert.equal(new Set(all).size, unlabeled);
      assert.deepEqual(s.select(context(x, dim, labels, 3, 1, probs), 0), []);
      assert.throws(() => s.select(context(x, dim, labels, 3, 1, probs), unlabeled + 1), (e: unknown) => e instanceof UlearnError && e.code === 'E_POOL_EXHAUSTED');
    });
  }

  test('bad input names what is wrong', () => {
    const s = createStrategy('random');
    assert.throws(() => s.select(context(x, dim, labels.slice(1), 3), 1), /120 embedding rows but 119 labels/);
    assert.throws(() => s.select(context(x, dim, Int32Array.from(labels).fill(5, 0, 1), 3), 1), /label of sample 0 is 5/);
    assert.throws(() => s.select(context(x, 7, labels, 3), 1), /not a multiple of dim 7/);
    assert.throws(() => createStrategy('most-fun'), (e: unknown) => e instanceof UlearnError && /unknown active-learning strategy 'most-fun'/.test(e.message));
  });
});
