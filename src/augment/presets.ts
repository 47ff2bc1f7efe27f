/**
 * Ready-made pipelines. Defaults are tuned for small grayscale images (Fashion-MNIST, 28x28x1); every choice
 * that departs from the papers' ImageNet/CIFAR recipes is explained next to it.
 */
import { UlearnError } from '../errors.js';
import { randomAffine } from './affine.js';
import type { Augment } from './augment.js';
import { gaussianBlur, sharpness } from './blur.js';
import { brightness, contrast, randomGrayscale, saturation } from './color.js';
import { compose, identity, randomApply, randomSubset } from './compose.js';
import { randomResizedCrop } from './crop.js';
import { cutout } from './erase.js';
import { horizontalFlip, verticalFlip } from './flip.js';
import { autoContrast, posterize, solarize } from './tone.js';
import { randomTranslate, type TranslateFill } from './translate.js';

/** [height, width, channels] of one image. */
export type ImageShape = readonly [number, number, number];

function checkShape(shape: ImageShape, what: string): void {
  if (shape.length !== 3 || !shape.every((d) => Number.isInteger(d) && d > 0) || shape[0] < 2 || shape[1] < 2) {
    throw new UlearnError(`${what}: inputShape must be [height >= 2, width >= 2, channels], got ${JSON.stringify(shape)}`, {
      code: 'E_AUGMENT',
    });
  }
}

export interface SimclrOptions {
  /** Crop area range. Default [0.2, 1]. */
  cropScale?: readonly [number, number];
  /** Horizontal flips. Default true; turn off for digits and text (chooseAugment decides from the labels). */
  flip?: boolean;
  /** Vertical flips. Default false: most classes have an up. */
  vflip?: boolean;
  /** Colour jitter strength s (brightness / contrast / saturation factors in [1 - s, 1 + s]). Default 0.4. */
  jitter?: number;
  /** Blur probability (0 turns it off). Default 0.5. */
  blur?: number;
}

/**
 * SimCLR / VICReg views: random resized crop, flip, colour jitter (p 0.8), random grayscale (colour only), blur.
 *
 * Small-grayscale choices:
 * - crop scale [0.2, 1] instead of ImageNet's [0.08, 1]: 8% of 28x28 is a ~8x8 patch, which upsampled is a
 *   blob shared by most classes; 20% (~12x12) still holds a collar, a heel or a strap, so the positive pair
 *   remains recognisably one garment;
 * - colour jitter is brightness + contrast at SimCLR's 0.4 (0.8 x s with s = 0.5): with one channel there is no
 *   saturation or hue, so jitter is the only photometric change and keeps the paper's probability 0.8;
 * - blur sigmas {0.5, 1.0} px with p 0.5: ImageNet's sigma in [0.1, 2] on 224 px, scaled to 28 px, would be
 *   invisible, and 2 px at 28 px erases the stitching and texture that separate shirt from T-shirt; SimCLR's
 *   CIFAR recipe drops blur altogether, so pass blur: 0 for the paper's small-image setting.
 */
export function simclrAugment(inputShape: ImageShape, opts: SimclrOptions = {}): Augment {
  checkShape(inputShape, 'simclrAugment');
  const s = opts.jitter ?? 0.4;
  const factor = [Math.max(0, 1 - s), 1 + s] as const;
  const color: Augment[] = [brightness({ factor }), contrast({ factor })];
  if (inputShape[2] > 1) color.push(saturation({ factor }));
  const ops: Augment[] = [randomResizedCrop({ scale: opts.cropScale ?? [0.2, 1], ratio: [3 / 4, 4 / 3] })];
  if (opts.flip ?? true) ops.push(horizontalFlip({ p: 0.5 }));
  if (opts.vflip ?? false) ops.push(verticalFlip({ p: 0.5 }));
  ops.push(randomApply(compose(...color), 0.8));
  if (inputShape[2] > 1) ops.push(randomGrayscale({ p: 0.2 }));
  const blur = opts.blur ?? 0.5;
  if (blur > 0) ops.push(gaussianBlur({ sigmas: [0.5, 1.0], p: blur }));
  return compose(...ops);
}

export interface FixMatchOptions {
  /** Horizontal flips. Default true; turn off for digits and text. */
  flip?: boolean;
  /** Vertical flips. Default false. */
  vflip?: boolean;
  /** Largest translation as a fraction of the side. Default 0.125 (FixMatch: up to 12.5%, 4 px at 28 px). */
  translate?: number;
  /**
   * Fill for translated-in pixels. Default 'zero': Fashion-MNIST backgrounds are exactly 0, so a zero-filled
   * shift is an image the dataset could contain, while FixMatch's reflect padding would mirror sleeves and
   * trouser legs that touch the border into shapes the data never has. Use 'reflect' for natural images.
   */
  fill?: TranslateFill;
}

/** FixMatch's weak view: flip (p 0.5) and a whole-pixel translation of up to 12.5%. */
export function weakAugment(inputShape: ImageShape, opts: FixMatchOptions = {}): Augment {
  checkShape(inputShape, 'weakAugment');
  const ops: Augment[] = [];
  if (opts.flip ?? true) ops.push(horizontalFlip({ p: 0.5 }));
  if (opts.vflip ?? false) ops.push(verticalFlip({ p: 0.5 }));
  ops.push(randomTranslate({ fraction: opts.translate ?? 0.125, fill: opts.fill ?? 'zero' }));
  return compose(...ops);
}

export interface StrongOptions extends FixMatchOptions {
  /** Ops per sample drawn from the pool. Default 2 (FixMatch's RandAugment N). */
  n?: number;
  /** Cutout square side as a fraction of the image side. Default [0, 0.5] (FixMatch). */
  cutout?: readonly [number, number];
}

/**
 * FixMatch's strong view: the weak view, then RandAugment with random magnitude (each sample gets `n` ops of
 * the pool, each with a magnitude drawn per sample), then cutout filled with gray 0.5.
 *
 * Pool = FixMatch's minus Color (no colour at one channel) and Equalize (no batched histogram equalisation in
 * tfjs): identity, autoContrast, brightness, contrast, sharpness (factor in [0.05, 1.95], 1 = unchanged),
 * solarize (threshold in [0, 1]), posterize (4..8 bits), rotate (+-30 deg), shearX/Y (+-0.3), translateX/Y
 * (+-30%), geometric ones bilinear with black fill. Ops run in pool order, not a random order (see randomSubset).
 */
export function strongAugment(inputShape: ImageShape, opts: StrongOptions = {}): Augment {
  checkShape(inputShape, 'strongAugment');
  const factor = [0.05, 1.95] as const;
  const pool: Augment[] = [
    identity(),
    autoContrast(),
    brightness({ factor }),
    contrast({ factor }),
    sharpness({ factor }),
    solarize({ threshold: [0, 1] }),
    posterize({ bits: [4, 8] }),
    randomAffine({ name: 'rotate', rotate: [-30, 30] }),
    randomAffine({ name: 'shearX', shearX: [-0.3, 0.3] }),
    randomAffine({ name: 'shearY', shearY: [-0.3, 0.3] }),
    randomAffine({ name: 'translateX', translateX: [-0.3, 0.3] }),
    randomAffine({ name: 'translateY', translateY: [-0.3, 0.3] }),
  ];
  return compose(weakAugment(inputShape, opts), randomSubset(pool, opts.n ?? 2), cutout({ size: opts.cutout ?? [0, 0.5], value: 0.5 }));
}
