/**
 * Modalities (image, table, audio) as a registry: what is specific to a kind of data is declared
 * here once, and the stages ask the registry instead of branching on the kind.
 *
 * A modality is
 * - its files: the extensions that route a path to it (`modalityOfPath`: `ulearn clean`, ...),
 * - its loader: a `Dataset` with `modality` and `inputShape` set (src/data/: image-folder.ts, table-dataset.ts),
 * - its encoder: the family its encoders are built from (src/models/architecture.ts), with default widths,
 * - its SSL views: the transform that makes two views of a batch (src/augment/presets.ts for images; tables
 *   have none here because SCARF corrupts rows inside the method, src/ssl/scarf.ts).
 *
 * Audio is registered for loading (src/data/audio-folder.ts) but has no encoder family or SSL views yet, so
 * asking for its encoder is a clear error. Completing it means an encoder family (`registerEncoderFamily`),
 * views, and filling in its registration here. Checkpoints, `loadEncoder`, encoding, the kNN graph, label
 * propagation and the classifiers then work on it unchanged.
 */
import { simclrAugment } from './augment/presets.js';
import type { Augment } from './augment/augment.js';
import { AUDIO_EXTENSIONS } from './data/audio-folder.js';
import type { Modality } from './data/dataset.js';
import { IMAGE_EXTENSIONS } from './data/image-folder.js';
import { UlearnError } from './errors.js';
import type { EncoderArchitecture } from './models/architecture.js';

export type { Modality };

export interface ModalityDefinition {
  name: Modality;
  /** Lower-case file extensions (with the dot) that hold samples of this modality. */
  extensions: readonly string[];
  /** True when a folder (not a file) is how this modality's data is given (an image folder). */
  folders: boolean;
  /** The encoder family and default widths for samples of `inputShape`. */
  encoder(inputShape: number[], o?: { widths?: number[]; blocksPerStage?: number }): EncoderArchitecture;
  /** The transform SSL pretraining draws two views of a batch from; undefined when the method makes its own. */
  sslViews?(inputShape: number[]): Augment;
}

const MODALITIES = new Map<Modality, ModalityDefinition>();

export function registerModality(def: ModalityDefinition): void {
  MODALITIES.set(def.name, def);
}

export function modality(name: Modality): ModalityDefinition {
  const def = MODALITIES.get(name);
  if (!def) throw new UlearnError(`modality '${name}' is not supported yet`, { code: 'E_DATA', hint: `supported: ${[...MODALITIES.keys()].join(', ')}` });
  return def;
}

export function modalities(): Modality[] {
  return [...MODALITIES.keys()];
}

/**
 * The modality a file belongs to by its extension; a folder is image data (the first folder modality
 * registered: only its contents can tell an audio folder, which `loadDataset` looks at). Undefined for an
 * unknown file type.
 */
export function modalityOfPath(path: string, isFolder = false): Modality | undefined {
  const lower = path.toLowerCase();
  for (const def of MODALITIES.values()) {
    if (isFolder ? def.folders : def.extensions.some((e) => lower.endsWith(e))) return def.name;
  }
  return undefined;
}

registerModality({
  name: 'image',
  extensions: IMAGE_EXTENSIONS,
  folders: true,
  encoder: (inputShape, o = {}) => ({ family: 'resnet', modality: 'image', inputShape, widths: o.widths ?? [16, 32, 64], blocksPerStage: o.blocksPerStage ?? 1 }),
  sslViews: (inputShape) => simclrAugment(inputShape as [number, number, number]),
});

registerModality({
  name: 'table',
  extensions: ['.csv', '.tsv', '.txt', '.arff'],
  folders: false,
  encoder: (inputShape, o = {}) => ({ family: 'mlp', modality: 'table', inputShape, widths: o.widths ?? [256, 256] }),
});

registerModality({
  name: 'audio',
  extensions: AUDIO_EXTENSIONS,
  folders: true,
  encoder: () => {
    throw new UlearnError('no encoder for audio yet: audio folders load (16 kHz clips) but models cannot be trained on them in this version', {
      code: 'E_DATA',
      hint: 'the library reads, resamples and featurizes audio (its `audio` namespace; docs/audio.md)',
    });
  },
});
