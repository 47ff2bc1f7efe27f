/**
 * Prediction with a saved model folder, whatever its modality: `predict(modelDir, inputs)` finds what the
 * folder holds (an image classifier from `ulearn train` / the pipeline's semi stage, or a tabular model from
 * `ulearn tabular`) and classifies the inputs the way that model's training data was read. `ulearn predict`
 * and the library both call this; the per-modality readers are ./image-model.ts and ./table-model.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { AUDIO_EXTENSIONS, fitClip, readClip16k } from '../data/audio-folder.js';
import { AudioPreprocessor } from '../data/preprocess/audio.js';
import { loadPreprocessor } from '../data/preprocess/index.js';
import { initBackend } from '../engine/backend.js';
import { UlearnError } from '../errors.js';
import { localModel } from './remote-model.js';
import { collectImageFiles, loadClassifier, predictFiles, toPredictions, type Prediction } from './image-model.js';
import { isTableModelDir, predictTableFiles } from './table-model.js';

export { collectImageFiles, loadClassifier, predictFiles, predictionsCsv, saveClassifier, toPredictions } from './image-model.js';
export type { ClassifierMeta, Prediction, Preprocessing } from './image-model.js';
export { isTableModelDir, predictTableFiles } from './table-model.js';
export { encodeSource, resolveEncodeSource, type EncodeSource } from './encode-files.js';
export { readEmbeddings, writeEmbeddings, type EmbeddingsHeader } from './embeddings-file.js';

export interface PredictOptions {
  /** Compute backend started once the inputs are found (default 'auto'); null when the caller started one. */
  backend?: string | null;
}

/** Class names and one prediction per image file (folders searched recursively) or per table row. */
export async function predict(modelDir: string, inputs: string[], opts: PredictOptions = {}): Promise<{ classes: string[]; predictions: Prediction[] }> {
  // A model folder on S3 is used from its cached copy (remote-model.ts).
  modelDir = await localModel(modelDir);
  const start = async () => {
    if (opts.backend !== null) await initBackend(opts.backend ?? 'auto');
  };
  if (isTableModelDir(modelDir)) {
    // Every input is a CSV/ARFF file whose rows are classified (ids are file:line).
    await start();
    return predictTableFiles(modelDir, inputs);
  }
  const pre = await loadPreprocessor(modelDir).catch(() => undefined);
  if (pre instanceof AudioPreprocessor) {
    const files = await collectAudioFiles(inputs);
    await start();
    const { model, meta } = await loadClassifier(modelDir);
    try {
      return { classes: meta.classes, predictions: await predictAudioFiles(model, pre, meta.classes, files) };
    } finally {
      model.dispose();
    }
  }
  // Missing or empty inputs are reported before the backend starts.
  const files = await collectImageFiles(inputs);
  await start();
  const { model, meta } = await loadClassifier(modelDir);
  try {
    return { classes: meta.classes, predictions: await predictFiles(model, meta, files) };
  } finally {
    model.dispose();
  }
}

/** Audio files named directly or found (recursively, sorted) in the named folders. */
async function collectAudioFiles(inputs: string[]): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string) => {
    for (const e of (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (AUDIO_EXTENSIONS.includes(path.extname(e.name).toLowerCase())) out.push(p);
    }
  };
  for (const input of inputs) {
    const st = await stat(input).catch(() => undefined);
    if (!st) throw new UlearnError(`${input}: no such file or folder`, { code: 'E_DATA_MISSING' });
    if (st.isDirectory()) await walk(input);
    else out.push(input);
  }
  if (out.length === 0) throw new UlearnError(`no audio files (${AUDIO_EXTENSIONS.join(', ')}) in ${inputs.join(', ')}`, { code: 'E_DATA_MISSING' });
  return out;
}

/**
 * Each clip read as in training (mono, 16 kHz, centre-cropped or padded to the model's clip length), turned
 * into features by the model's own preprocessor, and classified, in batches.
 */
async function predictAudioFiles(model: import('@tensorflow/tfjs-layers').LayersModel, pre: AudioPreprocessor, classes: string[], files: string[], batchSize = 256): Promise<Prediction[]> {
  const [frames, bins] = pre.outputShape;
  const out: Prediction[] = [];
  for (let s = 0; s < files.length; s += batchSize) {
    const chunk = files.slice(s, s + batchSize);
    const clips = new Float32Array(chunk.length * pre.clipSamples);
    for (let k = 0; k < chunk.length; k++) {
      try {
        clips.set(fitClip(await readClip16k(chunk[k]), pre.clipSamples), k * pre.clipSamples);
      } catch (e) {
        throw new UlearnError(`${chunk[k]}: cannot read audio: ${(e as Error).message}`, { code: 'E_DATA', cause: e });
      }
    }
    const x = pre.transform(clips);
    const p = tf.tidy(() => tf.softmax(model.predict(tf.tensor4d(x, [chunk.length, frames, 1, bins])) as tf.Tensor2D));
    const probs = p.dataSync() as Float32Array;
    p.dispose();
    out.push(...toPredictions(probs, chunk, classes));
  }
  return out;
}
