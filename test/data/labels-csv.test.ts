/**
 * labels.csv in an image folder (issue 17 #6): the README promises `file,label` labels, so every command that
 * takes a folder reads it (the dataset loader, clean's scan, train), and data without any labels is a clear
 * UlearnError before training, not a crash inside tfjs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { UlearnError } from '../../src/errors.js';
import { loadDataset } from '../../src/data/load.js';
import { applyLabelBudget } from '../../src/data/label-budget.js';
import { scanImageFolders } from '../../src/clean/scan.js';
import { tempDir } from './fixtures.js';
import { runUlearn } from '../cli/run-cli.js';

async function flatFolder(withCsv: boolean): Promise<string> {
  const dir = await tempDir();
  await mkdir(dir, { recursive: true });
  for (let i = 0; i < 6; i++) {
    const v = i % 2 ? 220 : 30;
    await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: v, g: v, b: v } } }).png().toFile(join(dir, `img${i}.png`));
  }
  // img5 left unlabeled on purpose.
  if (withCsv) await writeFile(join(dir, 'labels.csv'), 'file,label\nimg0.png,dark\nimg1.png,light\nimg2.png,dark\nimg3.png,light\nimg4.png,dark\nimg5.png,\n');
  return dir;
}

test('loadDataset reads labels.csv at the top of a folder', async () => {
  const dir = await flatFolder(true);
  const { train } = await loadDataset(dir);
  assert.deepEqual(train.classes, ['dark', 'light']);
  assert.deepEqual(Array.from(train.y), [0, 1, 0, 1, 0, -1]);
});

test('clean’s scan reads the same labels.csv', async () => {
  const dir = await flatFolder(true);
  const s = await scanImageFolders({ train: dir });
  assert.deepEqual(s.classes, ['dark', 'light']);
  assert.deepEqual(Array.from(s.y), [0, 1, 0, 1, 0, -1]);
});

test('a folder without labels: the label budget says "no labeled samples" and how to add labels', async () => {
  const dir = await flatFolder(false);
  const { train } = await loadDataset(dir);
  assert.throws(() => applyLabelBudget(train, { total: 4, seed: 0 }), (e: unknown) => e instanceof UlearnError && /no labeled samples/.test(e.message) && /labels\.csv/.test(e.hint ?? ''));
});

test('ulearn train on a folder without labels: one clear error, exit 2, before any training', async () => {
  const dir = await flatFolder(false);
  const r = runUlearn(['train', dir, '--method', 'supervised', '--backend', 'cpu', '--out', join(dir, 'model')]);
  assert.equal(r.code, 2, r.err);
  assert.match(r.err, /ulearn: error: .*no labeled samples/);
  assert.match(r.err, /labels\.csv/);
  assert.doesNotMatch(r.err, /\n\s+at /, 'no stack trace');
});

test('ulearn train reads labels.csv (the folder trains)', async () => {
  const dir = await flatFolder(true);
  const r = runUlearn(['train', dir, '--method', 'supervised', '--backend', 'cpu', '--widths', '4', '--blocks', '1', '--epochs', '1', '--out', join(dir, 'model')]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /5 labeled, 2 classes/);
});
