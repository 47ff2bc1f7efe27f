/**
 * Checks on hand-built sample tables: near-duplicate grouping is greedy (no chaining through intermediate
 * samples), the kept copy of a cross-split group is the test one, and the manifest round trip.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import sharp from 'sharp';
import { shapeCheck } from '../../src/clean/checks/integrity.js';
import { scanImageFolders } from '../../src/clean/scan.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { correlation, leakageCheck, nearDuplicateCheck, pixelMoments } from '../../src/clean/checks/duplicates.js';
import { applyManifest, readManifest, writeManifest } from '../../src/data/manifest.js';
import { buildManifest, imageIndex } from '../../src/clean/issues.js';
import { buildNeighbourGraph } from '../../src/clean/neighbours.js';
import type { CheckContext, CheckResult, ImageSamples } from '../../src/clean/types.js';
import type { Dataset } from '../../src/data/dataset.js';
import { Rng } from '../../src/engine/seed.js';
import { Budget } from '../../src/util/budget.js';
import { initBackend } from '../../src/engine/backend.js';

const SIDE = 8;
const PER = SIDE * SIDE;

function samples(images: Uint8Array[], split: number[]): ImageSamples {
  const n = images.length;
  const pixels = new Uint8Array(n * PER);
  images.forEach((im, i) => pixels.set(im, i * PER));
  return {
    source: 't',
    ids: images.map((_, i) => `s${i}`),
    split: Uint8Array.from(split),
    y: new Int32Array(n).fill(-1),
    classes: [],
    height: SIDE,
    width: SIDE,
    storedHeight: SIDE,
    storedWidth: SIDE,
    channels: 1,
    pixels,
    readable: new Uint8Array(n).fill(1),
    readError: new Map(),
    nativeShape: Int32Array.from(images.flatMap(() => [SIDE, SIDE, 1])),
    nonFinite: new Uint8Array(n),
  };
}

function ctxFor(s: ImageSamples): CheckContext {
  const graph = buildNeighbourGraph(s, { k: 4, mode: 'exact' });
  return { samples: s, rng: new Rng(0), budget: new Budget(undefined), log: () => undefined, results: new Map(), neighbours: async () => graph };
}

test('near duplicates are grouped greedily: a chain A~B~C with A and C apart flags only B', async () => {
  await initBackend('cpu');
  const rng = new Rng(2);
  const base = Uint8Array.from({ length: PER }, () => 40 + rng.int(170));
  // B = A plus a small ramp; C = B plus the same ramp again. corr(A,B) and corr(B,C) pass 0.99, corr(A,C) must not.
  const ramp = (im: Uint8Array, k: number) => im.map((v, j) => Math.min(255, v + k * (j % SIDE)));
  const a = base;
  const b = ramp(a, 3);
  const c = ramp(b, 3);
  const others = Array.from({ length: 6 }, () => Uint8Array.from({ length: PER }, () => rng.int(256)));
  const s = samples([a, b, c, ...others], [0, 0, 0, 0, 0, 0, 0, 0, 0]);
  const { mean, norm } = pixelMoments(s, PER);
  const r = (i: number, j: number) => correlation(s.pixels, i, j, PER, mean, norm);
  const threshold = (Math.max(r(0, 2), 0.5) + Math.min(r(0, 1), r(1, 2))) / 2;
  assert.ok(r(0, 1) >= threshold && r(1, 2) >= threshold && r(0, 2) < threshold, `fixture: ${r(0, 1)}, ${r(1, 2)}, ${r(0, 2)} around ${threshold}`);
  const res = await nearDuplicateCheck({ threshold, candidateDistance: 2 }).run(ctxFor(s));
  assert.deepEqual(Array.from(res.flags), [0, 1, 0, 0, 0, 0, 0, 0, 0]);
  assert.equal(res.related![1], 0);
});

test('a duplicate across splits keeps the test sample and flags the train one as leakage', async () => {
  await initBackend('cpu');
  const rng = new Rng(4);
  const imgs = Array.from({ length: 6 }, () => Uint8Array.from({ length: PER }, () => rng.int(256)));
  imgs.push(imgs[1].map((v) => Math.min(255, v + 1))); // s6 (test) ~ s1 (train)
  const s = samples(imgs, [0, 0, 0, 0, 0, 0, 1]);
  const ctx = ctxFor(s);
  const near = await nearDuplicateCheck().run(ctx);
  ctx.results.set('near_duplicate', near);
  assert.deepEqual(Array.from(near.flags), [0, 1, 0, 0, 0, 0, 0]);
  assert.equal(near.related![1], 6);
  const leak = leakageCheck.run(ctx) as CheckResult;
  assert.deepEqual(Array.from(leak.flags), [0, 1, 0, 0, 0, 0, 0]);
});

test('manifest: written, read back, applied (exclude, unlabel, unlisted kept; split "*" matches any split)', async () => {
  const s = samples([0, 1, 2, 3].map((k) => new Uint8Array(PER).fill(k)), [0, 0, 0, 1]);
  s.y = Int32Array.from([0, 1, 0, 1]);
  const flag = (name: string, action: CheckResult['action'], on: number[]): CheckResult => ({
    name,
    description: '',
    scores: new Float32Array(4),
    flags: Uint8Array.from([0, 1, 2, 3], (i) => (on.includes(i) ? 1 : 0)),
    action,
    summary: {},
  });
  const m = buildManifest(imageIndex(s), [flag('blank', 'exclude', [0]), flag('label_error', 'unlabel', [0, 2]), flag('outlier', 'none', [3])], 'x');
  assert.deepEqual(m.counts, { keep: 2, exclude: 1, unlabel: 1 });
  assert.deepEqual(m.samples[0].reasons, ['blank', 'label_error']);
  assert.equal(m.samples[3].action, 'keep');
  const path = join(mkdtempSync(join(tmpdir(), 'ulearn-man-')), 'manifest.json');
  await writeManifest(m, path, path.replace('.json', '.csv'));
  const back = await readManifest(path);
  assert.deepEqual(back.samples, m.samples);

  const ds = (ids: string[], split: Dataset['split']): Dataset => ({ name: 'd', modality: 'image', inputShape: [1], classes: ['a', 'b'], size: ids.length, ids, x: Float32Array.from(ids, (_, i) => i), y: Int32Array.from(ids, () => 1), split, source: '' });
  const { splits, stats } = applyManifest({ train: ds(['s0', 's1', 's2', 'new'], 'train'), test: ds(['s3'], 'test') }, back);
  assert.deepEqual(splits.train.ids, ['s1', 's2', 'new']);
  assert.deepEqual(Array.from(splits.train.y), [1, -1, 1]);
  assert.deepEqual(stats, { excluded: 1, unlabeled: 1, unlisted: 1 });
  const star = { ...back, samples: [{ id: '7', split: '*', action: 'exclude' as const }] };
  assert.deepEqual(applyManifest({ train: ds(['6', '7'], 'train'), test: ds(['8'], 'test') }, star).splits.train.ids, ['6']);
  assert.throws(() => applyManifest({ train: ds(['zz'], 'train') }, back, 'm.json'), /m\.json: none of its 4 sample ids occur in the data it names/);
});

test('large images are checked at a downscaled copy; wrong_shape compares the stored size', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ulearn-big-'));
  const img = (w: number, h: number, v: number) => sharp({ create: { width: w, height: h, channels: 3, background: { r: v, g: v, b: v } } }).png().toBuffer();
  for (const [k, [w, h]] of [[80, 100], [80, 100], [80, 100], [50, 50]].entries()) writeFileSync(join(dir, `i${k}.png`), await img(w, h, 30 * k));
  const s = await scanImageFolders({ train: dir });
  // Common size 100x80 (h x w) scaled so the longer side is 64: 64 x round(80 * 0.64) = 64 x 51; gray by content.
  assert.deepEqual([s.height, s.width, s.storedHeight, s.storedWidth, s.channels], [64, 51, 100, 80, 1]);
  const r = shapeCheck.run(ctxFor(s)) as CheckResult;
  assert.deepEqual(Array.from(r.flags), [0, 0, 0, 1]);
  assert.match(r.reason!(3), /50x50x1, expected 100x80x1/);
});

test('label errors on an unlabeled folder are skipped, not a crash (no classes to vote over)', async () => {
  const { labelErrorCheck } = await import('../../src/clean/checks/label-errors.js');
  const s = samples([0, 1, 2, 3, 4].map((v) => new Uint8Array(PER).fill(v * 40)), [0, 0, 0, 0, 0]);
  let asked = false;
  const r = await labelErrorCheck.run({ ...ctxFor(s), neighbours: async () => ((asked = true), Promise.reject(new Error('not needed'))) });
  assert.equal(r.skipped, 'no labeled samples');
  assert.equal(r.flags.reduce((a, b) => a + b, 0), 0);
  assert.equal(asked, false, 'no neighbour graph is built for a check that has nothing to check');
});
