/**
 * Folders of audio clips as datasets: labels as for image folders (subfolders, a `file,label` CSV, none),
 * every file resampled to 16 kHz and brought to the clip length by the stated policy (centre crop, symmetric
 * zero padding), and bad files: an error naming the file and the problem, or skipped and listed with
 * skipBad. Also through `loadDataset` (a folder path with audio in it is an audio folder) and the CLI.
 */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { UlearnError } from '../../src/errors.js';
import { fitClip, loadAudioFolder } from '../../src/data/audio-folder.js';
import { loadDataset } from '../../src/data/load.js';
import { resample } from '../../src/data/resample.js';
import { encodeWav } from '../../src/data/wav.js';
import { ulearn } from '../cli/run-cli.js';
import { data, fmt, riff } from './audio-fixtures.js';
import { tempDir } from './fixtures.js';

async function put(path: string, bytes: Uint8Array | string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, bytes);
}

/** A float32 WAV of `n` samples at `rate`, sample i = value(i). */
const clip = (n: number, rate: number, value: (i: number) => number = () => 0.25) => encodeWav(Float32Array.from({ length: n }, (_, i) => value(i)), rate, 'float32');

async function rejectsWith(p: Promise<unknown>, ...parts: string[]): Promise<UlearnError> {
  let caught: unknown;
  await assert.rejects(p, (err: unknown) => ((caught = err), true));
  assert.ok(caught instanceof UlearnError, `expected a UlearnError, got ${String(caught)}`);
  for (const part of parts) assert.ok(caught.message.includes(part), `message ${JSON.stringify(caught.message)} lacks ${JSON.stringify(part)}`);
  return caught;
}

test('class subfolders give labels; every clip is 16 kHz and one second long', async () => {
  const root = await tempDir();
  await put(join(root, 'yes', 'a.wav'), clip(16000, 16000));
  await put(join(root, 'yes', 'deep', 'b.WAV'), clip(44100, 44100));
  await put(join(root, 'no', 'c.wav'), clip(4000, 8000));
  await put(join(root, '10', 'd.wav'), clip(20000, 16000));
  await put(join(root, 'no', 'notes.txt'), 'not audio');
  await put(join(root, '.trash', 'e.wav'), clip(100, 16000));
  const { dataset: ds, skipped } = await loadAudioFolder(root);
  assert.deepEqual(skipped, []);
  assert.equal(ds.modality, 'audio');
  assert.deepEqual(ds.inputShape, [16000]);
  assert.deepEqual(ds.ids, ['10/d.wav', 'no/c.wav', 'yes/a.wav', 'yes/deep/b.WAV']);
  assert.deepEqual(ds.classes, ['10', 'no', 'yes']);
  assert.deepEqual(Array.from(ds.y), [0, 1, 2, 2]);
  assert.equal(ds.x.length, 4 * 16000);
  // c.wav: half a second at 8 kHz = 8000 samples at 16 kHz, centred: 4000 zeros on each side.
  const c = ds.x.subarray(16000, 32000);
  assert.deepEqual(c.subarray(0, 4000), new Float32Array(4000));
  assert.deepEqual(c.subarray(12000), new Float32Array(4000));
  assert.deepEqual(c, fitClip(resample(Float32Array.from({ length: 4000 }, () => 0.25), 8000, 16000), 16000));
  assert.ok(Math.abs(c[8000] - 0.25) < 1e-3, 'a constant stays that constant once resampled');
  assert.equal(ds.split, 'train');
  assert.equal(ds.name, root.split('/').pop());
});

test('the clip-length policy: centre crop, symmetric zero padding (an odd sample at the end)', async () => {
  const ramp = (n: number) => Float32Array.from({ length: n }, (_, i) => i + 1);
  assert.deepEqual(Array.from(fitClip(ramp(7), 4)), [2, 3, 4, 5]); // 3 cut: 1 before, 2 after
  assert.deepEqual(Array.from(fitClip(ramp(3), 6)), [0, 1, 2, 3, 0, 0]); // 3 added: 1 before, 2 after
  assert.deepEqual(Array.from(fitClip(ramp(4), 4)), [1, 2, 3, 4]);
  // Through the loader, with a half-second clip length: a 1.5 s ramp keeps its middle.
  const root = await tempDir();
  await put(join(root, 'long.wav'), clip(24000, 16000, (i) => i / 24000));
  const { dataset } = await loadAudioFolder(root, { seconds: 0.5 });
  assert.deepEqual(dataset.inputShape, [8000]);
  assert.equal(dataset.x[0], Math.fround(8000 / 24000));
  assert.equal(dataset.x[7999], Math.fround(15999 / 24000));
  await rejectsWith(loadAudioFolder(root, { seconds: 0 }), 'clip length must be a whole number of 16 kHz samples');
  await rejectsWith(loadAudioFolder(root, { seconds: 1 / 3 }), 'clip length must be a whole number of 16 kHz samples');
});

test("labels from labels.csv or a named csv (unlisted files unlabeled); labels: 'none'; the csv must name audio files", async () => {
  const root = await tempDir();
  await put(join(root, 'a.wav'), clip(800, 16000));
  await put(join(root, 'b.wav'), clip(800, 16000));
  await put(join(root, 'sub', 'c.wav'), clip(800, 16000));
  await put(join(root, 'labels.csv'), 'file,label\na.wav,stop\nsub/c.wav,go\n');
  const { dataset } = await loadAudioFolder(root);
  assert.deepEqual(dataset.ids, ['a.wav', 'b.wav', 'sub/c.wav']);
  assert.deepEqual(dataset.classes, ['go', 'stop']);
  assert.deepEqual(Array.from(dataset.y), [1, -1, 0]);
  const none = await loadAudioFolder(root, { labels: 'none' });
  assert.deepEqual(Array.from(none.dataset.y), [-1, -1, -1]);
  await put(join(root, 'other.csv'), 'file,label\nb.wav,go\nzz.png,stop\n');
  await rejectsWith(loadAudioFolder(root, { csv: 'other.csv' }), 'other.csv line 3: zz.png: not a .wav/.mp3/.ogg/.flac audio file');
  await rejectsWith(loadAudioFolder(root, { labels: 'none', csv: 'other.csv' }), "labels: 'none' and a label csv contradict each other");
  const loose = await tempDir();
  await put(join(loose, 'top.wav'), clip(800, 16000));
  await put(join(loose, 'cls', 'in.wav'), clip(800, 16000));
  await rejectsWith(loadAudioFolder(loose), 'mixes audio files at the top level (e.g. top.wav)', 'cls/in.wav');
});

/** Every kind of bad file, by name. */
const BAD: Record<string, Uint8Array | string> = {
  'cut.wav': riff([fmt({}), data(new Int16Array(100))]).subarray(0, 60),
  'empty.wav': riff([fmt({}), data([])]),
  'header.wav': 'RIFF',
  'mulaw.wav': riff([fmt({ tag: 7, bits: 8 }), data([1, 2, 3])]),
  'nan.wav': riff([fmt({ tag: 3, bits: 32 }), data(new Float32Array([0, NaN]))]),
  'song.mp3': 'ID3 not decoded here',
};
const REASONS: Record<string, string> = {
  'cut.wav': 'truncated: the data chunk at byte 36 declares 200 bytes',
  'empty.wav': 'no samples',
  'header.wav': 'truncated header: the file has 4 bytes',
  'mulaw.wav': 'unsupported codec: mu-law (format tag 0x0007)',
  'nan.wav': 'sample 1 at byte 48 is NaN',
  'song.mp3': 'MP3 is not decoded, only WAV; convert it, e.g. ffmpeg -i song.mp3 -ar 16000 song.wav',
};

test('each bad file is an error naming the file and the problem', async () => {
  for (const [name, bytes] of Object.entries(BAD)) {
    const root = await tempDir();
    await put(join(root, 'ok', 'good.wav'), clip(1600, 16000));
    await put(join(root, 'ok', name), bytes);
    const err = await rejectsWith(loadAudioFolder(root), `${join(root, 'ok', name)}: cannot read audio: ${REASONS[name]}`);
    assert.equal(err.code, 'E_DATA');
    assert.match(err.hint ?? '', /skipBad/);
  }
});

test('skipBad leaves bad files out and lists them in path order; a class left empty is dropped', async () => {
  const root = await tempDir();
  await put(join(root, 'good', 'a.wav'), clip(1600, 16000));
  await put(join(root, 'good', 'b.wav'), clip(1600, 22050));
  for (const [name, bytes] of Object.entries(BAD)) await put(join(root, 'bad', name), bytes);
  const { dataset, skipped } = await loadAudioFolder(root, { skipBad: true, concurrency: 3 });
  assert.deepEqual(dataset.ids, ['good/a.wav', 'good/b.wav']);
  assert.deepEqual(dataset.classes, ['good']);
  assert.deepEqual(Array.from(dataset.y), [0, 0]);
  assert.deepEqual(skipped.map((s) => s.file), Object.keys(BAD).map((n) => `bad/${n}`));
  skipped.forEach((s) => assert.ok(s.reason.startsWith(REASONS[s.file.slice(4)]), `${s.file}: ${s.reason}`));

  const allBad = await tempDir();
  await put(join(allBad, 'x.wav'), 'RIFF');
  await rejectsWith(loadAudioFolder(allBad, { skipBad: true }), 'none of the 1 audio files could be read (first: x.wav: truncated header');
  await rejectsWith(loadAudioFolder(await tempDir()), 'no audio files (.wav, .mp3, .ogg, .flac) found');
});

test('loadDataset: a folder of audio files loads as audio; { audio, test } aligns classes; skips are reported', async () => {
  const root = await tempDir();
  await put(join(root, 'train', 'yes', 'a.wav'), clip(1600, 16000));
  await put(join(root, 'train', 'no', 'b.wav'), clip(1600, 16000));
  await put(join(root, 'train', 'no', 'bad.wav'), 'RIFF');
  await put(join(root, 'test', 'yes', 'c.wav'), clip(1600, 16000));
  const seen: string[] = [];
  const splits = await loadDataset({ audio: join(root, 'train'), test: join(root, 'test'), seconds: 0.25, skipBad: true }, { onSkip: (s) => seen.push(`${s.folder}: ${s.file}`) });
  assert.deepEqual(seen, [`${join(root, 'train')}: no/bad.wav`]);
  assert.deepEqual(splits.train.inputShape, [4000]);
  assert.deepEqual(splits.test!.inputShape, [4000]);
  assert.deepEqual(splits.test!.classes, ['no', 'yes']);
  assert.deepEqual(Array.from(splits.test!.y), [1]);
  assert.equal(splits.test!.split, 'test');
  await rejectsWith(loadDataset(join(root, 'train')), `${join(root, 'train', 'no', 'bad.wav')}: cannot read audio: truncated header`);
  await rejectsWith(loadDataset({ audio: join(root, 'test'), size: 3 } as never), 'Unrecognized key');
  const plain = await loadDataset(join(root, 'test'));
  assert.equal(plain.train.modality, 'audio');
  assert.deepEqual(plain.train.inputShape, [16000]);
});

test('the CLI: a bad audio file stops `ulearn train` with one line naming it and a non-zero exit', async () => {
  const root = await tempDir();
  await put(join(root, 'yes', 'a.wav'), clip(1600, 16000));
  await put(join(root, 'yes', 'cut.wav'), BAD['cut.wav']);
  const r = ulearn('train', root, '--method', 'supervised');
  assert.notEqual(r.code, 0);
  assert.ok(r.err.includes(`${join(root, 'yes', 'cut.wav')}: cannot read audio: truncated`), r.err);
  assert.doesNotMatch(r.err, /\n\s+at /, 'no stack trace');
});
