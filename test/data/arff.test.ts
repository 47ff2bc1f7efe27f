import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { streamArff, type ArffHeader } from '../../src/data/arff.js';
import type { RowProblem } from '../../src/data/csv-stream.js';
import { tempDir } from './fixtures.js';

const HEADER = `% a comment
@RELATION 'tiny set'

@attribute 'size cm' numeric
@attribute colour {red, 'dark blue', green}
@attribute note string
@attribute class {yes,no}   % trailing comment
@data
`;

async function read(text: string, opts: Parameters<typeof streamArff>[1] = {}, name = 't.arff') {
  const dir = await tempDir();
  const path = join(dir, name);
  await writeFile(path, text);
  let header: ArffHeader | undefined;
  const rows: { line: number; values: string[] }[] = [];
  const res = await streamArff(path, { chunkBytes: 7, ...opts }, (h) => (header = h), (values, line) => rows.push({ line, values }));
  return { header: header!, rows, skipped: res.skipped };
}

test('streamArff parses the header and dense, sparse and weighted rows with their line numbers', async () => {
  const { header, rows } = await read(HEADER + "1.5,red,'hi, there',yes\n% skip me\n\n2, 'dark blue' , ?, no, {3}\n{0 7, 1 green, 3 no}\n{}\n");
  assert.equal(header.relation, 'tiny set');
  assert.deepEqual(header.attributes.map((a) => [a.name, a.type, a.values, a.line]), [
    ['size cm', 'numeric', undefined, 4],
    ['colour', 'nominal', ['red', 'dark blue', 'green'], 5],
    ['note', 'string', undefined, 6],
    ['class', 'nominal', ['yes', 'no'], 7],
  ]);
  assert.equal(header.dataLine, 8);
  assert.deepEqual(rows, [
    { line: 9, values: ['1.5', 'red', 'hi, there', 'yes'] },
    { line: 12, values: ['2', 'dark blue', '?', 'no'] },
    // Sparse: unlisted numeric attributes are 0, nominal ones their first value (Weka's convention).
    { line: 13, values: ['7', 'green', '', 'no'] },
    { line: 14, values: ['0', 'red', '', 'yes'] },
  ]);
});

test('streamArff row errors name file, line and column; skipBadRows reports them', async () => {
  await assert.rejects(read(HEADER + '1,red,x,yes\n2,purple,x,no\n'), /t\.arff line 10, column 2: attribute 'colour': 'purple' is not one of its declared values/);
  await assert.rejects(read(HEADER + 'abc,red,x,yes\n'), /t\.arff line 9, column 1: attribute 'size cm' is numeric, got 'abc'/);
  await assert.rejects(read(HEADER + '1,red,yes\n'), /t\.arff line 9, column 4: expected 4 values \(one per @attribute\), got 3/);
  const skipped: RowProblem[] = [];
  const out = await read(HEADER + '1,red,x,yes\n2,purple,x,no\n3,green,y,no\n', { skipBadRows: true, onSkip: (p) => skipped.push(p) });
  assert.deepEqual(out.rows.map((r) => r.values[0]), ['1', '3']);
  assert.deepEqual(skipped.map((p) => [p.line, p.column]), [[10, 2]]);
});

test('streamArff header errors name the line', async () => {
  await assert.rejects(read('@relation r\n@attribute a numeric\n@attribute b wibble\n@data\n1,2\n'), /line 3: attribute 'b' has unknown type 'wibble'/);
  await assert.rejects(read('@relation r\n@attribute a numeric\n@attribute a numeric\n@data\n'), /line 3: attribute 'a' already declared on line 2/);
  await assert.rejects(read('@attribute a numeric\n@data\n'), /line 1: @attribute before @relation/);
  await assert.rejects(read('@relation r\n@data\n1\n'), /line 2: @data without any @attribute/);
  await assert.rejects(read('@relation r\n@attribute a numeric\n1\n'), /line 3: expected @relation, @attribute or @data, got '1'/);
  await assert.rejects(read('@relation r\n@attribute a numeric\n'), /no @data line after the header/);
  await assert.rejects(read('@relation r\n@attribute c {x,y\n@data\n'), /line 2: attribute 'c': nominal values must end with '}'/);
  await assert.rejects(read(''), /the file is empty/);
});
