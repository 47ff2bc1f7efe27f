/**
 * Random flips: mirror the whole batch once, then keep the mirror only for the samples that drew a flip (the
 * per-sample select in defineOp). Exact: no interpolation involved.
 *
 * The left-right mirror is a GEMM with a permutation matrix, [n*h, w*c] x [w*c, w*c]: on wasm that is ~8x
 * faster than tf.reverse along the width (1.7 vs 14 ms for 512 28x28 images). Each output is one input times 1
 * plus exact zeros, so the result is bit-exact. Wide colour images (w*c > 512) use tf.reverse instead, where
 * the matrix would cost more than it saves.
 */
import * as tf from '@tensorflow/tfjs-core';
import { defineOp, type Augment } from './augment.js';

export interface FlipOptions {
  /** Per-sample probability of flipping. Default 0.5. */
  p?: number;
}

/** Mirrors every image of the batch left-right. */
export function mirrorWidth(x: tf.Tensor4D): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  if (w * c > 512) return tf.reverse(x, 2);
  const k = w * c;
  // Column j*c + ch of the output takes column (w-1-j)*c + ch of the input.
  const perm = new Float32Array(k * k);
  for (let j = 0; j < w; j++) for (let ch = 0; ch < c; ch++) perm[((w - 1 - j) * c + ch) * k + j * c + ch] = 1;
  return tf.tidy(() => tf.reshape(tf.matMul(tf.reshape(x, [n * h, k]), tf.tensor2d(perm, [k, k])), [n, h, w, c]));
}

/** Mirror left-right. Right for clothes and natural images; wrong for digits and text (a flipped 2 is not a 2). */
export function horizontalFlip(opts: FlipOptions = {}): Augment {
  return defineOp({ name: 'horizontalFlip', p: opts.p ?? 0.5, draw: () => undefined, run: mirrorWidth });
}

/** Mirror top-bottom. Off in every preset: most image classes have an up. */
export function verticalFlip(opts: FlipOptions = {}): Augment {
  return defineOp({ name: 'verticalFlip', p: opts.p ?? 0.5, draw: () => undefined, run: (x) => tf.reverse(x, 1) });
}
