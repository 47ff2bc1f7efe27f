/** Tabular checks against hand-counted answers, from raw columns and streamed from a CSV file. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTabularClean } from '../../src/clean/run-tabular.js';
import { problemCsv, profileColumns } from './table-fixtures.js';

test('missing values, constant, mixed-type and high-cardinality columns, duplicate rows', async () => {
  const n = 120;
  const r = await profileColumns({
    source: 't',
    columns: [
      { name: 'id', values: Array.from({ length: n }, (_, i) => `user-${i % 100}`) }, // 100 distinct of 120
      { name: 'const', values: Array.from({ length: n }, () => 'x') },
      { name: 'age', values: Array.from({ length: n }, (_, i) => (i === 7 ? 'unknown' : i % 10 === 0 ? null : String(20 + (i % 30)))) },
      { name: 'color', values: Array.from({ length: n }, (_, i) => (i % 25 === 3 ? 'NA' : ['red', 'green'][i % 2])) },
    ],
  });
  assert.equal(r.rows, n);
  // age: null at i = 0, 10, ..., 110 -> 12 missing; color: 'NA' at i = 3, 28, 53, 78, 103 -> 5 missing.
  assert.deepEqual(
    r.checks.missing_values.columns.map((c) => [c.name, c.missing]),
    [
      ['age', 12],
      ['color', 5],
    ],
  );
  assert.deepEqual(r.checks.constant_column.columns, ['const']);
  assert.deepEqual(r.checks.mixed_types.columns.map((c) => c.name), ['age']);
  // The row of i = 7 is file line 9 (header on line 1), column 3.
  assert.deepEqual(r.checks.mixed_types.columns[0].examples, [{ line: 9, column: 3, value: 'unknown' }]);
  assert.deepEqual(r.checks.high_cardinality.columns.map((c) => [c.name, c.distinct]), [['id', 100]]);
  // Rows i and i + 100 (i < 20) share id and color; their ages differ (100 % 30 = 10) unless both are
  // missing, i.e. i % 10 == 0: rows 100 and 110 repeat rows 0 and 10.
  assert.equal(r.checks.duplicate_row.flagged, 2);
  assert.deepEqual(r.flaggedRows.map((f) => f.line), [102, 112]);
  const dup = await profileColumns({ source: 't', columns: [{ name: 'a', values: ['1', '2', '1', '1', null, null] }, { name: 'b', values: ['x', 'y', 'x', 'z', null, null] }] });
  // rows 0 and 2 are equal; rows 4 and 5 (all missing) are equal and also mostly missing.
  assert.equal(dup.checks.duplicate_row.flagged, 2);
  assert.deepEqual(dup.flaggedRows.map((f) => f.line), [4, 6, 7]);
  assert.equal(dup.checks.missing_values.flagged, 2);
});

test('a column with more distinct values than are tracked is high-cardinality even when most values repeat', async () => {
  // 25,000 distinct ids, each twice: distinct/cells = 0.5 (not above half), but beyond the 20,000 tracked.
  const values = Array.from({ length: 50_000 }, (_, i) => `id${i % 25_000}`);
  const r = await profileColumns({ source: 't', columns: [{ name: 'id', values }] });
  assert.deepEqual(r.checks.high_cardinality.columns.map((c) => [c.name, c.capped]), [['id', true]]);
  const few = await profileColumns({ source: 't', columns: [{ name: 'id', values: values.slice(0, 20_000).map((v) => v.slice(0, 4)) }] });
  assert.deepEqual(few.checks.high_cardinality.columns, [], "'id0'..'id99': about a hundred values, not high-cardinality");
});

test('a CSV file: streamed, manifest excludes the flagged rows by line number', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ulearn-tab-'));
  const csv = join(dir, 't.csv');
  writeFileSync(csv, 'a,b,c\n1,x,5\n2,y,5\n1,x,5\n,,5\n3,z,5\n');
  const out = await runTabularClean(csv, join(dir, 'out'));
  assert.equal(out.table.rows, 5);
  assert.deepEqual(out.results.find((r) => r.name === 'constant_column')!.summary.columns, ['c']);
  const m = JSON.parse(readFileSync(out.paths.manifest, 'utf8'));
  // line 4 repeats line 2; line 5 has 2 of 3 cells missing.
  assert.deepEqual(m.samples.map((s: { id: string }) => s.id), ['4', '5']);
  assert.match(readFileSync(out.paths.report!, 'utf8'), /Duplicate rows/);
});

test('the table checks in the registry flag what the one-pass profiler flagged before (pinned from the old code on one fixture)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ulearn-tab-pinned-'));
  const csv = join(dir, 'p.csv');
  writeFileSync(csv, problemCsv());
  const out = await runTabularClean(csv, join(dir, 'out'), { html: false });
  // The manifest (ids, actions, reasons, counts) as the code before the registry wrote it, entry for entry.
  const m = JSON.parse(readFileSync(out.paths.manifest, 'utf8')) as { counts: unknown; samples: unknown[] };
  const missing = (line: number) => ({ id: String(line), split: '*', action: 'exclude', reasons: ['missing_values: 3 of 5 cells missing'] });
  const dup = (line: number, of: number) => ({ id: String(line), split: '*', action: 'exclude', reasons: [`duplicate_row: same values as line ${of}`] });
  assert.deepEqual(m.counts, { keep: 390, exclude: 10, unlabel: 0 });
  assert.deepEqual(m.samples, [missing(52), dup(62, 41), dup(123, 102), missing(149), dup(184, 163), dup(245, 224), missing(246), dup(306, 285), missing(343), dup(367, 346)]);
  // Every check's findings, as the old issues.json had them (now each under its check's summary).
  const s = Object.fromEntries(out.results.map((r) => [r.name, r.summary]));
  assert.deepEqual(s.missing_values.columns, [
    { name: 'x', missing: 15, share: 0.0375 },
    { name: 'y', missing: 4, share: 0.01 },
    { name: 'kind', missing: 4, share: 0.01 },
  ]);
  assert.equal(s.missing_values.flagged, 4);
  assert.equal(s.missing_values.rows_with_missing, 15);
  assert.deepEqual(s.constant_column.columns, ['const']);
  assert.deepEqual(s.mixed_types.columns, [{ name: 'x', numbers: 384, non_numbers: 1, examples: [{ line: 79, column: 2, value: 'n/a?' }] }]);
  assert.deepEqual(s.high_cardinality.columns, [{ name: 'id', distinct: 394, capped: false, share_of_rows: 0.985 }]);
  assert.deepEqual([s.duplicate_row.flagged, s.duplicate_row.groups], [6, 6]);
  assert.deepEqual([s.outlier.columns, s.outlier.threshold, s.outlier.flagged], [['x', 'y'], 0.6687, 3]);
  const issues = JSON.parse(readFileSync(out.paths.issues, 'utf8')) as { checks: { outlier: { samples: { id: string; score: number }[] } } };
  assert.deepEqual(issues.checks.outlier.samples.map((x) => [Number(x.id), x.score]), [[335, 0.8442], [252, 0.8381], [103, 0.8352]]);
});
