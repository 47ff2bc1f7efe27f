import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UlearnError } from '../../src/errors.js';
import { loadIdxPair, parseIdx, readIdx } from '../../src/data/idx.js';
import { encodeIdx, tempDir, type Dtype } from './fixtures.js';

const cases: [Dtype, number[]][] = [
  ['uint8', [0, 1, 127, 128, 255, 3]],
  ['int8', [-128, -1, 0, 1, 127, 5]],
  ['int16', [-32768, -2, 258, 0, 32767, 7]],
  ['int32', [-2147483648, -5, 16909060, 0, 2147483647, 9]],
  ['float32', [-1.5, 0, 0.25, 2 ** 40, -7.125, 1]],
  ['float64', [Math.PI, -Math.E, 0, 1e-300, 1e300, -0.1]],
];

for (const gzip of [false, true]) {
  for (const [dtype, values] of cases) {
    test(`round-trips ${dtype} [2, 3] (${gzip ? 'gzipped' : 'raw'})`, async () => {
      const dir = await tempDir();
      const path = join(dir, `a-${dtype}.idx${gzip ? '.gz' : ''}`);
      await writeFile(path, encodeIdx(dtype, [2, 3], values, { gzip }));
      const arr = await readIdx(path);
      assert.equal(arr.dtype, dtype);
      assert.deepEqual(arr.shape, [2, 3]);
      assert.deepEqual(Array.from(arr.data), values);
    });
  }
}

test('gzip is detected by magic, not by file name', async () => {
  const dir = await tempDir();
  const path = join(dir, 'no-extension');
  await writeFile(path, encodeIdx('int16', [2], [258, -3], { gzip: true }));
  assert.deepEqual(Array.from((await readIdx(path)).data), [258, -3]);
});

function throwsUlearn(fn: () => unknown, ...parts: (string | RegExp)[]): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof UlearnError, `expected a UlearnError, got ${String(err)}`);
    for (const p of parts) {
      if (typeof p === 'string') assert.ok(err.message.includes(p), `message ${JSON.stringify(err.message)} lacks ${JSON.stringify(p)}`);
      else assert.match(err.message, p);
    }
    return true;
  });
}

test('wrong magic names the file, the offset and the expected bytes', () => {
  const bytes = encodeIdx('uint8', [2], [1, 2]);
  bytes[0] = 0x50;
  bytes[1] = 0x4b;
  throwsUlearn(() => parseIdx(bytes, 'x/labels.idx'), 'x/labels.idx', 'bytes 0-1 are 50 4b', 'expected the magic 00 00');
});

test('unknown dtype code is reported with its offset', () => {
  const bytes = encodeIdx('uint8', [2], [1, 2]);
  bytes[2] = 0x0a;
  throwsUlearn(() => parseIdx(bytes, 'f.idx'), 'f.idx', 'unknown IDX dtype code 0x0a', 'byte offset 2');
});

test('truncated data says expected vs actual byte count', () => {
  const bytes = encodeIdx('int16', [3, 4], new Array(12).fill(1)); // 4 + 8 header + 24 data = 36 bytes
  throwsUlearn(() => parseIdx(bytes.subarray(0, 30), 'img.idx'), 'img.idx', 'truncated IDX data', 'needs 36 bytes', 'the file has 30');
});

test('truncated header is reported', () => {
  const bytes = encodeIdx('uint8', [3, 4, 5], new Array(60).fill(0));
  throwsUlearn(() => parseIdx(bytes.subarray(0, 10), 'h.idx'), 'truncated IDX header', 'need 16 header bytes', 'has 10');
});

test('trailing bytes after the data are an error', () => {
  const bytes = Buffer.concat([encodeIdx('uint8', [2], [1, 2]), Buffer.from([9, 9, 9])]);
  throwsUlearn(() => parseIdx(bytes, 'long.idx'), '3 unexpected bytes', 'byte offset 10');
});

test('missing file and corrupt gzip are UlearnErrors naming the file', async () => {
  const dir = await tempDir();
  await assert.rejects(readIdx(join(dir, 'nope.gz')), (err: unknown) => err instanceof UlearnError && err.message.includes('nope.gz') && /not found/.test(err.message));
  const gz = encodeIdx('uint8', [100], new Array(100).fill(7), { gzip: true });
  const bad = join(dir, 'cut.gz');
  await writeFile(bad, gz.subarray(0, gz.length - 12));
  await assert.rejects(readIdx(bad), (err: unknown) => err instanceof UlearnError && err.message.includes('cut.gz') && err.message.includes('corrupt gzip'));
});

test('loadIdxPair scales uint8 images to [0, 1] with shape [H, W, 1]', async () => {
  const dir = await tempDir();
  const pixels = Array.from({ length: 3 * 2 * 2 }, (_, i) => (i * 23) % 256);
  pixels[0] = 255;
  await writeFile(join(dir, 'img.gz'), encodeIdx('uint8', [3, 2, 2], pixels, { gzip: true }));
  await writeFile(join(dir, 'lab'), encodeIdx('uint8', [3], [2, 0, 1]));
  const ds = await loadIdxPair(join(dir, 'img.gz'), join(dir, 'lab'), { name: 'tiny/train', split: 'train' });
  assert.equal(ds.size, 3);
  assert.deepEqual(ds.inputShape, [2, 2, 1]);
  assert.deepEqual(ds.classes, ['0', '1', '2']);
  assert.deepEqual(Array.from(ds.y), [2, 0, 1]);
  assert.deepEqual(ds.ids, ['0', '1', '2']);
  assert.equal(ds.x[0], 1);
  assert.ok(Math.abs(ds.x[5] - pixels[5] / 255) < 1e-7);
  assert.equal(ds.modality, 'image');
  assert.equal(ds.split, 'train');
});

test('loadIdxPair checks counts, label range and image dtype', async () => {
  const dir = await tempDir();
  await writeFile(join(dir, 'img'), encodeIdx('uint8', [3, 2, 2], new Array(12).fill(0)));
  await writeFile(join(dir, 'lab2'), encodeIdx('uint8', [2], [0, 1]));
  await writeFile(join(dir, 'lab3'), encodeIdx('uint8', [3], [0, 1, 5]));
  await writeFile(join(dir, 'img16'), encodeIdx('int16', [3, 2, 2], new Array(12).fill(0)));
  await assert.rejects(loadIdxPair(join(dir, 'img'), join(dir, 'lab2'), { name: 't', split: 'train' }), /has 2 labels but .*img has 3 images/);
  await assert.rejects(
    loadIdxPair(join(dir, 'img'), join(dir, 'lab3'), { name: 't', split: 'train', classes: ['a', 'b', 'c'] }),
    /label 5 of sample 2 is outside 0..2/,
  );
  await assert.rejects(loadIdxPair(join(dir, 'img16'), join(dir, 'lab3'), { name: 't', split: 'train' }), /dtype int16 are not supported/);
  await assert.rejects(loadIdxPair(join(dir, 'lab3'), join(dir, 'img'), { name: 't', split: 'train' }), /expected images of shape/);
});
