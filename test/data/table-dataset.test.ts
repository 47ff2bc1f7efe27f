import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readTable } from '../../src/data/table.js';
import { isTestRow, loadTableDataset, tableToDatasets } from '../../src/data/table-dataset.js';
import { Rng } from '../../src/engine/seed.js';
import { tempDir } from './fixtures.js';

async function file(name: string, text: string) {
  const dir = await tempDir();
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

function randomCsv(rows: number, seed: number): string {
  const rng = new Rng(seed);
  const lines = ['x,colour,"note, free",label'];
  for (let i = 0; i < rows; i++) {
    const x = rng.random() < 0.1 ? 'NA' : (rng.normal() * 5).toFixed(3);
    const colour = ['red', 'green', 'blue', ''][rng.int(4)];
    const label = rng.random() < 0.3 ? '' : ['cat', 'dog'][rng.int(2)];
    lines.push(`${x},${colour},"n${i}",${label}`);
  }
  return lines.join('\n') + '\n';
}

test('two-pass streaming gives the same datasets as the in-memory path on the same split', async () => {
  const path = await file('r.csv', randomCsv(400, 1));
  const opts = { labelColumn: 'label', testFraction: 0.25, seed: 3, maxCategories: 20, chunkBytes: 1000 };
  const streamed = await loadTableDataset(path, opts);
  const table = await readTable(path, opts);
  const train: number[] = [];
  const test: number[] = [];
  for (let i = 0; i < table.nRows; i++) (isTestRow(3, i, 0.25) ? test : train).push(i);
  const mem = tableToDatasets(table, train, test, opts);
  assert.ok(test.length > 60 && test.length < 140, `test rows ${test.length}`);
  assert.deepEqual(streamed.preprocessor.json, mem.preprocessor.json);
  assert.deepEqual(streamed.train.x, mem.train.x);
  assert.deepEqual(streamed.test!.x, mem.test!.x);
  assert.deepEqual(streamed.train.y, mem.train.y);
  assert.deepEqual(streamed.train.ids, mem.train.ids);
  // The free-text column is dropped, the label is not a feature, unlabeled rows are -1.
  assert.deepEqual(streamed.preprocessor.json.dropped.map((d) => d.name), ['note, free', 'label']);
  assert.ok(streamed.train.y.includes(-1));
  assert.deepEqual(streamed.train.classes, ['cat', 'dog']);
  assert.equal(streamed.train.inputShape[0], streamed.preprocessor.width);
  // An independent check of one feature: x's centre is the mean of the present training x values.
  const xs = train.map((i) => table.columns[0].numbers![i]).filter((v) => !Number.isNaN(v));
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const spec = streamed.preprocessor.json.features[0];
  assert.ok(spec.kind === 'numeric' && Math.abs(spec.center - mean) < 1e-9);
});

test('loadTableDataset errors: absent label or feature column, bad number, label that is not a class', async () => {
  const path = await file('e.csv', 'a,b,y\n1,2,p\n3,4,q\n');
  await assert.rejects(loadTableDataset(path, { labelColumn: 'class' }), /e\.csv: label column 'class' is not a column of the file \(columns: 'a', 'b', 'y'\)/);
  await assert.rejects(loadTableDataset(path, { labelColumn: 'y', features: ['a', 'zz'] }), /feature column 'zz' is not a column/);
  const rows = Array.from({ length: 40 }, (_, i) => `${i},${i % 3},${i % 2 ? 'p' : 'q'}`);
  rows[20] = 'oops,1,p';
  const bad = await file('b.csv', 'a,b,y\n' + rows.join('\n') + '\n');
  await assert.rejects(loadTableDataset(bad, { labelColumn: 'y' }), /b\.csv line 22, column 1: column 'a' is numeric, but this value is 'oops'/);
  const skipped: number[] = [];
  const ok = await loadTableDataset(bad, { labelColumn: 'y', skipBadRows: true, testFraction: 0, onSkip: (p) => skipped.push(p.line) });
  assert.deepEqual(skipped, [22]);
  assert.equal(ok.train.size, 39);
  assert.equal(ok.skipped, 1);
  const cont = await file('c.csv', 'a,y\n' + Array.from({ length: 150 }, (_, i) => `${i},${i * 1.5}`).join('\n'));
  await assert.rejects(loadTableDataset(cont, { labelColumn: 'y' }), /label column 'y' has 150 distinct values: it looks continuous/);
});

test('loadTableDataset reads ARFF with declared class order', async () => {
  const path = await file('w.arff', '@relation w\n@attribute t numeric\n@attribute o {sunny,rainy}\n@attribute play {yes,no}\n@data\n1,rainy,no\n2,sunny,yes\n3,?,?\n');
  const ds = await loadTableDataset(path, { labelColumn: 'play', testFraction: 0 });
  assert.deepEqual(ds.train.classes, ['yes', 'no']);
  assert.deepEqual([...ds.train.y], [1, 0, -1]);
  assert.deepEqual(ds.preprocessor.json.outputNames, ['t', 'o=sunny', 'o=rainy', 'o (missing)']);
});
