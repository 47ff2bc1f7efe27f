/**
 * Heads the SSL methods put on top of an encoder, built here with tfjs-layers so src/ssl depends on no
 * particular model file: an MLP (SimCLR projector, VICReg expander) and a small pixel decoder (MaskedPixels).
 * Seeds: every initializer gets its own seed derived from `seed`, so a method is reproducible from its config.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { fastBatchNormalization } from '../models/fast-batch-norm.js';
import { UlearnError } from '../errors.js';
import type { ImageShape } from './types.js';
import { tfSeed } from '../engine/seed.js';

export interface MlpHeadOptions {
  /** Input size (the encoder's feature size). */
  inputDim: number;
  /** Width of each hidden layer. */
  hidden: number;
  /** Output (embedding) size. */
  out: number;
  /** Hidden layers (dense → BN → ReLU each) before the final linear layer; default 1 (SimCLR), VICReg uses 2. */
  hiddenLayers?: number;
  seed?: number;
}

/**
 * dense(hidden, no bias) → BN → ReLU, `hiddenLayers` times, then dense(out). BN in the head matters for
 * small batches of small images: without it the projector's inputs drift in scale and the contrastive
 * logits saturate (solo-learn uses the same layout for SimCLR, VICReg and Barlow Twins).
 */
export function mlpHead(o: MlpHeadOptions): tfl.Sequential {
  const { inputDim, hidden, out, hiddenLayers = 1, seed = 0 } = o;
  for (const [k, v] of [['inputDim', inputDim], ['hidden', hidden], ['out', out]] as const) {
    if (!(Number.isInteger(v) && v > 0)) throw new UlearnError(`mlpHead: ${k} must be a positive integer, got ${v}`, { code: 'E_CONFIG' });
  }
  const layers: tfl.layers.Layer[] = [];
  for (let i = 0; i < hiddenLayers; i++) {
    layers.push(
      tfl.layers.dense({
        ...(i === 0 ? { inputShape: [inputDim] } : {}),
        units: hidden,
        useBias: false,
        kernelInitializer: tfl.initializers.glorotUniform({ seed: seed + i }),
      }),
      fastBatchNormalization({ momentum: 0.9, epsilon: 1e-5 }),
      tfl.layers.reLU(),
    );
  }
  layers.push(
    tfl.layers.dense({
      ...(hiddenLayers === 0 ? { inputShape: [inputDim] } : {}),
      units: out,
      kernelInitializer: tfl.initializers.glorotUniform({ seed: seed + hiddenLayers }),
    }),
  );
  return tfl.sequential({ layers });
}

export interface PixelDecoderOptions {
  /** Feature size of the encoder. */
  inputDim: number;
  /** Image to reconstruct, [H, W, C]. */
  outShape: ImageShape;
  /** Channels of the first (coarsest) feature map; halved at each upsampling, at least 8. Default 32. */
  channels?: number;
  /** Most ×2 upsamplings (conv2dTranspose, stride 2); fewer when H or W is not divisible. Default 2. */
  maxUpsamplings?: number;
  seed?: number;
}

/** How many times H and W can both be halved exactly, capped at `max`. */
export function upsamplingSteps(h: number, w: number, max: number): number {
  let s = 0;
  while (s < max && h % 2 ** (s + 1) === 0 && w % 2 ** (s + 1) === 0) s++;
  return s;
}

/**
 * Features → full image: dense → reshape to a coarse [H/2^s, W/2^s, channels] map → s × conv2dTranspose
 * (3x3, stride 2, ReLU) → conv 3x3 to C channels, linear (MSE target; no sigmoid that would saturate).
 * Deliberately small: a strong decoder lets the encoder off the hook (MAE's light-decoder argument).
 */
export function pixelDecoder(o: PixelDecoderOptions): tfl.Sequential {
  const [h, w, c] = o.outShape;
  const seed = o.seed ?? 0;
  const s = upsamplingSteps(h, w, o.maxUpsamplings ?? 2);
  const h0 = h / 2 ** s;
  const w0 = w / 2 ** s;
  let ch = o.channels ?? 32;
  const layers: tfl.layers.Layer[] = [
    tfl.layers.dense({ inputShape: [o.inputDim], units: h0 * w0 * ch, activation: 'relu', kernelInitializer: tfl.initializers.heNormal({ seed: tfSeed(seed) }) }),
    tfl.layers.reshape({ targetShape: [h0, w0, ch] }),
  ];
  for (let i = 0; i < s; i++) {
    ch = Math.max(8, Math.floor(ch / 2));
    layers.push(
      tfl.layers.conv2dTranspose({
        filters: ch,
        kernelSize: 3,
        strides: 2,
        padding: 'same',
        activation: 'relu',
        kernelInitializer: tfl.initializers.heNormal({ seed: tfSeed(seed + 1 + i) }),
      }),
    );
  }
  layers.push(
    tfl.layers.conv2d({ filters: c, kernelSize: 3, padding: 'same', kernelInitializer: tfl.initializers.glorotUniform({ seed: seed + 1 + s }) }),
  );
  return tfl.sequential({ layers });
}
