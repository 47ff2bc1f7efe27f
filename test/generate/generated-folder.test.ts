/**
 * Reading a generated folder: the pixels equal what the image-folder loader (sharp) reads from the same files,
 * and every kind of bad folder is a UlearnError that names the folder or file and what was expected.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { countPerClass, drawBalanced, readGeneratedFolder, type GeneratedTarget } from '../../src/generate/generated-folder.js';
import { folderSpec, loadDataset } from '../../src/data/load.js';
import { UlearnError } from '../../src/errors.js';
import { CLASSES } from '../semi/fixtures.js';
import { writeGeneratedStripes } from './write-generated.js';

let root: string;
let good: string;
const target: GeneratedTarget = { name: 'stripes', inputShape: [16, 16, 1], classes: [...CLASSES] };

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'ulearn-gen-folder-'));
  good = join(root, 'good');
  await writeGeneratedStripes(good, 4, 3);
});
after(() => rmSync(root, { recursive: true, force: true }));

test('reads the folder or its manifest; pixels equal the image-folder loader’s', async () => {
  const set = await readGeneratedFolder(good, { target });
  assert.equal(set.size, 12);
  assert.deepEqual(countPerClass(set.y, 3), [4, 4, 4]);
  const viaManifest = await readGeneratedFolder(join(good, 'manifest.json'));
  assert.deepEqual(viaManifest.x, set.x);
  const ds = (await loadDataset(await folderSpec(good))).train;
  const per = 16 * 16;
  for (let i = 0; i < set.size; i++) {
    const j = ds.ids.indexOf(set.files[i]);
    assert.ok(j >= 0, `${set.files[i]} in ${ds.ids.join(',')}`);
    assert.equal(ds.classes[ds.y[j]], CLASSES[set.y[i]]);
    assert.deepEqual(set.x.subarray(i * per, (i + 1) * per), ds.x.subarray(j * per, (j + 1) * per));
  }
});

/** A copy of the good folder with `edit` applied to its manifest (and `files` to its files). */
async function variant(name: string, edit: (m: Record<string, unknown>) => void, files: (dir: string) => void | Promise<void> = () => {}): Promise<string> {
  const dir = join(root, name);
  cpSync(good, dir, { recursive: true });
  await writeGeneratedStripes(dir, 4, 3, edit);
  await files(dir);
  return dir;
}

test('bad folders: a clear error naming the folder or file and what was expected', async () => {
  const sample = (m: Record<string, unknown>) => (m.samples as Record<string, unknown>[])[0];
  const cases: [string, Promise<string>, RegExp][] = [
    ['shape', variant('shape', (m) => (m.shape = [28, 28, 1])), /samples are \[28, 28, 1\] \(H, W, C\) but stripes has \[16, 16, 1\]/],
    ['count', variant('count', (m) => (m.classes = ['a', 'b', 'c', 'd'])), /4 classes \(a, b, c, d\) but stripes has 3/],
    ['order', variant('order', (m) => (m.classes = ['horizontal', 'diagonal', 'vertical'])), /class 0 is "horizontal" but in stripes it is "diagonal"/],
    ['version', variant('version', (m) => (m.version = 2)), /manifest version 2 is not supported/],
    ['kind', variant('kind', (m) => (m.kind = 'other')), /"kind" is "other", expected "ulearn-generated"/],
    ['label', variant('label', (m) => (sample(m).label = 3)), /sample 0 \(diagonal\/0.png\) has label 3, expected an integer in \[0, 2\]/],
    ['escape', variant('escape', (m) => (sample(m).file = '../good/diagonal/0.png')), /sample file "..\/good\/diagonal\/0.png" must be a path inside the folder/],
    ['missing', variant('missing', () => {}, (d) => rmSync(join(d, 'vertical', '2.png'))), /sample file vertical\/2.png is missing/],
    ['corrupt', variant('corrupt', () => {}, (d) => writeFileSync(join(d, 'horizontal', '1.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]))), /sample file horizontal\/1.png is unreadable: truncated/],
    ['not png', variant('notpng', () => {}, (d) => writeFileSync(join(d, 'horizontal', '1.png'), 'hello')), /sample file horizontal\/1.png is not a PNG/],
    [
      'size',
      variant('size', () => {}, async (d) => {
        await sharp(Buffer.alloc(8 * 8), { raw: { width: 8, height: 8, channels: 1 } }).png().toFile(join(d, 'diagonal', '3.png'));
      }),
      /sample file diagonal\/3.png is unreadable: it is 8x8, the manifest's shape says 16x16/,
    ],
  ];
  for (const [what, dirP, message] of cases) {
    const dir = await dirP;
    await assert.rejects(readGeneratedFolder(dir, { target }), (err: unknown) => {
      assert.ok(err instanceof UlearnError, `${what}: ${String(err)}`);
      assert.equal(err.code, 'E_GENERATED');
      assert.match(err.message, message, what);
      assert.ok(err.message.includes(dir), `${what}: names the folder: ${err.message}`);
      return true;
    });
  }
  await assert.rejects(readGeneratedFolder(join(root, 'nothing')), /no such file or folder/);
  await assert.rejects(readGeneratedFolder(root), /no manifest.json in this folder/);
});

test('drawBalanced: equal shares per class, seeded, nested, short classes give what they have', () => {
  const y = Int32Array.from([...Array(10).fill(0), ...Array(10).fill(1), ...Array(2).fill(2)]);
  const all = Int32Array.from(y.keys());
  const a = drawBalanced(y, all, 3, 9, 5);
  assert.deepEqual(countPerClass(y, 3, a), [3, 3, 2]);
  assert.deepEqual(drawBalanced(y, all, 3, 9, 5), a);
  assert.notDeepEqual(drawBalanced(y, all, 3, 9, 6), a);
  const b = drawBalanced(y, all, 3, 15, 5);
  assert.ok([...a].every((i) => b.includes(i)), 'a larger draw keeps the smaller one');
  const c = drawBalanced(y, all, 3, 7, 5);
  assert.deepEqual(countPerClass(y, 3, c).sort(), [2, 2, 3]);
  // Only candidates are drawn.
  const odd = Int32Array.from(all.filter((i) => i % 2 === 1));
  assert.ok([...drawBalanced(y, odd, 3, 6, 1)].every((i) => i % 2 === 1));
});
