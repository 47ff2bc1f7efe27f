/**
 * A trained classifier as a folder `ulearn predict` can use on new files: `model.json` + weights (encoder and
 * head as one tfjs layers model, see src/models/io.ts) and `ulearn-model.json` with the class names and the
 * preprocessing the model was trained with (input size, channels, resize policy, pixel scale), so a file is
 * turned into exactly the tensor the training images were. The metadata is written last: a folder with it
 * is complete.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { decodeImage, RESIZE_POLICIES, writePixels, type ResizePolicy } from '../data/image-decode.js';
import { IMAGE_EXTENSIONS } from '../data/image-folder.js';
import { UlearnError } from '../errors.js';
import { argmaxRows } from '../eval/metrics.js';
import { loadModel, saveModel } from '../models/io.js';
import { architectureOf } from '../models/architecture.js';
import { attachHead } from '../models/resnet.js';
import { writeJsonAtomic } from '../util/atomic.js';
import { mapLimit } from '../util/pool.js';
import { imageInput, isS3Url, listS3Folder } from '../util/s3.js';

export const META_FILE = 'ulearn-model.json';
const FORMAT = 'ulearn-classifier';

export interface Preprocessing {
  /** [H, W, C] the model takes. */
  inputShape: [number, number, number];
  /** How a file of another size is fitted (the image-folder loader's policy). */
  resize: ResizePolicy;
  /** Pixels are bytes / 255 in [0, 1], NHWC; no mean/std normalisation. */
  scale: '1/255';
  /**
   * 'audio': the model takes audio features [frames, 1, bins], computed from 16 kHz clips by the
   * preprocessor.json saved beside it (src/data/preprocess/audio.ts); resize and scale do not apply. Absent: images.
   */
  modality?: 'image' | 'audio';
}

export interface ClassifierMeta {
  format: typeof FORMAT;
  version: 1;
  classes: string[];
  preprocessing: Preprocessing;
  method: string;
  /** Free-form: data, labels, seed, method details, test accuracy if measured. */
  training: Record<string, unknown>;
  createdAt: string;
}

export async function saveClassifier(dir: string, encoder: tfl.LayersModel, head: tfl.LayersModel, meta: Omit<ClassifierMeta, 'format' | 'version' | 'createdAt'>): Promise<void> {
  const model = attachHead(encoder, head, 'classifier_model');
  // model.json then describes its encoder (loadEncoder reads it back): family, input shape, widths, method.
  const arch = architectureOf(encoder);
  if (arch) model.setUserDefinedMetadata({ encoderArchitecture: { ...arch, method: meta.method } });
  await saveModel(model, dir);
  await writeJsonAtomic(path.join(dir, META_FILE), { format: FORMAT, version: 1, ...meta, createdAt: new Date().toISOString() } satisfies ClassifierMeta);
}

export async function loadClassifier(dir: string): Promise<{ model: tfl.LayersModel; meta: ClassifierMeta }> {
  const metaFile = path.join(dir, META_FILE);
  if (!existsSync(metaFile)) {
    throw new UlearnError(`${dir}: not a ulearn model folder (no ${META_FILE})`, { code: 'E_MODEL_IO', hint: 'give the folder `ulearn train --out` wrote' });
  }
  let meta: ClassifierMeta;
  try {
    meta = JSON.parse(await readFile(metaFile, 'utf8')) as ClassifierMeta;
  } catch (e) {
    throw new UlearnError(`${metaFile}: not valid JSON (${(e as Error).message})`, { code: 'E_MODEL_IO', cause: e });
  }
  if (meta.format !== FORMAT || meta.version !== 1) throw new UlearnError(`${metaFile}: format '${meta.format}' version ${meta.version}, expected '${FORMAT}' version 1`, { code: 'E_MODEL_IO' });
  checkMeta(meta, metaFile);
  const model = await loadModel(dir);
  // The metadata and the weights must describe the same network, or predict would mislabel every file.
  const outShape = model.outputs[0].shape;
  const width = outShape[outShape.length - 1];
  if (width !== meta.classes.length) {
    throw new UlearnError(`${metaFile}: lists ${meta.classes.length} classes but the model has ${String(width)} outputs`, { code: 'E_MODEL_IO', hint: 'the metadata belongs to another model; copy the folder again' });
  }
  const inShape = model.inputs[0].shape.slice(1);
  if (inShape.join(',') !== meta.preprocessing.inputShape.join(',')) {
    throw new UlearnError(`${metaFile}: preprocessing.inputShape [${meta.preprocessing.inputShape.join(', ')}] does not match the model's input [${inShape.join(', ')}]`, { code: 'E_MODEL_IO' });
  }
  return { model, meta };
}

/** The metadata fields predict relies on, checked so a hand-edited file fails here and not inside tfjs. */
function checkMeta(meta: ClassifierMeta, file: string): void {
  const bad = (what: string) => new UlearnError(`${file}: ${what}`, { code: 'E_MODEL_IO' });
  if (!Array.isArray(meta.classes) || meta.classes.length === 0 || !meta.classes.every((c) => typeof c === 'string')) throw bad('"classes" must be a non-empty list of names');
  if (new Set(meta.classes).size !== meta.classes.length) throw bad('"classes" has duplicate names');
  const shape = meta.preprocessing?.inputShape as unknown;
  if (!Array.isArray(shape) || shape.length !== 3 || !shape.every((v) => Number.isInteger(v) && v > 0 && v <= 4096)) {
    throw bad(`"preprocessing.inputShape" must be [height, width, channels] of positive integers, got ${JSON.stringify(shape)}`);
  }
  if (!RESIZE_POLICIES.includes(meta.preprocessing.resize)) throw bad(`"preprocessing.resize" must be one of ${RESIZE_POLICIES.join(', ')}`);
}

/** Image files named directly or found (recursively, sorted) in the named folders. */
export async function collectImageFiles(inputs: string[]): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string) => {
    const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (IMAGE_EXTENSIONS.includes(path.extname(e.name).toLowerCase())) out.push(p);
    }
  };
  for (const input of inputs) {
    if (isS3Url(input)) {
      // An object, or the image objects under a prefix in the order the same tree on a disk would list them.
      const { self, under } = await listS3Folder(input);
      if (self) out.push(self.url);
      else if (under.length === 0) throw new UlearnError(`${input}: no such object or prefix`, { code: 'E_DATA_MISSING' });
      else out.push(...under.filter((o) => IMAGE_EXTENSIONS.includes(path.extname(o.key).toLowerCase())).map((o) => o.url));
      continue;
    }
    const st = await stat(input).catch(() => undefined);
    if (!st) throw new UlearnError(`${input}: no such file or folder`, { code: 'E_DATA_MISSING' });
    if (st.isDirectory()) await walk(input);
    else out.push(input);
  }
  if (out.length === 0) throw new UlearnError(`no image files (${IMAGE_EXTENSIONS.join(', ')}) in ${inputs.join(', ')}`, { code: 'E_DATA_MISSING' });
  return out;
}

/** What decodeImage reads for each file: local paths as they are, S3 objects' bytes (16 GETs at a time). */
export async function fetchImages(files: string[]): Promise<(string | Uint8Array)[]> {
  return files.some(isS3Url) ? mapLimit(files, 16, imageInput) : files;
}

export interface Prediction {
  file: string;
  label: string;
  confidence: number;
  probs: number[];
}

/** Decodes each file with the model's preprocessing and classifies it, in batches. */
export async function predictFiles(model: tfl.LayersModel, meta: ClassifierMeta, files: string[], batchSize = 256): Promise<Prediction[]> {
  const [h, w, c] = meta.preprocessing.inputShape;
  if (c !== 1 && c !== 3) throw new UlearnError(`model takes ${c} channels; only 1 (gray) or 3 (RGB) images can be decoded`, { code: 'E_MODEL_IO' });
  const size = h * w * c;
  const out: Prediction[] = [];
  for (let s = 0; s < files.length; s += batchSize) {
    const chunk = files.slice(s, s + batchSize);
    const x = new Float32Array(chunk.length * size);
    const inputs = await fetchImages(chunk);
    for (let k = 0; k < chunk.length; k++) {
      let img;
      try {
        img = await decodeImage(inputs[k], h, w, meta.preprocessing.resize);
      } catch (e) {
        throw new UlearnError(`${chunk[k]}: cannot decode as an image (${(e as Error).message})`, { code: 'E_DATA', cause: e });
      }
      writePixels(img, c as 1 | 3, x, k * size);
    }
    const p = tf.tidy(() => tf.softmax(model.predict(tf.tensor4d(x, [chunk.length, h, w, c])) as tf.Tensor2D));
    const probs = p.dataSync() as Float32Array;
    p.dispose();
    out.push(...toPredictions(probs, chunk, meta.classes));
  }
  return out;
}

/** One prediction per row of `probs` ([names.length, classes.length], row-major): the argmax class and its probability. */
export function toPredictions(probs: Float32Array, names: readonly string[], classes: readonly string[]): Prediction[] {
  const K = classes.length;
  const bad = probs.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) {
    // NaN weights (or an overflow inside the network) would otherwise become confident-looking labels.
    throw new UlearnError(`${names[Math.floor(bad / K)]}: the model's output is NaN or not finite; its weights are broken`, {
      code: 'E_MODEL_IO',
      hint: 'retrain the model (training may have diverged: try a lower learning rate)',
    });
  }
  const best = argmaxRows(probs, K);
  return names.map((file, k) => {
    const row = Array.from(probs.subarray(k * K, (k + 1) * K));
    return { file, label: classes[best[k]], confidence: row[best[k]], probs: row };
  });
}

/** CSV with a header: file, label, confidence, then one probability column per class. */
export function predictionsCsv(preds: Prediction[], classes: string[]): string {
  const q = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const lines = [['file', 'label', 'confidence', ...classes.map((c) => `p_${c}`)].map(q).join(',')];
  for (const p of preds) lines.push([q(p.file), q(p.label), p.confidence.toFixed(6), ...p.probs.map((v) => v.toFixed(6))].join(','));
  return `${lines.join('\n')}\n`;
}
