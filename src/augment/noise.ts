/**
 * Additive Gaussian noise with a per-sample standard deviation. The noise is one tf.randomNormal call seeded
 * from `rng` (so it is reproducible), scaled by a [n,1,1,1] std tensor, then clipped to [0, 1].
 */
import * as tf from '@tensorflow/tfjs-core';
import { assertRange, defineOp, uniforms, type Augment, type Range } from './augment.js';
import { tfSeed } from '../engine/seed.js';

/** x + std[i] * N(0, 1), clipped to [0, 1]. Clipping shrinks the visible std near 0 and 1. */
export function addGaussianNoise(x: tf.Tensor4D, std: Float32Array, seed: number): tf.Tensor4D {
  return tf.tidy(() => {
    const z = tf.randomNormal(x.shape, 0, 1, 'float32', tfSeed(seed));
    return tf.clipByValue(tf.add(x, tf.mul(z, tf.tensor4d(std, [std.length, 1, 1, 1]))), 0, 1) as tf.Tensor4D;
  });
}

export interface NoiseOptions {
  /** Standard deviation range, drawn per sample. Default [0, 0.1]. */
  std?: Range;
  /** Per-sample probability. Default 1. */
  p?: number;
}

export function gaussianNoise(opts: NoiseOptions = {}): Augment {
  const std = opts.std ?? [0, 0.1];
  assertRange(std, 'gaussianNoise std', 0);
  return defineOp({
    name: 'gaussianNoise',
    p: opts.p ?? 1,
    draw: (rng, [n]) => ({ std: uniforms(rng, n, std), seed: rng.seedInt() }),
    run: (x, { std: s, seed }) => addGaussianNoise(x, s, seed),
  });
}
