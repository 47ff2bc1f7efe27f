/**
 * Turning data into ImageSamples without ever failing on a bad sample: an unreadable, truncated or
 * undecodable file becomes a recorded read error (the `corrupt` check reports it), not an exception.
 * This is the tolerant counterpart of loadImageFolder (which stops at the first bad file unless told to skip).
 *
 * Folders: one pass reads every file and its header (size, channels); the common size and channel count are
 * the most frequent ones (or given); a second pass decodes to that size. PNGs take the fast decoder in png.ts,
 * everything else (and PNGs of another size) goes through sharp. Files are kept in memory between the passes
 * while they fit in `keepBytes`, so a typical dataset is read from disk once.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { UlearnError } from '../errors.js';
import type { Dataset, DatasetSplits } from '../data/dataset.js';
import { checkPixelLimit, decodeImage, MAX_IMAGE_PIXELS } from '../data/image-decode.js';
import { folderLabels, listImages, IMAGE_EXTENSIONS, type Labeling } from '../data/image-folder.js';
import { mapLimit } from '../util/pool.js';
import { Progress } from '../util/progress.js';
import { decodePng, isPng, pngSize } from './png.js';
import { SPLIT_NAMES, type ImageSamples, type SplitName } from './types.js';

export interface ScanFolderOptions {
  /** Target size (square); default: the most common size. */
  size?: number;
  /** Default: the most common channel count. */
  channels?: 1 | 3;
  /** Label CSV for the train folder (as for loadImageFolder). */
  csv?: string;
  labels?: 'auto' | 'none';
  concurrency?: number;
  /** File bytes kept between the two passes (default 256 MiB); beyond it files are read again. */
  keepBytes?: number;
  /** Images larger than this (longer side of the common size) are checked at a downscaled copy (default 64). */
  maxSide?: number;
  /** Show a progress bar (stderr) while reading. */
  progress?: boolean;
}

/** One file of the scan, in scan order (train files first, each folder sorted as listImages sorts). */
export interface ScanEntry {
  split: number;
  root: string;
  rel: string;
  label: number;
}

/** Pass 1's result for one file; `bytes` only where the caller keeps them for pass 2. */
export interface HeaderResult {
  /** File size (0 when it could not be read). */
  size: number;
  /** [height, width, channels] from the header; absent on error. */
  shape?: [number, number, number];
  error?: string;
  bytes?: Uint8Array;
}

/** Pass 2's result for one file: whether its pixels hold colour, or why it could not be decoded. */
export type DecodeResult = { colorful: boolean; error?: undefined } | { error: string };

/** What pass 2 decodes to, decided from every file's header (pass 1). */
export interface DecodePlan {
  /** The common stored size (the most frequent, or --size). */
  storedHeight: number;
  storedWidth: number;
  /** The size the checks see (the stored size downscaled to maxSide). */
  height: number;
  width: number;
  /** Decode with colour when any file stores colour; gray or colour is decided after pass 2 (finishScan). */
  channels: 1 | 3;
}

/**
 * The per-file arrays both passes fill. Errors are kept per index and per pass, so readError lists pass-1
 * errors in index order, then pass-2 errors in index order, whatever order the files finished in (and
 * whichever machine read them: src/distributed/clean-scan.ts fills the same arrays from shards).
 */
export interface ScanState {
  n: number;
  nativeShape: Int32Array;
  fileBytes: Float64Array;
  headerError: (string | undefined)[];
  decodeError: (string | undefined)[];
}

const collator = new Intl.Collator('en', { numeric: true });
const DEFAULT_MAX_SIDE = 64;

/** Scans a train folder and optionally a test folder into one sample table (train samples first). */
export async function scanImageFolders(folders: Partial<Record<SplitName, string>>, opts: ScanFolderOptions = {}): Promise<ImageSamples> {
  const { entries, classes } = await listScanEntries(folders, opts);
  const n = entries.length;
  const state = newScanState(n);
  const kept: (Uint8Array | undefined)[] = new Array(n);
  const keepBytes = opts.keepBytes ?? 256 * 2 ** 20;
  let keptBytes = 0;
  const concurrency = opts.concurrency ?? 16;
  let bar = opts.progress ? new Progress('read', n) : undefined;

  // Pass 1: bytes and headers.
  await mapLimit(entries, concurrency, async (e, i) => {
    const r = await readHeader(join(e.root, e.rel));
    if (r.bytes && keptBytes + r.bytes.length <= keepBytes) {
      kept[i] = r.bytes;
      keptBytes += r.bytes.length;
    }
    recordHeader(state, i, r);
    bar?.tick();
  });

  bar?.done();
  bar = opts.progress ? new Progress('decode', n) : undefined;
  const plan = decodePlan(state, opts);
  const per = plan.height * plan.width * plan.channels;
  const pixels = new Uint8Array(n * per);

  // Pass 2: pixels at the common size.
  await mapLimit(entries, concurrency, async (e, i) => {
    if (state.headerError[i] === undefined) {
      const bytes = kept[i];
      kept[i] = undefined;
      const out = pixels.subarray(i * per, (i + 1) * per);
      recordDecode(state, i, await decodeFile(bytes ?? join(e.root, e.rel), plan, out), out);
    }
    bar?.tick();
  });

  bar?.done();
  return finishScan(folders, entries, classes, plan, state, pixels, opts);
}

/** The files of the folders in scan order, with their labels on one class list for both splits. */
export async function listScanEntries(folders: Partial<Record<SplitName, string>>, opts: Pick<ScanFolderOptions, 'csv' | 'labels'> = {}): Promise<{ entries: ScanEntry[]; classes: string[] }> {
  const entries: ScanEntry[] = [];
  const labelings: { split: number; labeling: Labeling; start: number }[] = [];
  for (const [s, name] of SPLIT_NAMES.entries()) {
    const root = folders[name];
    if (root === undefined) continue;
    const files = await listImages(root).catch((err: NodeJS.ErrnoException) => {
      throw new UlearnError(`${root}: ${err.code === 'ENOENT' ? 'folder not found' : `cannot read folder (${err.code ?? err.message})`}`, { code: 'E_DATA_MISSING', cause: err });
    });
    if (files.length === 0) throw new UlearnError(`${root}: no images (${IMAGE_EXTENSIONS.join(', ')}) found in this folder or below`, { code: 'E_DATA' });
    const labeling = await folderLabels(root, files, { csv: s === 0 ? opts.csv : undefined, labels: opts.labels });
    labelings.push({ split: s, labeling, start: entries.length });
    files.forEach((rel, k) => entries.push({ split: s, root, rel, label: labeling.labels[k] }));
  }
  if (entries.length === 0) throw new UlearnError('clean: no folder given', { code: 'E_ARG' });
  // One class list for both splits (sorted like the loader sorts them), so test labels compare with train labels.
  const classes = [...new Set(labelings.flatMap((l) => l.labeling.classes))].sort(collator.compare);
  const classIndex = new Map(classes.map((c, i) => [c, i]));
  for (const { labeling, start } of labelings) {
    const remap = labeling.classes.map((c) => classIndex.get(c)!);
    for (let k = 0; k < labeling.labels.length; k++) {
      const e = entries[start + k];
      e.label = e.label < 0 ? -1 : remap[e.label];
    }
  }
  return { entries, classes };
}

export function newScanState(n: number): ScanState {
  return { n, nativeShape: new Int32Array(n * 3), fileBytes: new Float64Array(n), headerError: new Array<string | undefined>(n), decodeError: new Array<string | undefined>(n) };
}

/** Pass 1 for one file: its size and header, never an exception (a bad file is a recorded error). */
export async function readHeader(file: string): Promise<HeaderResult> {
  let size = 0;
  try {
    const bytes = await readFile(file);
    size = bytes.length;
    if (bytes.length === 0) throw new Error('empty file (0 bytes)');
    const { width, height, channels } = await libvips.run(() => header(bytes));
    return { size, shape: [height, width, channels], bytes };
  } catch (err) {
    return { size, error: errorText(err) };
  }
}

export function recordHeader(state: ScanState, i: number, r: HeaderResult): void {
  state.fileBytes[i] = r.size;
  if (r.error !== undefined) state.headerError[i] = r.error;
  else state.nativeShape.set(r.shape!, i * 3);
}

/** The common size and decode channels from every file's header (pass 1 complete). */
export function decodePlan(state: ScanState, opts: Pick<ScanFolderOptions, 'size' | 'channels' | 'maxSide'>): DecodePlan {
  const bad = (i: number) => state.headerError[i] !== undefined;
  const [storedHeight, storedWidth] = opts.size !== undefined ? [opts.size, opts.size] : mostCommonSize(state.nativeShape, bad, state.n);
  // The checks work on small copies: duplicates, blanks and neighbours do not need full resolution, and
  // 100,000 photos at full size would not fit in memory.
  const scale = Math.min(1, (opts.maxSide ?? DEFAULT_MAX_SIDE) / Math.max(storedHeight, storedWidth));
  const height = Math.max(1, Math.round(storedHeight * scale));
  const width = Math.max(1, Math.round(storedWidth * scale));
  // Decode with colour whenever any file stores colour; whether the dataset *is* colour is decided after
  // decoding, by content (many tools save gray images as RGB files), as the dataset loader does.
  const channels = opts.channels ?? (anyColorFile(state.nativeShape, bad, state.n) ? 3 : 1);
  return { storedHeight, storedWidth, height, width, channels };
}

/**
 * Pass 2 for one file (its bytes, or its path to read them again): pixels at the plan's size into `out`
 * (height × width × plan.channels bytes). Never throws: an undecodable file is a recorded error.
 */
export async function decodeFile(source: Uint8Array | string, plan: DecodePlan, out: Uint8Array): Promise<DecodeResult> {
  const { width, height } = plan;
  try {
    const bytes = typeof source === 'string' ? await readFile(source) : source;
    // The fast decoder only pays when the file already has the target size (header check, no inflate).
    const png = isPng(bytes) && sameSize(bytes, width, height) ? decodePng(bytes) : undefined;
    if (png && png.width === width && png.height === height) {
      convertChannels(png.pixels, png.channels, out, plan.channels);
      return { colorful: png.channels === 3 && isColorful(png.pixels) };
    }
    const d = await libvips.run(() => decodeImage(bytes, height, width, 'crop'));
    convertChannels(d.pixels, d.channels, out, plan.channels);
    return { colorful: d.color };
  } catch (err) {
    return { error: errorText(err) };
  }
}

/** Pass 2's result for file i; `out` is its pixels (zeroed on error, as a half-decoded file may have left them). */
export function recordDecode(state: ScanState, i: number, r: DecodeResult, out: Uint8Array): void {
  if (r.error !== undefined) {
    state.decodeError[i] = r.error;
    out.fill(0);
    state.nativeShape.fill(0, i * 3, i * 3 + 3);
  } else {
    // The channel count a user would see: gray stored as RGB counts as gray.
    state.nativeShape[i * 3 + 2] = r.colorful ? 3 : 1;
  }
}

/** Both passes done: gray or colour by content, and the sample table. */
export function finishScan(folders: Partial<Record<SplitName, string>>, entries: ScanEntry[], classes: string[], plan: DecodePlan, state: ScanState, pixels: Uint8Array, opts: Pick<ScanFolderOptions, 'channels'>): ImageSamples {
  const { n, nativeShape } = state;
  const { height, width } = plan;
  const per = height * width * plan.channels;
  // Pass-1 errors first, then pass-2 ones, each in index order (a file has at most one).
  const readError = new Map<number, string>();
  for (const errors of [state.headerError, state.decodeError]) for (let i = 0; i < n; i++) if (errors[i] !== undefined) readError.set(i, errors[i]!);
  let channels = plan.channels;
  let samplesPixels = pixels;
  if (opts.channels === undefined && plan.channels === 3) {
    const gray = mostCommonChannels(nativeShape, (i) => readError.has(i), n) === 1;
    if (gray) {
      channels = 1;
      samplesPixels = new Uint8Array(n * height * width);
      for (let i = 0; i < n; i++) convertChannels(pixels.subarray(i * per, (i + 1) * per), 3, samplesPixels.subarray(i * height * width, (i + 1) * height * width), 1);
    }
  }
  const readable = new Uint8Array(n).fill(1);
  for (const i of readError.keys()) readable[i] = 0;
  const roots: Partial<Record<SplitName, string>> = {};
  for (const name of SPLIT_NAMES) if (folders[name] !== undefined) roots[name] = folders[name];
  return {
    source: folders.train ?? folders.test ?? '',
    ids: entries.map((e) => e.rel),
    split: Uint8Array.from(entries, (e) => e.split),
    y: Int32Array.from(entries, (e) => e.label),
    classes,
    height,
    width,
    storedHeight: plan.storedHeight,
    storedWidth: plan.storedWidth,
    channels,
    pixels: samplesPixels,
    readable,
    readError,
    nativeShape,
    nonFinite: new Uint8Array(n),
    fileBytes: state.fileBytes,
    roots,
  };
}

/** An in-memory dataset (e.g. Fashion-MNIST from IDX files) as samples: floats in [0, 1] back to bytes. */
export function samplesFromSplits(splits: DatasetSplits, source: string): ImageSamples {
  const parts: Dataset[] = [splits.train, ...(splits.test ? [splits.test] : [])];
  const ds = splits.train;
  if (ds.modality !== 'image' || ds.inputShape.length !== 3) {
    throw new UlearnError(`${source}: clean checks images here; this dataset is ${ds.modality} with sample shape [${ds.inputShape.join(', ')}]`, { code: 'E_DATA' });
  }
  const [height, width, channels] = ds.inputShape;
  const per = height * width * channels;
  const n = parts.reduce((a, p) => a + p.size, 0);
  const pixels = new Uint8Array(n * per);
  const nonFinite = new Uint8Array(n);
  const nativeShape = new Int32Array(n * 3);
  let offset = 0;
  for (const p of parts) {
    for (let i = 0; i < p.size; i++) {
      const s = offset + i;
      nativeShape.set(p.inputShape, s * 3);
      for (let j = 0; j < per; j++) {
        const v = p.x[i * per + j];
        if (!Number.isFinite(v)) {
          nonFinite[s] = 1;
          continue;
        }
        pixels[s * per + j] = Math.round(Math.min(1, Math.max(0, v)) * 255);
      }
    }
    offset += p.size;
  }
  return {
    source,
    ids: parts.flatMap((p) => p.ids),
    split: Uint8Array.from(parts.flatMap((p) => new Array<number>(p.size).fill(p === splits.test ? 1 : 0))),
    y: Int32Array.from(parts.flatMap((p) => Array.from(p.y))),
    classes: ds.classes,
    height,
    width,
    storedHeight: height,
    storedWidth: width,
    channels,
    pixels,
    readable: new Uint8Array(n).fill(1),
    readError: new Map(),
    nativeShape,
    nonFinite,
  };
}

function sameSize(png: Uint8Array, width: number, height: number): boolean {
  const s = pngSize(png);
  return s.width === width && s.height === height;
}

/** Size and channels from the header alone; an image over the pixel limit is refused here, before any decode. */
async function header(bytes: Uint8Array): Promise<{ width: number; height: number; channels: number }> {
  if (isPng(bytes)) {
    const { width, height } = pngSize(bytes);
    checkPixelLimit(width, height);
    const colorType = bytes[25];
    // Palette images (3) may be gray or colour; ask libvips.
    if (colorType !== 3) return { width, height, channels: colorType === 0 || colorType === 4 ? 1 : 3 };
  }
  const meta = await sharp(bytes, { limitInputPixels: MAX_IMAGE_PIXELS }).metadata();
  checkPixelLimit(meta.width, meta.height);
  const channels = (meta.channels ?? 3) - (meta.hasAlpha ? 1 : 0);
  return { width: meta.autoOrient.width, height: meta.autoOrient.height, channels: channels <= 1 ? 1 : 3 };
}

function convertChannels(src: Uint8Array, from: number, out: Uint8Array, to: number): void {
  if (from === to) {
    out.set(src.subarray(0, out.length));
  } else if (to === 3) {
    for (let i = 0; i < out.length / 3; i++) out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = src[i];
  } else {
    // Rec. 601 luma, as the dataset loader converts colour to gray.
    for (let i = 0; i < out.length; i++) out[i] = Math.round(0.299 * src[3 * i] + 0.587 * src[3 * i + 1] + 0.114 * src[3 * i + 2]);
  }
}

function mostCommonSize(shape: Int32Array, bad: (i: number) => boolean, n: number): [number, number] {
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    if (bad(i)) continue;
    const key = `${shape[i * 3]}x${shape[i * 3 + 1]}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  if (counts.size === 0) return [1, 1];
  const best = [...counts.entries()].sort((a, b) => b[1] - a[1])[0][0];
  const [h, w] = best.split('x').map(Number);
  return [h, w];
}

function anyColorFile(shape: Int32Array, bad: (i: number) => boolean, n: number): boolean {
  for (let i = 0; i < n; i++) if (!bad(i) && shape[i * 3 + 2] === 3) return true;
  return false;
}

/** Some pixel's channels differ by more than JPEG chroma noise (the loader's tolerance). */
function isColorful(rgb: Uint8Array): boolean {
  for (let p = 0; p < rgb.length; p += 3) {
    const r = rgb[p];
    const g = rgb[p + 1];
    const b = rgb[p + 2];
    if (Math.max(r, g, b) - Math.min(r, g, b) > 8) return true;
  }
  return false;
}

function mostCommonChannels(shape: Int32Array, bad: (i: number) => boolean, n: number): 1 | 3 {
  let gray = 0;
  let color = 0;
  for (let i = 0; i < n; i++) {
    if (bad(i)) continue;
    if (shape[i * 3 + 2] === 1) gray++;
    else color++;
  }
  return color > gray ? 3 : 1;
}

/**
 * libvips keeps one error buffer per process, and sharp's threads share it: a call that fails while others run
 * can lose its detail to another thread clearing the buffer (the same truncated PNG read 'Input buffer has
 * corrupt header:' in one scan and '... header: pngload_buffer: end of stream' in the next). The reason a file
 * is corrupt must not depend on what else was decoding, so a failed call is repeated alone: after the calls in
 * flight have finished and before new ones start. Corrupt files are rare; the repeat costs one decode each.
 * One gate for the process, so scans that share it (two workers of a distributed scan) share the gate too.
 */
export class AloneOnFailure {
  private running = 0;
  private alone = false;
  private drained: (() => void) | undefined;
  private waiting: (() => void)[] = [];
  private queue: Promise<void> = Promise.resolve();

  async run<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await this.shared(call);
    } catch {
      return await this.exclusive(call);
    }
  }

  private async shared<T>(call: () => Promise<T>): Promise<T> {
    while (this.alone) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.running++;
    try {
      return await call();
    } finally {
      if (--this.running === 0) this.drained?.();
    }
  }

  private async exclusive<T>(call: () => Promise<T>): Promise<T> {
    const previous = this.queue;
    let done!: () => void;
    this.queue = new Promise<void>((resolve) => (done = resolve));
    await previous;
    this.alone = true;
    try {
      if (this.running > 0) await new Promise<void>((resolve) => (this.drained = resolve));
      this.drained = undefined;
      return await call();
    } finally {
      this.alone = false;
      for (const resume of this.waiting.splice(0)) resume();
      done();
    }
  }
}

const libvips = new AloneOnFailure();

function errorText(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.replace(/\s+/g, ' ').trim();
}
