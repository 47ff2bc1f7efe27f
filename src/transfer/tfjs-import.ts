/**
 * TensorFlow.js models from elsewhere (tensorflowjs_converter's output, `model.save()` of tfjs):
 *
 * - A layers model (`model.json` with `format: 'layers-model'` + weight shards) is loaded as a trainable
 *   tfjs-layers model through models/io.ts (the same checks on shard names and sizes as ulearn's own folders),
 *   and cut into an encoder: by default just before the classifier (the last layer with weights, skipping the
 *   activations, softmax and dropout after it), or at a named layer. Every layer stays trainable.
 * - A graph model (`format: 'graph-model'`, a frozen GraphDef) could only give frozen features, and reading it
 *   needs @tensorflow/tfjs-converter, which ulearn does not install: it is refused with an error that says so
 *   and what to do instead (export a layers model or ONNX).
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import * as tfl from '@tensorflow/tfjs-layers';
import { UlearnError } from '../errors.js';
import type { Modality } from '../data/dataset.js';
import { setArchitecture, type EncoderArchitecture } from '../models/architecture.js';
import { loadModel } from '../models/io.js';

export interface TfjsImportOptions {
  /** Name of the layer whose output are the features; default: the input of the classifier layer. */
  cutAt?: string;
}

export interface ImportedTfjsModel {
  /** The whole model as loaded (trainable). */
  model: tfl.LayersModel;
  /** Input → features, sharing the model's layers (trainable). */
  encoder: tfl.LayersModel;
  /** family 'tfjs-layers': describes the encoder; the topology itself is in model.json. */
  architecture: EncoderArchitecture;
  /** The model.json read. */
  path: string;
  /** Where the encoder was cut (a layer name). */
  cutAt: string;
}

/** Layers after a classifier that carry no weights and do not change what the classifier's input is. */
const PASS_THROUGH = new Set(['Activation', 'Softmax', 'Dropout', 'ReLU', 'LeakyReLU']);

/** `file` is a model.json or the folder holding one. */
export async function importTfjsLayers(file: string, opts: TfjsImportOptions = {}): Promise<ImportedTfjsModel> {
  const st = await stat(file).catch(() => undefined);
  if (!st) throw new UlearnError(`${file}: no such file or folder`, { code: 'E_IMPORT' });
  const json = st.isDirectory() ? path.join(file, 'model.json') : file;
  if (path.basename(json) !== 'model.json') {
    throw new UlearnError(`${json}: a tfjs model is a folder with model.json and its weight shards`, { code: 'E_IMPORT', hint: 'rename the file model.json (the shards are named inside it), or give its folder' });
  }
  let parsed: { format?: unknown; modelTopology?: unknown };
  try {
    parsed = JSON.parse(await readFile(json, 'utf8')) as typeof parsed;
  } catch (e) {
    throw new UlearnError(`${json}: cannot be read as JSON (${(e as Error).message})`, { code: 'E_IMPORT', cause: e });
  }
  const topology = parsed.modelTopology as { node?: unknown; class_name?: unknown; model_config?: unknown } | undefined;
  if (parsed.format === 'graph-model' || Array.isArray(topology?.node)) {
    throw new UlearnError(`${json}: a TensorFlow.js graph model (frozen): it could only give frozen features, and loading it needs @tensorflow/tfjs-converter, which ulearn does not install`, {
      code: 'E_IMPORT_UNSUPPORTED',
      hint: 'convert the original model to a layers model (tensorflowjs_converter --output_format tfjs_layers_model) to fine-tune it, or export it to ONNX',
    });
  }
  if (typeof topology !== 'object' || topology === null) throw new UlearnError(`${json}: no modelTopology: not a tfjs layers model`, { code: 'E_IMPORT' });
  const model = await loadModel(path.dirname(json));
  try {
    const { features, cutAt } = cut(model, opts.cutAt, json);
    const encoder = tfl.model({ inputs: model.inputs, outputs: features, name: `${model.name}_encoder` });
    const inputShape = model.inputs[0].shape.slice(1);
    if (inputShape.some((d) => d == null)) throw new UlearnError(`${json}: the input shape [${inputShape.map((d) => d ?? '?')}] is not fixed`, { code: 'E_IMPORT', hint: 'ulearn needs the sample shape the model takes' });
    const featureDim = features.shape.slice(1).reduce<number>((a, d) => a * (d ?? 0), 1);
    const architecture: EncoderArchitecture = {
      family: 'tfjs-layers',
      modality: modalityOf(inputShape as number[]),
      inputShape: inputShape as number[],
      widths: [featureDim],
      method: 'imported',
    };
    setArchitecture(encoder, architecture);
    return { model, encoder, architecture, path: json, cutAt };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

function modalityOf(shape: number[]): Modality {
  if (shape.length === 1) return 'table';
  // [frames, 1, bins] is how ulearn's audio encoders take features; any other [H, W, C] is an image.
  return shape.length === 3 && shape[1] === 1 && shape[0] > 1 && shape[2] > 4 ? 'audio' : 'image';
}

function cut(model: tfl.LayersModel, at: string | undefined, json: string): { features: tfl.SymbolicTensor; cutAt: string } {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) throw new UlearnError(`${json}: ${model.inputs.length} inputs and ${model.outputs.length} outputs; ulearn takes models with one of each`, { code: 'E_IMPORT' });
  if (at !== undefined) {
    const layer = model.layers.find((l) => l.name === at);
    if (!layer) throw new UlearnError(`${json}: no layer named '${at}' (layers: ${model.layers.map((l) => l.name).join(', ')})`, { code: 'E_IMPORT' });
    const out = layer.output;
    if (Array.isArray(out)) throw new UlearnError(`${json}: layer '${at}' has several outputs`, { code: 'E_IMPORT' });
    return { features: out, cutAt: at };
  }
  // Back from the output over weightless layers to the classifier; its input is the features.
  let t = model.outputs[0];
  for (;;) {
    const layer = t.sourceLayer;
    const input = layer.inboundNodes[t.nodeIndex]?.inputTensors;
    if (layer.getClassName() === 'InputLayer' || !input || input.length !== 1) break;
    if (layer.weights.length > 0) {
      // A model that is one layer has nothing before its classifier.
      if (input[0].sourceLayer.getClassName() === 'InputLayer') break;
      return { features: input[0], cutAt: input[0].sourceLayer.name };
    }
    if (!PASS_THROUGH.has(layer.getClassName())) break;
    t = input[0];
  }
  throw new UlearnError(`${json}: no classifier layer to cut off (a layer with weights before the output)`, { code: 'E_IMPORT', hint: 'name the feature layer to cut at' });
}
