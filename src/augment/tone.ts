/**
 * RandAugment's tone ops (strong views for FixMatch), per-sample and batched. Equalize is left out: a
 * per-image histogram equalisation has no cheap batched form in tfjs.
 */
import * as tf from '@tensorflow/tfjs-core';
import { assertRange, defineOp, uniforms, type Augment, type Range } from './augment.js';

/**
 * Pixels at or above threshold[i] are inverted (1 - x); threshold 1 inverts only pure white. Compared as
 * x - t >= 0 (same truth value in floating point): a compare against a [n,1,1,1] tensor takes wasm's slow
 * broadcast path (~45 ms for 512 28x28 images), a subtract then a compare with a scalar ~2 ms.
 */
export function solarizeWith(x: tf.Tensor4D, thresholds: Float32Array): tf.Tensor4D {
  return tf.tidy(() => {
    const above = tf.greaterEqual(tf.sub(x, tf.tensor4d(thresholds, [thresholds.length, 1, 1, 1])), 0);
    return tf.where(above, tf.sub(1, x), x) as tf.Tensor4D;
  });
}

/** Keeps bits[i] of 8 bits per pixel (PIL posterize on the 8-bit value): floor(x*255 / 2^(8-b)) * 2^(8-b) / 255. */
export function posterizeWith(x: tf.Tensor4D, bits: Float32Array): tf.Tensor4D {
  return tf.tidy(() => {
    const step = tf.tensor4d(
      bits.map((b) => 2 ** (8 - Math.round(b))),
      [bits.length, 1, 1, 1],
    );
    return tf.div(tf.mul(tf.floor(tf.div(tf.mul(x, 255), step)), step), 255) as tf.Tensor4D;
  });
}

/** Stretches each image and channel to span [0, 1] (PIL autocontrast without cutoff); flat channels are kept. */
export function autoContrastBatch(x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const lo = tf.min(x, [1, 2], true);
    const hi = tf.max(x, [1, 2], true);
    const span = tf.sub(hi, lo);
    // Flat channels get lo = 0 and span = 1, i.e. (x - 0) / 1 = x exactly; selecting on the small [n,1,1,c]
    // statistics avoids a full-size broadcast select (slow on wasm).
    const flat = tf.lessEqual(span, 1e-6);
    const lo0 = tf.where(flat, tf.zerosLike(lo), lo);
    const span1 = tf.where(flat, tf.onesLike(span), span);
    return tf.clipByValue(tf.div(tf.sub(x, lo0), span1), 0, 1) as tf.Tensor4D;
  });
}

export function solarize(opts: { threshold?: Range; p?: number } = {}): Augment {
  const threshold = opts.threshold ?? [0, 1];
  assertRange(threshold, 'solarize threshold', 0, 1);
  return defineOp({ name: 'solarize', p: opts.p ?? 1, draw: (rng, [n]) => uniforms(rng, n, threshold), run: solarizeWith });
}

export function posterize(opts: { bits?: Range; p?: number } = {}): Augment {
  const bits = opts.bits ?? [4, 8];
  assertRange(bits, 'posterize bits', 1, 8);
  return defineOp({ name: 'posterize', p: opts.p ?? 1, draw: (rng, [n]) => uniforms(rng, n, bits), run: posterizeWith });
}

export function autoContrast(opts: { p?: number } = {}): Augment {
  return defineOp({ name: 'autoContrast', p: opts.p ?? 1, draw: () => undefined, run: autoContrastBatch });
}
