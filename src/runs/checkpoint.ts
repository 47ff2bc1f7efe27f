/**
 * Checkpoints: a model's weights (+ optionally its optimizer's state) and a small JSON of training state, in
 * `<dir>/weights.bin` (raw little-endian values, concatenated) and `<dir>/manifest.json` (names, shapes,
 * dtypes, byte offsets, state). Plain files rather than tf.io handlers: those need tfjs-node for `file://`.
 *
 * Crash safety: a save writes a complete sibling temp dir, then swaps it in with two renames (a non-empty
 * directory cannot be renamed over another). A kill between the renames leaves no `<dir>`, but both the old
 * (`.<name>.old-*`) and the new (`.<name>.tmp-*`) checkpoints whole; loading picks the newest complete one
 * and the next save finishes the swap. A manifest is written last, so a dir with a valid manifest and a
 * weights.bin of the declared size is complete.
 *
 * Self-describing: the manifest also records the model's architecture (family, modality, input shape, widths,
 * depth, method; see src/models/architecture.ts) when the model was built from one, so `loadEncoder` rebuilds
 * it from the checkpoint alone. Checkpoints written before this field load too (their architecture is
 * inferred from the weights; see load-encoder.ts).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { UlearnError } from '../errors.js';
import { architectureOf, checkArchitecture, type EncoderArchitecture } from '../models/architecture.js';
import { replaceDir, syncDir, writeJsonAtomic } from '../util/atomic.js';
import type { RunDir } from './run-dir.js';

const FORMAT = 'ulearn-checkpoint';
const VERSION = 1;

/** Where training was; free-form beyond the common fields. Must be JSON-serializable. */
export interface TrainingState {
  epoch?: number;
  step?: number;
  seed?: number;
  metrics?: Record<string, unknown>;
  [key: string]: unknown;
}

type StoredDtype = 'float32' | 'int32';

interface TensorEntry {
  name: string;
  shape: number[];
  dtype: StoredDtype;
  offset: number;
  bytes: number;
}

interface Manifest {
  format: typeof FORMAT;
  version: number;
  /** ms since epoch; picks the newer of two complete checkpoints after an interrupted swap. */
  savedAt: number;
  bytes: number;
  weights: TensorEntry[];
  optimizer?: { className: string; weights: TensorEntry[] };
  state: TrainingState;
  /** Absent in checkpoints written before it was recorded, and for models not built from an architecture. */
  architecture?: EncoderArchitecture;
}

export interface SaveOptions {
  state?: TrainingState;
  /** Saved too when given (Adam's moments, the step count), so a resumed run continues rather than restarts. */
  optimizer?: tf.Optimizer;
  /** Recorded in the manifest; default: the architecture the model was built with (architectureOf). */
  architecture?: EncoderArchitecture;
}

export interface LoadOptions {
  /** Restored when given and the checkpoint has optimizer state of the same class. */
  optimizer?: tf.Optimizer;
}

export interface CheckpointInfo {
  /** The directory actually holding the checkpoint (may be a recovery dir after a crash mid-save). */
  path: string;
  savedAt: number;
  state: TrainingState;
  hasOptimizer: boolean;
  architecture?: EncoderArchitecture;
  /** Name and shape of every saved weight, in load order (what an old checkpoint's architecture is inferred from). */
  weights: { name: string; shape: number[] }[];
}

export interface LoadResult extends CheckpointInfo {
  optimizerRestored: boolean;
}

/** Saves atomically to `dir` (e.g. `run.path('checkpoints', 'pretrain')`), replacing what was there. */
export async function saveCheckpoint(dir: string, model: tfl.LayersModel, opts: SaveOptions = {}): Promise<void> {
  const parent = dirname(dir);
  const name = basename(dir);
  await mkdir(parent, { recursive: true });
  await finishInterruptedSave(parent, name);

  const weights = collectWeights(model);
  const chunks: Uint8Array[] = [];
  let offset = 0;
  const add = async (entryName: string, t: tf.Tensor): Promise<TensorEntry> => {
    const dtype = storedDtype(t.dtype, entryName);
    const data = (await t.data()) as Float32Array | Int32Array;
    // A copy: the backend may hand out a view of its own memory, which later ops could move or reuse.
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
    chunks.push(bytes);
    const entry = { name: entryName, shape: [...t.shape], dtype, offset, bytes: bytes.byteLength };
    offset += bytes.byteLength;
    return entry;
  };
  const weightEntries: TensorEntry[] = [];
  for (const w of weights) weightEntries.push(await add(w.name, w.read()));

  let optimizer: Manifest['optimizer'];
  if (opts.optimizer) {
    const named = await optimizerWeights(opts.optimizer);
    try {
      const entries: TensorEntry[] = [];
      for (const nt of named) entries.push(await add(nt.name, nt.tensor));
      optimizer = { className: opts.optimizer.getClassName(), weights: entries };
    } finally {
      // getWeights() returns the optimizer's own variables plus a fresh 'iter' scalar: free only the latter.
      for (const nt of named) if (!(nt.tensor instanceof tf.Variable)) nt.tensor.dispose();
    }
  }

  const architecture = opts.architecture ?? architectureOf(model);
  const manifest: Manifest = {
    format: FORMAT,
    version: VERSION,
    savedAt: Date.now(),
    bytes: offset,
    weights: weightEntries,
    ...(optimizer ? { optimizer } : {}),
    state: opts.state ?? {},
    ...(architecture ? { architecture } : {}),
  };

  const tmp = join(parent, `.${name}.tmp-${randomBytes(4).toString('hex')}`);
  await mkdir(tmp);
  let swapped = false;
  try {
    const fh = await open(join(tmp, 'weights.bin'), 'wx');
    try {
      for (const c of chunks) await fh.write(c);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await writeJsonAtomic(join(tmp, 'manifest.json'), manifest);
    await syncDir(tmp);
    await replaceDir(tmp, dir);
    swapped = true;
  } finally {
    if (!swapped) await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
  }
}

/**
 * Loads the checkpoint at `dir` (or, after a crash mid-save, the newest complete one left beside it) into
 * `model`. Every weight is checked before any is assigned, so a mismatch leaves the model untouched.
 */
export async function loadCheckpoint(dir: string, model: tfl.LayersModel, opts: LoadOptions = {}): Promise<LoadResult> {
  const found = await resolveCheckpoint(dir);
  if (!found) throw new UlearnError(`no checkpoint at ${dir}`, { code: 'E_CHECKPOINT' });
  const { path, manifest } = found;
  const bin = await readFile(join(path, 'weights.bin'));

  const weights = collectWeights(model);
  const saved = manifest.weights;
  const misfit = (detail: string): UlearnError =>
    new UlearnError(`checkpoint ${path} does not fit this model: ${detail}`, {
      code: 'E_CHECKPOINT_MISMATCH',
      hint: 'was it saved from a model with a different architecture or input shape?',
    });
  for (let i = 0; i < Math.min(saved.length, weights.length); i++) {
    const s = saved[i];
    const w = weights[i];
    if (structuralName(s.name) !== structuralName(w.name)) {
      throw misfit(`weight #${i} is '${s.name}' in the checkpoint but '${w.name}' in the model`);
    }
    if (!sameShape(s.shape, w.shape) || s.dtype !== w.dtype) {
      throw misfit(`weight #${i} '${w.name}' is ${s.dtype}[${s.shape}] in the checkpoint but ${w.dtype}[${w.shape}] in the model`);
    }
  }
  if (saved.length !== weights.length) {
    const extra = saved.length > weights.length ? `checkpoint's '${saved[weights.length].name}'` : `model's '${weights[saved.length].name}'`;
    throw misfit(`the checkpoint has ${saved.length} weights, the model ${weights.length} (first unmatched: the ${extra})`);
  }

  weights.forEach((w, i) => {
    const t = toTensor(bin, saved[i]);
    // Assign to the underlying variable: LayerVariable.write() would re-apply weight constraints.
    (w.read() as tf.Variable).assign(t);
    t.dispose();
  });

  let optimizerRestored = false;
  if (opts.optimizer && manifest.optimizer) {
    const cls = opts.optimizer.getClassName();
    if (cls !== manifest.optimizer.className) {
      throw new UlearnError(`checkpoint ${path} holds ${manifest.optimizer.className} state; cannot restore it into ${cls}`, {
        code: 'E_CHECKPOINT_MISMATCH',
      });
    }
    const named = manifest.optimizer.weights.map((e) => ({ name: e.name, tensor: toTensor(bin, e) }));
    try {
      await opts.optimizer.setWeights(named);
    } finally {
      // setWeights copies into its own variables.
      for (const nt of named) nt.tensor.dispose();
    }
    optimizerRestored = true;
  }
  return { ...info(path, manifest), optimizerRestored };
}

/**
 * The newest complete checkpoint of a run: of `name` if given, else of any name. `run` is a RunDir or a run
 * directory path. Undefined when there is none yet (start from scratch).
 */
export async function latestCheckpoint(run: RunDir | string, name?: string): Promise<CheckpointInfo | undefined> {
  const root = typeof run === 'string' ? join(run, 'checkpoints') : run.path('checkpoints');
  let names: string[];
  if (name !== undefined) {
    names = [name];
  } else {
    let entries: string[];
    try {
      entries = await readdir(root);
    } catch {
      return undefined;
    }
    // A checkpoint caught mid-swap exists only as its leftovers, so names come from those too.
    names = [...new Set(entries.map((e) => LEFTOVER.exec(e)?.[1] ?? (e.startsWith('.') ? '' : e)).filter(Boolean))];
  }
  let best: CheckpointInfo | undefined;
  for (const n of names) {
    const found = await resolveCheckpoint(join(root, n));
    if (found && (!best || found.manifest.savedAt > best.savedAt)) best = info(found.path, found.manifest);
  }
  return best;
}

const LEFTOVER = /^\.(.+)\.(?:tmp|old)-[0-9a-f]+$/;

function info(path: string, m: Manifest): CheckpointInfo {
  return {
    path,
    savedAt: m.savedAt,
    state: m.state,
    hasOptimizer: m.optimizer !== undefined,
    ...(m.architecture !== undefined ? { architecture: checkArchitecture(m.architecture, join(path, 'manifest.json')) } : {}),
    weights: m.weights.map((w) => ({ name: w.name, shape: w.shape })),
  };
}

/**
 * What the checkpoint at `dir` holds (architecture, weight names and shapes, state) without loading it.
 * Undefined when `dir` holds no complete checkpoint.
 */
export async function inspectCheckpoint(dir: string): Promise<CheckpointInfo | undefined> {
  const found = await resolveCheckpoint(dir);
  return found ? info(found.path, found.manifest) : undefined;
}

/** `dir` if it is complete, else the newest complete leftover of an interrupted save beside it. */
async function resolveCheckpoint(dir: string): Promise<{ path: string; manifest: Manifest } | undefined> {
  const m = await completeManifest(dir);
  if (m) return { path: dir, manifest: m };
  let best: { path: string; manifest: Manifest } | undefined;
  for (const path of await leftovers(dirname(dir), basename(dir))) {
    const lm = await completeManifest(path);
    if (lm && (!best || lm.savedAt > best.manifest.savedAt)) best = { path, manifest: lm };
  }
  return best;
}

/** Before a new save: if a previous one died between its renames, put the newest complete copy in place; drop the rest. */
async function finishInterruptedSave(parent: string, name: string): Promise<void> {
  const dir = join(parent, name);
  const found = await resolveCheckpoint(dir);
  if (found && found.path !== dir && !(await exists(dir))) await rename(found.path, dir);
  for (const path of await leftovers(parent, name)) await rm(path, { recursive: true, force: true });
}

async function leftovers(parent: string, name: string): Promise<string[]> {
  let entries: string[];
  try {
    entries = await readdir(parent);
  } catch {
    return [];
  }
  return entries.filter((e) => LEFTOVER.exec(e)?.[1] === name).map((e) => join(parent, e));
}

async function completeManifest(dir: string): Promise<Manifest | undefined> {
  let m: Manifest;
  try {
    m = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  } catch {
    return undefined;
  }
  if (m?.format !== FORMAT) return undefined;
  if (!Array.isArray(m.weights) || typeof m.bytes !== 'number' || m.weights.some((w) => typeof w?.name !== 'string' || !Array.isArray(w.shape))) {
    throw new UlearnError(`checkpoint ${dir}: manifest.json is malformed (weights or bytes missing)`, { code: 'E_CHECKPOINT', hint: 'the file may be corrupt or hand-edited; retrain or restore it' });
  }
  if (m.version > VERSION) {
    throw new UlearnError(`checkpoint ${dir} has format version ${m.version}; this ulearn reads up to ${VERSION}`, {
      code: 'E_CHECKPOINT',
      hint: 'upgrade ulearn',
    });
  }
  try {
    if ((await stat(join(dir, 'weights.bin'))).size !== m.bytes) return undefined;
  } catch {
    return undefined;
  }
  return m;
}

/**
 * Weights in a stable order: layers in model order (recursing into nested models), each layer's weights in
 * creation order. Not `model.weights`: that lists all trainable weights first, so freezing a layer (linear
 * probe) would reorder it and break loading.
 */
function collectWeights(model: tfl.LayersModel): tfl.LayerVariable[] {
  const out: tfl.LayerVariable[] = [];
  const seen = new Set<number>();
  const visit = (layer: tfl.layers.Layer): void => {
    const children = (layer as { layers?: tfl.layers.Layer[] }).layers;
    if (Array.isArray(children)) {
      for (const c of children) visit(c);
      return;
    }
    for (const w of [...layer.weights].sort((a, b) => a.id - b.id)) {
      // A layer shared between two branches must be saved once.
      if (!seen.has(w.id)) {
        seen.add(w.id);
        out.push(w);
      }
    }
  };
  visit(model);
  return out;
}

/**
 * Names without digits and underscores: tfjs numbers auto-named layers per process ('dense_Dense1' in one
 * run, 'dense_Dense4' in the next), but a conv kernel where a dense kernel is expected is a real mismatch.
 */
function structuralName(name: string): string {
  return name.replace(/[\d_]+/g, '');
}

function sameShape(a: readonly number[], b: readonly (number | null)[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function storedDtype(dtype: string, name: string): StoredDtype {
  if (dtype === 'float32' || dtype === 'int32') return dtype;
  throw new UlearnError(`cannot checkpoint '${name}': dtype ${dtype} is not supported (float32, int32)`, { code: 'E_CHECKPOINT' });
}

function toTensor(bin: Buffer, e: TensorEntry): tf.Tensor {
  // Copy out of the file buffer: typed arrays need 4-byte alignment, which a Buffer's byteOffset does not promise.
  const bytes = bin.buffer.slice(bin.byteOffset + e.offset, bin.byteOffset + e.offset + e.bytes);
  const values = e.dtype === 'int32' ? new Int32Array(bytes) : new Float32Array(bytes);
  return tf.tensor(values, e.shape, e.dtype);
}

type NamedTensor = Awaited<ReturnType<tf.Optimizer['getWeights']>>[number];

async function optimizerWeights(optimizer: tf.Optimizer): Promise<NamedTensor[]> {
  try {
    return await optimizer.getWeights();
  } catch (e) {
    throw new UlearnError(`cannot checkpoint optimizer ${optimizer.getClassName()}: ${(e as Error).message}`, {
      code: 'E_CHECKPOINT',
      cause: e,
      hint: 'save without the optimizer; training resumes with fresh optimizer state',
    });
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

