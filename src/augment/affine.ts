/**
 * Random affine warps (rotate, shear, translate, zoom) for RandAugment-style strong views: per-sample 3x3
 * matrices go to one tf.image.transform call (the ImageProjectiveTransform kernel), bilinear, constant fill.
 */
import * as tf from '@tensorflow/tfjs-core';
import { assertRange, defineOp, uniform, type Augment, type Range } from './augment.js';

export interface TransformOptions {
  /** 'bilinear' for warps; 'nearest' keeps whole-pixel shifts exact. Default 'bilinear'. */
  interpolation?: 'bilinear' | 'nearest';
  /** Value for pixels mapped from outside the input. Default 0. */
  fillValue?: number;
  /** Output [height, width]; default the input size. */
  outputShape?: readonly [number, number];
}

/**
 * Warps image i by the 8-number projective transform mats[8i..8i+8] (output pixel -> input pixel, tf.image.
 * transform's convention). tfjs-backend-cpu 4.22's Transform kernel returns after the first image of a batch
 * (the rest come back as fill), so on 'cpu' we warp image by image; every other backend gets one call.
 */
export function affineTransform(x: tf.Tensor4D, mats: Float32Array, opts: TransformOptions = {}): tf.Tensor4D {
  const n = x.shape[0];
  const interp = opts.interpolation ?? 'bilinear';
  const fill = opts.fillValue ?? 0;
  const shape = opts.outputShape ? [opts.outputShape[0], opts.outputShape[1]] as [number, number] : undefined;
  return tf.tidy(() => {
    if (tf.getBackend() === 'cpu' && n > 1) {
      const parts = tf.split(x, n, 0).map((xi, i) =>
        tf.image.transform(xi as tf.Tensor4D, tf.tensor2d(mats.subarray(i * 8, i * 8 + 8), [1, 8]), interp, 'constant', fill, shape),
      );
      return tf.concat(parts, 0) as tf.Tensor4D;
    }
    return tf.image.transform(x, tf.tensor2d(mats, [n, 8]), interp, 'constant', fill, shape);
  });
}

export interface AffineParams {
  /** Rotation in degrees. */
  rotate: number;
  /** Shear factors: x_in += shearX * (y - cy), y_in += shearY * (x - cx). */
  shearX: number;
  shearY: number;
  /** Shift of the content in pixels (positive: right / down). */
  tx: number;
  ty: number;
  /** Zoom factor (>1 magnifies). */
  scale: number;
}

/**
 * The sampling map for AffineParams about the image centre c: in = Sh . R(rotate) / scale . (out - c - t) + c.
 * The ops draw symmetric ranges, so whether a positive angle turns clockwise does not matter.
 */
export function affineMatrix(p: AffineParams, h: number, w: number): number[] {
  const cx = (w - 1) / 2;
  const cy = (h - 1) / 2;
  const a = (p.rotate * Math.PI) / 180;
  const [cos, sin] = [Math.cos(a), Math.sin(a)];
  // Sh = [[1, shearX], [shearY, 1]] times R = [[cos, -sin], [sin, cos]], divided by scale.
  const m00 = (cos + p.shearX * sin) / p.scale;
  const m01 = (-sin + p.shearX * cos) / p.scale;
  const m10 = (p.shearY * cos + sin) / p.scale;
  const m11 = (-p.shearY * sin + cos) / p.scale;
  const ox = cx + p.tx;
  const oy = cy + p.ty;
  return [m00, m01, cx - m00 * ox - m01 * oy, m10, m11, cy - m10 * ox - m11 * oy, 0, 0];
}

export interface RandomAffineOptions {
  /** Degrees. Default [0, 0]. */
  rotate?: Range;
  shearX?: Range;
  shearY?: Range;
  /** Shift as a fraction of width / height. */
  translateX?: Range;
  translateY?: Range;
  /** Zoom. Default [1, 1]. */
  scale?: Range;
  /** Value for pixels warped in from outside the image. Default 0 (black, the Fashion-MNIST background). */
  fill?: number;
  /** Per-sample probability. Default 1. */
  p?: number;
  /** Name in logs; default 'randomAffine'. */
  name?: string;
}

export function randomAffine(opts: RandomAffineOptions = {}): Augment {
  const zero: Range = [0, 0];
  const r = {
    rotate: opts.rotate ?? zero,
    shearX: opts.shearX ?? zero,
    shearY: opts.shearY ?? zero,
    translateX: opts.translateX ?? zero,
    translateY: opts.translateY ?? zero,
    scale: opts.scale ?? ([1, 1] as Range),
  };
  for (const [k, v] of Object.entries(r)) assertRange(v, `randomAffine ${k}`, k === 'scale' ? 1e-3 : -Infinity);
  return defineOp({
    name: opts.name ?? 'randomAffine',
    p: opts.p ?? 1,
    draw: (rng, [n, h, w]) => {
      const mats = new Float32Array(n * 8);
      for (let i = 0; i < n; i++) {
        const params: AffineParams = {
          rotate: uniform(rng, r.rotate),
          shearX: uniform(rng, r.shearX),
          shearY: uniform(rng, r.shearY),
          tx: uniform(rng, r.translateX) * w,
          ty: uniform(rng, r.translateY) * h,
          scale: uniform(rng, r.scale),
        };
        mats.set(affineMatrix(params, h, w), i * 8);
      }
      return mats;
    },
    run: (x, mats) => affineTransform(x, mats, { fillValue: opts.fill ?? 0 }),
  });
}
