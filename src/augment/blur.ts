/**
 * Gaussian blur with a per-sample sigma, and PIL-style sharpness, as matrix products.
 *
 * Why matrices and not depthwise conv: a separable filter on an h x w image is out = V . X . H, with V and H
 * banded h x h and w x w matrices (the taps on the band; reflect padding folded into the border rows). One
 * GEMM [n*h, w] x [w, w] does the horizontal pass for the whole batch; a transpose and a second GEMM do the
 * vertical one. On wasm this is ~4x faster than tf.depthwiseConv2d, whose kernel vectorises over channels and
 * so runs scalar on one-channel images.
 *
 * Per-sample sigma: the sigmas come from a short fixed list (K values). Every image is blurred with each of the
 * K kernels (2K GEMMs, cheap) and a per-sample 0/1 mask keeps its own: unlike one sigma per batch, the two
 * SimCLR views of an image and the images of a batch get independent blur strengths. Borders reflect without
 * repeating the edge (tf.mirrorPad 'reflect'), so a constant image stays constant.
 */
import * as tf from '@tensorflow/tfjs-core';
import { UlearnError } from '../errors.js';
import { assertRange, defineOp, uniforms, type Augment, type Range } from './augment.js';

/** Normalised 1-D Gaussian taps for offsets -radius..radius (sum 1 up to float rounding). */
export function gaussianKernel1d(sigma: number, radius = Math.ceil(3 * sigma)): Float32Array {
  const taps = Array.from({ length: 2 * radius + 1 }, (_, i) => Math.exp(-((i - radius) ** 2) / (2 * sigma * sigma)));
  const sum = taps.reduce((a, b) => a + b, 0);
  return Float32Array.from(taps, (t) => t / sum);
}

/** Index k reflected into [0, n) without repeating the edge: -1 -> 1, n -> n - 2 (any distance). */
export function reflectIndex(k: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  const m = ((k % period) + period) % period;
  return m < n ? m : period - m;
}

/**
 * The n x n matrix B with (row . B)[j] = sum_t taps[t] * row[reflect(j + t - r)], r = (taps.length - 1) / 2.
 * Stored row-major as B[i * n + j]: input index i, output index j.
 */
export function bandMatrix(taps: Float32Array, n: number): Float32Array {
  const r = (taps.length - 1) / 2;
  const b = new Float32Array(n * n);
  for (let j = 0; j < n; j++) {
    for (let t = 0; t < taps.length; t++) b[reflectIndex(j + t - r, n) * n + j] += taps[t];
  }
  return b;
}

/**
 * Filters image i with the separable kernel kernels[choice[i]] (the same 1-D taps along both axes). Kernels
 * have odd lengths; any radius works (reflection repeats as needed).
 */
export function separableFilter(x: tf.Tensor4D, kernels: readonly Float32Array[], choice: Int32Array): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  return tf.tidy(() => {
    // [n*c*h, w] rows: channels moved next to the batch so each row is one image row of one channel.
    const planes = c === 1 ? tf.reshape(x, [n * h, w]) : tf.reshape(tf.transpose(x, [0, 3, 1, 2]), [n * c * h, w]);
    let acc: tf.Tensor3D | undefined;
    kernels.forEach((taps, m) => {
      const used = Float32Array.from({ length: n * c }, (_, k) => Number(choice[Math.floor(k / c)] === m));
      if (kernels.length > 1 && !used.some(Boolean)) return;
      const rowsOut = tf.matMul(planes, tf.tensor2d(bandMatrix(taps, w), [w, w]));
      const cols = tf.reshape(tf.transpose(tf.reshape(rowsOut, [n * c, h, w]), [0, 2, 1]), [n * c * w, h]);
      // Still transposed: [n*c, w, h]. Blending here and transposing once at the end saves K-1 transposes.
      let out = tf.reshape(tf.matMul(cols, tf.tensor2d(bandMatrix(taps, h), [h, h])), [n * c, w, h]) as tf.Tensor3D;
      if (kernels.length > 1) out = tf.mul(out, tf.tensor3d(used, [n * c, 1, 1])) as tf.Tensor3D;
      acc = acc ? (tf.add(acc, out) as tf.Tensor3D) : out;
    });
    const back = tf.transpose(acc!, [0, 2, 1]);
    return (c === 1 ? tf.reshape(back, [n, h, w, 1]) : tf.transpose(tf.reshape(back, [n, c, h, w]), [0, 2, 3, 1])) as tf.Tensor4D;
  });
}

/** Blurs image i with sigmas[choice[i]] (radius 3 sigma), clipped to [0, 1]. */
export function blurWithSigmas(x: tf.Tensor4D, sigmas: readonly number[], choice: Int32Array): tf.Tensor4D {
  return tf.tidy(() => tf.clipByValue(separableFilter(x, sigmas.map((s) => gaussianKernel1d(s)), choice), 0, 1));
}

export interface BlurOptions {
  /** The sigmas (pixels) a sample picks from, uniformly. Default [0.5, 1.0] (see simclrAugment). */
  sigmas?: readonly number[];
  /** Per-sample probability. Default 0.5 (SimCLR). */
  p?: number;
}

export function gaussianBlur(opts: BlurOptions = {}): Augment {
  const sigmas = opts.sigmas ?? [0.5, 1.0];
  if (sigmas.length === 0 || !sigmas.every((s) => s > 0 && Number.isFinite(s))) {
    throw new UlearnError(`gaussianBlur: sigmas must be a non-empty list of positive numbers, got ${JSON.stringify(sigmas)}`, {
      code: 'E_AUGMENT',
    });
  }
  return defineOp({
    name: 'gaussianBlur',
    p: opts.p ?? 0.5,
    draw: (rng, [n]) => Int32Array.from({ length: n }, () => rng.int(sigmas.length)),
    run: (x, choice) => blurWithSigmas(x, sigmas, choice),
  });
}

/**
 * smooth + factor[i] * (x - smooth), clipped: 0 = smoothed, 1 = unchanged, 2 = sharpened. `smooth` is PIL's
 * ImageFilter.SMOOTH, [[1,1,1],[1,5,1],[1,1,1]] / 13 = (3x3 box sum + 4 x) / 13, the box sum being separable.
 */
export function sharpenWith(x: tf.Tensor4D, factors: Float32Array): tf.Tensor4D {
  return tf.tidy(() => {
    const box = separableFilter(x, [Float32Array.of(1, 1, 1)], new Int32Array(x.shape[0]));
    const smooth = tf.div(tf.add(box, tf.mul(x, 4)), 13);
    const f = tf.tensor4d(factors, [factors.length, 1, 1, 1]);
    return tf.clipByValue(tf.add(smooth, tf.mul(tf.sub(x, smooth), f)), 0, 1) as tf.Tensor4D;
  });
}

export function sharpness(opts: { factor?: Range; p?: number } = {}): Augment {
  const factor = opts.factor ?? [0.1, 1.9];
  assertRange(factor, 'sharpness factor', 0);
  return defineOp({ name: 'sharpness', p: opts.p ?? 1, draw: (rng, [n]) => uniforms(rng, n, factor), run: sharpenWith });
}
