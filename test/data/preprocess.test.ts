import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadPreprocessor, preprocessorFromJSON, savePreprocessor, TabularPreprocessor, type TabularPreprocessOptions } from '../../src/data/preprocess/index.js';
import { readTable } from '../../src/data/table.js';
import { tableToDatasets } from '../../src/data/table-dataset.js';
import { tempDir } from './fixtures.js';

// Training rows 0..4; row 5 is a "test" row with an unseen category and a missing number.
const CSV = 'num,cat,label\n1,a,x\n2,b,y\nNA,a,x\n3,,y\n10,a,x\nNA,zzz,y\n';

async function fit(preprocess: TabularPreprocessOptions) {
  const dir = await tempDir();
  const path = join(dir, 't.csv');
  await writeFile(path, CSV);
  const table = await readTable(path);
  const ds = tableToDatasets(table, [0, 1, 2, 3, 4], [5], { labelColumn: 'label', preprocess });
  return { ...ds, table, dir };
}

const close = (a: ArrayLike<number>, b: number[], msg?: string) => {
  assert.equal(a.length, b.length, msg);
  for (let i = 0; i < b.length; i++) assert.ok(Math.abs(a[i] - b[i]) < 1e-6, `${msg ?? ''} [${i}]: ${a[i]} vs ${b[i]}`);
};

test('standard scaling + mean imputation + one-hot with indicators, by hand', async () => {
  const { train, test, preprocessor } = await fit({});
  // Present training numbers: 1, 2, 3, 10 → mean 4, population std sqrt(((9+4+1+36)/4)) = sqrt(12.5).
  const s = Math.sqrt(12.5);
  assert.deepEqual(preprocessor.json.outputNames, ['num', 'num (missing)', 'cat=a', 'cat=b', 'cat (missing)']);
  // Missing cat is filled with the most frequent training category, 'a' (3 of 4).
  close(train.x, [
    (1 - 4) / s, 0, 1, 0, 0,
    (2 - 4) / s, 0, 0, 1, 0,
    0, 1, 1, 0, 0,
    (3 - 4) / s, 0, 1, 0, 1,
    (10 - 4) / s, 0, 1, 0, 0,
  ]);
  // Test row: missing number → the mean (0 after scaling); unseen category 'zzz' → all zeros, not missing.
  close(test!.x, [0, 1, 0, 0, 0]);
  assert.deepEqual([...train.y], [0, 1, 0, 1, 0]);
  assert.deepEqual(train.classes, ['x', 'y']);
  assert.deepEqual(train.ids, ['2', '3', '4', '5', '6']);
});

test('robust scaling with median imputation, min-max with most-frequent, ordinal codes', async () => {
  // 1, 2, 3, 10: median 2.5; q25 = 1 + 0.75 * 1 = 1.75; q75 = 3 + 0.25 * 7 = 4.75; IQR 3.
  const robust = await fit({ scaling: 'robust', numericImpute: 'median', missingIndicators: false });
  close(robust.train.x.filter((_, i) => i % 3 === 0), [(1 - 2.5) / 3, (2 - 2.5) / 3, 0, (3 - 2.5) / 3, (10 - 2.5) / 3]);
  // min 1, max 10; most frequent of 1, 2, 3, 10 is a four-way tie → the smallest, 1.
  const minmax = await fit({ scaling: 'minmax', numericImpute: 'most-frequent', missingIndicators: false, encoding: 'ordinal' });
  assert.deepEqual(minmax.preprocessor.json.outputNames, ['num', 'cat']);
  // Ordinal codes: a=0, b=1; training codes (missing → a) 0, 1, 0, 0 present → min 0, max 1.
  close(minmax.train.x, [0, 0, 1 / 9, 1, 0, 0, 2 / 9, 0, 1, 0]);
  // Unseen 'zzz' → the fill category a = 0.
  close(minmax.test!.x, [0, 0]);
});

test('the preprocessor survives JSON, binds columns by name in any order, and names a missing column', async () => {
  const { preprocessor, table, dir } = await fit({ scaling: 'robust' });
  const modelDir = join(dir, 'model');
  await mkdir(modelDir);
  await savePreprocessor(modelDir, preprocessor);
  const loaded = await loadPreprocessor(modelDir);
  assert.ok(loaded instanceof TabularPreprocessor);
  const reordered = [...table.columns].reverse();
  assert.deepEqual(loaded.transform(reordered, 'new.csv'), preprocessor.transform(table.columns, 't.csv'));
  assert.throws(() => loaded.transform(table.columns.filter((c) => c.name !== 'cat'), 'new.csv'), /new\.csv: column 'cat', which the model was trained on, is missing \(columns: 'num', 'label'\)/);
  assert.equal(await loadPreprocessor(join(dir, 'nowhere')), undefined);
  assert.throws(() => preprocessorFromJSON({ kind: 'tabular', format: 'ulearn-preprocessor', version: 9 }), /version 9 is not supported/);
  const bad = { ...table.columns[0], raw: ['1', 'oops', '2', '3', '4', '5'] };
  assert.throws(() => preprocessor.transform([bad, ...table.columns.slice(1)], 'p.csv', undefined, table.lines), /p\.csv line 3, column 1: column 'num' is numeric, but this value is 'oops'/);
});
