import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readTable, type TableOptions } from '../../src/data/table.js';
import { tempDir } from './fixtures.js';

async function table(name: string, text: string, opts: TableOptions = {}) {
  const dir = await tempDir();
  const path = join(dir, name);
  await writeFile(path, text);
  return readTable(path, opts);
}

test('readTable infers numeric, categorical, text and empty columns and keeps the raw cells', async () => {
  const t = await table('t.csv', 'age,city,id,blank\n30,Oslo,a1,\nNA,Rome,a2,\n41.5,Oslo,a3,NA\n', { maxCategories: 2 });
  assert.deepEqual(t.columns.map((c) => [c.name, c.type]), [['age', 'numeric'], ['city', 'categorical'], ['id', 'text'], ['blank', 'empty']]);
  const age = t.columns[0];
  assert.deepEqual(age.raw, ['30', 'NA', '41.5']);
  assert.deepEqual([...age.missing], [0, 1, 0]);
  assert.deepEqual([...age.numbers!].map((v) => (Number.isNaN(v) ? 'NaN' : v)), [30, 'NaN', 41.5]);
  assert.deepEqual(t.columns[1].categories, ['Oslo', 'Rome']);
  assert.deepEqual([...t.lines], [2, 3, 4]);
});

test('readTable: a stray non-number in a numeric column is an error with line and column, or a skipped row', async () => {
  const rows = Array.from({ length: 30 }, (_, i) => `${i},${i % 2 ? 'a' : 'b'}`);
  rows[12] = '12x,a';
  const text = 'x,c\n' + rows.join('\n') + '\n';
  await assert.rejects(table('n.csv', text), /n\.csv line 14, column 1: column 'x' is numeric, but this value is '12x'/);
  const skipped: number[] = [];
  const t = await table('n.csv', text, { skipBadRows: true, onSkip: (p) => skipped.push(p.line) });
  assert.equal(t.nRows, 29);
  assert.deepEqual(skipped, [14]);
  assert.deepEqual(t.skipped.map((s) => s.line), [14]);
  assert.ok(!t.columns[0].raw.includes('12x'));
  // Declared categorical, the same column reads fine.
  const cat = await table('n.csv', text, { types: { x: 'categorical' } });
  assert.equal(cat.columns[0].type, 'categorical');
  assert.equal(cat.columns[0].declared, true);
  await assert.rejects(table('n.csv', text, { types: { nope: 'numeric' } }), /types names column 'nope', which the file does not have \(columns: 'x', 'c'\)/);
});

test('readTable on ARFF uses the declared types and nominal order', async () => {
  const t = await table('w.arff', '@relation w\n@attribute t numeric\n@attribute o {sunny,rainy}\n@attribute s string\n@data\n1,rainy,hello\n?,sunny,?\n');
  assert.deepEqual(t.columns.map((c) => [c.name, c.type, c.declared]), [['t', 'numeric', true], ['o', 'categorical', true], ['s', 'text', true]]);
  assert.deepEqual(t.columns[1].categories, ['sunny', 'rainy']);
  assert.deepEqual([...t.columns[0].missing], [0, 1]);
});

test('readTable: a header without rows is an error', async () => {
  await assert.rejects(table('h.csv', 'a,b\n'), /h\.csv: no data rows \(only a header\)/);
  await assert.rejects(table('h.arff', '@relation r\n@attribute a numeric\n@data'), /h\.arff: no data rows \(only a header\)/);
});
