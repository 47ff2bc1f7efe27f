/** Isolation forest against hand-computed path lengths and planted outliers, and the tabular outlier check. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/engine/seed.js';
import { averagePathLength, IsolationForest } from '../../src/clean/isolation-forest.js';
import { profileColumns } from './table-fixtures.js';

test('c(m): the average unsuccessful-search path length, by hand', () => {
  assert.equal(averagePathLength(1), 0);
  assert.equal(averagePathLength(2), 1);
  // c(m) = 2 H(m - 1) - 2 (m - 1) / m with H(i) ~ ln(i) + 0.5772156649: c(256) = 2 (ln 255 + γ) - 510 / 256.
  assert.ok(Math.abs(averagePathLength(256) - (2 * (Math.log(255) + 0.5772156649) - 510 / 256)) < 1e-9);
});

test('two distinct rows: every tree splits them at depth 1, so each scores 2^(-1 / c(2)) = 0.5', () => {
  const f = IsolationForest.fit(Float64Array.from([0, 0, 1, 1]), 2, 2, { trees: 20, seed: 3 });
  assert.equal(f.score([0, 0]), 0.5);
  assert.equal(f.score([1, 1]), 0.5);
  // A single row (or identical rows) cannot be split: everything is "normal".
  assert.equal(IsolationForest.fit(Float64Array.from([5, 5, 5, 5]), 2, 2).score([9, 9]), 0.5);
});

test('planted outliers score highest, the same seed gives the same forest, and missing values are not outliers', () => {
  const rng = new Rng(1);
  const n = 2000, dim = 3;
  const x = new Float64Array(n * dim);
  for (let i = 0; i < n * dim; i++) x[i] = rng.normal();
  const planted = [17, 400, 999, 1500, 1999];
  for (const i of planted) for (let d = 0; d < dim; d++) x[i * dim + d] = (d === 0 ? 7 : -6) + rng.normal() * 0.3;
  const f = IsolationForest.fit(x, n, dim, { seed: 5 });
  const scores = Array.from({ length: n }, (_, i) => f.score(x.subarray(i * dim, (i + 1) * dim)));
  const top = scores.map((s, i) => [s, i]).sort((a, b) => b[0] - a[0]).slice(0, 5).map((p) => p[1]).sort((a, b) => a - b);
  assert.deepEqual(top, planted);
  for (const i of planted) assert.ok(scores[i] > 0.65, `planted row ${i} scores ${scores[i]}`);
  const g = IsolationForest.fit(x, n, dim, { seed: 5 });
  assert.equal(g.score([0.1, 0.2, 0.3]), f.score([0.1, 0.2, 0.3]));
  assert.ok(f.score([NaN, NaN, NaN]) < 0.6, `an all-missing row scores ${f.score([NaN, NaN, NaN])}`);
  assert.throws(() => f.score([1, 2]), /a row of 2 values, expected 3/);
});

test('a row far outside everything the trees saw scores as an outlier (none in the training sample)', () => {
  const rng = new Rng(4);
  const n = 1000, dim = 2;
  const x = new Float64Array(n * dim);
  for (let i = 0; i < n * dim; i++) x[i] = 20 + 60 * rng.random(); // uniform: the extremes are not outliers
  const f = IsolationForest.fit(x, n, dim, { seed: 1 });
  const scores = Array.from({ length: n }, (_, i) => f.score(x.subarray(i * dim, (i + 1) * dim)));
  const far = f.score([30, 5000]);
  assert.ok(far > 0.75, `far row scores ${far}`);
  assert.ok(far > Math.max(...scores) + 0.1, `far ${far} vs the highest sample score ${Math.max(...scores)}`);
  // Just past the edge is not an outlier: the gap is tiny against the range.
  assert.ok(f.score([30, 80.5]) < Math.max(...scores) + 0.02);
});

test('tables: the outlier check flags the planted rows by file line, uses numeric columns only, and reports only', async () => {
  const rng = new Rng(2);
  const a: string[] = [];
  const b: string[] = [];
  const kind: string[] = [];
  for (let i = 0; i < 3000; i++) {
    a.push((10 + rng.normal()).toFixed(3));
    b.push((rng.normal() * 2).toFixed(3));
    kind.push(['x', 'y'][i % 2]);
  }
  a[1234] = '60';
  b[1234] = '-40';
  a[2500] = '';
  const r = await profileColumns({ source: 't', columns: [{ name: 'a', values: a }, { name: 'b', values: b }, { name: 'kind', values: kind }] });
  const o = r.checks.outlier;
  assert.deepEqual(o.columns, ['a', 'b']);
  const lines = r.flaggedLines.outlier;
  assert.equal(lines[0], 1236, 'row 1234 is file line 1236 (header on line 1)');
  assert.ok(o.flagged >= 1 && o.flagged < 30, `${o.flagged} rows flagged`);
  assert.ok(!lines.includes(2502), 'a missing cell alone does not make an outlier');
  assert.ok(!r.flaggedRows.some((f) => f.line === 1236), 'outliers are reported, not excluded');
  const text = (await profileColumns({ source: 't', columns: [{ name: 'kind', values: kind }] })).checks.outlier;
  assert.equal(text.skipped, 'no numeric column that varies');
});
