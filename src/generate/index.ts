/** Generative models (VAE, semi-supervised VAE M2, diffusion) and `generate`; see docs/generative.md. */
export { Vae, DEFAULT_VAE, type VaeConfig } from './vae.js';
export { Ssvae, DEFAULT_SSVAE, type SsvaeConfig } from './ssvae.js';
export { Diffusion, DEFAULT_DIFFUSION, type DiffusionConfig } from './diffusion.js';
export { trainGenerator, type GenTrainData, type GenTrainOptions, type GenTrainResult } from './trainer.js';
export { loadGenerator, saveGenerator, buildGenerator } from './checkpoint.js';
export { generate, generatorConfig, DEFAULT_STEPS, type GenerateInput, type GenerateOutput } from './generate.js';
export { GENERATED_DIR, GENERATED_KIND, type GeneratedManifest, type GeneratedSample } from './sample-folder.js';
export { GENERATOR_KINDS, type Generator, type GeneratorKind } from './types.js';
export * as losses from './losses.js';
export * as schedule from './schedule.js';
export { readGeneratedFolder, parseGeneratedManifest, checkGeneratedMatches, drawBalanced, galleryOf, type GeneratedSet } from './generated-folder.js';
export { fitWithGenerated, GENERATED_FILTERS, type GeneratedFilter, type GeneratedOptions } from './filter.js';
export { evaluateGenerated, classificationAccuracyScore, frechetDistance, precisionRecall, NOT_INCEPTION_NOTE } from './metrics.js';
