import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { GLYPHS } from '../../src/data/glyphs.js';
import { loadDataset } from '../../src/data/load.js';
import { SHAPES, testHueBins } from '../../src/data/shapes.js';
import { ensureSynthetic, readSynthetic, type SyntheticMeta } from '../../src/data/synthetic.js';
import { UlearnError } from '../../src/errors.js';
import { tempDir } from './fixtures.js';

/** SHA-256 over every file of a build except meta.json (which records the build time). */
async function dataHash(dir: string): Promise<string> {
  const h = createHash('sha256');
  for (const f of (await readdir(dir)).filter((f) => f !== 'meta.json').sort()) h.update(f).update(await readFile(join(dir, f)));
  return h.digest('hex');
}

function counts(labels: ArrayLike<number>, k: number): number[] {
  const c = new Array<number>(k).fill(0);
  for (let i = 0; i < labels.length; i++) c[labels[i]]++;
  return c;
}

const small = { perClass: 6, testPerClass: 3 };
let glyphDir: string;
let glyphMeta: SyntheticMeta;
let cache: string;

before(async () => {
  // Not tempDir(): its cleanup, registered inside a hook, would run before the tests.
  cache = await mkdtemp(join(tmpdir(), 'ulearn-synthetic-'));
  ({ dir: glyphDir, meta: glyphMeta } = await ensureSynthetic(GLYPHS, { ...small, seed: 1, cacheDir: cache }));
});

after(() => rm(cache, { recursive: true, force: true }));

test('glyphs: the same seed gives the same bytes, another seed other bytes', async () => {
  const other = await tempDir();
  const again = await ensureSynthetic(GLYPHS, { ...small, seed: 1, cacheDir: other });
  assert.equal(again.built, true);
  assert.equal(await dataHash(again.dir), await dataHash(glyphDir));
  const seed2 = await ensureSynthetic(GLYPHS, { ...small, seed: 2, cacheDir: other });
  assert.notEqual(await dataHash(seed2.dir), await dataHash(glyphDir));
});

test('glyphs: test fonts belong to families never used in training; classes are balanced', async () => {
  const fonts = glyphMeta.info.fonts as { group: string; split: string }[];
  const trainFamilies = new Set(glyphMeta.trainGroups.map((f) => fonts[f].group));
  const testFamilies = new Set(glyphMeta.testGroups.map((f) => fonts[f].group));
  assert.ok(testFamilies.size >= 1 && trainFamilies.size >= 1);
  for (const g of testFamilies) assert.ok(!trainFamilies.has(g), `family ${g} is in both splits`);
  for (const f of glyphMeta.trainGroups) assert.equal(fonts[f].split, 'train');
  for (const f of glyphMeta.testGroups) assert.equal(fonts[f].split, 'test');
  const { train, test: t } = await readSynthetic(glyphDir);
  assert.deepEqual(counts(train.y, 10), new Array(10).fill(6));
  assert.deepEqual(counts(t!.y, 10), new Array(10).fill(3));
  assert.deepEqual(train.inputShape, [28, 28, 1]);
  // Digits are drawn, not blank: every image has bright ink on a darker background.
  for (let i = 0; i < train.size; i++) {
    const img = train.x.subarray(i * 784, (i + 1) * 784);
    assert.ok(Math.max(...img) > 0.5, `image ${i} has no ink`);
  }
});

test('glyphs: loadable by name; a second load reuses the build', async () => {
  const splits = await loadDataset({ name: 'glyphs', ...small, seed: 1, cacheDir: cache });
  assert.equal(splits.train.name, 'glyphs/train');
  assert.deepEqual(splits.train.classes, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  assert.equal(splits.test!.size, 30);
  const again = await ensureSynthetic(GLYPHS, { ...small, seed: 1, cacheDir: cache });
  assert.equal(again.built, false);
  assert.equal(again.dir, glyphDir);
});

test('shapes: deterministic, balanced, 32x32x3, test hues never in training, loadable by name', async () => {
  const a = await ensureSynthetic(SHAPES, { ...small, seed: 3, cacheDir: cache });
  const b = await ensureSynthetic(SHAPES, { ...small, seed: 3, cacheDir: await tempDir() });
  assert.equal(await dataHash(a.dir), await dataHash(b.dir));
  const testBins = new Set(testHueBins(3));
  assert.equal(testBins.size, 3);
  assert.ok(a.meta.trainGroups.every((bin) => !testBins.has(bin)));
  assert.ok(a.meta.testGroups.every((bin) => testBins.has(bin)));
  const splits = await loadDataset({ name: 'shapes', ...small, seed: 3, cacheDir: cache });
  assert.deepEqual(splits.train.inputShape, [32, 32, 3]);
  assert.deepEqual(counts(splits.train.y, 10), new Array(10).fill(6));
  assert.deepEqual(counts(splits.test!.y, 10), new Array(10).fill(3));
});

test('an --out folder that holds something else is refused, and left as it was', async () => {
  const dir = await tempDir();
  await mkdir(join(dir, 'mine'));
  await writeFile(join(dir, 'mine', 'notes.txt'), 'keep me');
  await assert.rejects(
    ensureSynthetic(SHAPES, { ...small, dir: join(dir, 'mine') }),
    (e: unknown) => e instanceof UlearnError && e.code === 'E_EXISTS',
  );
  assert.equal(await readFile(join(dir, 'mine', 'notes.txt'), 'utf8'), 'keep me');
  // Another build of a different seed into a finished build's folder is refused too.
  const out = join(dir, 'out');
  await ensureSynthetic(SHAPES, { ...small, dir: out });
  await assert.rejects(ensureSynthetic(SHAPES, { ...small, seed: 5, dir: out }), (e: unknown) => e instanceof UlearnError && e.code === 'E_EXISTS');
  assert.deepEqual((await readSynthetic(out)).train.size, 60);
});
