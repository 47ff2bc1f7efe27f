import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { UlearnError } from '../../src/errors.js';
import { loadImageFolder } from '../../src/data/image-folder.js';
import { tempDir } from './fixtures.js';

type Rgb = [number, number, number];

/** Writes a solid image (or one built by `pixel`) in the format given by the file extension. */
async function makeImage(path: string, width: number, height: number, color: Rgb, pixel?: (x: number, y: number) => Rgb): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const raw = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) raw.set(pixel ? pixel(x, y) : color, 3 * (y * width + x));
  }
  let img = sharp(raw, { raw: { width, height, channels: 3 } });
  if (color[0] === color[1] && color[1] === color[2] && !pixel) img = img.toColourspace('b-w');
  const ext = path.slice(path.lastIndexOf('.') + 1);
  const out = ext === 'png' ? img.png() : ext === 'webp' ? img.webp({ lossless: true }) : ext === 'gif' ? img.gif() : img.jpeg({ quality: 95 });
  await writeFile(path, await out.toBuffer());
}

const GRAY: Rgb = [128, 128, 128];
const RED: Rgb = [255, 0, 0];

async function rejectsWith(p: Promise<unknown>, ...parts: string[]): Promise<UlearnError> {
  let caught: unknown;
  await assert.rejects(p, (err: unknown) => {
    caught = err;
    return true;
  });
  assert.ok(caught instanceof UlearnError, `expected a UlearnError, got ${String(caught)}`);
  for (const part of parts) assert.ok(caught.message.includes(part), `message ${JSON.stringify(caught.message)} lacks ${JSON.stringify(part)}`);
  return caught;
}

test('class subfolders give labels; mixed sizes go to the median shorter side; colour is inferred', async () => {
  const root = await tempDir();
  await makeImage(join(root, 'cat', 'a.png'), 10, 8, RED); // shorter side 8
  await makeImage(join(root, 'cat', 'b.jpg'), 12, 12, GRAY); // 12
  await makeImage(join(root, 'dog', 'c.webp'), 20, 10, GRAY); // 10
  await makeImage(join(root, 'dog', 'deep', 'd.png'), 6, 30, GRAY); // 6
  await makeImage(join(root, '10', 'e.png'), 9, 9, GRAY); // 9 -> median of [6,8,9,10,12] is 9
  await writeFile(join(root, 'dog', 'notes.txt'), 'not an image');
  await makeImage(join(root, '.hidden', 'x.png'), 4, 4, GRAY);
  const { dataset: ds, skipped } = await loadImageFolder(root);
  assert.deepEqual(skipped, []);
  assert.deepEqual(ds.ids, ['10/e.png', 'cat/a.png', 'cat/b.jpg', 'dog/c.webp', 'dog/deep/d.png']);
  assert.deepEqual(ds.classes, ['10', 'cat', 'dog']);
  assert.deepEqual(Array.from(ds.y), [0, 1, 1, 2, 2]);
  assert.deepEqual(ds.inputShape, [9, 9, 3]); // one red image makes the whole set RGB
  assert.equal(ds.x.length, 5 * 9 * 9 * 3);
  // The red image stays red; gray ones are replicated to 3 equal channels.
  const px = (i: number, k: number) => ds.x[i * 243 + 4 * 27 + 4 * 3 + k];
  assert.ok(px(1, 0) > 0.95 && px(1, 1) < 0.05 && px(1, 2) < 0.05, 'red image');
  assert.ok(Math.abs(px(3, 0) - 128 / 255) < 0.02 && px(3, 0) === px(3, 1) && px(3, 1) === px(3, 2), 'gray image');
  assert.equal(ds.split, 'train');
  assert.equal(ds.source, root);
});

test('a GIF is an image here as in `ulearn label init` (one extension list, IMAGE_EXTENSIONS)', async () => {
  const root = await tempDir();
  await makeImage(join(root, 'a', 'x.png'), 8, 8, GRAY);
  await makeImage(join(root, 'b', 'y.gif'), 8, 8, RED);
  const { dataset: ds } = await loadImageFolder(root);
  assert.deepEqual(ds.ids, ['a/x.png', 'b/y.gif']);
  assert.deepEqual(Array.from(ds.y), [0, 1]);
  assert.ok(ds.x[ds.x.length - 3] > 0.9, 'the GIF decodes red');
});

test('all-gray folders load with 1 channel; channels: 3 forces RGB; a common size is kept', async () => {
  const root = await tempDir();
  await makeImage(join(root, 'a.png'), 7, 5, GRAY);
  // RGB-encoded but gray content (R = G = B) still counts as gray.
  await makeImage(join(root, 'b.jpg'), 7, 5, GRAY, () => [200, 200, 200]);
  const gray = await loadImageFolder(root);
  assert.deepEqual(gray.dataset.inputShape, [5, 7, 1]);
  assert.deepEqual(gray.dataset.classes, []);
  assert.deepEqual(Array.from(gray.dataset.y), [-1, -1]);
  assert.ok(Math.abs(gray.dataset.x[35] - 200 / 255) < 0.02);
  const rgb = await loadImageFolder(root, { channels: 3 });
  assert.deepEqual(rgb.dataset.inputShape, [5, 7, 3]);
  const forcedGray = await loadImageFolder(root, { channels: 1, size: 4 });
  assert.deepEqual(forcedGray.dataset.inputShape, [4, 4, 1]);
});

test('resize policies: crop cuts the centre, stretch keeps everything, pad adds black bars', async () => {
  const root = await tempDir();
  // 30x10: red | green | blue thirds.
  await makeImage(join(root, 'bars.png'), 30, 10, RED, (x) => (x < 10 ? [255, 0, 0] : x < 20 ? [0, 255, 0] : [0, 0, 255]));
  // Resampling filters ring a little at edges, so colours are compared within a few levels (of 255).
  const color = (x: Float32Array, size: number, row: number, col: number, want: Rgb, what = '') => {
    const got = Array.from(x.subarray((row * size + col) * 3, (row * size + col) * 3 + 3), (v) => Math.round(v * 255));
    assert.ok(got.every((v, k) => Math.abs(v - want[k]) <= 6), `${what} pixel (${row}, ${col}) is ${got}, expected about ${want}`);
  };
  const crop = (await loadImageFolder(root, { size: 10 })).dataset.x;
  color(crop, 10, 5, 0, [0, 255, 0]);
  color(crop, 10, 5, 9, [0, 255, 0]);
  const stretch = (await loadImageFolder(root, { size: 12, resize: 'stretch' })).dataset.x;
  color(stretch, 12, 0, 0, [255, 0, 0]);
  color(stretch, 12, 11, 11, [0, 0, 255]);
  color(stretch, 12, 6, 6, [0, 255, 0]);
  const pad = (await loadImageFolder(root, { size: 12, resize: 'pad' })).dataset.x;
  color(pad, 12, 0, 6, [0, 0, 0], 'top bar');
  color(pad, 12, 11, 6, [0, 0, 0], 'bottom bar');
  color(pad, 12, 6, 0, [255, 0, 0]);
  color(pad, 12, 6, 11, [0, 0, 255]);
});

test('an undecodable image is an error naming the file; skipBad skips and reports it', async () => {
  const root = await tempDir();
  await makeImage(join(root, 'ok', 'good.png'), 8, 8, GRAY);
  await makeImage(join(root, 'ok', 'good2.jpg'), 8, 8, GRAY);
  await mkdir(join(root, 'bad'), { recursive: true });
  await writeFile(join(root, 'bad', 'junk.png'), Buffer.from('this is not a png at all'));
  const err = await rejectsWith(loadImageFolder(root), join(root, 'bad', 'junk.png'), 'cannot decode image');
  assert.match(err.hint ?? '', /ulearn clean/); // the CLI has no skipBad flag (issue 17 #11)
  const { dataset, skipped } = await loadImageFolder(root, { skipBad: true });
  assert.deepEqual(skipped.map((s) => s.file), ['bad/junk.png']);
  assert.ok(skipped[0].reason.length > 0);
  assert.deepEqual(dataset.ids, ['ok/good.png', 'ok/good2.jpg']);
  assert.deepEqual(dataset.classes, ['ok'], 'a class whose only image was skipped disappears');
  assert.deepEqual(Array.from(dataset.y), [0, 0]);
});

test('a truncated JPEG (valid header, broken data) fails at decode and is skipped with skipBad', async () => {
  const root = await tempDir();
  await makeImage(join(root, 'a.png'), 16, 16, GRAY);
  const jpeg = await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 10, g: 200, b: 30 } } }).jpeg().toBuffer();
  await writeFile(join(root, 'b.jpg'), jpeg.subarray(0, Math.floor(jpeg.length / 2)));
  await rejectsWith(loadImageFolder(root), 'b.jpg', 'cannot decode image');
  const { dataset, skipped } = await loadImageFolder(root, { skipBad: true });
  assert.deepEqual(skipped.map((s) => s.file), ['b.jpg']);
  assert.equal(dataset.size, 1);
  assert.deepEqual(dataset.inputShape, [16, 16, 1]);
});

test('empty, missing and image-less folders are clear errors', async () => {
  const root = await tempDir();
  await rejectsWith(loadImageFolder(root), root, 'no images (.png, .jpg, .jpeg, .webp, .gif) found');
  await writeFile(join(root, 'readme.txt'), 'hi');
  await rejectsWith(loadImageFolder(root), 'no images');
  await rejectsWith(loadImageFolder(join(root, 'nope')), 'nope', 'folder not found');
  await rejectsWith(loadImageFolder(join(root, 'readme.txt')), 'is a file');
});

test('all files failing with skipBad is still an error', async () => {
  const root = await tempDir();
  await writeFile(join(root, 'x.png'), 'nope');
  await rejectsWith(loadImageFolder(root, { skipBad: true }), 'none of the 1 images could be decoded', 'x.png');
});

test("top-level images next to class folders are ambiguous; labels: 'none' loads them all unlabeled", async () => {
  const root = await tempDir();
  await makeImage(join(root, 'loose.png'), 4, 4, GRAY);
  await makeImage(join(root, 'cls', 'in.png'), 4, 4, GRAY);
  await rejectsWith(loadImageFolder(root), 'mixes images at the top level (e.g. loose.png)', 'cls/in.png');
  const { dataset } = await loadImageFolder(root, { labels: 'none' });
  assert.deepEqual(dataset.ids, ['cls/in.png', 'loose.png']);
  assert.deepEqual(Array.from(dataset.y), [-1, -1]);
});

test('symlinked files are followed, symlinked folders are not', async () => {
  const root = await tempDir();
  const elsewhere = await tempDir();
  await makeImage(join(elsewhere, 'real.png'), 4, 4, GRAY);
  await makeImage(join(root, 'own.png'), 4, 4, GRAY);
  await symlink(join(elsewhere, 'real.png'), join(root, 'linked.png'));
  await symlink(elsewhere, join(root, 'linkdir'));
  const { dataset } = await loadImageFolder(root);
  assert.deepEqual(dataset.ids, ['linked.png', 'own.png']);
});

test('bad options are rejected before reading anything', async () => {
  await rejectsWith(loadImageFolder('/nonexistent', { size: 0 }), 'size must be a positive integer');
  await rejectsWith(loadImageFolder('/nonexistent', { size: 2.5 }), 'size must be a positive integer');
  await rejectsWith(loadImageFolder('/nonexistent', { resize: 'zoom' as never }), 'resize must be one of crop, stretch, pad');
  await rejectsWith(loadImageFolder('/nonexistent', { channels: 2 as never }), "channels must be 1, 3 or 'infer'");
});

async function csvFolder(): Promise<string> {
  const root = await tempDir();
  await makeImage(join(root, 'img', 'a.png'), 4, 4, GRAY);
  await makeImage(join(root, 'img', 'b.png'), 4, 4, GRAY);
  await makeImage(join(root, 'img', 'c, d.png'), 4, 4, GRAY);
  await makeImage(join(root, 'img', 'e.png'), 4, 4, GRAY);
  await makeImage(join(root, 'f.png'), 4, 4, GRAY);
  return root;
}

test('CSV labels: header in any order, quoted names, empty label and unlisted files are unlabeled', async () => {
  const root = await csvFolder();
  await writeFile(join(root, 'labels.csv'), '\ufefflabel,file\r\nshoe,img/a.png\r\nbag,./img/b.png\r\n\r\nshoe,"img/c, d.png"\r\n,img/e.png\r\n');
  const { dataset } = await loadImageFolder(root, { csv: 'labels.csv' });
  assert.deepEqual(dataset.ids, ['f.png', 'img/a.png', 'img/b.png', 'img/c, d.png', 'img/e.png']);
  assert.deepEqual(dataset.classes, ['bag', 'shoe']);
  assert.deepEqual(Array.from(dataset.y), [-1, 1, 0, 1, -1]);
});

test('CSV errors: missing header, unknown columns, missing files and duplicates name the line', async () => {
  const root = await csvFolder();
  const write = (text: string) => writeFile(join(root, 'l.csv'), text);
  const csv = join(root, 'l.csv');

  await write('img/a.png,shoe\n');
  await rejectsWith(loadImageFolder(root, { csv: 'l.csv' }), `${csv} line 1`, "header must name the columns 'file' and 'label'");

  await write('file,label,weight\nimg/a.png,shoe,2\n');
  await rejectsWith(loadImageFolder(root, { csv: 'l.csv' }), "unknown column(s) 'weight'");

  await write('file,label\nimg/a.png,shoe\n\nimg/zzz.png,bag\n');
  await rejectsWith(loadImageFolder(root, { csv: 'l.csv' }), `${csv} line 4`, 'img/zzz.png: no such image');

  await write('file,label\nimg/a.png,shoe\nimg/b.png,bag\nimg/a.png,bag\n');
  await rejectsWith(loadImageFolder(root, { csv: 'l.csv' }), `${csv} line 4`, 'duplicate row for img/a.png (first on line 2)');

  await write('file,label\nimg/a.png,shoe,extra\n');
  await rejectsWith(loadImageFolder(root, { csv: 'l.csv' }), 'line 2', 'expected 2 fields');

  await write('file,label\n"img/a.png,shoe\n');
  await rejectsWith(loadImageFolder(root, { csv: 'l.csv' }), 'line 2', 'unterminated quoted field');

  await rejectsWith(loadImageFolder(root, { csv: 'missing.csv' }), 'missing.csv', 'label file not found');
});
