/**
 * Random erasing / cutout: per-sample rectangles become a constant. The mask is built from iotas ([1,h,1,1]
 * rows, [1,1,w,1] columns) compared against [n,1,1,1] box bounds, giving a [n,h,1,1] row mask and a [n,1,w,1]
 * column mask whose product is the [n,h,w,1] box mask: a few small compares and broadcast multiplies, no
 * per-image slicing. Masks are float and combined by multiplication because broadcasting bool ops and
 * tf.where (Tile) are ~20x slower on wasm.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../engine/seed.js';
import { assertRange, defineOp, uniform, type Augment, type Range } from './augment.js';

/** Integer boxes [y0, x0, y1, x1) per sample (half-open); an empty box (y0 = y1) leaves the image alone. */
export function eraseBoxes(x: tf.Tensor4D, boxes: Int32Array, value = 0): tf.Tensor4D {
  const [n, h, w] = x.shape;
  const col = (j: number) => Float32Array.from({ length: n }, (_, i) => boxes[i * 4 + j]);
  return tf.tidy(() => {
    const b = (j: number) => tf.tensor4d(col(j), [n, 1, 1, 1]);
    const rows = tf.reshape(tf.range(0, h), [1, h, 1, 1]);
    const cols = tf.reshape(tf.range(0, w), [1, 1, w, 1]);
    // Products of 0/1 floats: exact. x*(1-m) + value*m is x outside the box and value inside, exactly.
    const inRows = tf.mul(tf.cast(tf.greaterEqual(rows, b(0)), 'float32'), tf.cast(tf.less(rows, b(2)), 'float32'));
    const inCols = tf.mul(tf.cast(tf.greaterEqual(cols, b(1)), 'float32'), tf.cast(tf.less(cols, b(3)), 'float32'));
    const m = tf.mul(inRows, inCols);
    return tf.add(tf.mul(x, tf.sub(1, m)), tf.mul(m, value)) as tf.Tensor4D;
  });
}

/** torchvision RandomErasing's box: area fraction `scale`, log-uniform `ratio` (h / w), 10 tries, else empty. */
export function sampleEraseBox(rng: Rng, h: number, w: number, scale: Range, ratio: Range): [number, number, number, number] {
  const logR: Range = [Math.log(ratio[0]), Math.log(ratio[1])];
  for (let attempt = 0; attempt < 10; attempt++) {
    const area = h * w * uniform(rng, scale);
    const ar = Math.exp(uniform(rng, logR));
    const eh = Math.round(Math.sqrt(area * ar));
    const ew = Math.round(Math.sqrt(area / ar));
    if (eh >= 1 && ew >= 1 && eh < h && ew < w) {
      const y0 = rng.int(h - eh + 1);
      const x0 = rng.int(w - ew + 1);
      return [y0, x0, y0 + eh, x0 + ew];
    }
  }
  return [0, 0, 0, 0];
}

export interface RandomErasingOptions {
  /** Erased fraction of the area. Default [0.02, 0.33] (torchvision). */
  scale?: Range;
  /** Box aspect ratio h / w. Default [0.3, 3.3]. */
  ratio?: Range;
  /** Fill value. Default 0. */
  value?: number;
  /** Per-sample probability. Default 0.5. */
  p?: number;
}

export function randomErasing(opts: RandomErasingOptions = {}): Augment {
  const scale = opts.scale ?? [0.02, 0.33];
  const ratio = opts.ratio ?? [0.3, 3.3];
  assertRange(scale, 'randomErasing scale', 0, 1);
  assertRange(ratio, 'randomErasing ratio', 1e-6);
  return defineOp({
    name: 'randomErasing',
    p: opts.p ?? 0.5,
    draw: (rng, [n, h, w]) => {
      const boxes = new Int32Array(n * 4);
      for (let i = 0; i < n; i++) boxes.set(sampleEraseBox(rng, h, w, scale, ratio), i * 4);
      return boxes;
    },
    run: (x, boxes) => eraseBoxes(x, boxes, opts.value ?? 0),
  });
}

export interface CutoutOptions {
  /** Square side as a fraction of the shorter image side. Default [0, 0.5] (FixMatch). */
  size?: Range;
  /** Fill value. Default 0.5 (FixMatch fills gray). */
  value?: number;
  /** Per-sample probability. Default 1. */
  p?: number;
}

/** FixMatch's cutout: a square of random side centred anywhere in the image, clipped at the borders. */
export function cutout(opts: CutoutOptions = {}): Augment {
  const size = opts.size ?? [0, 0.5];
  assertRange(size, 'cutout size', 0, 1);
  return defineOp({
    name: 'cutout',
    p: opts.p ?? 1,
    draw: (rng, [n, h, w]) => {
      const boxes = new Int32Array(n * 4);
      for (let i = 0; i < n; i++) {
        const s = Math.round(uniform(rng, size) * Math.min(h, w));
        const cy = rng.int(h);
        const cx = rng.int(w);
        const y0 = Math.max(0, cy - (s >> 1));
        const x0 = Math.max(0, cx - (s >> 1));
        boxes.set([y0, x0, Math.min(h, cy - (s >> 1) + s), Math.min(w, cx - (s >> 1) + s)], i * 4);
      }
      return boxes;
    },
    run: (x, boxes) => eraseBoxes(x, boxes, opts.value ?? 0.5),
  });
}
