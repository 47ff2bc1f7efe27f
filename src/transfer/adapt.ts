/**
 * Fitting ulearn's images to an imported model's input: ulearn feeds every image encoder `pixel / 255`, NHWC,
 * at the data's own size and channels; a model trained elsewhere may want another size, RGB instead of gray
 * (or the reverse) and its own per-channel mean/std. The declared preprocessing (the `preprocessing.json`
 * sidecar beside the model, or the CLI's --input-size/--channels/--mean/--std) becomes layers in front of the
 * model: a resize layer (bilinear, ./resize-layer.ts) and one frozen 1×1 convolution that does the channel conversion and the
 * normalisation together (out_c = Σ_i K[i, c] · x_i + b_c). So the encoder reads the data as it is, trains
 * end to end, saves and loads as one tfjs layers model (standard layers only), and every caller of
 * `loadEncoder` / `encode` needs nothing new.
 *
 * Data that cannot be made to fit by what is declared is an error naming both shapes: nothing is resized or
 * converted unless declared (a sidecar declares the model's own size and channels, so it fits any image).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { UlearnError } from '../errors.js';
import { ResizeImages } from './resize-layer.js';
import { SIDECAR_FILE, type ExportSidecar } from './sidecar.js';

export interface InputPreprocessing {
  /** Resize every image to [H, W] (bilinear) before the model. */
  size?: [number, number];
  /** Convert images to this many channels (1 gray, 3 RGB) before the model. */
  channels?: 1 | 3;
  /** Per-channel (x − mean) / std on the model's channels, x in [0, 1] (after `scale`). */
  mean?: number[];
  std?: number[];
  /** The model's pixel scale relative to bytes (1/255: ulearn's own; 1: raw 0–255 values). Default 1/255. */
  scale?: number;
}

/** ITU-R BT.601 luma: RGB → gray as image libraries do it. */
const LUMA = [0.299, 0.587, 0.114];

/** The preprocessing a `preprocessing.json` beside `modelFile` (or in the folder `modelFile`) declares, if any. */
export function sidecarPreprocessing(modelFile: string): InputPreprocessing | undefined {
  const dir = existsSync(modelFile) && !path.extname(modelFile) ? modelFile : path.dirname(modelFile);
  const file = path.join(dir, SIDECAR_FILE);
  if (!existsSync(file)) return undefined;
  let s: Partial<ExportSidecar>;
  try {
    s = JSON.parse(readFileSync(file, 'utf8')) as Partial<ExportSidecar>;
  } catch (e) {
    throw new UlearnError(`${file}: not valid JSON (${(e as Error).message})`, { code: 'E_SIDECAR', cause: e });
  }
  const p = s.preprocessing;
  if (!p || p.kind !== 'image') return undefined;
  const shape = s.input?.shape ?? [];
  const [h, w] = s.input?.layout === 'NCHW' ? [shape[2], shape[3]] : [shape[1], shape[2]];
  const out: InputPreprocessing = { channels: p.channelOrder === 'gray' ? 1 : 3, mean: p.mean, std: p.std, scale: p.scale };
  if (typeof h === 'number' && typeof w === 'number') out.size = [h, w];
  return out;
}

/** Flags over the sidecar: each one given replaces the sidecar's. */
export function mergePreprocessing(sidecar: InputPreprocessing | undefined, flags: InputPreprocessing | undefined): InputPreprocessing {
  const out: InputPreprocessing = { ...sidecar };
  for (const [k, v] of Object.entries(flags ?? {})) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

/**
 * `model` (reading `modelShape` samples) behind the declared preprocessing, reading `dataShape` samples
 * (default: the model's own size and channels, e.g. images decoded to fit, as `label init` does). Returns the
 * model itself when nothing is needed; else the new model and `prefix`, the preprocessing part alone (it shares
 * the layers: not to be disposed). `where` names the model in errors.
 */
export function withPreprocessing(model: tfl.LayersModel, modelShape: readonly number[], dataShape: readonly number[] | undefined, pre: InputPreprocessing, where: string): { encoder: tfl.LayersModel; prefix?: tfl.LayersModel } {
  const data = dataShape ?? modelShape;
  if (modelShape.length !== 3) {
    if (data.length !== modelShape.length || data.some((d, i) => d !== modelShape[i])) throw mismatch(where, modelShape, data, pre);
    return { encoder: model };
  }
  const [H, W, C] = modelShape;
  const [h, w, c] = data;
  if (data.length !== 3) throw mismatch(where, modelShape, data, pre);
  if ((pre.size && (pre.size[0] !== H || pre.size[1] !== W)) || (pre.channels && pre.channels !== C)) {
    throw new UlearnError(`${where}: the declared preprocessing (${pre.size ? `size ${pre.size.join('x')}` : ''}${pre.channels ? ` channels ${pre.channels}` : ''}) does not match the model's input [${modelShape.join(', ')}] (H, W, C)`, {
      code: 'E_ENCODER_INPUT',
      hint: `declare the model's own input: --input-size ${H}x${W} --channels ${C === 1 ? 'gray' : 'rgb'}`,
    });
  }
  const resize = h !== H || w !== W;
  const convert = c !== C;
  if ((resize && !pre.size) || (convert && (!pre.channels || ![1, 3].includes(c) || ![1, 3].includes(C)))) throw mismatch(where, modelShape, data, pre);
  const mean = pre.mean ?? new Array<number>(C).fill(0);
  const std = pre.std ?? new Array<number>(C).fill(1);
  if (mean.length !== C || std.length !== C || std.some((s) => !(s > 0))) {
    throw new UlearnError(`${where}: mean [${mean}] and std [${std}] must have one value per model channel (${C}), std > 0`, { code: 'E_ENCODER_INPUT' });
  }
  const gain = (pre.scale ?? 1 / 255) * 255;
  const normalize = gain !== 1 || mean.some((m) => m !== 0) || std.some((s) => s !== 1);
  if (!resize && !convert && !normalize) return { encoder: model };

  const input = tfl.input({ shape: [h, w, c], name: 'image' });
  let x: tfl.SymbolicTensor = input;
  if (resize) x = new ResizeImages({ height: H, width: W, name: 'input_resize' }).apply(x) as tfl.SymbolicTensor;
  if (convert || normalize) {
    const kernel = new Float32Array(c * C);
    for (let o = 0; o < C; o++) {
      for (let i = 0; i < c; i++) {
        // gray → RGB copies the gray value; RGB → gray is luma; same channels: identity.
        const k = c === C ? (i === o ? 1 : 0) : c === 1 ? 1 : LUMA[i];
        kernel[i * C + o] = (gain * k) / std[o];
      }
    }
    const conv = tfl.layers.conv2d({ filters: C, kernelSize: 1, useBias: true, trainable: false, name: 'input_normalize' });
    x = conv.apply(x) as tfl.SymbolicTensor;
    conv.setWeights([tf.tensor4d(kernel, [1, 1, c, C]), tf.tensor1d(mean.map((m, o) => -m / std[o]))]);
  }
  const y = model.apply(x) as tfl.SymbolicTensor;
  return { encoder: tfl.model({ inputs: input, outputs: y, name: `${model.name}_adapted` }), prefix: tfl.model({ inputs: input, outputs: x, name: 'input_preprocessing' }) };
}

function mismatch(where: string, model: readonly number[], data: readonly number[], pre: InputPreprocessing): UlearnError {
  const image = model.length === 3;
  const declared = [pre.size ? `--input-size ${pre.size.join('x')}` : '', pre.channels ? `--channels ${pre.channels === 1 ? 'gray' : 'rgb'}` : ''].filter(Boolean).join(' ');
  return new UlearnError(`${where}: the model reads [${model.join(', ')}] samples${image ? ' (H, W, C)' : ''}; the data are [${data.join(', ')}]${declared ? ` (declared: ${declared})` : ''}`, {
    code: 'E_ENCODER_INPUT',
    hint: image && data.length === 3
      ? `declare the preprocessing that fits them: --input-size ${model[0]}x${model[1]}${model[2] !== data[2] ? ` --channels ${model[2] === 1 ? 'gray' : 'rgb'}` : ''} (or a ${SIDECAR_FILE} beside the model)`
      : 'give data of the shape the model was trained on',
  });
}
