/**
 * Datasets ulearn builds itself, offline and reproducibly (`ulearn data <name>`, or `loadDataset(name)` on first
 * use): the pixels are a pure function of the generator's version, its parameters, the seed and (for glyphs) the
 * installed fonts. A build is stored as four uint8 IDX files in MNIST's layout plus `meta.json`, so the one IDX
 * reader loads it, and everything about a sample that decided the train/test split (its font, its hue bin) is in
 * meta.json for tests and audits.
 *
 * Where: `<cacheDir>/<name>/<key>/`, where key hashes everything the pixels depend on, so changing any of it
 * builds a new copy instead of reusing a stale one. The build is written into a temporary sibling folder and
 * renamed into place, so a reader (or a crash) sees either no dataset or a complete one.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, rmdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { UlearnError } from '../errors.js';
import { syncDir, writeFileAtomic, writeJsonAtomic } from '../util/atomic.js';
import type { DatasetSplits } from './dataset.js';
import { cacheDir as defaultCacheDir } from './download.js';
import { loadIdxPair } from './idx.js';

/** One split as the generator returns it: uint8 pixels [n, h, w, c] and labels, plus per-sample provenance. */
export interface BuiltSplit {
  pixels: Uint8Array;
  labels: Uint8Array;
  /** e.g. the font index or hue bin each sample came from; written to meta.json. */
  groups: number[];
}

export interface BuiltDataset {
  shape: [number, number, number];
  classes: string[];
  train: BuiltSplit;
  test: BuiltSplit;
  /** Anything else worth keeping (font list, split, parameters). */
  info: Record<string, unknown>;
}

export interface SyntheticOptions {
  /** Training images per class. */
  perClass?: number;
  /** Test images per class. */
  testPerClass?: number;
  /** Seed for every random draw of the build (split, parameters, noise). Default 0. */
  seed?: number;
  /** Cache root (default `$ULEARN_CACHE` or `~/.cache/ulearn`). */
  cacheDir?: string;
  /** Build into (or read from) exactly this folder instead of the cache. */
  dir?: string;
  /** Told about the build (default: nothing is printed). */
  log?: (line: string) => void;
}

export interface SyntheticSpec {
  name: string;
  /** Bumped whenever the generator's output changes for the same parameters. */
  version: number;
  defaults: { perClass: number; testPerClass: number };
  /** Extra strings the pixels depend on (installed fonts, library versions); part of the cache key. */
  fingerprint(): Promise<string>;
  build(params: { perClass: number; testPerClass: number; seed: number }, log: (line: string) => void): Promise<BuiltDataset>;
}

export interface SyntheticMeta {
  name: string;
  version: number;
  key: string;
  perClass: number;
  testPerClass: number;
  seed: number;
  shape: [number, number, number];
  classes: string[];
  trainGroups: number[];
  testGroups: number[];
  buildSeconds: number;
  info: Record<string, unknown>;
}

const FILES = {
  trainImages: 'train-images-idx-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

/** Where the dataset lives and whether it is there: builds it when missing, then loads it. */
export async function loadSynthetic(spec: SyntheticSpec, opts: SyntheticOptions = {}): Promise<DatasetSplits> {
  const { dir } = await ensureSynthetic(spec, opts);
  return readSynthetic(dir);
}

/** Builds the dataset unless an identical build is already on disk; returns its folder and meta. */
export async function ensureSynthetic(spec: SyntheticSpec, opts: SyntheticOptions = {}): Promise<{ dir: string; meta: SyntheticMeta; built: boolean }> {
  const params = {
    perClass: checkCount(opts.perClass ?? spec.defaults.perClass, 'perClass'),
    testPerClass: checkCount(opts.testPerClass ?? spec.defaults.testPerClass, 'testPerClass'),
    seed: checkSeed(opts.seed ?? 0),
  };
  const fingerprint = await spec.fingerprint();
  const key = createHash('sha256')
    .update(JSON.stringify({ name: spec.name, version: spec.version, ...params, fingerprint }))
    .digest('hex')
    .slice(0, 16);
  const dir = opts.dir ?? join(opts.cacheDir ?? defaultCacheDir(), spec.name, key);
  const existing = await readMeta(dir);
  if (existing) {
    if (existing.key === key) return { dir, meta: existing, built: false };
    if (opts.dir === undefined) throw new Error(`${dir}: cache folder holds key ${existing.key}, expected ${key}`); // a bug: the key names the folder
    throw new UlearnError(`${dir}: already holds a different ${existing.name} build (seed ${existing.seed}, ${existing.perClass}/${existing.testPerClass} per class)`, {
      code: 'E_EXISTS',
      hint: 'choose another folder, or delete this one to rebuild',
    });
  }
  if (opts.dir !== undefined && (await nonEmptyDir(dir))) {
    throw new UlearnError(`${dir}: exists and is not a ${spec.name} build; not writing into it`, { code: 'E_EXISTS', hint: 'give an empty or new folder' });
  }
  const log = opts.log ?? (() => undefined);
  const t0 = Date.now();
  const data = await spec.build(params, log);
  const meta: SyntheticMeta = {
    name: spec.name,
    version: spec.version,
    key,
    ...params,
    shape: data.shape,
    classes: data.classes,
    trainGroups: data.train.groups,
    testGroups: data.test.groups,
    buildSeconds: (Date.now() - t0) / 1000,
    info: data.info,
  };
  await writeBuild(dir, data, meta);
  return { dir, meta: (await readMeta(dir)) ?? meta, built: true };
}

/** Reads a finished build (any folder `ensureSynthetic` wrote). */
export async function readSynthetic(dir: string): Promise<DatasetSplits> {
  const meta = await readMeta(dir);
  if (!meta) throw new UlearnError(`${dir}: no meta.json; not a dataset built by ulearn data`, { code: 'E_DATA_MISSING' });
  const p = (f: string) => join(dir, f);
  const [train, test] = await Promise.all([
    loadIdxPair(p(FILES.trainImages), p(FILES.trainLabels), { name: `${meta.name}/train`, split: 'train', classes: meta.classes }),
    loadIdxPair(p(FILES.testImages), p(FILES.testLabels), { name: `${meta.name}/test`, split: 'test', classes: meta.classes }),
  ]);
  return { train, test };
}

/** A build's meta.json (any build of this module or of speech-digits.ts: `T` says which), or undefined. */
export async function readMeta<T = SyntheticMeta>(dir: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, 'meta.json'), 'utf8');
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new UlearnError(`${join(dir, 'meta.json')}: not valid JSON (${(e as Error).message})`, { code: 'E_DATA', hint: 'delete the folder to rebuild it' });
  }
}

/** uint8 IDX bytes: magic 00 00 08 <ndims>, big-endian dimensions, then the data. */
export function encodeIdxU8(shape: readonly number[], data: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + 4 * shape.length + data.length);
  const view = new DataView(out.buffer);
  out[2] = 0x08;
  out[3] = shape.length;
  shape.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * shape.length);
  return out;
}

async function writeBuild(dir: string, data: BuiltDataset, meta: SyntheticMeta): Promise<void> {
  const tmp = await tempBuildDir(dir, meta.key);
  try {
    const [h, w, c] = data.shape;
    const nTrain = data.train.labels.length;
    const nTest = data.test.labels.length;
    await writeFileAtomic(join(tmp, FILES.trainImages), encodeIdxU8([nTrain, h, w, c], data.train.pixels));
    await writeFileAtomic(join(tmp, FILES.trainLabels), encodeIdxU8([nTrain], data.train.labels));
    await writeFileAtomic(join(tmp, FILES.testImages), encodeIdxU8([nTest, h, w, c], data.test.pixels));
    await writeFileAtomic(join(tmp, FILES.testLabels), encodeIdxU8([nTest], data.test.labels));
    // meta.json last: its presence is what marks a folder as a finished build.
    await writeJsonAtomic(join(tmp, 'meta.json'), meta);
    await publishBuild(tmp, dir);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/**
 * Moves a finished build (`tmp`, a sibling of `dir` holding meta.json) into place with one rename, so a reader
 * sees no dataset or a whole one. `dir` may exist only as an empty folder the caller was given, or as the same
 * build another process just finished (then theirs is kept and `tmp` is left for the caller to delete).
 */
export async function publishBuild(tmp: string, dir: string): Promise<void> {
  if (await stat(dir).then(() => true, () => false)) {
    if (await readMeta(dir)) return;
    await rmdir(dir);
  }
  try {
    await rename(tmp, dir);
  } catch (e) {
    // Another process finished the same build between our check and the rename: theirs is as good as ours.
    if (await readMeta(dir)) return;
    throw e;
  }
  await syncDir(dirname(dir));
}

/** A temporary folder beside `dir` to build into (created), named so a crash leaves an obvious leftover. */
export async function tempBuildDir(dir: string, key: string): Promise<string> {
  const parent = dirname(dir);
  await mkdir(parent, { recursive: true });
  const tmp = join(parent, `.${key}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  await mkdir(tmp);
  return tmp;
}

export async function nonEmptyDir(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length > 0;
  } catch {
    return false;
  }
}

export function checkCount(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 1 || n > 1_000_000) throw new UlearnError(`${what} must be an integer in [1, 1000000], got ${n}`, { code: 'E_CONFIG' });
  return n;
}

export function checkSeed(n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new UlearnError(`seed must be an integer in [0, 4294967295], got ${n}`, { code: 'E_CONFIG' });
  return n;
}

/** Samples per class, in class-major order then shuffled: exactly balanced classes. */
export function balancedLabels(nClasses: number, perClass: number, shuffle: (a: number[]) => number[]): number[] {
  const labels: number[] = [];
  for (let c = 0; c < nClasses; c++) for (let i = 0; i < perClass; i++) labels.push(c);
  return shuffle(labels);
}
