/**
 * Random translation by whole pixels (FixMatch's weak augmentation): one nearest-neighbour tf.image.transform
 * with a per-sample shift (plus a mirrorPad first for reflect fill). Whole-pixel shifts sampled at pixel
 * centres are exact copies, with no blur from interpolation.
 *
 * Not cropAndResize on a padded batch: tfjs-backend-wasm 4.22's CropAndResize takes a memcpy shortcut for
 * pixel-aligned boxes that ignores the box's left offset, so every horizontal shift came back wrong.
 */
import * as tf from '@tensorflow/tfjs-core';
import { UlearnError } from '../errors.js';
import { affineTransform } from './affine.js';
import { defineOp, type Augment } from './augment.js';

/** How pixels shifted in from outside the image are filled. */
export type TranslateFill = 'zero' | 'reflect';

/**
 * Shifts image i down by dy[i] and right by dx[i] pixels (negative: up / left). `fill` 'zero' suits dark
 * backgrounds (Fashion-MNIST); 'reflect' mirrors the border without repeating the edge (tf.mirrorPad 'reflect').
 */
export function translate(x: tf.Tensor4D, dy: Int32Array, dx: Int32Array, fill: TranslateFill = 'zero'): tf.Tensor4D {
  const [n, h, w] = x.shape;
  let py = 0;
  let px = 0;
  if (fill === 'reflect') {
    for (let i = 0; i < n; i++) {
      py = Math.max(py, Math.abs(dy[i]));
      px = Math.max(px, Math.abs(dx[i]));
    }
    if (py >= h || px >= w) {
      throw new UlearnError(`translate: shift (${py}, ${px}) too large for reflect fill on ${h}x${w} images`, { code: 'E_AUGMENT' });
    }
  }
  // Output pixel (c, r) reads input pixel (c - dx + px, r - dy + py) of the (padded) batch.
  const mats = new Float32Array(n * 8);
  for (let i = 0; i < n; i++) mats.set([1, 0, px - dx[i], 0, 1, py - dy[i], 0, 0], i * 8);
  return tf.tidy(() => {
    const src = fill === 'reflect' ? tf.mirrorPad(x, [[0, 0], [py, py], [px, px], [0, 0]], 'reflect') : x;
    return affineTransform(src, mats, { interpolation: 'nearest', fillValue: 0, outputShape: [h, w] });
  });
}

export interface RandomTranslateOptions {
  /** Largest shift as a fraction of height / width, rounded to whole pixels. Default 0.125 (FixMatch). */
  fraction?: number;
  fill?: TranslateFill;
  /** Per-sample probability. Default 1. */
  p?: number;
}

/** Shifts each image by a uniform whole-pixel offset in [-max, max] on each axis. */
export function randomTranslate(opts: RandomTranslateOptions = {}): Augment {
  const fraction = opts.fraction ?? 0.125;
  if (!(fraction >= 0 && fraction < 1)) {
    throw new UlearnError(`randomTranslate: fraction must be in [0, 1), got ${fraction}`, { code: 'E_AUGMENT' });
  }
  const fill = opts.fill ?? 'zero';
  return defineOp({
    name: 'randomTranslate',
    p: opts.p ?? 1,
    draw: (rng, [n, h, w]) => {
      // Reflect padding needs pad < size; cap the shift rather than fail on tiny images.
      const cap = (s: number) => Math.min(Math.round(fraction * s), s - 1);
      const my = cap(h);
      const mx = cap(w);
      const dy = new Int32Array(n);
      const dx = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        dy[i] = rng.int(2 * my + 1) - my;
        dx[i] = rng.int(2 * mx + 1) - mx;
      }
      return { dy, dx };
    },
    run: (x, { dy, dx }) => translate(x, dy, dx, fill),
  });
}
