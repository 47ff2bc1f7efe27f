/**
 * Photometric jitter with per-sample factors: each factor is a [n,1,1,1] tensor broadcast over the image, so
 * the whole batch is one multiply (plus a mean for contrast). Definitions follow torchvision/PIL
 * (ImageEnhance): blend the image with a degenerate image by `factor` (0 = degenerate, 1 = unchanged), clip.
 */
import * as tf from '@tensorflow/tfjs-core';
import { assertRange, defineOp, uniforms, type Augment, type Range } from './augment.js';

function perSample(factors: Float32Array): tf.Tensor4D {
  return tf.tensor4d(factors, [factors.length, 1, 1, 1]);
}

/** x * factor[i], clipped to [0, 1] (blend with black). */
export function adjustBrightness(x: tf.Tensor4D, factors: Float32Array): tf.Tensor4D {
  return tf.tidy(() => tf.clipByValue(tf.mul(x, perSample(factors)), 0, 1) as tf.Tensor4D);
}

/**
 * mean + factor[i] * (x - mean), clipped; `mean` is the image's mean over pixels and channels (torchvision
 * uses the mean of the grayscale image; identical for one channel).
 */
export function adjustContrast(x: tf.Tensor4D, factors: Float32Array): tf.Tensor4D {
  return tf.tidy(() => {
    const mean = tf.mean(x, [1, 2, 3], true);
    return tf.clipByValue(tf.add(mean, tf.mul(tf.sub(x, mean), perSample(factors))), 0, 1) as tf.Tensor4D;
  });
}

/** gray + factor[i] * (x - gray) with gray = channel mean: 0 makes a grayscale image. No-op for one channel. */
export function adjustSaturation(x: tf.Tensor4D, factors: Float32Array): tf.Tensor4D {
  return tf.tidy(() => {
    const gray = tf.mean(x, 3, true);
    return tf.clipByValue(tf.add(gray, tf.mul(tf.sub(x, gray), perSample(factors))), 0, 1) as tf.Tensor4D;
  });
}

export interface JitterOptions {
  /** Factor range. Default [0.6, 1.4] (torchvision strength 0.4, SimCLR's 0.8 * s with s = 0.5). */
  factor?: Range;
  /** Per-sample probability. Default 1. */
  p?: number;
}

function jitter(name: string, fn: (x: tf.Tensor4D, f: Float32Array) => tf.Tensor4D, opts: JitterOptions): Augment {
  const factor = opts.factor ?? [0.6, 1.4];
  assertRange(factor, `${name} factor`, 0);
  return defineOp({ name, p: opts.p ?? 1, draw: (rng, [n]) => uniforms(rng, n, factor), run: fn });
}

export const brightness = (opts: JitterOptions = {}): Augment => jitter('brightness', adjustBrightness, opts);
export const contrast = (opts: JitterOptions = {}): Augment => jitter('contrast', adjustContrast, opts);
export const saturation = (opts: JitterOptions = {}): Augment => jitter('saturation', adjustSaturation, opts);

/** Random grayscale (SimCLR applies it with p = 0.2 on colour images): saturation with factor 0. */
export const randomGrayscale = (opts: { p?: number } = {}): Augment =>
  jitter('randomGrayscale', adjustSaturation, { factor: [0, 0], p: opts.p ?? 0.2 });
