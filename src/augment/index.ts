/**
 * Batched, seeded image augmentations (NHWC float32 in [0, 1]) for self-supervised and semi-supervised training.
 * (presets.ts's ImageShape is not re-exported here: src/ssl exports a type of the same name.)
 */
export type { Augment, OpSpec, Range } from './augment.js';
export { applyWhere, defineOp, selectSamples } from './augment.js';
export { compose, identity, randomApply, randomSubset, views } from './compose.js';
export { randomResizedCrop, cropResize, sampleCropBox, boxesToNormalized, type CropBox, type RandomResizedCropOptions } from './crop.js';
export { horizontalFlip, verticalFlip, mirrorWidth, type FlipOptions } from './flip.js';
export { randomTranslate, translate, type TranslateFill, type RandomTranslateOptions } from './translate.js';
export {
  randomAffine,
  affineTransform,
  affineMatrix,
  type AffineParams,
  type RandomAffineOptions,
  type TransformOptions,
} from './affine.js';
export {
  brightness,
  contrast,
  saturation,
  randomGrayscale,
  adjustBrightness,
  adjustContrast,
  adjustSaturation,
  type JitterOptions,
} from './color.js';
export { solarize, posterize, autoContrast, solarizeWith, posterizeWith, autoContrastBatch } from './tone.js';
export { gaussianNoise, addGaussianNoise, type NoiseOptions } from './noise.js';
export {
  gaussianBlur,
  sharpness,
  blurWithSigmas,
  sharpenWith,
  separableFilter,
  bandMatrix,
  reflectIndex,
  gaussianKernel1d,
  type BlurOptions,
} from './blur.js';
export { randomErasing, cutout, eraseBoxes, sampleEraseBox, type RandomErasingOptions, type CutoutOptions } from './erase.js';
export {
  simclrAugment,
  weakAugment,
  strongAugment,
  type SimclrOptions,
  type FixMatchOptions,
  type StrongOptions,
} from './presets.js';
export {
  chooseAugment,
  parseAugmentOverride,
  resolveAugment,
  describeAugment,
  orientationFeatures,
  DEFAULT_AUGMENT,
  type AugmentChoice,
  type AugmentEvidence,
  type ChooseAugmentOptions,
  type ProbeResult,
  type ResolvedAugment,
} from './choose.js';
