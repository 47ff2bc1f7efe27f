/**
 * Reading a folder of generated samples (`ulearn generate` writes it; `ulearn train --generated` and
 * `ulearn evaluate-generated` read it) and checking it against the data it is meant to augment.
 *
 * The format, a contract with src/generate's writers:
 *   <dir>/manifest.json = {"version": 1, "kind": "ulearn-generated", "model": "vae" | "ssvae" | "diffusion",
 *     "checkpoint": "<path relative to dir>", "shape": [H, W, C], "classes": ["name0", ...],
 *     "samples": [{"file": "<class-name>/<index>.png", "label": <int>, "labelSource": "conditional" | "pseudo"}]}
 * with 8-bit PNGs in per-class subfolders. A path to the folder or to its manifest.json is accepted.
 *
 * Everything is checked before a sample is used, because a generated folder is as untrusted as any input: the
 * manifest's fields, each file path (relative, inside the folder), each PNG (present, decodable, H×W), and
 * the shape and class names against the data, so a mismatch is an error before training rather than a model
 * trained on labels that mean other classes.
 */
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, normalize, resolve, sep } from 'node:path';
import type { Dataset } from '../data/dataset.js';
import { decodeImage, writePixels, type DecodedImage } from '../data/image-decode.js';
import { decodePng, isPng, pngSize } from '../clean/png.js';
import { Rng } from '../engine/seed.js';
import { UlearnError } from '../errors.js';
import { Progress } from '../util/progress.js';
import { GENERATOR_KINDS, type GeneratorKind } from './types.js';

export const GENERATED_MODELS = GENERATOR_KINDS;
export type GeneratedModel = GeneratorKind;
export type LabelSource = 'conditional' | 'pseudo';

export interface GeneratedSample {
  file: string;
  label: number;
  labelSource: LabelSource;
}

export interface GeneratedManifest {
  version: 1;
  kind: 'ulearn-generated';
  model: GeneratedModel;
  checkpoint: string;
  shape: [number, number, number];
  classes: string[];
  samples: GeneratedSample[];
}

/** The decoded samples of a generated folder, laid out like a Dataset's (NHWC floats in [0, 1]). */
export interface GeneratedSet {
  /** The folder, and its manifest.json. */
  dir: string;
  manifestPath: string;
  manifest: GeneratedManifest;
  shape: [number, number, number];
  classes: string[];
  size: number;
  x: Float32Array;
  y: Int32Array;
  /** Each sample's file, relative to `dir` (as in the manifest). */
  files: string[];
}

/** What the generated samples must match: the data they augment or are compared with. */
export type GeneratedTarget = Pick<Dataset, 'inputShape' | 'classes' | 'name'>;

const MANIFEST = 'manifest.json';

function bad(where: string, msg: string, hint?: string): UlearnError {
  return new UlearnError(`generated samples ${where}: ${msg}`, { code: 'E_GENERATED', hint: hint ?? `a generated folder holds manifest.json and its PNGs, as \`ulearn generate\` writes them` });
}

/** `<dir>` or `<dir>/manifest.json` → both paths, or a clear error when neither exists. */
async function locate(path: string): Promise<{ dir: string; manifestPath: string }> {
  const st = await stat(path).catch(() => undefined);
  if (!st) throw bad(path, 'no such file or folder', 'give the folder `ulearn generate` wrote (or its manifest.json)');
  if (st.isDirectory()) {
    const manifestPath = join(path, MANIFEST);
    if (!(await stat(manifestPath).catch(() => undefined))?.isFile()) throw bad(path, `no ${MANIFEST} in this folder`, 'give the folder `ulearn generate` wrote (or its manifest.json)');
    return { dir: path, manifestPath };
  }
  if (basename(path) !== MANIFEST) throw bad(path, `expected a folder or its ${MANIFEST}`);
  return { dir: dirname(path), manifestPath: path };
}

/** A sample's path, refused unless it is relative and stays inside the folder (a manifest is untrusted input). */
function samplePath(dir: string, file: string, where: string): string {
  if (isAbsolute(file) || normalize(file).split(/[\\/]/).includes('..')) throw bad(where, `sample file "${file}" must be a path inside the folder`);
  const full = resolve(dir, file);
  if (!full.startsWith(resolve(dir) + sep)) throw bad(where, `sample file "${file}" must be a path inside the folder`);
  return full;
}

/** Checks the manifest's fields one by one, so the message names the field that is wrong. */
export function parseGeneratedManifest(value: unknown, where: string): GeneratedManifest {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad(where, 'the manifest is not a JSON object');
  const m = value as Record<string, unknown>;
  if (m.kind !== 'ulearn-generated') throw bad(where, `"kind" is ${JSON.stringify(m.kind)}, expected "ulearn-generated"`);
  if (m.version !== 1) throw bad(where, `manifest version ${JSON.stringify(m.version)} is not supported (this ulearn reads version 1)`, 'regenerate the samples with this version of ulearn');
  if (!(GENERATED_MODELS as readonly unknown[]).includes(m.model)) throw bad(where, `"model" is ${JSON.stringify(m.model)}, expected one of ${GENERATED_MODELS.join(', ')}`);
  if (typeof m.checkpoint !== 'string') throw bad(where, '"checkpoint" must be a string (the generator checkpoint, relative to the folder)');
  const shape = m.shape;
  if (!Array.isArray(shape) || shape.length !== 3 || !shape.every((d) => Number.isInteger(d) && d > 0) || ![1, 3].includes(shape[2] as number)) {
    throw bad(where, `"shape" is ${JSON.stringify(shape)}, expected [height, width, channels] with 1 or 3 channels`);
  }
  const classes = m.classes;
  if (!Array.isArray(classes) || classes.length < 1 || !classes.every((c) => typeof c === 'string')) throw bad(where, '"classes" must be a non-empty list of class names');
  if (!Array.isArray(m.samples) || m.samples.length === 0) throw bad(where, '"samples" must be a non-empty list');
  const samples: GeneratedSample[] = m.samples.map((s: unknown, i: number) => {
    const r = (typeof s === 'object' && s !== null ? s : {}) as Record<string, unknown>;
    if (typeof r.file !== 'string' || r.file === '') throw bad(where, `sample ${i} has no "file"`);
    if (!Number.isInteger(r.label) || (r.label as number) < 0 || (r.label as number) >= classes.length) {
      throw bad(where, `sample ${i} (${r.file}) has label ${JSON.stringify(r.label)}, expected an integer in [0, ${classes.length - 1}]`);
    }
    if (r.labelSource !== 'conditional' && r.labelSource !== 'pseudo') throw bad(where, `sample ${i} (${r.file}) has labelSource ${JSON.stringify(r.labelSource)}, expected "conditional" or "pseudo"`);
    return { file: r.file, label: r.label as number, labelSource: r.labelSource };
  });
  return { version: 1, kind: 'ulearn-generated', model: m.model as GeneratedModel, checkpoint: m.checkpoint, shape: shape as [number, number, number], classes: classes as string[], samples };
}

/** Reads and checks manifest.json only (no PNG is opened). */
export async function readGeneratedManifest(path: string): Promise<{ dir: string; manifestPath: string; manifest: GeneratedManifest }> {
  const { dir, manifestPath } = await locate(path);
  let json: unknown;
  try {
    json = JSON.parse(await readFile(manifestPath, 'utf8'));
  } catch (err) {
    throw bad(manifestPath, `not readable JSON (${(err as Error).message})`);
  }
  return { dir, manifestPath, manifest: parseGeneratedManifest(json, manifestPath) };
}

/**
 * The generated samples must have the data's sample shape and the same classes, by name and in order (a label
 * is an index into the class list, so a reordered list would silently swap classes).
 */
export function checkGeneratedMatches(manifest: Pick<GeneratedManifest, 'shape' | 'classes'>, data: GeneratedTarget, where: string): void {
  const hint = 'generate the samples from this dataset (`ulearn generate <data>`), or train on the data they were generated from';
  if (data.inputShape.length !== 3 || manifest.shape.some((d, i) => d !== data.inputShape[i])) {
    throw bad(where, `samples are [${manifest.shape.join(', ')}] (H, W, C) but ${data.name} has [${data.inputShape.join(', ')}]`, hint);
  }
  if (manifest.classes.length !== data.classes.length) {
    throw bad(where, `${manifest.classes.length} classes (${manifest.classes.join(', ')}) but ${data.name} has ${data.classes.length} (${data.classes.join(', ')})`, hint);
  }
  const i = manifest.classes.findIndex((c, k) => c !== data.classes[k]);
  if (i >= 0) throw bad(where, `class ${i} is "${manifest.classes[i]}" but in ${data.name} it is "${data.classes[i]}"`, hint);
}

/** One PNG as H×W×C floats, or an error naming the file and what was expected. */
async function readSamplePng(full: string, file: string, shape: [number, number, number], where: string, out: Float32Array, offset: number): Promise<void> {
  const [h, w, c] = shape;
  const bytes = await readFile(full).catch((err: NodeJS.ErrnoException) => {
    throw bad(where, `sample file ${file} ${err.code === 'ENOENT' ? 'is missing' : `cannot be read (${err.code ?? err.message})`}`, 'regenerate the folder, or remove the sample from manifest.json');
  });
  if (!isPng(bytes)) throw bad(where, `sample file ${file} is not a PNG`, 'generated samples are 8-bit PNGs');
  let img: DecodedImage;
  try {
    const size = pngSize(bytes);
    if (size.width !== w || size.height !== h) throw new Error(`it is ${size.width}x${size.height}, the manifest's shape says ${w}x${h}`);
    // The strict decoder handles the 8-bit gray/RGB(A) PNGs a generator writes; sharp takes anything else.
    const raw = decodePng(bytes);
    img = raw ? flattenRaw(raw.pixels, raw.channels) : await decodeImage(bytes, h, w, 'crop');
  } catch (err) {
    throw bad(where, `sample file ${file} is unreadable: ${(err as Error).message}`, 'regenerate the folder, or remove the sample from manifest.json');
  }
  writePixels(img, c as 1 | 3, out, offset);
}

function flattenRaw(pixels: Uint8Array, channels: 1 | 3): DecodedImage {
  return { pixels, channels, color: channels === 3 };
}

/**
 * Reads a generated folder: the manifest, then every sample's PNG, checked against `target` (the data it
 * augments) first when given. Every failure is a UlearnError naming the folder or file and what was expected.
 */
export async function readGeneratedFolder(path: string, opts: { target?: GeneratedTarget } = {}): Promise<GeneratedSet> {
  const { dir, manifestPath, manifest } = await readGeneratedManifest(path);
  if (opts.target) checkGeneratedMatches(manifest, opts.target, dir);
  const shape = manifest.shape;
  const per = shape[0] * shape[1] * shape[2];
  const n = manifest.samples.length;
  const x = new Float32Array(n * per);
  const y = new Int32Array(n);
  const files: string[] = [];
  // Every path is checked before the first file is opened, so a hostile manifest fails before any reading.
  const paths = manifest.samples.map((s) => samplePath(dir, s.file, dir));
  const progress = new Progress('read generated', n);
  for (let i = 0; i < n; i++) {
    const s = manifest.samples[i];
    await readSamplePng(paths[i], s.file, shape, dir, x, i * per);
    y[i] = s.label;
    files.push(s.file);
    progress.tick(1);
  }
  progress.done();
  return { dir, manifestPath, manifest, shape, classes: manifest.classes, size: n, x, y, files };
}

/** The generated samples as a labeled Dataset (for CAS: a classifier trained on them alone). */
export function generatedDataset(set: GeneratedSet, indices?: ArrayLike<number>): Dataset {
  const idx = indices ? Array.from(indices) : Array.from({ length: set.size }, (_, i) => i);
  const per = set.shape[0] * set.shape[1] * set.shape[2];
  const x = new Float32Array(idx.length * per);
  idx.forEach((j, k) => x.set(set.x.subarray(j * per, (j + 1) * per), k * per));
  return {
    name: `generated/${set.manifest.model}`,
    modality: 'image',
    inputShape: [...set.shape],
    classes: set.classes,
    size: idx.length,
    ids: idx.map((j) => set.files[j]),
    x,
    y: Int32Array.from(idx, (j) => set.y[j]),
    split: 'train',
    source: set.dir,
  };
}

/** Samples per class among `indices` (all samples when omitted). */
export function countPerClass(y: ArrayLike<number>, nClasses: number, indices?: ArrayLike<number>): number[] {
  const counts = new Array<number>(nClasses).fill(0);
  if (indices) for (let k = 0; k < indices.length; k++) counts[y[indices[k]]]++;
  else for (let k = 0; k < y.length; k++) counts[y[k]]++;
  return counts;
}

/**
 * `count` samples drawn class-balanced from `candidates` (indices into `y`), seeded: each class gets an equal
 * share (the remainder to the classes that come first in a seeded order), from its own seeded permutation, so
 * a larger count keeps every sample a smaller one drew. A class with fewer candidates than its share gives
 * what it has. Ascending indices.
 */
export function drawBalanced(y: ArrayLike<number>, candidates: ArrayLike<number>, nClasses: number, count: number, seed: number): Int32Array {
  const rng = new Rng(seed).fork('generated-draw');
  const byClass: number[][] = Array.from({ length: nClasses }, () => []);
  for (let k = 0; k < candidates.length; k++) byClass[y[candidates[k]]].push(candidates[k]);
  const order = rng.fork('order').permutation(nClasses);
  const quota = new Array<number>(nClasses).fill(Math.floor(count / nClasses));
  for (let r = 0; r < count % nClasses; r++) quota[order[r]]++;
  const out: number[] = [];
  for (let c = 0; c < nClasses; c++) {
    const perm = rng.fork(`class-${c}`).permutation(byClass[c].length);
    for (let j = 0; j < Math.min(quota[c], perm.length); j++) out.push(byClass[c][perm[j]]);
  }
  return Int32Array.from(out.sort((a, b) => a - b));
}

/**
 * The first `perClass` samples of each class as PNG data: URIs for the report's gallery: the files themselves
 * (already checked to be PNGs of the right size when the folder was read), not a re-encoding.
 */
export async function galleryOf(set: GeneratedSet, perClass = 8): Promise<{ label: number; images: string[] }[]> {
  const out: { label: number; images: string[] }[] = [];
  for (let c = 0; c < set.classes.length; c++) {
    const images: string[] = [];
    for (let i = 0; i < set.size && images.length < perClass; i++) {
      if (set.y[i] !== c) continue;
      const bytes = await readFile(samplePath(set.dir, set.files[i], set.dir));
      images.push(`data:image/png;base64,${bytes.toString('base64')}`);
    }
    if (images.length) out.push({ label: c, images });
  }
  return out;
}
