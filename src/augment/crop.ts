/**
 * Random resized crop: the augmentation SimCLR found matters most (with colour distortion). One
 * tf.image.cropAndResize call crops a different box out of every image and resizes it back.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../engine/seed.js';
import { UlearnError } from '../errors.js';
import { assertRange, defineOp, uniform, type Augment, type Range } from './augment.js';

export interface CropBox {
  /** Top-left corner and size in pixels (continuous: crops need not align to the pixel grid). */
  top: number;
  left: number;
  height: number;
  width: number;
}

/**
 * torchvision's RandomResizedCrop box: area fraction from `scale`, aspect ratio log-uniform in `ratio`, up to
 * 10 tries to fit, else the largest centred box whose ratio is within range.
 */
export function sampleCropBox(rng: Rng, h: number, w: number, scale: Range, ratio: Range): CropBox {
  const area = h * w;
  const logR: Range = [Math.log(ratio[0]), Math.log(ratio[1])];
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = area * uniform(rng, scale);
    const ar = Math.exp(uniform(rng, logR));
    const cw = Math.sqrt(target * ar);
    const ch = Math.sqrt(target / ar);
    if (cw >= 1 && ch >= 1 && cw <= w && ch <= h) {
      return { top: rng.random() * (h - ch), left: rng.random() * (w - cw), height: ch, width: cw };
    }
  }
  const inRatio = w / h;
  let cw = w;
  let ch = h;
  if (inRatio < ratio[0]) ch = w / ratio[0];
  else if (inRatio > ratio[1]) cw = h * ratio[1];
  return { top: (h - ch) / 2, left: (w - cw) / 2, height: ch, width: cw };
}

/**
 * cropAndResize boxes for pixel boxes. cropAndResize samples with aligned corners (normalised 0 and 1 are the
 * centres of the first and last pixel), so a box of `height` pixels spans height-1 pixel steps: the full box
 * maps to [0, 0, 1, 1], which reproduces the image exactly.
 */
export function boxesToNormalized(boxes: readonly CropBox[], h: number, w: number): Float32Array {
  const out = new Float32Array(boxes.length * 4);
  boxes.forEach((b, i) => {
    out.set([b.top / (h - 1), b.left / (w - 1), (b.top + b.height - 1) / (h - 1), (b.left + b.width - 1) / (w - 1)], i * 4);
  });
  return out;
}

/**
 * Crops box i (normalised [y1, x1, y2, x2]) out of image i and resizes it to `size`: one kernel for the batch.
 *
 * tfjs-backend-wasm 4.22's CropAndResize copies rows with memcpy when a box is exactly `size` pixels wide and
 * looks aligned, and that copy ignores the box's left edge (x1) and rounds rows down instead of interpolating.
 * Such boxes (unless the copy happens to be right) get x2 nudged by 1e-4 pixel, which sends them down the
 * ordinary, correct interpolation path; the change in output is below float noise for
 * 'nearest' and ~1e-4 of a pixel step for 'bilinear'.
 */
export function cropResize(
  x: tf.Tensor4D,
  boxes: Float32Array,
  size: readonly [number, number],
  method: 'bilinear' | 'nearest' = 'bilinear',
  extrapolationValue = 0,
): tf.Tensor4D {
  const [n, h, w] = x.shape;
  let safe = boxes;
  for (let i = 0; i < n; i++) {
    const [y1, x1, y2, x2] = boxes.subarray(i * 4, i * 4 + 4);
    // The memcpy is certainly right only for whole images (column 0, every row); anything else takes the detour.
    const rowsExact = x1 === 0 && y1 === 0 && y2 === 1 && size[0] === h;
    if (!rowsExact && Math.abs(1 + (x2 - x1) * (w - 1) - size[1]) < 1e-3) {
      if (safe === boxes) safe = boxes.slice();
      safe[i * 4 + 3] = x2 - 1e-4 / (w - 1);
    }
  }
  return tf.tidy(() =>
    tf.image.cropAndResize(x, tf.tensor2d(safe, [n, 4]), tf.range(0, n, 1, 'int32') as tf.Tensor1D, [size[0], size[1]], method, extrapolationValue),
  );
}

export interface RandomResizedCropOptions {
  /** Fraction of the image area the crop covers. Default [0.2, 1] (see simclrAugment for why not 0.08). */
  scale?: Range;
  /** Aspect ratio (width / height) range, sampled log-uniformly. Default [3/4, 4/3]. */
  ratio?: Range;
  /** Per-sample probability. Default 1. */
  p?: number;
}

export function randomResizedCrop(opts: RandomResizedCropOptions = {}): Augment {
  const scale = opts.scale ?? [0.2, 1];
  const ratio = opts.ratio ?? [3 / 4, 4 / 3];
  assertRange(scale, 'randomResizedCrop scale', 0, 1);
  assertRange(ratio, 'randomResizedCrop ratio', 1e-6);
  if (scale[1] <= 0) throw new UlearnError('randomResizedCrop: scale must allow a non-empty crop', { code: 'E_AUGMENT' });
  return defineOp({
    name: 'randomResizedCrop',
    p: opts.p ?? 1,
    draw: (rng, [n, h, w]) => {
      if (h < 2 || w < 2) throw new UlearnError(`randomResizedCrop: images must be at least 2x2, got ${h}x${w}`, { code: 'E_AUGMENT' });
      const boxes = Array.from({ length: n }, () => sampleCropBox(rng, h, w, scale, ratio));
      return boxesToNormalized(boxes, h, w);
    },
    // Output keeps the input size, so unselected samples can pass through and views stack into one batch.
    run: (x, boxes) => cropResize(x, boxes, [x.shape[1], x.shape[2]]),
  });
}
