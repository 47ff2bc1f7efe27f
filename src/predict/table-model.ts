/**
 * Predictions for rows of new CSV/ARFF files with a tabular model folder (`ulearn tabular` / `ulearn run` on a
 * table): the saved preprocessor encodes each file by column name (any order, extra columns ignored, a missing
 * one is an error naming it), exactly as the training rows were encoded, then the saved model classifies.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { applyPreprocessor } from '../data/table-dataset.js';
import { loadPreprocessor, PREPROCESSOR_FILE, TabularPreprocessor } from '../data/preprocess/index.js';
import { UlearnError } from '../errors.js';
import { loadModel } from '../models/io.js';
import { toPredictions, type Prediction } from './image-model.js';

/** A folder written by the tabular pipeline: a preprocessor and classes.json beside the model. */
export function isTableModelDir(dir: string): boolean {
  return existsSync(path.join(dir, PREPROCESSOR_FILE)) && existsSync(path.join(dir, 'classes.json'));
}

export async function predictTableFiles(modelDir: string, files: string[], opts: { skipBadRows?: boolean } = {}): Promise<{ classes: string[]; predictions: Prediction[] }> {
  const pre = await loadPreprocessor(modelDir);
  if (!(pre instanceof TabularPreprocessor)) throw new UlearnError(`${modelDir}: ${PREPROCESSOR_FILE} is not a table preprocessor`, { code: 'E_MODEL_IO' });
  const { classes } = JSON.parse(await readFile(path.join(modelDir, 'classes.json'), 'utf8')) as { classes: string[] };
  const model = await loadModel(modelDir);
  const predictions: Prediction[] = [];
  try {
    for (const file of files) {
      const ds = await applyPreprocessor(file, pre, { skipBadRows: opts.skipBadRows });
      const p = tf.tidy(() => tf.softmax(model.predict(tf.tensor2d(ds.x, [ds.size, pre.width])) as tf.Tensor2D));
      const probs = p.dataSync() as Float32Array;
      p.dispose();
      // ids are the rows' line numbers in the file, so each prediction points back at its row.
      predictions.push(...toPredictions(probs, Array.from(ds.ids, (id) => `${file}:${id}`), classes));
    }
  } finally {
    model.dispose();
  }
  return { classes, predictions };
}
