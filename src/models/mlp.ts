/**
 * The tabular encoder: an MLP over preprocessed feature rows, [N, inputDim] → [N, widths.at(-1)].
 * dense → ReLU per layer (SCARF's encoder is a 4-layer 256-unit ReLU MLP; two layers are enough for the Weka
 * sets and train in seconds on a CPU). No batch norm: supervised baselines here see 20–100 labeled rows,
 * where batch statistics of tiny batches are noise, and the same encoder must serve both arms unchanged.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { UlearnError } from '../errors.js';
import { tfSeed } from '../engine/seed.js';

export interface MlpEncoderOptions {
  inputDim: number;
  /** Width of each hidden layer; the last is the feature size. Default [256, 256]. */
  widths?: number[];
  /** Dropout after each hidden layer (training only). Default 0. */
  dropout?: number;
  seed?: number;
  name?: string;
}

export function mlpEncoder(o: MlpEncoderOptions): tfl.LayersModel {
  const widths = o.widths ?? [256, 256];
  if (!(Number.isInteger(o.inputDim) && o.inputDim > 0)) throw new UlearnError(`mlpEncoder: inputDim must be a positive integer, got ${o.inputDim}`, { code: 'E_CONFIG' });
  if (widths.length === 0 || widths.some((w) => !(Number.isInteger(w) && w > 0))) {
    throw new UlearnError(`mlpEncoder: widths must be positive integers, got [${widths}]`, { code: 'E_CONFIG' });
  }
  const dropout = o.dropout ?? 0;
  const seed = o.seed ?? 0;
  const layers: tfl.layers.Layer[] = [];
  widths.forEach((units, i) => {
    layers.push(
      tfl.layers.dense({
        ...(i === 0 ? { inputShape: [o.inputDim] } : {}),
        units,
        activation: 'relu',
        // He init for ReLU layers; each layer its own seed so the weights differ and runs are reproducible.
        kernelInitializer: tfl.initializers.heNormal({ seed: tfSeed(seed * 101 + i) }),
      }),
    );
    if (dropout > 0) layers.push(tfl.layers.dropout({ rate: dropout, seed: seed * 101 + 50 + i }));
  });
  return tfl.sequential({ layers, name: o.name ?? 'mlp_encoder' });
}

/** A linear classifier head on [N, inputDim] features. */
export function linearHead(inputDim: number, nClasses: number, seed = 0): tfl.LayersModel {
  return tfl.sequential({
    layers: [tfl.layers.dense({ inputShape: [inputDim], units: nClasses, kernelInitializer: tfl.initializers.glorotUniform({ seed }) })],
    name: 'linear_head',
  });
}
