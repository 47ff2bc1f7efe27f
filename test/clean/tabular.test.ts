/** Tabular checks against hand-counted answers, from raw columns and streamed from a CSV file. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { profileColumns } from '../../src/clean/tabular.js';
import { runTabularClean } from '../../src/clean/run-tabular.js';

test('missing values, constant, mixed-type and high-cardinality columns, duplicate rows', () => {
  const n = 120;
  const r = profileColumns({
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
  assert.equal(r.checks.duplicate_row.rows_flagged, 2);
  assert.deepEqual(r.flaggedRows.map((f) => f.line), [102, 112]);
  const dup = profileColumns({ source: 't', columns: [{ name: 'a', values: ['1', '2', '1', '1', null, null] }, { name: 'b', values: ['x', 'y', 'x', 'z', null, null] }] });
  // rows 0 and 2 are equal; rows 4 and 5 (all missing) are equal and also mostly missing.
  assert.equal(dup.checks.duplicate_row.rows_flagged, 2);
  assert.deepEqual(dup.flaggedRows.map((f) => f.line), [4, 6, 7]);
  assert.equal(dup.checks.missing_values.rows_flagged, 2);
});

test('a column with more distinct values than are tracked is high-cardinality even when most values repeat', () => {
  // 25,000 distinct ids, each twice: distinct/cells = 0.5 (not above half), but beyond the 20,000 tracked.
  const values = Array.from({ length: 50_000 }, (_, i) => `id${i % 25_000}`);
  const r = profileColumns({ source: 't', columns: [{ name: 'id', values }] });
  assert.deepEqual(r.checks.high_cardinality.columns.map((c) => [c.name, c.capped]), [['id', true]]);
  const few = profileColumns({ source: 't', columns: [{ name: 'id', values: values.slice(0, 20_000).map((v) => v.slice(0, 4)) }] });
  assert.deepEqual(few.checks.high_cardinality.columns, [], "'id0'..'id99': about a hundred values, not high-cardinality");
});

test('a CSV file: streamed, manifest excludes the flagged rows by line number', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ulearn-tab-'));
  const csv = join(dir, 't.csv');
  writeFileSync(csv, 'a,b,c\n1,x,5\n2,y,5\n1,x,5\n,,5\n3,z,5\n');
  const out = await runTabularClean(csv, join(dir, 'out'));
  assert.equal(out.report.rows, 5);
  assert.deepEqual(out.report.checks.constant_column.columns, ['c']);
  const m = JSON.parse(readFileSync(out.paths.manifest, 'utf8'));
  // line 4 repeats line 2; line 5 has 2 of 3 cells missing.
  assert.deepEqual(m.samples.map((s: { id: string }) => s.id), ['4', '5']);
  assert.match(readFileSync(out.paths.report!, 'utf8'), /Duplicate rows/);
});
