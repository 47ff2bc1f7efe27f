/**
 * Encoder outputs for many samples, in batches, without augmentation or gradients: the input of the linear
 * probe and of LP-FT's head initialisation. Unlike the kNN monitor's `embed`, not L2-normalised, so a dense
 * layer fitted on them can be dropped onto the encoder unchanged.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

export function encodeAll(encoder: tfl.LayersModel, x: Float32Array, inputShape: number[], batchSize = 256): tf.Tensor2D {
  const size = inputShape.reduce((a, b) => a * b, 1);
  const n = x.length / size;
  const parts: tf.Tensor2D[] = [];
  try {
    for (let s = 0; s < n; s += batchSize) {
      const m = Math.min(batchSize, n - s);
      parts.push(tf.tidy(() => encoder.apply(tf.tensor(x.subarray(s * size, (s + m) * size), [m, ...inputShape]), { training: false }) as tf.Tensor2D));
    }
    return parts.length === 1 ? parts[0] : (tf.concat(parts, 0) as tf.Tensor2D);
  } finally {
    if (parts.length > 1) tf.dispose(parts);
  }
}
