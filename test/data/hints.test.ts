/**
 * Hints that tell the truth (issue 17 #11): an undecodable image points at `ulearn clean` (there is no
 * skipBad flag a user can pass), `clean` accepts the --skip-bad-rows its table errors recommend, a 1e308 in
 * a numeric column is refused at load with its line (not "lower the learning rate" after training
 * diverges), and a pipeline whose data fails leaves no stray runs/<id>.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { UlearnError } from '../../src/errors.js';
import { loadImageFolder } from '../../src/data/image-folder.js';
import { loadTableDataset } from '../../src/data/table-dataset.js';
import { tempDir } from './fixtures.js';
import { ulearn } from '../cli/run-cli.js';

test('an undecodable image: the hint names `ulearn clean`, not an option the CLI does not have', async () => {
  const dir = await tempDir();
  await sharp({ create: { width: 4, height: 4, channels: 3, background: { r: 1, g: 2, b: 3 } } }).png().toFile(join(dir, 'ok.png'));
  await writeFile(join(dir, 'bad.png'), 'not a png');
  await assert.rejects(loadImageFolder(dir), (e: unknown) => e instanceof UlearnError && /bad\.png/.test(e.message) && /ulearn clean/.test(e.hint ?? '') && !/skipBad/.test(e.hint ?? ''));
});

test('a value beyond float32 in a numeric column is refused at load, with file, line and column', async () => {
  const dir = await tempDir();
  const csv = join(dir, 't.csv');
  await writeFile(csv, `a,b,label\n${Array.from({ length: 20 }, (_, i) => `${i},${i % 3},${i % 2 ? 'x' : 'y'}`).join('\n')}\n5,1e308,x\n`);
  await assert.rejects(loadTableDataset(csv, { labelColumn: 'label' }), (e: unknown) => e instanceof UlearnError && /t\.csv line 22, column 2: .*'1e308' is beyond the float32 range/.test(e.message));
});

test('clean on a table accepts --skip-bad-rows, the option its errors recommend, and excludes the row', async () => {
  const dir = await tempDir();
  const csv = join(dir, 'rows.csv');
  await writeFile(csv, `a,b,label\n${Array.from({ length: 12 }, (_, i) => `${i},${i * 2},${i % 2 ? 'x' : 'y'}`).join('\n')}\n1,2,3,4\n`);
  const strict = ulearn('clean', csv, '--out', join(dir, 'c1'));
  assert.equal(strict.code, 2, strict.err);
  assert.match(strict.err, /--skip-bad-rows/);
  const lenient = ulearn('clean', csv, '--skip-bad-rows', '--out', join(dir, 'c2'), '--no-html');
  assert.equal(lenient.code, 0, lenient.err);
  assert.match(lenient.err, /skipped .*rows\.csv line 14/);
  const m = JSON.parse(readFileSync(join(dir, 'c2', 'manifest.json'), 'utf8'));
  assert.deepEqual(m.samples.filter((s: { id: string }) => s.id === '14').map((s: { action: string }) => s.action), ['exclude']);
});

test('a pipeline whose data fails to load leaves no runs/<id> behind', async () => {
  const dir = await tempDir();
  const images = join(dir, 'unlabeled');
  await mkdir(images);
  for (const i of [1, 2, 3]) await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 9 * i, g: 9 * i, b: 9 * i } } }).png().toFile(join(images, `${i}.png`));
  const runs = join(dir, 'runs');
  const r = ulearn('pretrain', images, '--test-data', images, '--runs', runs, '--backend', 'cpu', '--budget', '5s');
  assert.equal(r.code, 2, r.err);
  assert.match(r.err, /no labeled samples/);
  assert.ok(!existsSync(runs) || readdirSync(runs).length === 0, `stray run folders: ${existsSync(runs) ? readdirSync(runs).join(', ') : ''}`);
});
