/**
 * Fuzzing the loaders (issue 17, "Also wanted"): random and mutated IDX, PNG, CSV, ARFF, YAML/JSON configs,
 * clean manifests and model folders. Every outcome must be a valid result or a UlearnError: never another
 * exception, a hang, an allocation far beyond the input, or a file written outside the test's temp folder.
 *
 * Seeded and bounded by iteration counts (never by time), so a failure reproduces exactly: the message names
 * the family, the iteration and the seed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { z } from 'zod';
import sharp from 'sharp';
import { UlearnError } from '../../src/errors.js';
import { initBackend } from '../../src/engine/backend.js';
import { loadIdxPair, parseIdx, readIdx } from '../../src/data/idx.js';
import { loadAudioFolder } from '../../src/data/audio-folder.js';
import { loadImageFolder } from '../../src/data/image-folder.js';
import { decodeWav, encodeWav } from '../../src/data/wav.js';
import { loadDataset } from '../../src/data/load.js';
import { readTable } from '../../src/data/table.js';
import { loadTableDataset } from '../../src/data/table-dataset.js';
import { decodePng } from '../../src/clean/png.js';
import { readManifest } from '../../src/data/manifest.js';
import { scanImageFolders } from '../../src/clean/scan.js';
import { parseConfig } from '../../src/runs/config.js';
import { PipelineConfigSchema } from '../../src/pipeline/config.js';
import { TabularConfigSchema } from '../../src/pipeline/tabular-config.js';
import { buildResNetEncoder, classifierHead, featureDim } from '../../src/models/resnet.js';
import { loadClassifier, META_FILE, predictFiles, saveClassifier } from '../../src/predict/image-model.js';

const SEED = 17;
const repoRoot = join(import.meta.dirname, '..', '..');
let root: string;
let repoListing: string[];

/** mulberry32: small, seedable, and independent of the code under test. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  return { next, int, pick: <T>(xs: readonly T[]): T => xs[int(xs.length)] };
}
type Rng = ReturnType<typeof rng>;

const INTERESTING = [0x00, 0x01, 0x7f, 0x80, 0xff, 0xfe];
const BIG32 = [0xffffffff, 0x7fffffff, 0x80000000, 0x10000, 65535, 0, 1, 8192, 8193];

/** 1-4 byte-level mutations: flips, interesting bytes, big uint32s, inserts, deletes, truncation, chunk copies. */
function mutate(src: Uint8Array, r: Rng): Buffer {
  let b = Buffer.from(src);
  for (let k = 1 + r.int(4); k > 0; k--) {
    const at = b.length ? r.int(b.length) : 0;
    switch (r.int(7)) {
      case 0:
        if (b.length) b[at] ^= 1 << r.int(8);
        break;
      case 1:
        if (b.length) b[at] = r.pick(INTERESTING);
        break;
      case 2:
        if (b.length >= 4) b.writeUInt32BE(r.pick(BIG32), Math.min(at, b.length - 4));
        break;
      case 3:
        b = Buffer.concat([b.subarray(0, at), Buffer.from(Array.from({ length: 1 + r.int(16) }, () => r.int(256))), b.subarray(at)]);
        break;
      case 4:
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + r.int(16))]);
        break;
      case 5:
        b = b.subarray(0, at);
        break;
      default: {
        const from = r.int(Math.max(1, b.length));
        b = Buffer.concat([b.subarray(0, at), b.subarray(from, from + 1 + r.int(64)), b.subarray(at)]);
      }
    }
  }
  return b;
}

/** Text mutations that matter to parsers: quotes, delimiters, line ends, huge and odd numbers, NUL, unicode. */
function mutateText(src: string, r: Rng): string {
  const tokens = ['"', ',', ';', '\t', '\n', '\r\n', '\r', '1e308', '-1e309', 'NaN', '?', '{', '}', "'", '@data', '@attribute x numeric', '%', '\u0000', 'é', '\uFEFF', '""', '&a', '*a', ': ', '- ', '[', ']', '0x10', '99999999999999999999'];
  let s = src;
  for (let k = 1 + r.int(5); k > 0; k--) {
    const at = r.int(s.length + 1);
    const op = r.int(3);
    if (op === 0) s = s.slice(0, at) + r.pick(tokens) + s.slice(at);
    else if (op === 1) s = s.slice(0, at) + s.slice(at + 1 + r.int(8));
    else s = s.slice(0, at);
  }
  return s;
}

/** A random JSON value from a vocabulary that reaches the schemas' keys. */
function randomJson(r: Rng, depth: number, keys: readonly string[], strings: readonly string[]): unknown {
  const kind = depth <= 0 ? r.int(4) : r.int(6);
  if (kind === 0) return r.pick([0, -1, 1, 3, 1.5, 1e308, -0, 2 ** 31, Number.MAX_SAFE_INTEGER]);
  if (kind === 1) return r.pick(strings);
  if (kind === 2) return r.pick([true, false, null]);
  if (kind === 3) return r.pick(strings);
  if (kind === 4) return Array.from({ length: r.int(4) }, () => randomJson(r, depth - 1, keys, strings));
  const o: Record<string, unknown> = {};
  for (let k = r.int(5); k > 0; k--) o[r.pick(keys)] = randomJson(r, depth - 1, keys, strings);
  return o;
}

/** Runs `f`; a UlearnError is a refusal, anything else thrown fails the test with the case that caused it. */
async function expectCleanOutcome(label: string, f: () => unknown): Promise<'ok' | 'refused'> {
  try {
    await f();
    return 'ok';
  } catch (e) {
    if (e instanceof UlearnError) return 'refused';
    assert.fail(`${label}: threw ${(e as Error)?.constructor?.name ?? typeof e}, not a UlearnError: ${(e as Error)?.stack ?? String(e)}`);
  }
}

function assertMemoryBounded(family: string): void {
  // The inputs are at most a few KB; a loader that believed a mutated header would have tried to allocate GBs.
  const rss = process.memoryUsage().rss;
  assert.ok(rss < 2 * 2 ** 30, `${family}: resident memory ${Math.round(rss / 2 ** 20)} MB after fuzzing`);
}

before(async () => {
  await initBackend('cpu');
  root = mkdtempSync(join(tmpdir(), 'ulearn-fuzz-'));
  repoListing = readdirSync(repoRoot).sort();
  // Anything a loader might cache or download would land here, where the last test looks for it.
  process.env.ULEARN_CACHE = join(root, 'cache');
});

after(() => rmSync(root, { recursive: true, force: true }));

function idxBytes(dtype: number, shape: number[], values: number[], bytesPer: number): Buffer {
  const head = Buffer.alloc(4 + 4 * shape.length);
  head[2] = dtype;
  head[3] = shape.length;
  shape.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  const body = Buffer.alloc(values.length * bytesPer);
  values.forEach((v, i) => (bytesPer === 1 ? body.writeUInt8(v, i) : body.writeInt32BE(v, 4 * i)));
  return Buffer.concat([head, body]);
}

test('IDX: mutated headers and data, raw and gzipped', async () => {
  const r = rng(SEED);
  const dir = join(root, 'idx');
  mkdirSync(dir);
  const images = idxBytes(0x08, [3, 2, 2], Array.from({ length: 12 }, (_, i) => i * 20), 1);
  const labels = idxBytes(0x0c, [3], [0, 1, 2], 4);
  const outcomes = { ok: 0, refused: 0 };
  for (let i = 0; i < 300; i++) {
    const which = r.int(2);
    const bytes = mutate(which ? labels : images, r);
    const gz = r.int(3) === 0;
    const file = join(dir, `f${i % 4}`);
    writeFileSync(file, gz ? gzipSync(bytes) : bytes);
    outcomes[await expectCleanOutcome(`idx #${i} (seed ${SEED})`, () => parseIdx(bytes, 'fuzz'))]++;
    const other = join(dir, 'other');
    writeFileSync(other, which ? images : labels);
    await expectCleanOutcome(`idx pair #${i}`, () => (which ? loadIdxPair(other, file, { name: 'f', split: 'train' }) : loadIdxPair(file, other, { name: 'f', split: 'train' })));
    await expectCleanOutcome(`idx file #${i}`, () => readIdx(file));
  }
  assert.ok(outcomes.refused > 0 && outcomes.ok > 0, `both outcomes occur: ${JSON.stringify(outcomes)}`);
  assertMemoryBounded('idx');
});

test('PNG: the fast decoder, the image-folder loader and clean’s scan on mutated files', async () => {
  const r = rng(SEED + 1);
  const seeds = await Promise.all([
    sharp({ create: { width: 6, height: 5, channels: 3, background: { r: 200, g: 10, b: 60 } } }).png().toBuffer(),
    sharp(Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 7) % 256)), { raw: { width: 8, height: 8, channels: 1 } }).png().toBuffer(),
    sharp({ create: { width: 4, height: 4, channels: 4, background: { r: 1, g: 2, b: 3, alpha: 0.5 } } }).png().toBuffer(),
    sharp({ create: { width: 5, height: 5, channels: 3, background: { r: 9, g: 9, b: 9 } } }).png({ palette: true }).toBuffer(),
  ]);
  for (let i = 0; i < 400; i++) {
    const bytes = mutate(r.pick(seeds), r);
    try {
      decodePng(bytes);
    } catch (e) {
      // This decoder throws plain Errors by design (scan turns them into per-file read errors); a RangeError
      // or TypeError would mean it indexed or allocated from a header it should have refused.
      assert.equal((e as Error).constructor, Error, `decodePng #${i}: ${(e as Error).stack}`);
    }
  }
  const dir = join(root, 'png');
  for (let i = 0; i < 40; i++) {
    const folder = join(dir, `f${i}`);
    mkdirSync(join(folder, 'a'), { recursive: true });
    mkdirSync(join(folder, 'b'), { recursive: true });
    writeFileSync(join(folder, 'a', 'good.png'), seeds[0]);
    writeFileSync(join(folder, 'b', 'fuzz.png'), mutate(r.pick(seeds), r));
    await expectCleanOutcome(`loadImageFolder #${i}`, () => loadImageFolder(folder));
    await expectCleanOutcome(`loadImageFolder skipBad #${i}`, () => loadImageFolder(folder, { skipBad: true, size: 6 }));
    if (i < 15) await expectCleanOutcome(`scanImageFolders #${i}`, () => scanImageFolders({ train: folder }));
  }
  assertMemoryBounded('png');
});

test('CSV and ARFF: mutated tables through readTable and loadTableDataset', async () => {
  const r = rng(SEED + 2);
  const csv = `a,b,c,label\n${Array.from({ length: 12 }, (_, i) => `${i},${(i * 0.37).toFixed(2)},${i % 3 ? 'red' : 'blue'},${i % 2 ? 'x' : 'y'}`).join('\n')}\n`;
  const arff = `% fuzz\n@relation t\n@attribute a numeric\n@attribute c {red,blue}\n@attribute label {x,y}\n@data\n${Array.from({ length: 12 }, (_, i) => `${i},${i % 3 ? 'red' : 'blue'},${i % 2 ? 'x' : 'y'}`).join('\n')}\n`;
  const dir = join(root, 'tables');
  mkdirSync(dir);
  for (let i = 0; i < 250; i++) {
    const isArff = i % 2 === 1;
    const file = join(dir, isArff ? 't.arff' : 't.csv');
    writeFileSync(file, mutateText(isArff ? arff : csv, r));
    await expectCleanOutcome(`readTable #${i} (${file})`, () => readTable(file, { skipBadRows: r.int(2) === 0 }));
    await expectCleanOutcome(`loadTableDataset #${i} (${file})`, () => loadTableDataset(file, { labelColumn: 'label', skipBadRows: r.int(2) === 0 }));
  }
  assertMemoryBounded('tables');
});

test('YAML and JSON configs: mutated text and random structures, both schemas', async () => {
  const r = rng(SEED + 3);
  const yaml = 'data: fashion-mnist\nlabelsPerClass: 10\nbudget: 10m\npretrain:\n  method: simclr\n  batchSize: 64\nfinetune:\n  epochs: 3\n';
  const keys = ['data', 'labelsPerClass', 'totalLabels', 'budget', 'seed', 'pretrain', 'finetune', 'method', 'batchSize', 'epochs', 'lr', 'semi', 'labelColumn', 'encoder', 'widths', 'methods', 'types', '__proto__', 'constructor'];
  const strings = ['fashion-mnist', 'simclr', '10m', 'x', '', '1e308', 'pseudo-label', 'logreg', '../../etc/passwd'];
  const schemas = [PipelineConfigSchema, TabularConfigSchema, z.record(z.unknown())];
  for (let i = 0; i < 300; i++) {
    const json = i % 3 === 0;
    const text = i % 2 ? mutateText(json ? JSON.stringify(JSON.parse(JSON.stringify(randomJson(r, 3, keys, strings)))) : yaml, r) : JSON.stringify(randomJson(r, 3, keys, strings));
    await expectCleanOutcome(`config #${i}`, () => parseConfig(text, json || i % 2 === 0 ? 'c.json' : 'c.yaml', r.pick(schemas)));
  }
  // Alias expansion: nested aliases are refused, not expanded.
  const levels = ['a: &a [1,1,1,1,1,1,1,1,1,1]'];
  for (let k = 1; k < 10; k++) levels.push(`l${k}: &${String.fromCharCode(97 + k)} [${Array(10).fill(`*${String.fromCharCode(96 + k)}`).join(',')}]`);
  assert.equal(await expectCleanOutcome('alias bomb', () => parseConfig(levels.join('\n'), 'bomb.yaml', z.record(z.unknown()))), 'refused');
  assertMemoryBounded('configs');
});

test('manifests: random data specs, samples and chains', async () => {
  const r = rng(SEED + 4);
  const dir = join(root, 'manifests');
  const images = join(dir, 'img');
  mkdirSync(join(images, 'a'), { recursive: true });
  mkdirSync(join(images, 'b'), { recursive: true });
  const png = await sharp({ create: { width: 4, height: 4, channels: 3, background: { r: 5, g: 5, b: 5 } } }).png().toBuffer();
  writeFileSync(join(images, 'a', '1.png'), png);
  writeFileSync(join(images, 'b', '2.png'), png);
  const m = (k: number) => join(dir, `m${k}.json`);
  // Paths stay inside the temp folder: a manifest naming '/' would make the loader walk the whole disk.
  const strings = [images, m(0), m(1), m(2), join(dir, 'missing'), 'a/1.png', 'b/2.png', 'train', 'test', '*', 'keep', 'exclude', 'unlabel', 'http://x.example/', ''];
  const keys = ['folder', 'test', 'size', 'resize', 'channels', 'labels', 'csv', 'skipBad', 'idx', 'images', 'labels', 'manifest', 'table', 'name', 'cacheDir', 'baseUrl', 'checksums', 'dir', 'id', 'split', 'action'];
  for (let i = 0; i < 150; i++) {
    const data = r.int(3) === 0 ? r.pick(strings) : randomJson(r, 2, keys, strings);
    const samples = r.int(4) === 0 ? randomJson(r, 2, keys, strings) : Array.from({ length: r.int(4) }, () => ({ id: r.pick(['a/1.png', 'b/2.png', 'zz']), split: r.pick(['train', 'test', '*']), action: r.pick(['keep', 'exclude', 'unlabel', 'drop']) }));
    const doc = { format: r.int(10) ? 'ulearn-clean-manifest' : 'other', version: r.int(10) ? 1 : 2, created: '', data, counts: {}, samples };
    const k = r.int(3);
    writeFileSync(m(k), r.int(8) ? JSON.stringify(doc) : mutateText(JSON.stringify(doc), r));
    await expectCleanOutcome(`readManifest #${i}`, () => readManifest(m(k)));
    await expectCleanOutcome(`loadDataset(manifest) #${i}: ${JSON.stringify(data)}`, () => loadDataset(m(k)));
  }
  assertMemoryBounded('manifests');
});

test('model folders: mutated model.json, metadata and weights', async () => {
  const r = rng(SEED + 5);
  const good = join(root, 'model');
  const enc = buildResNetEncoder({ inputShape: [6, 6, 1], widths: [4], blocksPerStage: 1, seed: 2 });
  await saveClassifier(good, enc, classifierHead(featureDim(enc), 2, { seed: 2 }), { classes: ['a', 'b'], preprocessing: { inputShape: [6, 6, 1], resize: 'crop', scale: '1/255' }, method: 'supervised', training: {} });
  const image = join(root, 'x.png');
  writeFileSync(image, await sharp({ create: { width: 6, height: 6, channels: 3, background: { r: 50, g: 50, b: 50 } } }).png().toBuffer());
  const weightsName = readdirSync(good).find((f) => f.startsWith('weights-'))!;
  const keys = ['paths', 'weights', 'shape', 'dtype', 'name', 'classes', 'inputShape', 'resize', 'format', 'version', 'preprocessing'];
  const strings = [weightsName, `../${weightsName}`, '/etc/passwd', 'float32', 'int32', 'a', 'crop', 'ulearn-classifier', ''];
  const outcomes = { ok: 0, refused: 0 };
  for (let i = 0; i < 40; i++) {
    const dir = join(root, `model${i}`);
    cpSync(good, dir, { recursive: true });
    const part = r.int(4);
    if (part === 0) writeFileSync(join(dir, 'model.json'), mutateText(readFileSync(join(dir, 'model.json'), 'utf8'), r));
    else if (part === 1) {
      const meta = JSON.parse(readFileSync(join(dir, META_FILE), 'utf8'));
      const key = r.pick(['classes', 'preprocessing', 'format', 'version']);
      meta[key] = randomJson(r, 2, keys, strings);
      writeFileSync(join(dir, META_FILE), JSON.stringify(meta));
    } else if (part === 2) {
      const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
      json.weightsManifest = r.int(2) ? randomJson(r, 3, keys, strings) : [{ paths: [r.pick(strings)], weights: json.weightsManifest[0].weights }];
      writeFileSync(join(dir, 'model.json'), JSON.stringify(json));
    } else writeFileSync(join(dir, weightsName), mutate(readFileSync(join(dir, weightsName)), r));
    outcomes[
      await expectCleanOutcome(`model folder #${i} (part ${part})`, async () => {
        const { model, meta } = await loadClassifier(dir);
        const preds = await predictFiles(model, meta, [image]);
        assert.ok(preds[0].probs.every(Number.isFinite), `model folder #${i}: predictions must be finite`);
        model.dispose();
      })
    ]++;
    rmSync(dir, { recursive: true, force: true });
  }
  assert.ok(outcomes.refused > 0, JSON.stringify(outcomes));
  assertMemoryBounded('model folders');
});

test('WAV: the decoder and the audio-folder loader on mutated files', async () => {
  const r = rng(SEED + 9);
  const seeds = [
    Buffer.from(encodeWav(Float32Array.from({ length: 64 }, (_, i) => Math.sin(i / 3) / 2), 16000, 'pcm16')),
    Buffer.from(encodeWav(Float32Array.from({ length: 40 }, (_, i) => (i % 7) / 7 - 0.5), 44100, 'float32')),
    // WAVE_FORMAT_EXTENSIBLE, 24-bit, 6 channels (written by scripts/fixtures/audio.py).
    readFileSync(join(repoRoot, 'test', 'fixtures', 'audio', 'ext-s24-6ch-48000.wav')),
  ];
  const outcomes = { ok: 0, refused: 0 };
  for (let i = 0; i < 400; i++) {
    const bytes = mutate(r.pick(seeds), r);
    try {
      decodeWav(bytes);
      outcomes.ok++;
    } catch (e) {
      // Plain Errors by design (the loaders add the file name); a RangeError would mean a read past a chunk.
      assert.equal((e as Error).constructor, Error, `decodeWav #${i}: ${(e as Error).stack}`);
      outcomes.refused++;
    }
  }
  assert.ok(outcomes.refused > 0 && outcomes.ok > 0, `both outcomes occur: ${JSON.stringify(outcomes)}`);
  for (let i = 0; i < 30; i++) {
    const folder = join(root, 'wav', `f${i}`);
    mkdirSync(join(folder, 'a'), { recursive: true });
    writeFileSync(join(folder, 'a', 'good.wav'), seeds[0]);
    writeFileSync(join(folder, 'a', 'mutated.wav'), mutate(r.pick(seeds), r));
    await expectCleanOutcome(`audio folder #${i}`, () => loadAudioFolder(folder, { seconds: 0.01 }));
    assert.equal(await expectCleanOutcome(`audio folder, skipBad #${i}`, () => loadAudioFolder(folder, { seconds: 0.01, skipBad: true })), 'ok');
  }
  assertMemoryBounded('wav');
});

test('nothing was written outside the temp folder', () => {
  assert.deepEqual(readdirSync(repoRoot).sort(), repoListing);
  assert.ok(!existsSync(join(root, 'cache')), 'no loader touched the cache (no downloads)');
});
