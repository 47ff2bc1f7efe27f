/**
 * The WAV reader against files written by scripts/fixtures/audio.py (Python struct, not our writer) in every
 * supported layout, the writer against the reader and those files' bytes, and every malformed or unsupported
 * file: each is an error that says what is wrong and where.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { UlearnError } from '../../src/errors.js';
import { decodeWav, encodeWav, readWav, writeWav } from '../../src/data/wav.js';
import { data, fixtureIndex, fmt, maxAbsDiff, readF32, readFixture, riff } from './audio-fixtures.js';
import { tempDir } from './fixtures.js';

test('every fixture layout decodes to the mean of its channels (PCM 8/16/24/32, float 32/64, extensible, 1-6 channels)', () => {
  const layouts = new Set<string>();
  for (const f of fixtureIndex.wav) {
    const wav = decodeWav(readFixture(f.file));
    assert.equal(wav.sampleRate, f.sampleRate, f.file);
    assert.equal(wav.channels, f.channels, f.file);
    assert.equal(wav.encoding, f.encoding, f.file);
    assert.equal(wav.bitsPerSample, f.bitsPerSample, f.file);
    assert.equal(wav.samples.length, f.frames, f.file);
    // The same float64 mean rounded to float32 on both sides: equal up to one float32 rounding step.
    assert.ok(maxAbsDiff(wav.samples, readF32(f.mono)) <= 1e-7, `${f.file}: ${maxAbsDiff(wav.samples, readF32(f.mono))}`);
    layouts.add(`${f.encoding}${f.bitsPerSample}`);
  }
  assert.deepEqual([...layouts].sort(), ['float32', 'float64', 'pcm16', 'pcm24', 'pcm32', 'pcm8']);
  assert.ok(fixtureIndex.wav.some((f) => f.channels === 6) && fixtureIndex.wav.some((f) => f.file.startsWith('ext-')));
});

test('the writer: 16-bit output is byte-identical to an independent writer; both formats read back', async () => {
  const clip = readFixture('clip-voiced.wav');
  const samples = decodeWav(clip).samples;
  assert.deepEqual(encodeWav(samples, 16000, 'pcm16'), new Uint8Array(clip));

  const x = Float32Array.from([0, 0.5, -0.5, 1, -1, 0.123456, 2, -3]);
  const pcm = decodeWav(encodeWav(x, 8000, 'pcm16'));
  assert.equal(pcm.sampleRate, 8000);
  // Rounded to 1/32768 steps; values beyond [-1, 1) are clipped.
  assert.deepEqual(Array.from(pcm.samples), [0, 0.5, -0.5, 32767 / 32768, -1, Math.round(0.123456 * 32768) / 32768, 32767 / 32768, -1]);
  const float = decodeWav(encodeWav(x, 44100, 'float32'));
  assert.deepEqual(float.samples, x);
  assert.equal(float.encoding, 'float');

  const dir = await tempDir();
  await writeWav(join(dir, 'a.wav'), x, 22050, 'float32');
  assert.deepEqual((await readWav(join(dir, 'a.wav'))).samples, x);
  assert.throws(() => encodeWav(Float32Array.from([0, NaN]), 16000), /sample 1 is NaN/);
  assert.throws(() => encodeWav(x, 0), /sample rate must be a positive integer/);
});

test('chunks before and after the data are skipped, with the pad byte after an odd size', () => {
  const pcm = new Int16Array([100, -200, 300]);
  const bytes = riff([{ id: 'JUNK', body: new Uint8Array(3) }, fmt({}), { id: 'LIST', body: new Uint8Array([73, 78, 70, 79, 120]) }, data(pcm), { id: 'id3 ', body: new Uint8Array(7) }]);
  assert.deepEqual(Array.from(decodeWav(bytes).samples), [100 / 32768, -200 / 32768, 300 / 32768]);
  // A trailing partial frame is dropped; junk after the data chunk is never read.
  const partial = riff([fmt({ channels: 2 }), data(new Int16Array([1, 2, 3]))]);
  assert.equal(decodeWav(new Uint8Array([...partial, 1, 2, 3])).samples.length, 1);
  // 24-bit: the sign comes from the top byte.
  const s24 = riff([fmt({ bits: 24 }), data([0xff, 0xff, 0xff, 0x00, 0x00, 0x80, 0xff, 0xff, 0x7f])]);
  assert.deepEqual(Array.from(decodeWav(s24).samples), [-1 / 8388608, -1, 8388607 / 8388608]);
  // 8-bit is unsigned around 128.
  assert.deepEqual(Array.from(decodeWav(riff([fmt({ bits: 8 }), data([0, 128, 255])])).samples), [-1, 0, 127 / 128]);
});

test('each malformed or unsupported file is an error saying what is wrong and where', () => {
  const good = riff([fmt({}), data(new Int16Array(8))]);
  const float = (values: number[], bits: 32 | 64) => data(bits === 32 ? new Float32Array(values) : new Float64Array(values));
  const extensible = (code: number) => {
    const b = new DataView(new ArrayBuffer(40));
    b.setUint16(0, 0xfffe, true);
    b.setUint16(2, 1, true);
    b.setUint32(4, 8000, true);
    b.setUint32(8, 16000, true);
    b.setUint16(12, 2, true);
    b.setUint16(14, 16, true);
    b.setUint16(16, 22, true);
    b.setUint16(24, code, true);
    [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71].forEach((v, i) => b.setUint8(26 + i, v));
    return { id: 'fmt ', body: new Uint8Array(b.buffer) };
  };
  const cases: [string, Uint8Array, RegExp][] = [
    ['empty file', new Uint8Array(0), /truncated header: the file has 0 bytes/],
    ['short header', good.subarray(0, 10), /truncated header: the file has 10 bytes, a WAV file starts with a 12-byte RIFF header/],
    ['not RIFF', new TextEncoder().encode('ID3\x04 this is an mp3 file'), /not a WAV file: it starts with "ID3\\u0004"/],
    ['RIFX', riff([fmt({}), data(new Int16Array(2))], 'RIFX'), /big-endian WAV \(RIFX\) is not supported/],
    ['cut in the data', good.subarray(0, good.length - 5), /truncated: the data chunk at byte 36 declares 16 bytes, but the file ends 11 bytes after its header/],
    ['cut in a chunk header', good.subarray(0, 40), /truncated: the chunk header at byte 36 is cut off by the end of the file \(byte 40\)/],
    ['cut in a chunk before the data', riff([fmt({}), { id: 'LIST', body: new Uint8Array(4), size: 400 }]), /truncated: chunk "LIST" at byte 36 declares 400 bytes, but the file ends at byte 48/],
    ['no samples', riff([fmt({}), data([])]), /no samples: the data chunk is empty/],
    ['no data chunk', riff([fmt({})]), /no data chunk \(the chunks end at byte 36\)/],
    ['no fmt chunk', riff([{ id: 'LIST', body: new Uint8Array(4) }]), /no fmt chunk/],
    ['data before fmt', riff([data(new Int16Array(2)), fmt({})]), /the data chunk at byte 12 comes before the fmt chunk/],
    ['mu-law', riff([fmt({ tag: 7, bits: 8 }), data([1, 2])]), /unsupported codec: mu-law \(format tag 0x0007\); only PCM and IEEE float WAV are read/],
    ['ADPCM', riff([fmt({ tag: 2, bits: 4, blockAlign: 256 }), data([1, 2])]), /unsupported codec: Microsoft ADPCM \(format tag 0x0002\)/],
    ['extensible ADPCM', riff([extensible(0x11), data([1, 2])]), /unsupported codec: IMA ADPCM \(format tag 0x0011\)/],
    ['unknown codec', riff([fmt({ tag: 0x1234 }), data([1, 2])]), /unsupported codec: an unknown codec \(format tag 0x1234\)/],
    ['12-bit PCM', riff([fmt({ bits: 12, blockAlign: 2 }), data([1, 2])]), /unsupported sample size: 12-bit PCM \(supported: 8, 16, 24, 32 bits\)/],
    ['16-bit float', riff([fmt({ tag: 3, bits: 16 }), data([1, 2])]), /unsupported sample size: 16-bit float \(supported: 32, 64 bits\)/],
    ['zero channels', riff([fmt({ channels: 0, blockAlign: 0 }), data([1, 2])]), /declares 0 channels/],
    ['zero rate', riff([fmt({ rate: 0 }), data([1, 2])]), /sample rate of 0/],
    ['wrong block align', riff([fmt({ channels: 2, blockAlign: 2 }), data([1, 2, 3, 4])]), /declares 2 bytes per frame, but 2 channel\(s\) of 16 bits take 4/],
    ['short fmt', riff([{ id: 'fmt ', body: new Uint8Array(12) }, data([1, 2])]), /the fmt chunk at byte 12 has 12 bytes, expected at least 16/],
    ['NaN float32', riff([fmt({ tag: 3, bits: 32 }), float([0, 0.5, NaN], 32)]), /sample 2 at byte 52 is NaN; a WAV file must hold finite numbers/],
    ['infinite float64', riff([fmt({ tag: 3, bits: 64, channels: 2 }), float([0, 0, 0, -Infinity], 64)]), /sample 1 \(channel 1\) at byte 68 is -Infinity/],
  ];
  for (const [what, bytes, message] of cases) assert.throws(() => decodeWav(bytes), message, what);
  assert.doesNotThrow(() => decodeWav(good));
  assert.doesNotThrow(() => decodeWav(riff([extensible(1), data([1, 2])])));
});

test('readWav names the file in its errors', async () => {
  const dir = await tempDir();
  const path = join(dir, 'cut.wav');
  const good = riff([fmt({}), data(new Int16Array(8))]);
  await writeFile(path, good.subarray(0, 48));
  await assert.rejects(readWav(path), (e: unknown) => e instanceof UlearnError && e.code === 'E_DATA' && e.message.startsWith(`${path}: truncated: the data chunk at byte 36`));
  await assert.rejects(readWav(join(dir, 'none.wav')), (e: unknown) => e instanceof UlearnError && e.message === `${join(dir, 'none.wav')}: file not found`);
});
