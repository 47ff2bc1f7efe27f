/**
 * `runClean` end to end on a small folder with planted problems of every kind, checked against what was
 * planted; the manifest then loads through loadDataset; the user's files are not touched.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { runClean } from '../../src/clean/run-clean.js';
import { loadDataset } from '../../src/data/load.js';
import { Rng } from '../../src/engine/seed.js';
import { Budget } from '../../src/util/budget.js';

const S = 16;

/** Class 'h': horizontal stripes; class 'v': vertical stripes; random phase, period and noise per image. */
function stripes(kind: 'h' | 'v', rng: Rng): Uint8Array {
  const px = new Uint8Array(S * S);
  const period = 3 + rng.int(4);
  const phase = rng.int(period);
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      const t = kind === 'h' ? y : x;
      const v = ((t + phase) % period) < period / 2 ? 200 : 40;
      px[y * S + x] = Math.max(0, Math.min(255, Math.round(v + 25 * rng.normal())));
    }
  }
  return px;
}

const png = (px: Uint8Array, size = S) => sharp(Buffer.from(px), { raw: { width: size, height: size, channels: 1 } }).png().toBuffer();

function hashTree(dir: string): string {
  const h = createHash('sha256');
  const walk = (d: string) => {
    for (const e of readdirSync(d).sort()) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else h.update(p).update(readFileSync(p));
    }
  };
  walk(dir);
  return h.digest('hex');
}

async function fixture() {
  const root = mkdtempSync(join(tmpdir(), 'ulearn-clean-'));
  const rng = new Rng(5);
  const images = new Map<string, Uint8Array>();
  for (const split of ['train', 'test']) {
    for (const cls of ['h', 'v'] as const) {
      mkdirSync(join(root, split, cls), { recursive: true });
      for (let i = 0; i < (split === 'train' ? 40 : 12); i++) {
        const px = stripes(cls, rng);
        images.set(`${split}/${cls}/img${i}.png`, px);
        writeFileSync(join(root, split, cls, `img${i}.png`), await png(px));
      }
    }
  }
  const put = async (rel: string, data: Uint8Array | Buffer) => writeFileSync(join(root, rel), data);
  await put('train/h/copy.png', readFileSync(join(root, 'train/h/img3.png'))); // exact duplicate
  const near = images.get('train/v/img5.png')!.map((v, k) => Math.max(0, Math.min(255, v + (k % 3) - 1)));
  await put('train/v/near.png', await png(near)); // near duplicate
  await put('train/h/leak.png', readFileSync(join(root, 'test/h/img2.png'))); // leakage into train
  const good = readFileSync(join(root, 'train/h/img0.png'));
  await put('train/h/truncated.png', good.subarray(0, good.length - 30)); // corrupt
  await put('train/v/empty.png', new Uint8Array(0)); // corrupt (0 bytes)
  await put('train/h/notimage.png', Buffer.from('this is not an image at all, just text')); // corrupt
  await put('train/v/blank.png', await png(new Uint8Array(S * S).fill(128))); // blank
  await put('train/h/big.png', await png(new Uint8Array(20 * 20).map((_, k) => (Math.floor(k / 20) % 4 < 2 ? 200 : 40)), 20)); // wrong size
  await put('train/v/mislabeled.png', await png(stripes('h', rng))); // label error: horizontal stripes filed under v
  return root;
}

test('every planted problem is found, the manifest says what to drop, and the data folder is untouched', async () => {
  const root = await fixture();
  const before = hashTree(root);
  const out = join(root, '..', `${root.split('/').pop()}-out`);
  const r = await runClean({ data: join(root, 'train'), testData: join(root, 'test'), outDir: out, log: () => undefined });
  const flagged = (name: string) => {
    const res = r.results.find((x) => x.name === name)!;
    return r.samples.ids.filter((_, i) => res.flags[i]).sort();
  };
  assert.deepEqual(flagged('corrupt'), ['h/notimage.png', 'h/truncated.png', 'v/empty.png']);
  assert.deepEqual(flagged('blank'), ['v/blank.png']);
  assert.deepEqual(flagged('wrong_shape'), ['h/big.png']);
  // The first in path order is kept ('copy.png' < 'img3.png'); leak.png's kept twin is the test image.
  const exact = r.results.find((x) => x.name === 'exact_duplicate')!;
  const exactPairs = r.samples.ids.flatMap((id, i) => (exact.flags[i] ? [`${id}->${r.samples.ids[exact.related![i]]}`] : [])).sort();
  assert.deepEqual(exactPairs, ['h/img3.png->h/copy.png', 'h/leak.png->h/img2.png']);
  assert.deepEqual(flagged('near_duplicate'), ['v/near.png']);
  assert.deepEqual(flagged('leakage'), ['h/leak.png']);
  const leak = r.results.find((x) => x.name === 'leakage')!;
  const li = r.samples.ids.indexOf('h/leak.png');
  assert.equal(r.samples.split[leak.related![li]], 1, 'the kept copy is the test one');
  assert.ok(flagged('label_error').includes('v/mislabeled.png'));

  const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
  const action = (id: string) => manifest.samples.find((e: { id: string; split: string }) => e.id === id && e.split === 'train').action;
  for (const id of ['h/notimage.png', 'h/truncated.png', 'v/empty.png', 'v/blank.png', 'h/img3.png', 'v/near.png', 'h/leak.png']) assert.equal(action(id), 'exclude', id);
  assert.equal(action('v/mislabeled.png'), 'unlabel');
  assert.equal(action('h/big.png'), 'keep');
  const issues = JSON.parse(readFileSync(join(out, 'issues.json'), 'utf8'));
  assert.equal(issues.checks.corrupt.samples.length, 3);
  assert.match(issues.checks.corrupt.samples.find((x: { id: string }) => x.id === 'v/empty.png').reason, /empty file/);
  const html = readFileSync(join(out, 'report.html'), 'utf8');
  assert.match(html, /data:image\/png;base64,/);
  assert.match(html, /h\/img3\.png/);
  assert.equal(hashTree(root), before, 'the data folder is byte-for-byte unchanged');

  // Later steps take the manifest in place of the data.
  const loaded = await loadDataset(join(out, 'manifest.json'));
  const trainIds = loaded.train.ids;
  for (const id of ['h/img3.png', 'v/near.png', 'h/leak.png', 'v/blank.png', 'h/truncated.png']) assert.ok(!trainIds.includes(id), `${id} dropped`);
  assert.equal(trainIds.length, r.samples.ids.filter((_, i) => r.samples.split[i] === 0).length - 7);
  assert.equal(loaded.train.y[trainIds.indexOf('v/mislabeled.png')], -1, 'doubtful label removed');
  assert.equal(loaded.test!.size, 24);
});

test('an exhausted budget skips the expensive checks but still excludes corrupt files and duplicates', async () => {
  const root = await fixture();
  const out = join(root, '..', `${root.split('/').pop()}-budget`);
  const r = await runClean({ data: join(root, 'train'), outDir: out, budget: new Budget(0), log: () => undefined });
  const byName = new Map(r.results.map((x) => [x.name, x]));
  for (const name of ['near_duplicate', 'outlier', 'label_error']) assert.match(byName.get(name)!.skipped ?? '', /budget/, name);
  assert.equal(byName.get('corrupt')!.skipped, undefined);
  // Without the test folder leak.png has no twin: 3 corrupt + 1 blank + 1 exact duplicate (img3.png).
  assert.equal(r.manifest.counts.exclude, 3 + 1 + 1);
});
