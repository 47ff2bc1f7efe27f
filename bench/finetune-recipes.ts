/**
 * `npm run bench finetune-recipes`: which way of fine-tuning a pretrained encoder keeps what pretraining
 * learned (issue 18 part 3). For each dataset of the suite, one short SimCLR pretraining (seed 0, a step cap,
 * `budget: none`) serves every seed; each seed draws 10 labels per class and a validation split from the rest
 * of train (never the test split), and fine-tunes the same encoder with each recipe: the old coupled L2 on every
 * kernel, L2-SP toward the starting weights, decoupled weight decay (AdamW), each from the probe-initialised head
 * (LP-FT) or a random one. The linear probe and the supervised-only baseline (its own recipe: coupled L2 from
 * scratch) run beside them for scale. Every fine-tune also records where its loss comes from at the end:
 * the penalty on the encoder's kernels, on the head's, and cross-entropy on the labeled images with and without
 * the training augmentation.
 *
 * Small scale on purpose (minutes on one thread, shared machine): it ranks recipes, it does not measure the
 * pipeline's accuracy. Each (dataset, seed, recipe) is a unit written to <work>/units/ when it finishes, so a
 * killed run continues where it stopped; the JSON is rebuilt from the units after each one.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { weakAugment } from '../src/augment/presets.js';
import { gatherRows, sampleSize } from '../src/data/dataset.js';
import { applyLabelBudget } from '../src/data/label-budget.js';
import { loadDataset } from '../src/data/load.js';
import { currentBackend, describeBackend } from '../src/engine/backend.js';
import { Rng } from '../src/engine/seed.js';
import { accuracy, argmaxRows, meanStd } from '../src/eval/metrics.js';
import { pipelineConfig, type PipelineConfigInput } from '../src/pipeline/config.js';
import { runPipeline } from '../src/pipeline/run-pipeline.js';
import { RunDir } from '../src/runs/run-dir.js';
import { fitMethod, type FitMethod, type SemiSettings } from '../src/semi/fit.js';
import { predictProba } from '../src/train/fit-classifier.js';
import { writeJsonAtomic } from '../src/util/atomic.js';
import { Budget } from '../src/util/budget.js';
import { benchOptions, engineOptions, list, threadsOf } from './options.js';

interface Recipe {
  method: FitMethod;
  settings: Partial<SemiSettings>;
  describe: string;
}

export const RECIPES: Record<string, Recipe> = {
  'supervised-only': { method: 'supervised', settings: {}, describe: 'from scratch, coupled L2 5e-4 (the baseline keeps its own recipe)' },
  linear: { method: 'linear', settings: {}, describe: 'linear probe on the frozen encoder' },
  'coupled-l2 5e-4 +lpft': { method: 'finetune', settings: { finetuneRegularizer: 'l2', finetuneWeightDecay: 5e-4, lpft: true }, describe: 'the old fine-tune: 5e-4·Σw² on every kernel, probe head' },
  'l2-sp 1e-3 +lpft': { method: 'finetune', settings: { finetuneRegularizer: 'l2-sp', finetuneWeightDecay: 1e-3, lpft: true }, describe: '1e-3·Σ(w−w₀)², probe head' },
  'l2-sp 1e-2 +lpft': { method: 'finetune', settings: { finetuneRegularizer: 'l2-sp', finetuneWeightDecay: 1e-2, lpft: true }, describe: '1e-2·Σ(w−w₀)², probe head' },
  'decoupled 5e-2 +lpft': { method: 'finetune', settings: { finetuneRegularizer: 'decoupled', finetuneWeightDecay: 5e-2, lpft: true }, describe: 'AdamW decay 5e-2, probe head' },
  'l2-sp 1e-2 random-head': { method: 'finetune', settings: { finetuneRegularizer: 'l2-sp', finetuneWeightDecay: 1e-2, lpft: false }, describe: '1e-2·Σ(w−w₀)², random head (no LP-FT)' },
  'coupled-l2 5e-4 random-head': { method: 'finetune', settings: { finetuneRegularizer: 'l2', finetuneWeightDecay: 5e-4, lpft: false }, describe: 'the old penalty, random head (no LP-FT)' },
};

interface Unit {
  dataset: string;
  seed: number;
  recipe: string;
  val_acc: number;
  steps?: number;
  /** Where the fine-tune loss comes from at its end (fine-tune recipes only). */
  loss?: { final_train: number; penalty_encoder: number; penalty_head: number; penalty_head_first_epoch: number; ce_clean: number; ce_augmented: number };
  seconds: number;
}


export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...benchOptions({ name: 'finetune-recipes', out: path.join('bench', 'results', 'finetune-recipes.json'), seeds: '0,1' }),
      ...engineOptions(),
      datasets: { type: 'string', default: 'fashion-mnist,glyphs,shapes' },
      recipes: { type: 'string', default: Object.keys(RECIPES).join(',') },
      'pretrain-steps': { type: 'string', default: '120' },
      'pretrain-batch': { type: 'string', default: '128' },
      pool: { type: 'string', default: '10000' },
      val: { type: 'string', default: '2000' },
    },
  });
  const datasets = list(values.datasets!);
  const seeds = list(values.seeds!).map(Number);
  const recipes = list(values.recipes!);
  for (const r of recipes) if (!RECIPES[r]) throw new Error(`--recipes: unknown '${r}' (known: ${Object.keys(RECIPES).join(', ')})`);
  const work = path.resolve(values.work!);
  await mkdir(path.join(work, 'units'), { recursive: true });
  const log = (l: string) => console.log(`[bench finetune-recipes] ${l}`);
  const scale = { pretrainSteps: Number(values['pretrain-steps']), pretrainBatch: Number(values['pretrain-batch']), pool: Number(values.pool), val: Number(values.val), labelsPerClass: 10, threads: threadsOf(values.threads, 1)! };
  const started = new Date().toISOString();

  const save = async () => {
    const units: Unit[] = [];
    for (const f of (await readdir(path.join(work, 'units'))).filter((n) => n.endsWith('.json'))) units.push(JSON.parse(await readFile(path.join(work, 'units', f), 'utf8')) as Unit);
    const rows = [];
    for (const d of datasets) {
      for (const r of recipes) {
        const us = units.filter((u) => u.dataset === d && u.recipe === r).sort((a, b) => a.seed - b.seed);
        if (us.length === 0) continue;
        const { mean, std } = meanStd(us.map((u) => u.val_acc));
        rows.push({ dataset: d, recipe: r, describe: RECIPES[r].describe, seeds: us.map((u) => u.seed), val_acc: us.map((u) => round(u.val_acc)), val_acc_mean: round(mean), val_acc_std: round(std), loss: us.map((u) => u.loss).filter(Boolean) });
      }
    }
    // Every dataset and seed weighs the same: the default must hold across the suite, not on one dataset.
    const overall = recipes
      .map((r) => {
        const us = units.filter((u) => u.recipe === r && datasets.includes(u.dataset));
        return { recipe: r, units: us.length, val_acc_mean: us.length ? round(us.reduce((a, u) => a + u.val_acc, 0) / us.length) : null };
      })
      .filter((o) => o.units > 0)
      .sort((a, b) => (b.val_acc_mean ?? 0) - (a.val_acc_mean ?? 0));
    const best = overall.find((o) => RECIPES[o.recipe].method === 'finetune');
    const backend = currentBackend();
    await writeJsonAtomic(values.out!, {
      note: 'SMALL SCALE: a short SimCLR pretraining per dataset, accuracies on a validation split carved from train (never test); ranks fine-tune recipes, not a measure of the pipeline',
      machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, node: process.version, load_1m: Number(os.loadavg()[0].toFixed(2)), engine: backend ? describeBackend(backend) : null },
      started,
      updated: new Date().toISOString(),
      scale,
      rows,
      overall,
      best_finetune_recipe: best?.recipe ?? null,
    });
  };

  for (const dataset of datasets) {
    // One pretraining per dataset, through the pipeline (so its augmentations are the ones the pipeline chooses).
    const preCfg = pipelineConfig({ data: dataset, labelsPerClass: 10, seed: 0, budget: 'none', backend: values.backend as PipelineConfigInput['backend'], pretrain: { method: 'simclr', maxSteps: scale.pretrainSteps, batchSize: scale.pretrainBatch, poolSize: scale.pool, budgetShare: 1, monitorEvery: scale.pretrainSteps } });
    const preRun = await RunDir.create(work, preCfg, { id: `pretrain-${dataset}` });
    log(`${dataset}: pretraining SimCLR for ${scale.pretrainSteps} steps of ${scale.pretrainBatch} in ${preRun.dir}`);
    await runPipeline(preCfg, { runDir: preRun.dir, stages: ['pretrain'], threads: scale.threads, log });
    const encoderDir = preRun.path('checkpoints', 'pretrain-encoder');
    const flip = Boolean(((await preRun.stage('augment'))?.choice as { flip?: boolean } | undefined)?.flip ?? true);
    const { train } = await loadDataset(dataset);
    const shape = train.inputShape as [number, number, number];
    const size = sampleSize(train);
    for (const seed of seeds) {
      const lb = applyLabelBudget(train, { perClass: 10, seed });
      const isLabeled = new Uint8Array(train.size);
      for (const i of lb.labeled) isLabeled[i] = 1;
      const valIdx = new Rng(seed).fork('validation').permutation(train.size).filter((i) => !isLabeled[i]).slice(0, scale.val);
      const valX = gatherRows(train.x, size, valIdx);
      const valY = Int32Array.from(valIdx, (i) => train.y[i]);
      for (const name of recipes) {
        const file = path.join(work, 'units', `${dataset}-s${seed}-${name.replace(/[^a-z0-9.+-]+/gi, '_')}.json`);
        if (existsSync(file)) continue;
        const recipe = RECIPES[name];
        const t0 = Date.now();
        const fit = await fitMethod({
          method: recipe.method,
          train,
          y: lb.y,
          labeled: lb.labeled,
          encoder: preCfg.encoder,
          pretrained: recipe.method === 'supervised' ? undefined : encoderDir,
          settings: { ...recipe.settings, flip },
          seed,
          budget: Budget.parse('none'),
        });
        const probs = predictProba(fit.encoder, fit.head, valX, shape);
        const unit: Unit = { dataset, seed, recipe: name, val_acc: accuracy(valY, argmaxRows(probs, train.classes.length)) * 100, seconds: (Date.now() - t0) / 1000 };
        if (typeof fit.info.steps === 'number') unit.steps = fit.info.steps;
        if (recipe.method === 'finetune') unit.loss = lossSources(fit, train.x, lb.labeled, train.y, shape, flip, seed);
        fit.encoder.dispose();
        fit.head.dispose();
        await writeJsonAtomic(file, unit);
        log(`${dataset} seed ${seed} ${name}: validation ${unit.val_acc.toFixed(1)}% (${unit.seconds.toFixed(0)} s)${unit.loss ? ` loss ${JSON.stringify(unit.loss)}` : ''}`);
        await save();
      }
    }
  }
  await save();
  log(`wrote ${values.out}`);
  return 0;
}

/** The end-of-training loss, split: penalty on encoder and head, cross-entropy on clean and on augmented labeled images. */
function lossSources(fit: Awaited<ReturnType<typeof fitMethod>>, x: Float32Array, labeled: Int32Array, y: Int32Array, shape: [number, number, number], flip: boolean, seed: number): Unit['loss'] {
  const xl = gatherRows(x, shape[0] * shape[1] * shape[2], labeled);
  const yl = Int32Array.from(labeled, (i) => y[i]);
  const ce = (images: Float32Array) => {
    const p = predictProba(fit.encoder, fit.head, images, shape);
    const k = p.length / yl.length;
    let s = 0;
    yl.forEach((c, n) => (s -= Math.log(Math.max(p[n * k + c], 1e-12))));
    return s / yl.length;
  };
  const aug = weakAugment(shape, { flip });
  const augmented = tf.tidy(() => aug.apply(tf.tensor4d(xl, [yl.length, ...shape]), new Rng(seed).fork('diagnose')).dataSync() as Float32Array);
  const penalty = fit.info.finalPenalty as { encoder: number; head: number };
  const first = fit.info.firstPenalty as { encoder: number; head: number };
  return {
    final_train: round(fit.info.finalLoss as number, 4),
    penalty_encoder: round(penalty.encoder, 4),
    penalty_head: round(penalty.head, 4),
    penalty_head_first_epoch: round(first.head, 4),
    ce_clean: round(ce(xl), 4),
    ce_augmented: round(ce(augmented), 4),
  };
}

function round(v: number, digits = 2): number {
  return Number(v.toFixed(digits));
}
