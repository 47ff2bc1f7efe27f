/**
 * Preprocessors: fitted on the training split, saved as `preprocessor.json` next to the model, and applied
 * identically at prediction time. `loadPreprocessor(dir)` returns whichever kind was saved (or undefined).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UlearnError } from '../../errors.js';
import { writeJsonAtomic } from '../../util/atomic.js';
import { AudioPreprocessor } from './audio.js';
import { TabularPreprocessor } from './tabular.js';

export { TabularFitter, TabularPreprocessor, columnGroups, quantile, type TabularPreprocessOptions, type TabularPreprocessorJSON, type FeatureSpec, type Encoding, type Scaling, type NumericImpute } from './tabular.js';
export { AudioPreprocessor, type AudioPreprocessorJSON } from './audio.js';
export { audioFeatures, audioFeatureConfig, audioFeatureShape, type AudioFeatureConfig, type AudioFeatureKind, type AudioFeatureOptions } from './audio-features.js';

/** `kind` in the JSON says which: 'tabular' (table rows) or 'audio' (the feature front-end of clips). */
export type Preprocessor = TabularPreprocessor | AudioPreprocessor;
export const PREPROCESSOR_FILE = 'preprocessor.json';

export function preprocessorFromJSON(value: unknown, source = PREPROCESSOR_FILE): Preprocessor {
  const kind = (value as { kind?: unknown } | null)?.kind;
  if (kind === 'tabular') return TabularPreprocessor.fromJSON(value, source);
  if (kind === 'audio') return AudioPreprocessor.fromJSON(value, source);
  throw new UlearnError(`${source}: unknown preprocessor kind '${String(kind)}' (expected 'tabular' or 'audio')`, { code: 'E_MODEL_IO' });
}

/** Writes `<dir>/preprocessor.json` atomically (the model directory: the two travel together). */
export async function savePreprocessor(dir: string, p: Preprocessor): Promise<void> {
  await writeJsonAtomic(join(dir, PREPROCESSOR_FILE), p.toJSON());
}

/** The preprocessor saved in `dir`, or undefined when the model was trained without one. */
export async function loadPreprocessor(dir: string): Promise<Preprocessor | undefined> {
  const file = join(dir, PREPROCESSOR_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new UlearnError(`${file}: not valid JSON: ${(e as Error).message}`, { code: 'E_MODEL_IO' });
  }
  return preprocessorFromJSON(value, file);
}
