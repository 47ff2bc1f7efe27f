/**
 * What it takes to rebuild an encoder: its family, the modality and input shape it reads, its widths and
 * depth, and the method that trained it. Checkpoints (src/runs/checkpoint.ts) and model folders record it, so
 * `loadEncoder` (./load-encoder.ts) rebuilds any of them from the files alone, without the run's config or a
 * guess from the dataset's name.
 *
 * An encoder built here carries its architecture (`architectureOf`), so whatever saves it records it without
 * being told. Families are a registry, as tfjs-layers registers layer classes: a new encoder family (an
 * audio encoder, say) is one `registerEncoderFamily` call, and every loader then rebuilds it.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Modality } from '../data/dataset.js';
import { UlearnError } from '../errors.js';
import { mlpEncoder } from './mlp.js';
import { buildResNetEncoder } from './resnet.js';
import { buildTCResNetEncoder } from './tcresnet.js';

export interface EncoderArchitecture {
  /** The builder: 'resnet' (images, ./resnet.ts), 'mlp' (table rows, ./mlp.ts), 'tcresnet' (audio features, ./tcresnet.ts), or a registered family. */
  family: string;
  modality: Modality;
  /** One sample's shape, e.g. [28, 28, 1] or [n features]. */
  inputShape: number[];
  /** Channels per stage (resnet) or units per layer (mlp); the last is the feature size. */
  widths: number[];
  /** Residual blocks per stage (resnet). */
  blocksPerStage?: number;
  /** Stem channels when they differ from widths[0] (resnet). */
  stemWidth?: number;
  /** Dropout after each layer (mlp, training only). */
  dropout?: number;
  /** What trained it: an SSL method ('simclr', 'scarf'...), a training method, or 'none' (fresh). */
  method?: string;
  /**
   * family 'imported' (a model trained elsewhere, models/load-encoder.ts): not buildable here, so this records
   * how to import it again (its file, cut and input preprocessing) for a checkpoint's weights to go into.
   */
  imported?: { source: string; format: 'onnx' | 'tfjs-layers' | 'safetensors' | 'npy'; cutAt?: string; preprocessing?: { size?: [number, number]; channels?: 1 | 3; mean?: number[]; std?: number[]; scale?: number } };
}

export interface EncoderFamily {
  modality: Modality;
  build(arch: EncoderArchitecture, seed: number): tfl.LayersModel;
}

const FAMILIES = new Map<string, EncoderFamily>([
  [
    'resnet',
    {
      modality: 'image',
      build: (a, seed) => {
        if (a.inputShape.length !== 3) throw new UlearnError(`resnet encoder: inputShape must be [H, W, C], got [${a.inputShape}]`, { code: 'E_CONFIG' });
        return buildResNetEncoder({ inputShape: a.inputShape as [number, number, number], widths: a.widths, blocksPerStage: a.blocksPerStage ?? 1, stemWidth: a.stemWidth, seed });
      },
    },
  ],
  [
    'tcresnet',
    {
      modality: 'audio',
      build: (a, seed) => buildTCResNetEncoder({ inputShape: a.inputShape as [number, number, number], widths: a.widths, blocksPerStage: a.blocksPerStage ?? 1, stemWidth: a.stemWidth, seed }),
    },
  ],
  [
    'mlp',
    {
      modality: 'table',
      build: (a, seed) => {
        if (a.inputShape.length !== 1) throw new UlearnError(`mlp encoder: inputShape must be [features], got [${a.inputShape}]`, { code: 'E_CONFIG' });
        return mlpEncoder({ inputDim: a.inputShape[0], widths: a.widths, dropout: a.dropout, seed });
      },
    },
  ],
]);

/** Adds an encoder family (or replaces one of the same name). */
export function registerEncoderFamily(name: string, family: EncoderFamily): void {
  FAMILIES.set(name, family);
}

export function encoderFamilies(): string[] {
  return [...FAMILIES.keys()];
}

const RECORDED = new WeakMap<tfl.LayersModel, EncoderArchitecture>();

/** A fresh encoder (random weights from `seed`) of this architecture; it remembers the architecture. */
export function buildEncoder(arch: EncoderArchitecture, seed = 0): tfl.LayersModel {
  const family = FAMILIES.get(arch.family);
  if (!family) {
    throw new UlearnError(`unknown encoder family '${arch.family}'`, { code: 'E_CONFIG', hint: `known: ${encoderFamilies().join(', ')} (registerEncoderFamily adds one)` });
  }
  const model = family.build(arch, seed);
  RECORDED.set(model, { ...arch, inputShape: [...arch.inputShape], widths: [...arch.widths] });
  return model;
}

/** The architecture an encoder was built or loaded with; undefined for a model made some other way. */
export function architectureOf(model: tfl.LayersModel): EncoderArchitecture | undefined {
  return RECORDED.get(model);
}

/** Records `arch` for a model built elsewhere (e.g. cut out of a saved classifier). */
export function setArchitecture(model: tfl.LayersModel, arch: EncoderArchitecture): void {
  RECORDED.set(model, arch);
}

/** Checks a recorded architecture read from a file; `where` names the file in the error. */
export function checkArchitecture(v: unknown, where: string): EncoderArchitecture {
  const a = v as Partial<EncoderArchitecture> | null;
  const positiveInts = (x: unknown): x is number[] => Array.isArray(x) && x.length > 0 && x.every((d) => Number.isInteger(d) && (d as number) > 0);
  if (typeof a !== 'object' || a === null || typeof a.family !== 'string' || typeof a.modality !== 'string' || !positiveInts(a.inputShape) || !positiveInts(a.widths)) {
    throw new UlearnError(`${where}: the recorded encoder architecture is malformed: ${JSON.stringify(v)}`, {
      code: 'E_CHECKPOINT',
      hint: 'expected { family, modality, inputShape: [...], widths: [...] }; the file may be corrupt',
    });
  }
  return a as EncoderArchitecture;
}
