/**
 * The one entry point for getting data, given a spec that a config file or the CLI can express:
 *
 *   'fashion-mnist' | 'mnist'                       named dataset (system copy, cache, or download); train + test
 *   { name: 'fashion-mnist', ...NamedIdxOptions }   the same with options (cacheDir, dir, download: false, ...)
 *   'glyphs' | 'shapes'                             synthetic datasets built offline on first use (`ulearn data`)
 *   { name: 'glyphs', ...SyntheticOptions }         the same with options (perClass, testPerClass, seed, cacheDir, dir)
 *   'speech-digits'                                 synthetic spoken digits + unknown (audio, [16000]), built offline on
 *                                                   first use (`ulearn data speech-digits`); train + test (held-out voices)
 *   'speech-digits/pool'                            its unlabeled multilingual pool, as train (y = -1), no test
 *   { name: 'speech-digits', split?: 'labeled' | 'pool', ...SpeechDigitsOptions }
 *                                                   the same with options (perClass, testPerClass, poolSize, seed,
 *                                                   cacheDir, dir); split 'labeled' (default) is train + test
 *   './path/to/folder'                              folder of images (labels from subfolders, or none); train only;
 *                                                   a folder with audio files and no images is an audio folder
 *   { folder, test?, ...ImageFolderOptions }        folder with options; `test` is a second folder loaded the
 *                                                   same way (its size and channels follow the train folder's)
 *   { audio, test?, ...AudioFolderOptions }         folder of audio clips (WAV, resampled to 16 kHz, fixed length)
 *   { idx: { images, labels, testImages?, testLabels?, classes? } }   your own IDX files
 *   './clean/manifest.json' | { manifest }           the data a `ulearn clean` manifest names, minus what it
 *                                                   excludes, with its doubtful labels removed
 *
 * A string is a dataset name if it is one, else a path (a path that happens to equal a name: write './mnist').
 */
import { stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { UlearnError } from '../errors.js';
import { AUDIO_MEDIA, loadAudioFolder, type AudioFolderOptions } from './audio-folder.js';
import { applyManifest, readManifest } from './manifest.js';
import { DatasetSpecSchema, describeIssues } from './spec.js';
import type { DatasetSplits } from './dataset.js';
import { loadFashionMnist } from './fashion-mnist.js';
import { loadIdxPair } from './idx.js';
import { IMAGE_MEDIA, listMediaFiles, loadImageFolder, type ImageFolderOptions, type SkippedImage } from './image-folder.js';
import { loadGlyphs } from './glyphs.js';
import { loadMnist } from './mnist.js';
import type { NamedIdxOptions } from './named-idx.js';
import { loadShapes } from './shapes.js';
import { loadSpeechDigits, loadSpeechPool, type SpeechDigitsOptions } from './speech-digits.js';
import type { SyntheticOptions } from './synthetic.js';

const NAMED = {
  'fashion-mnist': loadFashionMnist,
  mnist: loadMnist,
  glyphs: loadGlyphs,
  shapes: loadShapes,
  'speech-digits': loadSpeechDigits,
} as const;
/** The named image datasets ulearn builds itself rather than reads (see src/data/synthetic.ts). */
export const SYNTHETIC_NAMES = ['glyphs', 'shapes'] as const;
/** The speech corpus's unlabeled pool, as a string spec. */
export const SPEECH_POOL_NAME = 'speech-digits/pool';
export type DatasetName = keyof typeof NAMED;
export const DATASET_NAMES = Object.keys(NAMED) as DatasetName[];

export type DatasetSpec =
  | string
  | ({ name: 'fashion-mnist' | 'mnist' } & NamedIdxOptions)
  | ({ name: (typeof SYNTHETIC_NAMES)[number] } & SyntheticOptions)
  | ({ name: 'speech-digits'; split?: 'labeled' | 'pool' } & Omit<SpeechDigitsOptions, 'log' | 'jobs'>)
  | ({ folder: string; test?: string } & ImageFolderOptions)
  | ({ audio: string; test?: string } & AudioFolderOptions)
  | { idx: { images: string; labels: string; testImages?: string; testLabels?: string; classes?: string[]; name?: string } }
  | { manifest: string };

export interface LoadOptions {
  /** Told about each image or audio file skipped with skipBad (default: none; the CLI prints them). */
  onSkip?: (skipped: SkippedImage & { folder: string }) => void;
  /** Told about slow first-use work, such as building a synthetic dataset (default: nothing is printed). */
  log?: (line: string) => void;
}

/**
 * Files skipped with `skipBad` go to `onSkip`; without one, each is a line to `log` ("skipped <file>: <reason>")
 * and a count follows, so a caller that only passes `log` (the pipeline) still says what it left out.
 */
export async function loadDataset(spec: DatasetSpec, opts: LoadOptions = {}): Promise<DatasetSplits> {
  let skipped = 0;
  const onSkip = (s: SkippedImage & { folder: string }) => {
    skipped++;
    if (opts.onSkip) opts.onSkip(s);
    else opts.log?.(`skipped ${join(s.folder, s.file)}: ${s.reason}`);
  };
  const splits = await load(spec, { ...opts, onSkip }, []);
  if (skipped > 0 && !opts.onSkip) opts.log?.(`skipped ${skipped} unreadable file${skipped === 1 ? '' : 's'} (skipBad)`);
  return splits;
}

/**
 * The spec for a dataset argument of the CLI with a test folder and/or `skipBad`: a folder becomes
 * `{ audio }` or `{ folder }` as `loadDataset` would route the bare path (audio files and no images: audio),
 * with the options; a dataset name or a manifest file is returned as given (`skipBad` is for folders; a named
 * dataset has no unreadable files, and a manifest already says what to load).
 */
export async function folderSpec(data: string, o: { test?: string; skipBad?: boolean } = {}): Promise<DatasetSpec> {
  const extra = { ...(o.test !== undefined ? { test: o.test } : {}), ...(o.skipBad ? { skipBad: true } : {}) };
  if (Object.keys(extra).length === 0) return data;
  const st = isName(data) || data === SPEECH_POOL_NAME ? undefined : await stat(data).catch(() => undefined);
  if (!st?.isDirectory()) {
    // As before: a test folder makes it a folder spec, and the loader's error names the path.
    return o.test !== undefined ? { folder: data, test: o.test } : data;
  }
  return (await isAudioFolder(data)) ? { audio: data, ...extra } : { folder: data, ...extra };
}

/** Manifests may name manifests; more than this many in a chain is refused like a cycle. */
const MAX_MANIFEST_DEPTH = 8;

/** `manifests`: the manifest files (resolved) that led here, to refuse a cycle instead of looping forever. */
async function load(spec: DatasetSpec, opts: LoadOptions, manifests: string[]): Promise<DatasetSplits> {
  if (typeof spec === 'string') {
    if (spec === SPEECH_POOL_NAME) return { train: await loadSpeechPool({ log: opts.log }) };
    if (isName(spec)) return spec === 'fashion-mnist' || spec === 'mnist' ? NAMED[spec]() : NAMED[spec]({ log: opts.log });
    const st = await stat(spec).catch(() => undefined);
    if (!st) {
      throw new UlearnError(`dataset '${spec}' is neither a known name (${[...DATASET_NAMES, SPEECH_POOL_NAME].join(', ')}) nor an existing path`, {
        code: 'E_DATA_MISSING',
      });
    }
    if (st.isFile() && spec.endsWith('.json')) return load({ manifest: spec }, opts, manifests);
    if (!st.isDirectory()) {
      throw new UlearnError(`${spec}: is a file; a dataset path must be a folder of images or audio files`, {
        code: 'E_CONFIG',
        hint: 'for IDX files use { idx: { images, labels } }; a clean manifest is a .json file',
      });
    }
    return load((await isAudioFolder(spec)) ? { audio: spec } : { folder: spec }, opts, manifests);
  }
  if (typeof spec !== 'object' || spec === null) throw new UlearnError(`dataset spec must be a string or an object, got ${String(spec)}`, { code: 'E_CONFIG' });
  const known = ['name', 'folder', 'audio', 'idx', 'manifest'].some((k) => k in spec);
  // A folder spec may carry a display name; only without a folder is `name` a dataset's name.
  const named = 'name' in spec && !('folder' in spec) && !('audio' in spec);
  const badName = named && !isName((spec as { name?: unknown }).name);
  // Those two get their own messages below; anything else must match the schema configs are checked with.
  const parsed = known && !badName ? DatasetSpecSchema.safeParse(spec) : undefined;
  if (parsed && !parsed.success) throw new UlearnError(`dataset spec ${JSON.stringify(spec)}: ${describeIssues(parsed.error, spec)}`, { code: 'E_CONFIG' });
  if (named && 'name' in spec) {
    const { name, ...rest } = spec;
    if (!isName(name)) throw new UlearnError(`unknown dataset name '${String(name)}'; known: ${DATASET_NAMES.join(', ')}`, { code: 'E_CONFIG' });
    if (name === 'speech-digits') {
      const { split, ...options } = rest as { split?: 'labeled' | 'pool' } & SpeechDigitsOptions;
      return split === 'pool' ? { train: await loadSpeechPool({ log: opts.log, ...options }) } : loadSpeechDigits({ log: opts.log, ...options });
    }
    return name === 'glyphs' || name === 'shapes' ? NAMED[name]({ log: opts.log, ...(rest as SyntheticOptions) }) : NAMED[name](rest as NamedIdxOptions);
  }
  if ('manifest' in spec) {
    const file = resolve(spec.manifest);
    if (manifests.includes(file) || manifests.length >= MAX_MANIFEST_DEPTH) {
      const chain = [...manifests, file].join(' -> ');
      throw new UlearnError(`manifest cycle: ${chain}${manifests.includes(file) ? '' : ` (more than ${MAX_MANIFEST_DEPTH} manifests deep)`}`, {
        code: 'E_DATA',
        hint: "a manifest's data must name the images or table it was made from, not a manifest that leads back to it",
      });
    }
    const manifest = await readManifest(spec.manifest);
    if (typeof manifest.data === 'object' && manifest.data !== null && 'table' in manifest.data) {
      throw new UlearnError(`${spec.manifest}: describes a table (${String(manifest.data.table)}), not images`, { code: 'E_DATA', hint: 'use it with `ulearn tabular` or a tabular config' });
    }
    return applyManifest(await load(manifest.data as DatasetSpec, opts, [...manifests, file]), manifest, spec.manifest).splits;
  }
  const report = (f: string, skipped: SkippedImage[]) => skipped.forEach((s) => opts.onSkip?.({ ...s, folder: f }));
  if ('audio' in spec) {
    const { audio, test, ...options } = spec;
    const train = await loadAudioFolder(audio, { ...options, split: 'train' });
    report(audio, train.skipped);
    if (test === undefined) return { train: train.dataset };
    // Same options, so the test clips have the train clips' length.
    const loaded = await loadAudioFolder(test, { ...options, split: 'test', name: undefined });
    report(test, loaded.skipped);
    return { train: train.dataset, test: alignClasses(train.dataset.classes, loaded.dataset, test) };
  }
  if ('folder' in spec) {
    // `{ folder, test }` is how the pipeline and `ulearn train` pass a folder with its test folder; a folder of
    // audio files is read as audio, as the plain path is.
    if ((await stat(spec.folder).catch(() => undefined))?.isDirectory() && (await isAudioFolder(spec.folder))) {
      const { folder, test, skipBad, csv, labels, name, concurrency } = spec;
      return load({ audio: folder, test, skipBad, csv, labels, name, concurrency }, opts, manifests);
    }
    const { folder, test, ...options } = spec;
    const train = await loadImageFolder(folder, { ...options, split: 'train' });
    report(folder, train.skipped);
    if (test === undefined) return { train: train.dataset };
    // The test folder must produce the same input shape, so pin size and channels to the train folder's.
    const [h, w, c] = train.dataset.inputShape;
    const testOpts: ImageFolderOptions = { ...options, split: 'test', channels: c as 1 | 3, name: undefined };
    if (options.size === undefined && h !== w) {
      throw new UlearnError(`${folder}: images are ${h}x${w} (not square); give size so ${test} can be resized to match`, { code: 'E_CONFIG' });
    }
    const loaded = await loadImageFolder(test, { ...testOpts, size: options.size ?? h });
    report(test, loaded.skipped);
    return { train: train.dataset, test: alignClasses(train.dataset.classes, loaded.dataset, test) };
  }
  if ('idx' in spec) {
    const { images, labels, testImages, testLabels, classes, name } = spec.idx;
    if ((testImages === undefined) !== (testLabels === undefined)) {
      throw new UlearnError(`idx dataset: give both testImages and testLabels, or neither`, { code: 'E_CONFIG' });
    }
    const base = name ?? basename(resolve(images)).replace(/(-idx\d-ubyte)?(\.gz)?$/, '');
    const train = await loadIdxPair(images, labels, { name: `${base}/train`, split: 'train', classes });
    if (testImages === undefined) return { train };
    // Without explicit classes the test split must still use the train split's class list.
    const test = await loadIdxPair(testImages, testLabels!, { name: `${base}/test`, split: 'test', classes: classes ?? train.classes });
    return { train, test };
  }
  throw new UlearnError(`dataset spec must have one of name, folder, audio or idx (or manifest); got keys ${Object.keys(spec).join(', ') || '(none)'}`, { code: 'E_CONFIG' });
}

/** A folder holding audio files and no images (a folder with neither stays an image folder, for its error). */
export async function isAudioFolder(dir: string): Promise<boolean> {
  const files = await listMediaFiles(dir, { noun: 'file', extensions: [...IMAGE_MEDIA.extensions, ...AUDIO_MEDIA.extensions] });
  const isImage = (f: string) => IMAGE_MEDIA.extensions.some((e) => f.toLowerCase().endsWith(e));
  return files.length > 0 && !files.some(isImage);
}

function isName(s: unknown): s is DatasetName {
  return typeof s === 'string' && Object.hasOwn(NAMED, s);
}

/** Re-indexes a test folder's labels onto the train folder's classes (a class seen only in test is an error). */
function alignClasses(trainClasses: string[], test: DatasetSplits['train'], folder: string): DatasetSplits['train'] {
  const index = new Map(trainClasses.map((c, i) => [c, i]));
  const unseen = test.classes.filter((c) => !index.has(c));
  if (unseen.length > 0) {
    throw new UlearnError(`${folder}: test classes ${unseen.map((c) => `'${c}'`).join(', ')} do not occur in the training folder`, { code: 'E_DATA' });
  }
  const y = test.y.map((c) => (c < 0 ? -1 : index.get(test.classes[c])!));
  return { ...test, classes: trainClasses, y };
}
