/**
 * The pipeline's configuration: what `ulearn run <config>` reads (JSON or YAML) and what `ulearn demo` fills
 * with defaults. Strict: a misspelt key is an error, not silently ignored.
 */
import { z } from 'zod';
import { zBudget } from '../runs/config.js';
import { parseAugmentOverride } from '../augment/choose.js';
import { DatasetSpecSchema } from '../data/spec.js';
import { FIT_METHODS } from '../semi/names.js';
import { SSL_METHODS } from '../ssl/registry.js';
import { REGULARIZERS } from '../train/step.js';

export const PipelineConfigSchema = z
  .object({
    /**
     * 'fashion-mnist', 'mnist', 'glyphs', 'shapes', or a folder of images; or a dataset spec object (e.g.
     * `{ name: 'glyphs', perClass: 100 }`: a small synthetic build, as the robustness benchmark's --quick uses).
     */
    data: DatasetSpecSchema.default('fashion-mnist'),
    /**
     * Unlabeled data to pretrain on instead of `data`'s training samples (transfer: e.g. 'speech-digits/pool',
     * speech in other languages, for the speech-digits task). Its training split is used, labels ignored; its
     * samples must have the shape of `data`'s. For audio, the features' normalisation is fitted on it too.
     */
    pretrainData: DatasetSpecSchema.optional(),
    /** Held-out test data when `data` is a folder (named datasets bring their own test split). */
    testData: z.string().min(1).optional(),
    labelsPerClass: z.number().int().positive().optional(),
    totalLabels: z.number().int().positive().optional(),
    seed: z.number().int().nonnegative().default(0),
    /** Total wall-clock budget (e.g. '10m'); stages share it. 'none': the epoch and step caps alone stop training. */
    budget: zBudget().default('10m'),
    backend: z.enum(['auto', 'wasm', 'native', 'webgpu', 'cpu', 'tensorflow']).default('auto'),
    encoder: z
      .object({
        /**
         * Channels of each stage of a fresh encoder. Default: the modality's (src/modality.ts): images
         * 16-32-64-128, audio 16-32-64.
         */
        widths: z.array(z.number().int().positive()).min(1).optional(),
        blocksPerStage: z.number().int().positive().default(1),
        /**
         * Start pretraining from this encoder instead of a fresh one (domain-adaptive pretraining; `ulearn
         * pretrain --encoder`): anything loadEncoder reads, an imported model.onnx included, which then brings
         * its own architecture (widths and blocksPerStage are ignored). Optional, so older configs still match.
         */
        from: z.string().min(1).optional(),
        /** Imported `from` models: the node or layer where the features end (default: before the classifier). */
        cutAt: z.string().min(1).optional(),
        /** Imported `from` models: input preprocessing over their preprocessing.json (models/load-encoder.ts). */
        preprocessing: z
          .object({
            size: z.tuple([z.number().int().positive(), z.number().int().positive()]).optional(),
            channels: z.union([z.literal(1), z.literal(3)]).optional(),
            mean: z.array(z.number()).optional(),
            std: z.array(z.number().positive()).optional(),
            scale: z.number().positive().optional(),
          })
          .strict()
          .optional(),
      })
      .strict()
      .default({}),
    pretrain: z
      .object({
        method: z.enum(SSL_METHODS as [string, ...string[]]).default('simclr'),
        batchSize: z.number().int().min(8).default(256),
        lr: z.number().positive().default(2e-3),
        /** Unlabeled samples used for pretraining (0 = all). */
        poolSize: z.number().int().nonnegative().default(0),
        /** Max passes over the pool; the budget usually stops it first. */
        epochs: z.number().int().positive().default(100),
        /**
         * Optional cap on optimizer steps, on top of the time budget. Benchmarks use it to compare methods at equal
         * work when the machine is shared and a wall-clock cap would not be fair. Optional (not defaulted) so that
         * configs written before it existed still match their run directories.
         */
        maxSteps: z.number().int().positive().optional(),
        /** Steps between kNN-monitor checks and checkpoints. */
        monitorEvery: z.number().int().positive().default(40),
        /**
         * Share of the total budget for pretraining; the rest is kept for the later stages. Default: 0.64 for
         * image runs, whose label-propagation arm and its estimate need about 50 s more of a 10-minute budget,
         * 0.72 for audio (run-pipeline.ts, `defaultPretrainShare`).
         */
        budgetShare: z.number().gt(0).max(1).optional(),
      })
      .strict()
      .default({}),
    finetune: z
      .object({
        /**
         * Epochs over the labels for fine-tune and the supervised baseline. Default: fitMethod's rule,
         * max(20, 600 / labels per class) (60 at 10 per class), the one the benchmarks measure. Optional (not
         * defaulted) so that the default follows the label count.
         */
        epochs: z.number().int().positive().optional(),
        batchSize: z.number().int().positive().default(32),
        lr: z.number().positive().default(2e-3),
        /** Encoder learning rate as a fraction of the head's when fine-tuning. */
        encoderLrScale: z.number().min(0).max(1).default(0.3),
        /**
         * How fine-tuning regularises the pretrained encoder and the head (src/train/step.ts): 'l2-sp' (toward
         * the pretrained weights), 'decoupled' (AdamW) or 'l2' (toward zero, the old recipe); with `weightDecay`
         * its strength and `lpft` whether the head starts from the linear probe. The supervised baseline keeps
         * its own recipe. Optional (not defaulted; fitMethod's defaults apply) so that configs written before
         * they existed still match their run directories.
         */
        regularizer: z.enum(REGULARIZERS).optional(),
        weightDecay: z.number().min(0).optional(),
        lpft: z.boolean().optional(),
        /** L2 weight decay of the linear probe on the labels: the linear arm, and LP-FT's head. Default 1e-2. */
        probeWeightDecay: z.number().min(0).optional(),
      })
      .strict()
      .default({}),
    /** Optional semi-supervised stage (src/semi): one more classifier, saved to runs/<id>/model for `ulearn predict`. */
    semi: z
      .object({
        method: z.enum(FIT_METHODS),
        /** pseudo-label / fixmatch: start from the pretrained encoder (true) or from scratch. */
        fromEncoder: z.boolean().default(true),
        threshold: z.number().gt(0).max(1).default(0.95),
        mu: z.number().int().positive().default(7),
        steps: z.number().int().positive().default(100_000),
        batchSize: z.number().int().positive().default(32),
        /** label-propagation: neighbours and alpha. */
        k: z.number().int().positive().default(10),
        alpha: z.number().gt(0).lt(1).default(0.99),
      })
      .strict()
      .optional(),
    /**
     * Augmentations: 'auto' (or absent) chooses flips and the crop scale from the labeled images
     * (src/augment/choose.ts); 'flip=off,vflip=on,crop=0.35' fixes those keys and chooses the rest. Optional
     * (not defaulted) so that configs written before it existed still match their run directories.
     */
    augment: z
      .string()
      .optional()
      .superRefine((v, ctx) => {
        try {
          if (v !== undefined) parseAugmentOverride(v);
        } catch (e) {
          ctx.addIssue({ code: z.ZodIssueCode.custom, message: (e as Error).message });
        }
      }),
    /**
     * The estimate from the labels alone (src/semi/estimate.ts) that picks the default arm: k-fold
     * cross-validation with `folds` folds (0 turns it off), each trained arm's fold training `stepsScale` of the
     * final fit's steps, and with `curve` the learning curve extrapolated to all the labels. `epochsScale` is
     * the older spelling (a share of the final fit's epochs). Optional (defaults in DEFAULT_ESTIMATE) so that
     * configs written before it existed still match.
     */
    estimate: z
      .object({
        folds: z.number().int().min(0).refine((n) => n !== 1, 'folds must be 0 (off) or at least 2').optional(),
        stepsScale: z.number().gt(0).max(1).optional(),
        curve: z.boolean().optional(),
        epochsScale: z.number().gt(0).max(1).optional(),
      })
      .strict()
      .optional(),
    /** Test samples scored (0 = all). */
    testSize: z.number().int().nonnegative().default(0),
  })
  .strict();

export type PipelineConfig = z.output<typeof PipelineConfigSchema>;
export type PipelineConfigInput = z.input<typeof PipelineConfigSchema>;

export function pipelineConfig(input: PipelineConfigInput = {}): PipelineConfig {
  return PipelineConfigSchema.parse(input);
}
