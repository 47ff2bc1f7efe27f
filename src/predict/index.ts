/**
 * Prediction with a saved model folder, whatever its modality: `predict(modelDir, inputs)` finds what the
 * folder holds (an image classifier from `ulearn train` / the pipeline's semi stage, or a tabular model from
 * `ulearn tabular`) and classifies the inputs the way that model's training data was read. `ulearn predict`
 * and the library both call this; the per-modality readers are ./image-model.ts and ./table-model.ts.
 */
import { initBackend } from '../engine/backend.js';
import { collectImageFiles, loadClassifier, predictFiles, type Prediction } from './image-model.js';
import { isTableModelDir, predictTableFiles } from './table-model.js';

export { collectImageFiles, loadClassifier, predictFiles, predictionsCsv, saveClassifier, toPredictions } from './image-model.js';
export type { ClassifierMeta, Prediction, Preprocessing } from './image-model.js';
export { isTableModelDir, predictTableFiles } from './table-model.js';

export interface PredictOptions {
  /** Compute backend started once the inputs are found (default 'auto'); null when the caller started one. */
  backend?: string | null;
}

/** Class names and one prediction per image file (folders searched recursively) or per table row. */
export async function predict(modelDir: string, inputs: string[], opts: PredictOptions = {}): Promise<{ classes: string[]; predictions: Prediction[] }> {
  const start = async () => {
    if (opts.backend !== null) await initBackend(opts.backend ?? 'auto');
  };
  if (isTableModelDir(modelDir)) {
    // Every input is a CSV/ARFF file whose rows are classified (ids are file:line).
    await start();
    return predictTableFiles(modelDir, inputs);
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
