import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { UlearnError } from '../../src/errors.js';
import { loadDataset } from '../../src/data/load.js';
import { encodeIdx, tempDir } from './fixtures.js';

async function png(path: string, w: number, h: number, v: number): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true });
  await sharp({ create: { width: w, height: h, channels: 3, background: { r: v, g: v, b: v } } }).png().toFile(path);
}

test('a folder path loads as an image folder (train only)', async () => {
  const root = await tempDir();
  await png(join(root, 'x', '1.png'), 5, 5, 10);
  await png(join(root, 'y', '2.png'), 5, 5, 20);
  const splits = await loadDataset(root);
  assert.equal(splits.test, undefined);
  assert.deepEqual(splits.train.classes, ['x', 'y']);
  assert.deepEqual(splits.train.inputShape, [5, 5, 1]);
});

test('{folder, test}: the test folder follows the train size, channels and class indices', async () => {
  const root = await tempDir();
  await png(join(root, 'tr', 'b', '1.png'), 6, 6, 50);
  await png(join(root, 'tr', 'c', '2.png'), 6, 6, 60);
  await sharp({ create: { width: 6, height: 6, channels: 3, background: { r: 255, g: 0, b: 0 } } }).png().toFile(join(root, 'tr', 'c', '3.png'));
  await png(join(root, 'te', 'c', '9.png'), 12, 9, 70); // other size, gray, only class 'c'
  const onSkip: unknown[] = [];
  const { train, test: t } = await loadDataset({ folder: join(root, 'tr'), test: join(root, 'te') }, { onSkip: (s) => onSkip.push(s) });
  assert.ok(t);
  assert.deepEqual(train.inputShape, [6, 6, 3]);
  assert.deepEqual(t.inputShape, [6, 6, 3]);
  assert.deepEqual(t.classes, ['b', 'c']);
  assert.deepEqual(Array.from(t.y), [1]);
  assert.equal(t.split, 'test');
  assert.deepEqual(onSkip, []);
});

test('a test folder with a class the train folder lacks is refused', async () => {
  const root = await tempDir();
  await png(join(root, 'tr', 'a', '1.png'), 4, 4, 1);
  await png(join(root, 'te', 'z', '1.png'), 4, 4, 1);
  await assert.rejects(loadDataset({ folder: join(root, 'tr'), test: join(root, 'te') }), /test classes 'z' do not occur in the training folder/);
});

test('skipBad reports skipped files through onSkip', async () => {
  const root = await tempDir();
  await png(join(root, 'ok.png'), 4, 4, 1);
  await writeFile(join(root, 'bad.png'), 'x');
  const seen: string[] = [];
  const { train } = await loadDataset({ folder: root, skipBad: true }, { onSkip: (s) => seen.push(`${s.folder}|${s.file}`) });
  assert.equal(train.size, 1);
  assert.deepEqual(seen, [`${root}|bad.png`]);
});

test('{idx}: own IDX files with a test split sharing the train classes', async () => {
  const dir = await tempDir();
  await writeFile(join(dir, 'tr-img.gz'), encodeIdx('uint8', [3, 2, 2], new Array(12).fill(51), { gzip: true }));
  await writeFile(join(dir, 'tr-lab'), encodeIdx('uint8', [3], [0, 3, 1]));
  await writeFile(join(dir, 'te-img'), encodeIdx('uint8', [1, 2, 2], [0, 0, 0, 255]));
  await writeFile(join(dir, 'te-lab'), encodeIdx('uint8', [1], [1]));
  const { train, test: t } = await loadDataset({
    idx: { images: join(dir, 'tr-img.gz'), labels: join(dir, 'tr-lab'), testImages: join(dir, 'te-img'), testLabels: join(dir, 'te-lab') },
  });
  assert.deepEqual(train.classes, ['0', '1', '2', '3']);
  assert.deepEqual(t?.classes, ['0', '1', '2', '3'], 'test uses train classes though its max label is 1');
  assert.ok(Math.abs(train.x[0] - 0.2) < 1e-6);
  assert.equal(train.name, 'tr-img/train');
  await assert.rejects(loadDataset({ idx: { images: join(dir, 'tr-img.gz'), labels: join(dir, 'tr-lab'), testImages: join(dir, 'te-img') } }), /both testImages and testLabels/);
});

test('unknown names, files and malformed specs are clear errors', async () => {
  const dir = await tempDir();
  await writeFile(join(dir, 'f.txt'), 'x');
  const check = async (p: Promise<unknown>, re: RegExp) =>
    assert.rejects(p, (err: unknown) => err instanceof UlearnError && re.test(err.message));
  await check(loadDataset('cifar-99'), /'cifar-99' is neither a known name \(fashion-mnist, mnist, glyphs, shapes, speech-digits, speech-digits\/pool\) nor an existing path/);
  await check(loadDataset(join(dir, 'f.txt')), /is a file; a dataset path must be a folder/);
  await check(loadDataset({ name: 'nope' as never }), /unknown dataset name 'nope'; known: fashion-mnist, mnist, glyphs, shapes/);
  await check(loadDataset({ what: 1 } as never), /must have one of name, folder, audio or idx \(or manifest\); got keys what/);
  await check(loadDataset({ name: 'mnist', dir }), /does not hold the mnist files/);
});
