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
 * - its training augmentations: the weak and strong views of supervised training, fine-tuning and FixMatch
 *   (images: src/augment/presets.ts, with flips chosen from the labels; audio: src/augment/audio.ts).
 *
 * Audio is loaded as waveforms (src/data/audio-folder.ts) and trained on as features: `featurize`
 * (src/data/preprocess/audio.ts) turns clips into [frames, 1, bins] samples, which its encoder (TC-ResNet,
 * src/models/tcresnet.ts) and augmentations take. Checkpoints, `loadEncoder`, encoding, the kNN graph, label
 * propagation and the classifiers work on those unchanged.
 */
import { simclrAugment, strongAugment, weakAugment } from './augment/presets.js';
import { audioSSLAugment, audioStrongAugment, audioWeakAugment, type AudioFeatureStats } from './augment/audio.js';
import type { Augment } from './augment/augment.js';
import { AUDIO_EXTENSIONS } from './data/audio-folder.js';
import type { Dataset, Modality } from './data/dataset.js';
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
  /**
   * The transform SSL pretraining draws two views of a batch from; undefined when the method makes its own.
   * `data` is the dataset the samples come from (audio reads its features' normalisation from it).
   */
  sslViews?(inputShape: number[], data?: Dataset): Augment;
  /** Training augmentations: `weak` for supervised training, fine-tuning and FixMatch's weak view, `strong` for FixMatch's strong one. */
  trainAugments?(inputShape: number[], o: { flip: boolean; data?: Dataset }): { weak: Augment; strong: Augment };
}

/** A fresh image encoder's stage widths when none are given (the pipeline, `ulearn train`, the library's fit). */
const IMAGE_WIDTHS = [16, 32, 64, 128];

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
  // Four stages (the last at 128 channels, an eighth of the input's side): at the 10-minute budget, against
  // 16-32-64, the linear probe on 10 labels per class gained +2.1 on Fashion-MNIST, +1.8 on glyphs and +8.8
  // on shapes (validation splits), at 10-11 % fewer pretraining steps; supervised-only from scratch gains too
  // (+2.9, +11.9, +1.0), so the baseline gets the same network (bench/results/encoder-widths.json).
  encoder: (inputShape, o = {}) => ({ family: 'resnet', modality: 'image', inputShape, widths: o.widths ?? [...IMAGE_WIDTHS], blocksPerStage: o.blocksPerStage ?? 1 }),
  sslViews: (inputShape) => simclrAugment(inputShape as [number, number, number]),
  trainAugments: (inputShape, o) => ({
    weak: weakAugment(inputShape as [number, number, number], { flip: o.flip }),
    strong: strongAugment(inputShape as [number, number, number], { flip: o.flip }),
  }),
});

registerModality({
  name: 'table',
  extensions: ['.csv', '.tsv', '.txt', '.arff'],
  folders: false,
  encoder: (inputShape, o = {}) => ({ family: 'mlp', modality: 'table', inputShape, widths: o.widths ?? [256, 256] }),
});

/** The normalisation a featurized audio dataset carries (featurize sets it), for the power-domain augments. */
const statsOf = (data?: Dataset): AudioFeatureStats | undefined => (data as { featureStats?: AudioFeatureStats } | undefined)?.featureStats;

registerModality({
  name: 'audio',
  extensions: AUDIO_EXTENSIONS,
  folders: true,
  encoder: (inputShape, o = {}) => {
    if (inputShape.length !== 3) {
      throw new UlearnError(`audio encoders take features [frames, 1, bins], got samples of [${inputShape}]: featurize the clips first`, {
        code: 'E_DATA',
        hint: 'featurize(dataset, AudioPreprocessor.fit(pool)) in the library; the CLI and pipeline do it for you',
      });
    }
    // 16-32-64: what bench/results/speech-digits.json measured (the pipeline's default for every modality then).
    return { family: 'tcresnet', modality: 'audio', inputShape, widths: o.widths ?? [16, 32, 64], blocksPerStage: o.blocksPerStage ?? 1, stemWidth: 16 };
  },
  sslViews: (inputShape, data) => audioSSLAugment(inputShape, statsOf(data)),
  trainAugments: (inputShape, o) => ({ weak: audioWeakAugment(inputShape, statsOf(o.data)), strong: audioStrongAugment(inputShape, statsOf(o.data)) }),
});
