/**
 * Decompression bombs (issue 17 #5): an image is refused by the dimensions in its header before any pixel is
 * inflated, a gzipped IDX file is inflated no further than its header declares, and an IDX label far past
 * any plausible class count is an error, not a 2^31-entry class list.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32, deflateSync, gzipSync } from 'node:zlib';
import sharp from 'sharp';
import { UlearnError } from '../../src/errors.js';
import { loadIdxPair, readIdx } from '../../src/data/idx.js';
import { loadImageFolder } from '../../src/data/image-folder.js';
import { MAX_IMAGE_PIXELS } from '../../src/data/image-decode.js';
import { decodePng } from '../../src/clean/png.js';
import { scanImageFolders } from '../../src/clean/scan.js';
import { encodeIdx, tempDir } from './fixtures.js';

/** A valid gray 8-bit PNG of any declared size whose rows are all zero: tiny on disk, width*height in memory. */
function zeroPng(width: number, height: number, rows = height): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), 8 + data.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // depth
  ihdr[9] = 0; // gray
  // Deflate one zero row, repeated: a stored copy of `rows` rows would be as big as the image.
  const raw = deflateSync(Buffer.alloc(rows * (width + 1)), { level: 9 });
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', raw), chunk('IEND', Buffer.alloc(0))]);
}

const refused = (re: RegExp) => (e: unknown) => {
  assert.ok(e instanceof Error, String(e));
  assert.match(e.message, re);
  return true;
};

// 12000 x 12000 = 144 Mpx: over ulearn's limit, under sharp's default (268 Mpx), so only our check stops it.
const BIG = 12_000;

test('the pixel limit is below sharp’s default and the bomb is over it', () => {
  assert.ok(BIG * BIG > MAX_IMAGE_PIXELS && BIG * BIG < 268_402_689);
});

test('the fast PNG decoder refuses an oversized image from its header, before inflating', () => {
  const bomb = zeroPng(BIG, BIG, 1); // one row of data: only the header can tell the size
  assert.throws(() => decodePng(bomb), refused(/pixel limit/));
});

test('clean’s scan marks an oversized PNG unreadable by its header and reads the rest', async () => {
  const dir = await tempDir();
  await writeFile(join(dir, 'bomb.png'), zeroPng(BIG, BIG, 1));
  for (const i of [1, 2]) await sharp({ create: { width: 6, height: 6, channels: 3, background: { r: 90, g: 90, b: 90 } } }).png().toFile(join(dir, `ok${i}.png`));
  const s = await scanImageFolders({ train: dir });
  const bomb = s.ids.indexOf('bomb.png');
  assert.match(s.readError.get(bomb) ?? '', /pixel limit/);
  assert.equal(s.readError.size, 1);
});

test('the image-folder loader refuses an oversized image with the file and the limit', async () => {
  const dir = await tempDir();
  await writeFile(join(dir, 'bomb.png'), zeroPng(BIG, BIG, 1));
  await assert.rejects(loadImageFolder(dir, { size: 8 }), (e: unknown) => e instanceof UlearnError && /bomb\.png/.test(e.message) && /pixel limit/.test(e.message));
  await assert.rejects(loadImageFolder(dir), (e: unknown) => e instanceof UlearnError && /pixel limit/.test(e.message));
});

test('a gzipped IDX file is inflated no further than its header declares', async () => {
  const dir = await tempDir();
  // Header: 10 bytes of uint8; payload: 10 bytes, then 32 MiB of zeros (compresses to ~32 KiB).
  const head = encodeIdx('uint8', [10], new Uint8Array(10));
  const p = join(dir, 'bomb-idx1-ubyte.gz');
  await writeFile(p, gzipSync(Buffer.concat([head, Buffer.alloc(32 * 2 ** 20)]), { level: 1 }));
  const before = process.memoryUsage().arrayBuffers;
  await assert.rejects(readIdx(p), (e: unknown) => e instanceof UlearnError && /inflates past the 18 bytes its header declares/.test(e.message));
  // Not a timing: the inflated data must never have been held (32 MiB would show in arrayBuffers).
  assert.ok(process.memoryUsage().arrayBuffers - before < 16 * 2 ** 20);
  // Exactly the declared size still loads.
  await writeFile(p, gzipSync(head));
  assert.deepEqual((await readIdx(p)).shape, [10]);
});

test('an IDX label of 2^31-1 is an error naming it, at once', async () => {
  const dir = await tempDir();
  await writeFile(join(dir, 'x'), encodeIdx('uint8', [2, 2, 2], new Uint8Array(8)));
  await writeFile(join(dir, 'y'), encodeIdx('int32', [2], [0, 2 ** 31 - 1]));
  await assert.rejects(loadIdxPair(join(dir, 'x'), join(dir, 'y'), { name: 't', split: 'train' }), (e: unknown) => e instanceof UlearnError && /2147483647/.test(e.message) && /sample 1/.test(e.message));
});
