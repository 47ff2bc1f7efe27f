/** The fast PNG decoder against sharp/libvips as the reference, and its refusals of damaged files. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { decodePng, pngSize } from '../../src/clean/png.js';

function noise(n: number, seed: number): Buffer {
  const out = Buffer.alloc(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    // Smooth-ish content so the encoder uses every filter type, not only 'none'.
    out[i] = (i % 7 < 3 ? (s >>> 24) : (i * 3) & 0xff) & 0xff;
  }
  return out;
}

async function png(channels: 1 | 2 | 3 | 4, w = 13, h = 9, opts: sharp.PngOptions = {}): Promise<{ file: Buffer; raw: Buffer }> {
  const raw = noise(w * h * channels, channels * 7 + w);
  const file = await sharp(raw, { raw: { width: w, height: h, channels } }).png(opts).toBuffer();
  return { file, raw };
}

test('decodes gray and RGB PNGs to the same bytes as libvips, for every filter choice', async () => {
  for (const channels of [1, 3] as const) {
    for (const adaptiveFiltering of [false, true]) {
      const { file } = await png(channels, 13, 9, { adaptiveFiltering, compressionLevel: 9 });
      const ref = await sharp(file).raw().toBuffer({ resolveWithObject: true });
      const got = decodePng(file)!;
      assert.equal(got.channels, ref.info.channels);
      assert.deepEqual([got.width, got.height], [13, 9]);
      assert.deepEqual(Buffer.from(got.pixels), ref.data);
    }
  }
});

test('alpha is flattened onto black (value * alpha / 255), as the dataset loader does', async () => {
  const { file, raw } = await png(4, 5, 4);
  const got = decodePng(file)!;
  assert.equal(got.channels, 3);
  for (let p = 0; p < 20; p++) {
    for (let c = 0; c < 3; c++) assert.equal(got.pixels[p * 3 + c], Math.round((raw[p * 4 + c] * raw[p * 4 + 3]) / 255));
  }
});

test('damaged files are errors that say what is wrong; unsupported PNGs return undefined', async () => {
  const { file } = await png(1, 20, 20);
  assert.throws(() => decodePng(file.subarray(0, file.length - 20)), /truncated/);
  const flipped = Buffer.from(file);
  flipped[file.indexOf('IDAT') + 6] ^= 0xff; // a data byte inside IDAT
  assert.throws(() => decodePng(flipped), /bad CRC in chunk IDAT/);
  assert.throws(() => decodePng(Buffer.from('GIF89a.....................................')), /not a PNG/);
  assert.deepEqual(pngSize(file), { width: 20, height: 20 });
  const palette = await sharp(noise(400 * 3, 1), { raw: { width: 20, height: 20, channels: 3 } }).png({ palette: true }).toBuffer();
  assert.equal(decodePng(palette), undefined);
});
