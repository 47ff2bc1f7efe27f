/**
 * `preprocessing.json`, written beside every export: what a program outside ulearn needs to feed the model
 * exactly the tensors it was trained on, and to read what comes out.
 *
 * - input: name, shape (null: any batch size), layout (NCHW / NHWC for images and audio features, NF for
 *   table rows), dtype;
 * - preprocessing, by modality: images are `pixel / 255` per channel (`scale`, then `(x - mean) / std` with
 *   mean 0 and std 1: ulearn does not standardise pixels), gray or RGB, resized as `resize` says; audio is the
 *   front-end's settings (16 kHz mono clips → log-mel or MFCC frames) and its per-bin mean/std, verbatim from
 *   the model's preprocessor.json; tables are the fitted tabular preprocessor (column encodings, scalings);
 * - output: name, shape, and whether it is logits (a classifier: softmax for probabilities) or features;
 * - labels (a classifier's class names, in output order), the encoder architecture, ulearn's version, and
 *   the check the export passed (onnxruntime vs tfjs on random inputs).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { EncoderArchitecture } from '../models/architecture.js';
import type { AudioPreprocessorJSON, TabularPreprocessorJSON } from '../data/preprocess/index.js';
import type { Modality } from '../data/dataset.js';

export const SIDECAR_FILE = 'preprocessing.json';

export type ImagePreprocessing = {
  kind: 'image';
  /** 'gray' (1 channel) or 'RGB' (3, in that order). */
  channelOrder: 'gray' | 'RGB';
  /** Multiply the 0–255 pixel bytes by this first. */
  scale: number;
  /** Then (x − mean[c]) / std[c] per channel. */
  mean: number[];
  std: number[];
  /** How an image of another size is fitted: the image-folder loader's policy ('crop': shorter side, then centre crop). */
  resize: string;
};

export type AudioPreprocessing = { kind: 'audio'; preprocessor: AudioPreprocessorJSON; note: string };
export type TablePreprocessing = { kind: 'table'; preprocessor?: TabularPreprocessorJSON; note: string };
export type Preprocessing = ImagePreprocessing | AudioPreprocessing | TablePreprocessing | { kind: 'unknown'; note: string };

export interface ExportSidecar {
  format: 'ulearn-export';
  version: 1;
  ulearnVersion: string;
  createdAt: string;
  model: {
    format: 'onnx' | 'tfjs';
    /** The model file in this folder: model.onnx, or model.json (+ its weights file). */
    file: string;
    /** ONNX opset (format 'onnx'). */
    opset?: number;
    kind: 'classifier' | 'encoder';
    architecture: EncoderArchitecture | null;
    /** What was exported (the folder given to `ulearn export`), if it came from one. */
    source: string | null;
  };
  modality: Modality | 'unknown';
  input: { name: string; shape: (number | null)[]; layout: 'NCHW' | 'NHWC' | 'NF' | 'NTF'; dtype: 'float32' };
  output: { name: string; shape: (number | null)[]; meaning: 'logits' | 'features' };
  preprocessing: Preprocessing;
  /** Class names in output order (classifiers). */
  labels: string[] | null;
  /** onnxruntime against tfjs on the export's own inputs (format 'onnx'). */
  check?: { inputs: string; samples: number; maxAbsDiff: number; tolerance: number };
}

let version: string | undefined;

/** ulearn's version, from its package.json (found upward from this file: sources and dist/ both work). */
export function ulearnVersion(): string {
  if (version !== undefined) return version;
  for (let dir = import.meta.dirname; ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (existsSync(file)) {
      try {
        const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
        if (pkg.name === 'ulearn' && typeof pkg.version === 'string') return (version = pkg.version);
      } catch {
        // Not ours; keep looking.
      }
    }
    if (path.dirname(dir) === dir) return (version = 'unknown');
  }
}

/** Image preprocessing as ulearn trains: bytes / 255, no standardisation. */
export function imagePreprocessing(channels: number, resize = 'crop'): ImagePreprocessing {
  return { kind: 'image', channelOrder: channels === 1 ? 'gray' : 'RGB', scale: 1 / 255, mean: new Array<number>(channels).fill(0), std: new Array<number>(channels).fill(1), resize };
}

export const AUDIO_NOTE =
  'mono 16 kHz clips of clipSamples samples → features (preprocessor.features: log-mel or MFCC frames, nFft, hop) → (value − mean[bin]) / std[bin]; the model input is [frames, 1, bins] per clip (bins are the channels)';
export const TABLE_NOTE = 'rows encoded by the tabular preprocessor (one-hot / ordinal categories, imputed and scaled numbers) into [features] float vectors';
