/**
 * `exportModel(model | folder, outDir, { format })`: a ulearn encoder or classifier as ONNX (`model.onnx`) or
 * as a tfjs layers model (`model.json` + weights, written by models/io.ts), with `preprocessing.json`
 * (./sidecar.ts) beside it.
 *
 * What can be exported: a model object, a model folder (`ulearn train` / the pipeline's `model/`, a tabular
 * run's `model/`), a run directory (its trained `model/`, else its pretrained encoder), or an encoder
 * checkpoint; `encoderOnly` cuts the classifier head off (through models/load-encoder.ts, the one loader).
 *
 * Every ONNX export is checked before it is written: onnxruntime and tfjs on the same random inputs must
 * agree within 1e-4 (./onnx-check.ts). Atomic: everything goes into a temporary sibling folder that is renamed
 * into place at the end, so a failure (an unsupported layer, a failed check, a full disk) leaves nothing, and
 * an existing export is replaced whole. A folder that holds anything but an earlier export is not touched.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type * as tfl from '@tensorflow/tfjs-layers';
import { UlearnError } from '../errors.js';
import { Rng } from '../engine/seed.js';
import { loadPreprocessor, PREPROCESSOR_FILE, type Preprocessor } from '../data/preprocess/index.js';
import type { Modality } from '../data/dataset.js';
import { architectureOf, type EncoderArchitecture } from '../models/architecture.js';
import { loadModel, saveModel } from '../models/io.js';
import { loadEncoder } from '../models/load-encoder.js';
import { replaceDir, writeFileAtomic, writeJsonAtomic } from '../util/atomic.js';
import { ONNX_OPSET, toOnnx, type InputLayout } from './export-onnx.js';
import { checkOnnxExport, EXPORT_TOLERANCE, type ExportCheck } from './onnx-check.js';
import { AUDIO_NOTE, imagePreprocessing, SIDECAR_FILE, TABLE_NOTE, ulearnVersion, type ExportSidecar, type Preprocessing } from './sidecar.js';

export type ExportFormat = 'onnx' | 'tfjs';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['onnx', 'tfjs'];

/** What the sidecar says about a model given as an object (a folder says it itself). */
export interface ExportMeta {
  kind?: 'classifier' | 'encoder';
  labels?: string[];
  modality?: Modality;
  /** Image resize policy, or the audio / tabular preprocessor the model reads through. */
  resize?: string;
  preprocessor?: Preprocessor;
  architecture?: EncoderArchitecture;
}

export interface ExportOptions {
  format: ExportFormat;
  /** ONNX image/audio input layout; default 'nchw' (PyTorch's). */
  inputLayout?: InputLayout;
  /** Export only the encoder of a classifier folder or run. */
  encoderOnly?: boolean;
  meta?: ExportMeta;
  /** Random samples for the onnxruntime check; default 4. */
  checkSamples?: number;
  seed?: number;
  log?: (line: string) => void;
}

export interface ExportResult {
  dir: string;
  files: string[];
  sidecar: ExportSidecar;
  check?: ExportCheck;
}

/** ulearn-model.json (predict/image-model.ts writes it; read here as plain JSON: predict sits above transfer). */
const CLASSIFIER_META = 'ulearn-model.json';
const TABULAR_CLASSES = 'classes.json';

interface Resolved {
  model: tfl.LayersModel;
  meta: ExportMeta;
  source: string | null;
  /** Files of the source folder that travel with a tfjs export (so `ulearn predict` reads it too). */
  companions: string[];
}

export async function exportModel(source: tfl.LayersModel | string, outDir: string, opts: ExportOptions): Promise<ExportResult> {
  if (!EXPORT_FORMATS.includes(opts.format)) {
    throw new UlearnError(`unknown export format '${String(opts.format)}'`, { code: 'E_CONFIG', hint: `use one of: ${EXPORT_FORMATS.join(', ')}` });
  }
  await checkOutDir(outDir);
  const log = opts.log ?? (() => undefined);
  const r = typeof source === 'string' ? await resolveFolder(source, opts.encoderOnly ?? false) : { model: source, meta: opts.meta ?? {}, source: null, companions: [] };
  try {
    const meta: ExportMeta = { ...r.meta, ...opts.meta };
    const arch = meta.architecture ?? architectureOf(r.model) ?? null;
    const modality = meta.modality ?? arch?.modality ?? guessModality(r.model);
    const kind = meta.kind ?? (meta.labels ? 'classifier' : 'encoder');
    const inShape = r.model.inputs[0].shape;
    if (r.model.inputs.length !== 1 || inShape.slice(1).some((d) => d == null)) {
      throw new UlearnError(`${r.source ?? r.model.name}: the model takes ${r.model.inputs.length} inputs of shape [${inShape.slice(1).map((d) => d ?? '?')}]; ulearn exports models with one input of fixed sample shape`, { code: 'E_EXPORT_UNSUPPORTED' });
    }
    const outShape = r.model.outputs[0].shape;
    if (meta.labels && outShape[outShape.length - 1] !== meta.labels.length) {
      throw new UlearnError(`${r.source ?? r.model.name}: ${meta.labels.length} class names but the model has ${String(outShape[outShape.length - 1])} outputs`, { code: 'E_MODEL_IO' });
    }
    const tmp = path.join(path.dirname(path.resolve(outDir)), `.${path.basename(outDir)}.tmp-${randomBytes(4).toString('hex')}`);
    await mkdir(tmp, { recursive: true });
    try {
      const sidecar: ExportSidecar = {
        format: 'ulearn-export',
        version: 1,
        ulearnVersion: ulearnVersion(),
        createdAt: new Date().toISOString(),
        model: { format: opts.format, file: opts.format === 'onnx' ? 'model.onnx' : 'model.json', kind, architecture: arch, source: r.source },
        modality,
        input: { name: 'input', shape: [...inShape], layout: inShape.length === 4 ? 'NHWC' : inShape.length === 2 ? 'NF' : 'NTF', dtype: 'float32' },
        output: { name: 'output', shape: [...outShape], meaning: kind === 'classifier' ? 'logits' : 'features' },
        preprocessing: preprocessingOf(modality, inShape, meta),
        labels: meta.labels ?? null,
      };
      let check: ExportCheck | undefined;
      if (opts.format === 'onnx') {
        const layout = opts.inputLayout ?? 'nchw';
        const exported = toOnnx(r.model, { inputLayout: layout, producerVersion: ulearnVersion(), docString: `ulearn ${kind}; preprocessing in ${SIDECAR_FILE}` });
        const n = opts.checkSamples ?? 4;
        const shape = [n, ...(inShape.slice(1) as number[])];
        check = await checkOnnxExport(r.model, exported.bytes, randomInputs(modality, shape, opts.seed ?? 0), shape, { layout, what: `${n} random inputs` });
        log(`onnxruntime matches tfjs on ${n} random inputs: max abs difference ${check.maxAbsDiff.toExponential(2)} (tolerance ${EXPORT_TOLERANCE})`);
        await writeFileAtomic(path.join(tmp, 'model.onnx'), exported.bytes);
        sidecar.model.opset = ONNX_OPSET;
        sidecar.input = { ...sidecar.input, name: exported.inputs[0].name, shape: exported.inputs[0].shape, layout: exported.inputs[0].layout };
        sidecar.output = { ...sidecar.output, name: exported.outputs[0].name };
        sidecar.check = { inputs: 'random', samples: n, maxAbsDiff: check.maxAbsDiff, tolerance: EXPORT_TOLERANCE };
      } else {
        // model.json records the encoder's architecture, so loadEncoder rebuilds the export like any model folder.
        if (arch && !r.model.getUserDefinedMetadata()) r.model.setUserDefinedMetadata({ encoderArchitecture: arch });
        await saveModel(r.model, tmp);
        for (const f of r.companions) await copyFile(path.join(r.source!, f), path.join(tmp, f));
      }
      await writeJsonAtomic(path.join(tmp, SIDECAR_FILE), sidecar);
      await replaceDir(tmp, outDir);
      const files = (await readdir(outDir)).sort();
      log(`exported ${kind} (${opts.format}) to ${outDir}: ${files.join(', ')}`);
      return { dir: outDir, files, sidecar, check };
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  } finally {
    if (typeof source === 'string') r.model.dispose();
  }
}

/** An export folder may be new, empty, or an earlier export (replaced whole); anything else is refused. */
async function checkOutDir(outDir: string): Promise<void> {
  const st = await stat(outDir).catch(() => undefined);
  if (!st) return;
  if (!st.isDirectory()) throw new UlearnError(`${outDir}: exists and is not a folder`, { code: 'E_EXPORT_OUT', hint: 'give a new folder name for --out' });
  const entries = await readdir(outDir);
  if (entries.length > 0 && !entries.includes(SIDECAR_FILE)) {
    throw new UlearnError(`${outDir}: folder is not empty and not an earlier export (no ${SIDECAR_FILE}); not overwriting it`, { code: 'E_EXPORT_OUT', hint: 'give a new or empty folder for --out' });
  }
}

async function readJson(file: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    throw new UlearnError(`${file}: not valid JSON (${(e as Error).message})`, { code: 'E_MODEL_IO', cause: e });
  }
}

/** A model folder, run directory or checkpoint (see the module comment) → the model and what it reads. */
async function resolveFolder(source: string, encoderOnly: boolean): Promise<Resolved> {
  const st = await stat(source).catch(() => undefined);
  if (!st?.isDirectory()) {
    throw new UlearnError(`${source}: ${st ? 'not a folder' : 'no such folder'}`, { code: 'E_MODEL_IO', hint: EXPORT_HINT });
  }
  const modelDir = existsSync(path.join(source, 'model.json')) ? source : existsSync(path.join(source, 'model', 'model.json')) ? path.join(source, 'model') : undefined;
  if (modelDir && !encoderOnly) return resolveModelFolder(modelDir);
  let loaded;
  try {
    loaded = await loadEncoder(modelDir ?? source);
  } catch (e) {
    if (e instanceof UlearnError && !modelDir) throw new UlearnError(`${source}: nothing to export here (${e.message})`, { code: 'E_MODEL_IO', hint: EXPORT_HINT, cause: e });
    throw e;
  }
  // An audio encoder reads through its front-end: beside the checkpoint, or in its run directory.
  const pre = (await loadPreprocessor(loaded.path)) ?? (await loadPreprocessor(path.join(loaded.path, '..', '..')).catch(() => undefined));
  return { model: loaded.encoder, meta: { kind: 'encoder', architecture: loaded.architecture, modality: loaded.architecture.modality, preprocessor: pre }, source: loaded.path, companions: [] };
}

const EXPORT_HINT = 'give a model folder (from `ulearn train`, or runs/<id>/model), a run directory, or an encoder checkpoint (runs/<id>/checkpoints/pretrain-encoder)';

async function resolveModelFolder(dir: string): Promise<Resolved> {
  const meta: ExportMeta = {};
  const companions: string[] = [];
  const pre = await loadPreprocessor(dir);
  if (pre) {
    meta.preprocessor = pre;
    companions.push(PREPROCESSOR_FILE);
  }
  const metaFile = path.join(dir, CLASSIFIER_META);
  if (existsSync(metaFile)) {
    const m = (await readJson(metaFile)) as { classes?: unknown; preprocessing?: { resize?: unknown; modality?: unknown } };
    if (!Array.isArray(m.classes) || !m.classes.every((c) => typeof c === 'string')) throw new UlearnError(`${metaFile}: "classes" must be a list of names`, { code: 'E_MODEL_IO' });
    meta.labels = m.classes as string[];
    meta.kind = 'classifier';
    meta.modality = m.preprocessing?.modality === 'audio' ? 'audio' : 'image';
    if (typeof m.preprocessing?.resize === 'string') meta.resize = m.preprocessing.resize;
    companions.push(CLASSIFIER_META);
  }
  const classesFile = path.join(dir, TABULAR_CLASSES);
  if (existsSync(classesFile)) {
    const c = (await readJson(classesFile)) as { classes?: unknown };
    if (!Array.isArray(c.classes)) throw new UlearnError(`${classesFile}: "classes" must be a list of names`, { code: 'E_MODEL_IO' });
    meta.labels = c.classes.map(String);
    meta.kind = 'classifier';
    meta.modality = 'table';
    companions.push(TABULAR_CLASSES);
  }
  const model = await loadModel(dir);
  const saved = (model.getUserDefinedMetadata() as { encoderArchitecture?: EncoderArchitecture } | undefined)?.encoderArchitecture;
  if (saved) meta.architecture = saved;
  return { model, meta, source: dir, companions };
}

function guessModality(model: tfl.LayersModel): Modality | 'unknown' {
  const rank = model.inputs[0].shape.length;
  return rank === 2 ? 'table' : 'unknown';
}

function preprocessingOf(modality: Modality | 'unknown', inShape: (number | null)[], meta: ExportMeta): Preprocessing {
  const json = meta.preprocessor?.toJSON();
  if (modality === 'audio' || json?.kind === 'audio') {
    if (json?.kind === 'audio') return { kind: 'audio', preprocessor: json, note: AUDIO_NOTE };
    return { kind: 'unknown', note: 'audio features; the preprocessor.json it was trained with was not found beside it' };
  }
  if (modality === 'table') return { kind: 'table', ...(json?.kind === 'tabular' ? { preprocessor: json } : {}), note: TABLE_NOTE };
  if (modality === 'image' && inShape.length === 4) return imagePreprocessing(inShape[3] as number, meta.resize ?? 'crop');
  return { kind: 'unknown', note: 'not recorded: the model was exported without its preprocessing' };
}

/** Check inputs in the range the model sees: pixels in [0, 1], standardised audio features and table columns. */
function randomInputs(modality: Modality | 'unknown', shape: number[], seed: number): Float32Array {
  const rng = new Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return Float32Array.from({ length: n }, () => (modality === 'image' ? rng.random() : rng.normal()));
}
