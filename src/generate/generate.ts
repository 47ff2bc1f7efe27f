/**
 * `generate`: trains a generator on a data set's unlabelled pool and its few visible labels (or loads one from
 * a checkpoint), then writes the checkpoint, a grid of samples per class and the generated folder
 * (sample-folder.ts). `ulearn generate` is a thin layer over this.
 */
import { mkdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { Dataset } from '../data/dataset.js';
import { UlearnError } from '../errors.js';
import { Budget } from '../util/budget.js';
import { buildGenerator, loadGenerator, saveGenerator } from './checkpoint.js';
import { DEFAULT_DIFFUSION, type DiffusionConfig } from './diffusion.js';
import { checkPngShape, GENERATED_DIR, writeGeneratedFolder, writeSampleGrid, type GeneratedManifest } from './sample-folder.js';
import { DEFAULT_SSVAE, defaultAlpha, Ssvae, type SsvaeConfig } from './ssvae.js';
import { trainGenerator, type GenTrainResult } from './trainer.js';
import type { Generator, GeneratorKind } from './types.js';
import { DEFAULT_VAE, Vae, type VaeConfig } from './vae.js';

/**
 * Training steps and batch sizes when none are given (Fashion-MNIST 28×28, 100 labels). `npm run bench generative`
 * measured them at 2 threads on the native backend: the VAE about 24 steps/s (10000 steps in about 7 minutes), M2
 * about 7.5 (it decodes each unlabelled sample once per class: about 7 minutes) and the diffusion U-Net about 18.5
 * at one thread. Diffusion gets 16000 steps (14.4 minutes at one thread, inside issue 13's 20-minute budget): its
 * sample precision was still climbing at 5000 and 8000 steps and first reached 0.7 at 16000 (docs/generative.md,
 * "Levers"). `--budget` caps any of them.
 */
export const DEFAULT_STEPS: Record<GeneratorKind, number> = { vae: 10000, ssvae: 3000, diffusion: 16000 };
export const DEFAULT_BATCH: Record<GeneratorKind, number> = { vae: 64, ssvae: 32, diffusion: 32 };
/**
 * Decay of the weights' moving average each model keeps (ema.ts); 0 = none. Diffusion samples with it: measured
 * in docs/generative.md ("Weight EMA"). The VAEs are left without: their samples were not measured with it.
 */
export const DEFAULT_EMA: Record<GeneratorKind, number> = { vae: 0, ssvae: 0, diffusion: 0.999 };

/** The sizes a caller may change; the rest comes from the data (shape, classes) and the seed. */
export interface GeneratorSizes {
  widths?: [number, number];
  hidden?: number;
  latent?: number;
  timesteps?: number;
  alpha?: number;
}

export function generatorConfig(kind: GeneratorKind, shape: number[], classes: number, seed: number, sizes: GeneratorSizes = {}): VaeConfig | SsvaeConfig | DiffusionConfig {
  const common = { shape, classes, seed, ...(sizes.widths ? { widths: sizes.widths } : {}), ...(sizes.hidden ? { hidden: sizes.hidden } : {}) };
  if (kind === 'vae') return { ...DEFAULT_VAE, ...common, ...(sizes.latent ? { latent: sizes.latent } : {}) };
  if (kind === 'ssvae') return { ...DEFAULT_SSVAE, ...common, alpha: sizes.alpha ?? defaultAlpha(shape), ...(sizes.latent ? { latent: sizes.latent } : {}) };
  return { ...DEFAULT_DIFFUSION, ...common, ...(sizes.timesteps ? { timesteps: sizes.timesteps } : {}) };
}

export interface GenerateInput {
  model: GeneratorKind;
  train: Dataset;
  /** Visible labels (−1 = hidden), one per training sample. */
  y: Int32Array;
  out: string;
  steps?: number;
  batchSize?: number;
  lr?: number;
  /** Moving average of the weights (decay; 0 = none). Default DEFAULT_EMA. */
  ema?: number;
  sizes?: GeneratorSizes;
  /** Samples written per class. Default 100. */
  samplesPerClass?: number;
  /** Diffusion: DDIM steps (default 25) and guidance scale (default 2). */
  sampleSteps?: number;
  guidance?: number;
  /** Sample from this checkpoint instead of training. */
  checkpoint?: string;
  seed: number;
  budget?: Budget;
  log?: (line: string) => void;
}

export interface GenerateOutput {
  checkpoint: string;
  grid: string;
  manifest: GeneratedManifest;
  training?: GenTrainResult;
}

/** Every check that can fail before training: data shape and range, one label per class at least. */
export function checkGenerateInput(i: Pick<GenerateInput, 'model' | 'train' | 'y' | 'samplesPerClass'>): void {
  const { train } = i;
  if (train.modality !== 'image') {
    throw new UlearnError(`${train.source}: generate takes images for now, got ${train.modality}`, { code: 'E_DATA', hint: 'the models take [frames, 1, bins] features too, but the sample writer is PNG only' });
  }
  checkPngShape(train.inputShape, train.source);
  const count = new Array<number>(train.classes.length).fill(0);
  for (const v of i.y) if (v >= 0) count[v]++;
  const missing = train.classes.filter((_, k) => count[k] === 0);
  if (missing.length) {
    throw new UlearnError(`${train.name}: no visible label for class${missing.length > 1 ? 'es' : ''} ${missing.map((c) => `'${c}'`).join(', ')}; samples are generated per class`, { code: 'E_DATA', hint: 'raise --labels-per-class / --total-labels, or label at least one sample of each class' });
  }
  if (i.samplesPerClass !== undefined && !(Number.isInteger(i.samplesPerClass) && i.samplesPerClass >= 1)) {
    throw new UlearnError(`samples per class must be a positive integer, got ${i.samplesPerClass}`, { code: 'E_ARG' });
  }
}

export async function generate(input: GenerateInput): Promise<GenerateOutput> {
  checkGenerateInput(input);
  const log = input.log ?? (() => {});
  const { train, out } = input;
  const shape = train.inputShape;
  let gen: Generator;
  let checkpoint: string;
  let training: GenTrainResult | undefined;
  if (input.checkpoint) {
    const loaded = await loadGenerator(input.checkpoint, input.model);
    gen = loaded.generator;
    checkpoint = input.checkpoint;
    if (loaded.state.shape.join(',') !== shape.join(',') || loaded.state.classes.join('\n') !== train.classes.join('\n')) {
      gen.dispose();
      throw new UlearnError(`checkpoint ${input.checkpoint} was trained on samples [${loaded.state.shape}] of classes ${loaded.state.classes.join(', ')}; the data has [${shape}] and ${train.classes.join(', ')}`, { code: 'E_CHECKPOINT_MISMATCH', hint: 'sample from a checkpoint trained on this data set' });
    }
    // A checkpoint saved before its class prior was fitted (a run stopped mid-way) gets one from these labels.
    if ((gen instanceof Vae || gen instanceof Ssvae) && !gen.config.classPrior) gen.fitClassPrior(train.x, input.y);
    log(`${input.model}: loaded ${checkpoint} (step ${loaded.state.step})`);
  } else {
    gen = buildGenerator(input.model, generatorConfig(input.model, shape, train.classes.length, input.seed, input.sizes));
    checkpoint = join(out, 'checkpoint');
    const steps = input.steps ?? DEFAULT_STEPS[input.model];
    try {
      training = await trainGenerator(gen, { x: train.x, shape, y: input.y, classes: train.classes }, { steps, batchSize: input.batchSize ?? DEFAULT_BATCH[input.model], lr: input.lr, ema: input.ema ?? DEFAULT_EMA[input.model], seed: input.seed, budget: input.budget, checkpoint });
    } catch (e) {
      gen.dispose();
      throw e;
    }
    if (gen instanceof Vae || gen instanceof Ssvae) {
      // The class prior is part of the model: fitted once after training and saved with it (latent-prior.ts).
      gen.fitClassPrior(train.x, input.y);
      await saveGenerator(checkpoint, gen, { step: training.steps, classes: train.classes, shape });
    }
    log(`${input.model}: ${training.steps} steps in ${training.seconds.toFixed(0)} s${training.stoppedByBudget ? ' (budget reached)' : ''}, final loss ${training.losses.at(-1)?.toFixed(3) ?? '-'}`);
  }
  try {
    const k = input.samplesPerClass ?? 100;
    const K = train.classes.length;
    const labels = Int32Array.from({ length: K * k }, (_, i) => Math.floor(i / k));
    const per = shape.reduce((a, b) => a * b, 1);
    const samples = new Float32Array(labels.length * per);
    const chunk = 100;
    for (let s = 0; s < labels.length; s += chunk) {
      const t = gen.sample(labels.subarray(s, s + chunk), input.seed * 7919 + s + 1, { steps: input.sampleSteps, guidance: input.guidance });
      samples.set(await t.data(), s * per);
      t.dispose();
    }
    const cols = Math.min(k, 10);
    const gridSamples = new Float32Array(K * cols * per);
    for (let c = 0; c < K; c++) gridSamples.set(samples.subarray(c * k * per, (c * k + cols) * per), c * cols * per);
    const grid = join(out, 'samples.png');
    await mkdir(out, { recursive: true });
    await writeSampleGrid(grid, gridSamples, shape, K, cols);
    const manifest = await writeGeneratedFolder(out, { model: input.model, checkpoint: relative(join(out, GENERATED_DIR), checkpoint), shape, classes: train.classes, samples, labels, labelSource: 'conditional' });
    return { checkpoint, grid, manifest, ...(training ? { training } : {}) };
  } finally {
    gen.dispose();
  }
}
