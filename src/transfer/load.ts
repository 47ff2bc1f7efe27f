/**
 * The entry point models/load-encoder.ts can hand a source it does not read itself: a tfjs layers model
 * (a path ending in `model.json`; a folder holding one is a model folder to loadEncoder) or a weights file for one of
 * ulearn's own architectures (`.safetensors`, `.npy`, a folder of `.npy`). Returns undefined for anything
 * else, so the caller goes on to its other loaders (checkpoints, ONNX). Imports only ./tfjs-import.ts and
 * ./weights.ts, so load-encoder.ts may import it without a cycle.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { EncoderArchitecture } from '../models/architecture.js';
import { importTfjsLayers } from './tfjs-import.js';
import { encoderFromWeights } from './weights.js';

export interface TransferEncoderOptions {
  /** The architecture a weights file is for, when its metadata does not record one. */
  architecture?: EncoderArchitecture;
  /** tfjs layers models: the layer whose output are the features (default: before the classifier). */
  cutAt?: string;
}

export interface TransferEncoder {
  encoder: tfl.LayersModel;
  architecture: EncoderArchitecture;
  path: string;
  /** What it was: 'tfjs-layers' (trainable), 'safetensors' or 'npy' (weights into a ulearn architecture). */
  kind: 'tfjs-layers' | 'safetensors' | 'npy';
}

/** Whether `source` is something this module loads (see the module comment). */
export function isTransferSource(source: string): boolean {
  const ext = path.extname(source).toLowerCase();
  if (ext === '.safetensors' || ext === '.npy' || path.basename(source) === 'model.json') return existsSync(source);
  try {
    return statSync(source).isDirectory() && !existsSync(path.join(source, 'model.json')) && hasNpy(source);
  } catch {
    return false;
  }
}

function hasNpy(dir: string): boolean {
  // Recursive: weights named <layer>/<weight>.npy sit one folder down.
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).some((f) => f.endsWith('.npy'));
}

export async function loadTransferEncoder(source: string, opts: TransferEncoderOptions = {}): Promise<TransferEncoder | undefined> {
  if (!isTransferSource(source)) return undefined;
  if (path.basename(source) === 'model.json') {
    const r = await importTfjsLayers(source, { cutAt: opts.cutAt });
    return { encoder: r.encoder, architecture: r.architecture, path: r.path, kind: 'tfjs-layers' };
  }
  const r = await encoderFromWeights(source, opts.architecture);
  return { ...r, kind: path.extname(source).toLowerCase() === '.safetensors' ? 'safetensors' : 'npy' };
}
