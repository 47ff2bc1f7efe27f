/**
 * A `ulearn clean` manifest of a table stands in for the table: its excluded rows are gone (and out of the
 * preprocessor's fit), its `unlabel` rows keep their features without a label, and the other rows land in
 * the same train/test split as when the raw file is loaded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runTabularClean } from '../../src/clean/run-tabular.js';
import { UlearnError } from '../../src/errors.js';
import { loadTabularData } from '../../src/pipeline/tabular.js';
import { tabularConfig } from '../../src/pipeline/tabular-config.js';
import { tempDir } from '../data/fixtures.js';

test('a table manifest drops excluded rows, unlabels rows, and keeps the split of the rest', async () => {
  const dir = await tempDir();
  const csv = join(dir, 't.csv');
  const lines = ['x,y,kind'];
  for (let i = 0; i < 60; i++) lines.push(`${i % 3 === 0 ? 100 + i : i},${(i * 7) % 11},${'abc'[i % 3]}`);
  lines.push(lines[1]); // line 62 repeats line 2: a duplicate row, excluded by the clean
  lines.push('9999,,'); // line 63: two of three cells missing, excluded
  await writeFile(csv, lines.join('\n') + '\n');
  const out = await runTabularClean(csv, join(dir, 'clean'), { html: false });
  const manifest = JSON.parse(await readFile(out.paths.manifest, 'utf8')) as { samples: { id: string; action: string }[] };
  assert.deepEqual(manifest.samples.map((s) => [s.id, s.action]), [['62', 'exclude'], ['63', 'exclude']]);
  // Hand-add an `unlabel` entry, as a label-error check would write it.
  (manifest.samples as unknown[]).push({ id: '10', split: '*', action: 'unlabel', reasons: ['doubtful label'] });
  const edited = join(dir, 'clean', 'edited.json');
  await writeFile(edited, JSON.stringify(manifest));

  const cfg = (data: string) => tabularConfig({ data, labelColumn: 'kind', testFraction: 0.3, seed: 0 });
  const raw = await loadTabularData(cfg(csv));
  const clean = await loadTabularData(cfg(edited));
  const ids = (d: typeof raw) => [...d.train.ids, ...d.test!.ids];
  assert.equal(ids(raw).length, 62);
  assert.deepEqual(ids(clean).sort(), ids(raw).filter((id) => id !== '62' && id !== '63').sort());
  // The split of every remaining row is unchanged.
  for (const split of ['train', 'test'] as const) assert.deepEqual(clean[split]!.ids, raw[split]!.ids.filter((id) => id !== '62' && id !== '63'));
  const split = clean.train.ids.includes('10') ? clean.train : clean.test!;
  const rawSplit = raw.train.ids.includes('10') ? raw.train : raw.test!;
  assert.equal(split.y[split.ids.indexOf('10')], -1, 'the unlabel row has no label');
  assert.ok(rawSplit.y[rawSplit.ids.indexOf('10')] >= 0);
  // The outlier x = 9999 on excluded line 63 (a training row with seed 0) is out of the preprocessor's fit,
  // so x is scaled by the statistics of the kept rows only.
  assert.ok(raw.train.ids.includes('63'));
  const xOf = (d: typeof raw, id: string) => d.train.x[d.train.ids.indexOf(id) * d.preprocessor.width];
  assert.notEqual(xOf(clean, '5'), xOf(raw, '5'), 'the excluded row still shapes the scaling');

  // An image manifest is not a table: a clear error, not a crash.
  const imageManifest = join(dir, 'img.json');
  await writeFile(imageManifest, JSON.stringify({ format: 'ulearn-clean-manifest', version: 1, created: '', data: { folder: '/x' }, counts: {}, samples: [] }));
  await assert.rejects(loadTabularData(cfg(imageManifest)), (e: unknown) => e instanceof UlearnError && /describes \{"folder":"\/x"\}, not a table/.test(e.message));
});
