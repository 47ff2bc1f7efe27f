/**
 * Saving and loading tfjs-layers models as files (tfjs-core has no file handler without tfjs-node):
 * `<dir>/model.json` (topology + weights manifest, the tfjs layers-model format) and one weights file named
 * after a hash of its bytes, `weights-<sha256/16>.bin`.
 *
 * Atomic: the new weights file is written first (under its own new name), then model.json is replaced by an
 * atomic rename, so a reader sees the old model or the new one, never a mix. Weights files no longer named by
 * model.json are deleted afterwards (one writer per directory).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { UlearnError } from '../errors.js';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic.js';
// Registers the layer class of imported ONNX models (UlearnOnnxOp), so any model folder loads in any process.
import '../transfer/onnx/layers.js';
// ... and the resize layer in front of imported encoders that read another image size (transfer/adapt.ts).
import '../transfer/resize-layer.js';

const WEIGHTS_FILE = /^weights-[0-9a-f]{16}\.bin$/;

/** A tf.io handler reading and writing `dir` (see the module comment for the layout). */
export function fileIOHandler(dir: string): tf.io.IOHandler {
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      if (artifacts.modelTopology instanceof ArrayBuffer) {
        throw new UlearnError('saving a binary (GraphDef) model topology is not supported', { code: 'E_MODEL_IO' });
      }
      const weights = artifacts.weightData ? new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData)) : new Uint8Array(0);
      const weightsFile = `weights-${createHash('sha256').update(weights).digest('hex').slice(0, 16)}.bin`;
      await fs.mkdir(dir, { recursive: true });
      await writeFileAtomic(path.join(dir, weightsFile), weights);
      const modelJson: tf.io.ModelJSON = {
        modelTopology: artifacts.modelTopology as object,
        weightsManifest: [{ paths: [weightsFile], weights: artifacts.weightSpecs ?? [] }],
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy,
        ...(artifacts.trainingConfig ? { trainingConfig: artifacts.trainingConfig } : {}),
        ...(artifacts.userDefinedMetadata ? { userDefinedMetadata: artifacts.userDefinedMetadata } : {}),
      };
      await writeJsonAtomic(path.join(dir, 'model.json'), modelJson);
      for (const f of await fs.readdir(dir)) {
        if (WEIGHTS_FILE.test(f) && f !== weightsFile) await fs.rm(path.join(dir, f), { force: true });
      }
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    },

    async load(): Promise<tf.io.ModelArtifacts> {
      const file = path.join(dir, 'model.json');
      let json: tf.io.ModelJSON;
      try {
        json = JSON.parse(await fs.readFile(file, 'utf8')) as tf.io.ModelJSON;
      } catch (e) {
        throw new UlearnError(`cannot read a model from ${file}: ${(e as Error).message}`, { code: 'E_MODEL_IO', cause: e });
      }
      return tf.io.getModelArtifactsForJSON(json, async (manifest) => {
        const specs = manifest.flatMap((group) => group.weights);
        const parts = await Promise.all(manifest.flatMap((group) => group.paths).map((p) => readWeightsFile(dir, p)));
        const joined = Buffer.concat(parts);
        return [specs, joined.buffer.slice(joined.byteOffset, joined.byteOffset + joined.byteLength) as ArrayBuffer];
      });
    },
  };
}

/**
 * One weights file of a model folder, checked: a model folder may come from anyone, so its weightsManifest
 * may only name a file in the folder itself (no separators, no '..'), and a `weights-<hash>.bin` name (what
 * `save` writes) must match the SHA-256 of the bytes, which catches corrupted and truncated files before tfjs
 * turns them into NaN or a shape error.
 */
async function readWeightsFile(dir: string, name: unknown): Promise<Buffer> {
  const file = path.join(dir, String(name));
  if (typeof name !== 'string' || name === '' || name !== path.basename(name) || name.includes('\\') || name === '..' || name === '.') {
    throw new UlearnError(`${path.join(dir, 'model.json')}: weights path '${String(name)}' is not a plain file name; paths outside the model folder are refused`, { code: 'E_MODEL_IO' });
  }
  const bytes = await fs.readFile(file).catch((e: NodeJS.ErrnoException) => {
    throw new UlearnError(`${file}: weights file ${e.code === 'ENOENT' ? 'missing' : `cannot be read (${e.code ?? e.message})`}`, {
      code: 'E_MODEL_IO',
      hint: 'copy the whole model folder (model.json and its weights file belong together)',
      cause: e,
    });
  });
  const named = /^weights-([0-9a-f]{16})\.bin$/.exec(name)?.[1];
  if (named !== undefined) {
    const actual = createHash('sha256').update(bytes).digest('hex').slice(0, 16);
    if (actual !== named) {
      throw new UlearnError(`${file}: corrupted or truncated: its SHA-256 begins ${actual}, the file name says ${named} (${bytes.length} bytes)`, {
        code: 'E_MODEL_IO',
        hint: 'copy the model folder again, or retrain',
      });
    }
  }
  return bytes;
}

/** Saves `model` (topology and weights, no optimizer state) to `dir`, atomically. */
export async function saveModel(model: tfl.LayersModel, dir: string): Promise<void> {
  await model.save(fileIOHandler(dir));
}

/** Loads a model saved by `saveModel`. */
export async function loadModel(dir: string): Promise<tfl.LayersModel> {
  try {
    return await tfl.loadLayersModel(fileIOHandler(dir));
  } catch (e) {
    if (e instanceof UlearnError) throw e;
    // tfjs's own complaints (a weight spec that does not fit the bytes, an unknown layer) are about the folder.
    throw new UlearnError(`${dir}: not a loadable model (${(e as Error).message})`, { code: 'E_MODEL_IO', hint: 'give a folder written by ulearn', cause: e });
  }
}
