/**
 * MaskedSpectrogram: masked-patch reconstruction for audio features (in the spirit of SSAST and Audio-MAE,
 * scaled to a 1-D conv encoder). Rectangles of a clip's log-mel spectrogram, `patchFrames` frames by
 * `patchBins` mel bands, are set to the mean (0 after normalisation); the encoder sees the rest, a small MLP
 * decoder predicts the whole spectrogram from the pooled features, and the loss counts the hidden cells only.
 * Predicting a hidden stretch of a word from the rest makes the features carry what the word sounds like over
 * time, which the pooled features of a contrastive method can skip.
 *
 * Samples are [frames, 1, bins] (src/data/preprocess/audio.ts, `audioInputShape`).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { Rng, tfSeed } from '../engine/seed.js';
import { UlearnError } from '../errors.js';
import { maskedReconstructionLoss } from './losses.js';
import { randomPatchMask } from './masked-pixels.js';
import { SSLMethod, type SSLMethodOptions } from './method.js';
import type { AugmentLike } from './types.js';
import type { ViewTransform } from './views.js';

export interface MaskedSpectrogramOptions extends SSLMethodOptions {
  /** Hidden units of the decoder; default 256. */
  decoderUnits?: number;
}

export interface MaskedSpectrogramViewsOptions {
  inputShape: readonly number[];
  /** Frames per patch; default 10 (100 ms). */
  patchFrames?: number;
  /** Mel bands per patch; default 8. */
  patchBins?: number;
  /** Fraction of patches hidden per clip; default 0.5. */
  maskRatio?: number;
  /** Optional augmentation of the target before masking (e.g. shift and gain). */
  augment?: AugmentLike;
}

function audioShape(shape: readonly number[], what: string): [number, number] {
  if (shape.length !== 3 || shape[1] !== 1) throw new UlearnError(`${what}: samples must be audio features [frames, 1, bins], got [${shape.join(', ')}]`, { code: 'E_CONFIG' });
  return [shape[0], shape[2]];
}

/**
 * A [n, frames, 1, bins] mask (1 = hidden) over a grid of patchFrames × patchBins rectangles (edge ones
 * clipped): exactly round(ratio × cells) rectangles per clip, at least one when ratio > 0.
 */
export function spectrogramPatchMask(n: number, frames: number, bins: number, patchFrames: number, patchBins: number, ratio: number, rng: Rng): Float32Array {
  // Named in the audio terms here; randomPatchMask checks the ratio.
  if (!(Number.isInteger(patchFrames) && patchFrames >= 1 && Number.isInteger(patchBins) && patchBins >= 1)) {
    throw new UlearnError(`patchFrames and patchBins must be positive integers, got ${patchFrames} and ${patchBins}`, { code: 'E_CONFIG' });
  }
  // [n, frames, 1, bins] is laid out as [n, frames, bins]: the image mask over a frames × bins grid.
  return randomPatchMask(n, frames, bins, patchFrames, ratio, rng, patchBins);
}

/** The views: [masked input, target, mask], each [n, frames, 1, bins]. */
export function maskedSpectrogramViews(o: MaskedSpectrogramViewsOptions): ViewTransform {
  const [frames, bins] = audioShape(o.inputShape, 'masked-spectrogram');
  const pf = o.patchFrames ?? 10;
  const pb = o.patchBins ?? 8;
  const ratio = o.maskRatio ?? 0.5;
  spectrogramPatchMask(0, frames, bins, pf, pb, ratio, new Rng(0)); // checks the settings now, not at the first batch
  return (batch, rng) => {
    const n = batch.shape[0];
    const m = spectrogramPatchMask(n, frames, bins, pf, pb, ratio, rng);
    const target = o.augment ? o.augment.apply(batch as tf.Tensor4D, rng) : batch.clone();
    return tf.tidy(() => {
      const mask = tf.tensor4d(m, [n, frames, 1, bins]);
      return [tf.mul(target, tf.sub(1, mask)), target, mask];
    });
  };
}

function spectrogramDecoder(inputDim: number, shape: readonly number[], units: number, seed: number): tfl.Sequential {
  const [frames, bins] = audioShape(shape, 'masked-spectrogram decoder');
  return tfl.sequential({
    name: 'spectrogram_decoder',
    layers: [
      tfl.layers.dense({ inputShape: [inputDim], units, activation: 'relu', kernelInitializer: tfl.initializers.heNormal({ seed: tfSeed(seed) }) }),
      tfl.layers.dense({ units: frames * bins, kernelInitializer: tfl.initializers.glorotUniform({ seed: tfSeed(seed + 1) }) }),
      tfl.layers.reshape({ targetShape: [frames, 1, bins] }),
    ],
  });
}

export class MaskedSpectrogram extends SSLMethod {
  readonly name = 'masked-spectrogram';

  constructor(o: MaskedSpectrogramOptions) {
    super(o, (d, seed) => spectrogramDecoder(d, o.inputShape, o.decoderUnits ?? 256, seed));
  }

  loss(views: tf.Tensor[]): tf.Scalar {
    const [masked, target, mask] = views;
    return tf.tidy(() => maskedReconstructionLoss(this.forward(masked), target, mask));
  }
}
