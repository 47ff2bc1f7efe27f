/**
 * MaskedPixels: a masked-autoencoder-lite for conv encoders (in the spirit of MAE / SimMIM). Square patches of
 * the input are blanked, the encoder sees the rest, a small decoder predicts the whole image from the
 * features, and the loss counts masked pixels only, so the encoder must infer what it cannot see.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../engine/seed.js';
import { UlearnError } from '../errors.js';
import { pixelDecoder } from './heads.js';
import { maskedReconstructionLoss } from './losses.js';
import { SSLMethod, type SSLMethodOptions } from './method.js';
import type { AugmentLike, ImageShape } from './types.js';
import type { ViewTransform } from './views.js';

export interface MaskedPixelsOptions extends SSLMethodOptions {
  inputShape: ImageShape;
  /** Channels of the decoder's first feature map; default 32. */
  decoderChannels?: number;
}

export interface MaskedPixelViewsOptions {
  inputShape: ImageShape;
  /** Side of a masked square in pixels; default a quarter of the smaller image side (a 4x4 grid). */
  patchSize?: number;
  /** Fraction of patches masked per image; default 0.5 (MAE's 0.75 leaves a conv encoder on tiny images too little). */
  maskRatio?: number;
  /** Value written into masked pixels; default 0. */
  fill?: number;
  /** Optional augmentation of the target before masking. */
  augment?: AugmentLike;
}

function checkMask(patch: number, ratio: number): void {
  if (!(ratio >= 0 && ratio <= 1)) throw new UlearnError(`maskRatio must be in [0, 1], got ${ratio}`, { code: 'E_CONFIG' });
  if (!(Number.isInteger(patch) && patch >= 1)) throw new UlearnError(`patchSize must be a positive integer, got ${patch}`, { code: 'E_CONFIG' });
}

/**
 * A [n, h, w] mask (1 = masked) over a grid of patch×patchW rectangles (square by default; edge ones clipped):
 * in every image exactly round(ratio × cells) rectangles, at least one when ratio > 0, chosen without
 * replacement. masked-spectrogram uses it with rectangles of frames × mel bands.
 */
export function randomPatchMask(n: number, h: number, w: number, patch: number, ratio: number, rng: Rng, patchW = patch): Float32Array {
  checkMask(patch, ratio);
  checkMask(patchW, ratio);
  const gh = Math.ceil(h / patch);
  const gw = Math.ceil(w / patchW);
  const cells = gh * gw;
  const k = ratio > 0 ? Math.max(1, Math.round(ratio * cells)) : 0;
  const mask = new Float32Array(n * h * w);
  for (let s = 0; s < n; s++) {
    const chosen = rng.permutation(cells).slice(0, k);
    for (const cell of chosen) {
      const r0 = Math.floor(cell / gw) * patch;
      const c0 = (cell % gw) * patchW;
      for (let r = r0; r < Math.min(h, r0 + patch); r++) {
        mask.fill(1, s * h * w + r * w + c0, s * h * w + r * w + Math.min(w, c0 + patchW));
      }
    }
  }
  return mask;
}

/**
 * MaskedPixels' views: [corrupted input, target, mask [N, H, W, 1]]; the target is the augmented batch when
 * an augment is given, the batch itself otherwise.
 */
export function maskedPixelViews(o: MaskedPixelViewsOptions): ViewTransform {
  const patchSize = o.patchSize ?? Math.max(1, Math.round(Math.min(o.inputShape[0], o.inputShape[1]) / 4));
  const maskRatio = o.maskRatio ?? 0.5;
  const fill = o.fill ?? 0;
  checkMask(patchSize, maskRatio);
  return (batch, rng) => {
    const [n, h, w] = batch.shape;
    const m = randomPatchMask(n, h, w, patchSize, maskRatio, rng);
    return tf.tidy(() => {
      const target = o.augment ? o.augment.apply(batch as tf.Tensor4D, rng) : batch.clone();
      const mask = tf.tensor4d(m, [n, h, w, 1]);
      const corrupted = tf.add(tf.mul(target, tf.sub(1, mask)), tf.mul(mask, fill));
      return [corrupted, target, mask];
    });
  };
}

export class MaskedPixels extends SSLMethod {
  readonly name = 'masked-pixels';

  constructor(o: MaskedPixelsOptions) {
    super(o, (d, seed) => pixelDecoder({ inputDim: d, outShape: o.inputShape, channels: o.decoderChannels, seed }));
  }

  loss(views: tf.Tensor[]): tf.Scalar {
    const [corrupted, target, mask] = views;
    return tf.tidy(() => maskedReconstructionLoss(this.forward(corrupted), target as tf.Tensor4D, mask as tf.Tensor4D));
  }
}
