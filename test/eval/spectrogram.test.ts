import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodePng } from '../../src/clean/png.js';
import { renderReport, type ReportInput } from '../../src/eval/report.js';
import { spectrogramPng, spectrogramThumbnails } from '../../src/eval/spectrogram.js';

/** [frames, bins] features that are low everywhere except one bright (frame, bin). */
function oneHot(frames: number, bins: number, f: number, b: number): Float32Array {
  const x = new Float32Array(frames * bins).fill(-1);
  x[f * bins + b] = 5;
  return x;
}

test('a spectrogram PNG decodes to frames×bins scaled, time left to right and the lowest band at the bottom', () => {
  const frames = 10;
  const bins = 4;
  const png = decodePng(spectrogramPng(oneHot(frames, bins, 7, 0), frames, bins, 2));
  assert.ok(png);
  assert.equal(png.width, 20);
  assert.equal(png.height, 8);
  assert.equal(png.channels, 3);
  const rgb = (x: number, y: number) => Array.from(png.pixels.subarray((y * png.width + x) * 3, (y * png.width + x) * 3 + 3));
  // Frame 7, bin 0 → x 14–15, bottom rows 6–7: the bright end of the map (yellow); elsewhere the dark end.
  for (const [x, y] of [[14, 6], [15, 7]]) assert.deepEqual(rgb(x, y), [253, 231, 37]);
  for (const [x, y] of [[0, 0], [14, 0], [13, 7], [16, 7]]) assert.deepEqual(rgb(x, y), [68, 1, 84]);
});

test('thumbnails take the first clip of each class and skip absent classes', () => {
  const frames = 3;
  const bins = 2;
  const x = new Float32Array(4 * frames * bins).map((_, i) => i);
  const thumbs = spectrogramThumbnails(x, [2, 0, 2, 0], 3, frames, bins, (i) => `clip${i}`);
  assert.deepEqual(thumbs.map((t) => [t.label, t.caption]), [[0, 'clip1'], [2, 'clip0']]);
  for (const t of thumbs) assert.match(t.image, /^data:image\/png;base64,/);
});

test('the report shows one thumbnail per class, captioned, and stays self-contained', () => {
  const frames = 5;
  const bins = 3;
  const items = spectrogramThumbnails(new Float32Array(2 * frames * bins).map((_, i) => Math.sin(i)), [0, 1], 2, frames, bins);
  const input: ReportInput = {
    title: 't',
    dataset: 'speech',
    totalLabels: 2,
    backend: 'cpu',
    seed: 0,
    createdAt: '2025-01-02T03:04:05Z',
    classes: ['yes', 'no'],
    methods: [{ name: 'supervised-only', acc: 0.5 }],
    spectrograms: { frames, bins, items, note: 'log-mel' },
    dataNote: 'The speech is synthetic.',
  };
  const html = renderReport(input);
  assert.equal((html.match(/<img src="data:image\/png;base64,/g) ?? []).length, 2);
  assert.match(html, /alt="log-mel spectrogram of a no clip"/);
  assert.match(html, /The speech is synthetic\./);
  assert.doesNotMatch(html, /https?:\/\//i);
  assert.throws(() => renderReport({ ...input, spectrograms: { frames, bins, items: [{ ...items[0], label: 5 }] } }), /class 5: there are 2 classes/);
});
