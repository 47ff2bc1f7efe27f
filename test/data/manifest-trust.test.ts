/**
 * A clean manifest is shared input (issue 17 #2): its `data` is validated with the dataset-spec schema, and
 * the options that reach the network or write files (URLs, checksums, cache and system folders) or rename
 * the data ("mnist") are refused inside a manifest. A manifest naming itself, or A -> B -> A, is an error,
 * not an endless loop.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { UlearnError } from '../../src/errors.js';
import { loadDataset } from '../../src/data/load.js';
import { readManifest } from '../../src/data/manifest.js';
import { tempDir } from './fixtures.js';

const manifest = (data: unknown, samples: unknown[] = []) => JSON.stringify({ format: 'ulearn-clean-manifest', version: 1, created: '', data, counts: {}, samples });

const refused = (re: RegExp) => (e: unknown) => {
  assert.ok(e instanceof UlearnError, `expected a UlearnError, got ${(e as Error)?.stack ?? String(e)}`);
  assert.match(e.message, re);
  return true;
};

test('download, cache and checksum options inside a manifest are refused (readManifest and loadDataset)', async () => {
  const dir = await tempDir();
  const cases: [unknown, RegExp][] = [
    [{ name: 'mnist', baseUrl: 'http://attacker.example/', checksums: { 'train-images-idx3-ubyte.gz': '00' } }, /baseUrl/],
    [{ name: 'fashion-mnist', cacheDir: '/tmp/anywhere' }, /cacheDir/],
    [{ name: 'mnist', dir: '/tmp/fake-mnist' }, /dir/],
    [{ name: 'mnist', systemDir: '/tmp' }, /systemDir/],
  ];
  for (const [k, [data, re]] of cases.entries()) {
    const p = join(dir, `m${k}.json`);
    await writeFile(p, manifest(data));
    await assert.rejects(readManifest(p), refused(re));
    await assert.rejects(loadDataset(p), refused(re));
  }
});

test('a manifest cannot rename its data (name: "mnist" on a folder or IDX files)', async () => {
  const dir = await tempDir();
  for (const [k, data] of [{ folder: dir, name: 'mnist' }, { idx: { images: join(dir, 'a'), labels: join(dir, 'b'), name: 'mnist' } }].entries()) {
    const p = join(dir, `r${k}.json`);
    await writeFile(p, manifest(data));
    await assert.rejects(readManifest(p), refused(/name/));
  }
});

test('a manifest data field that is no dataset spec is refused with the key that is wrong', async () => {
  const dir = await tempDir();
  for (const [data, re] of [
    [42, /data/],
    [{ folder: dir, size: -1 }, /size/],
    [{ foo: 1 }, /data/],
    [null, /data/],
  ] as [unknown, RegExp][]) {
    const p = join(dir, 'bad.json');
    await writeFile(p, manifest(data));
    await assert.rejects(readManifest(p), refused(re), JSON.stringify(data));
  }
});

test('a manifest whose data is itself, or A -> B -> A, is a cycle error (no endless loop)', { timeout: 20_000 }, async () => {
  const dir = await tempDir();
  const self = join(dir, 'self.json');
  await writeFile(self, manifest(self));
  await assert.rejects(loadDataset(self), refused(/cycle/));
  const a = join(dir, 'a.json');
  const b = join(dir, 'b.json');
  await writeFile(a, manifest({ manifest: b }));
  await writeFile(b, manifest(a));
  await assert.rejects(loadDataset({ manifest: a }), refused(/cycle/));
});

test('a valid manifest over a folder still loads and applies', async () => {
  const dir = await tempDir();
  for (const [c, v] of [['x', 10], ['y', 200]] as const) {
    await mkdir(join(dir, 'imgs', c), { recursive: true });
    for (const i of [1, 2]) await sharp({ create: { width: 4, height: 4, channels: 3, background: { r: v, g: v, b: v } } }).png().toFile(join(dir, 'imgs', c, `${i}.png`));
  }
  const p = join(dir, 'ok.json');
  await writeFile(p, manifest({ folder: join(dir, 'imgs'), skipBad: true, channels: 1, size: 4 }, [{ id: 'x/1.png', split: 'train', action: 'exclude' }, { id: 'y/2.png', split: 'train', action: 'unlabel' }]));
  const { train } = await loadDataset(p);
  assert.deepEqual(train.ids, ['x/2.png', 'y/1.png', 'y/2.png']);
  assert.deepEqual(Array.from(train.y), [0, 1, -1]);
});
