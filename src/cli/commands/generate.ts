/**
 * `ulearn generate <data> --model vae|ssvae|diffusion`: a generative model trained on the unlabeled pool and
 * the few labels, written as a checkpoint, a grid of samples per class (samples.png) and a folder of generated
 * samples with their labels (generated/manifest.json) for `ulearn train --generated`. Arguments only; the
 * work is src/generate/generate.ts.
 */
import path from 'node:path';
import { Command, Option } from 'commander';
import { applyLabelBudget } from '../../data/label-budget.js';
import { folderSpec, loadDataset } from '../../data/load.js';
import { describeBackend, initBackend } from '../../engine/index.js';
import { UlearnError } from '../../errors.js';
import { checkGenerateInput, generate } from '../../generate/generate.js';
import { GENERATOR_KINDS, type GeneratorKind } from '../../generate/types.js';
import { Budget } from '../../util/budget.js';
import { backendOption, budgetOption, intArg, numberArg, seedOption, skipBadOption, threadsOption } from '../options.js';

interface GenerateOpts {
  model: GeneratorKind;
  labelsPerClass?: number;
  totalLabels?: number;
  steps?: number;
  batchSize?: number;
  ema?: number;
  samplesPerClass: number;
  sampleSteps?: number;
  guidance?: number;
  timesteps?: number;
  widths?: [number, number];
  checkpoint?: string;
  out?: string;
  skipBad?: boolean;
  budget?: string;
  seed: number;
  backend: string;
  threads?: number;
}

export function registerGenerateCommand(program: Command): void {
  program
    .command('generate')
    .description('train a generative model (vae, ssvae, diffusion) on the unlabeled pool and the few labels; write its checkpoint, a sample grid per class and a folder of generated samples')
    .argument('<data>', "dataset name ('fashion-mnist', 'mnist', 'shapes', ...) or a folder of images (unlabeled files allowed)")
    .addOption(new Option('--model <name>', 'generative model').choices([...GENERATOR_KINDS]).makeOptionMandatory())
    .option('--labels-per-class <n>', 'labels kept per class (default: every label the data has)', intArg('--labels-per-class', 1))
    .option('--total-labels <n>', 'labels kept in total, stratified across classes', intArg('--total-labels', 1))
    .option('--steps <n>', 'training steps at most (default: vae 10000, ssvae 3000, diffusion 16000; the budget may stop first)', intArg('--steps', 1))
    .option('--batch-size <n>', 'batch size (default: vae 64, ssvae and diffusion 32; a quarter of it labeled samples)', intArg('--batch-size', 2))
    .option('--samples-per-class <k>', 'generated samples written per class', intArg('--samples-per-class', 1), 100)
    .option('--ema <decay>', 'keep a moving average of the weights with this decay and sample with it (default: diffusion 0.999, vae and ssvae 0 = none)', numberArg('--ema', 0, 0.99999))
    .option('--sample-steps <n>', 'diffusion: DDIM sampling steps (default 25)', intArg('--sample-steps', 1))
    .option('--guidance <w>', 'diffusion: classifier-free guidance scale (default 2; 1 = conditional model alone)', numberArg('--guidance', 0, 20))
    .option('--timesteps <n>', 'diffusion: training chain length T (default 1000)', intArg('--timesteps', 2))
    .option('--widths <a,b>', 'channels of the two convolution stages (default: vae and ssvae 32,64, diffusion 16,32)', (v) => {
      const w = v.split(',').map(intArg('--widths', 1));
      if (w.length !== 2) throw new UlearnError(`--widths takes two numbers, e.g. 32,64; got '${v}'`, { code: 'E_ARG' });
      return w as [number, number];
    })
    .option('--checkpoint <dir>', 'sample from this generator checkpoint (<out>/checkpoint of an earlier run) instead of training')
    .option('--out <dir>', 'output folder (default runs/generate-<model>-<time>)')
    .addOption(skipBadOption())
    .addOption(budgetOption('wall-clock budget for training, e.g. 20m'))
    .addOption(seedOption('random seed (label draw, initialisation, batches, samples)'))
    .addOption(backendOption())
    .addOption(threadsOption())
    .action(async (data: string, o: GenerateOpts) => {
      if (o.labelsPerClass !== undefined && o.totalLabels !== undefined) throw new UlearnError('give --labels-per-class or --total-labels, not both', { code: 'E_ARG' });
      const spec = await folderSpec(data, { skipBad: o.skipBad });
      const { train } = await loadDataset(spec, { log: (l) => console.error(l) });
      const budgetOpt = o.labelsPerClass !== undefined ? { perClass: o.labelsPerClass } : o.totalLabels !== undefined ? { total: o.totalLabels } : undefined;
      const y = budgetOpt ? applyLabelBudget(train, { ...budgetOpt, seed: o.seed }).y : train.y;
      // Every check that can fail does so here, before the backend starts or a weight is trained.
      checkGenerateInput({ model: o.model, train, y, samplesPerClass: o.samplesPerClass });
      const backend = await initBackend(o.backend, { threads: o.threads });
      console.error(describeBackend(backend));
      const labeled = y.reduce((n, v) => n + (v >= 0 ? 1 : 0), 0);
      console.error(`data: ${train.name}, ${train.size} images, ${labeled} labeled, ${train.classes.length} classes`);
      const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
      const out = o.out ?? path.join('runs', `generate-${o.model}-${stamp}`);
      const r = await generate({
        model: o.model,
        train,
        y,
        out,
        steps: o.steps,
        batchSize: o.batchSize,
        ema: o.ema,
        samplesPerClass: o.samplesPerClass,
        sampleSteps: o.sampleSteps,
        guidance: o.guidance,
        sizes: { ...(o.widths ? { widths: o.widths } : {}), ...(o.timesteps ? { timesteps: o.timesteps } : {}) },
        checkpoint: o.checkpoint,
        seed: o.seed,
        budget: Budget.parse(o.budget),
        log: (l) => console.error(l),
      });
      console.log(`checkpoint: ${r.checkpoint}`);
      console.log(`samples: ${r.grid}`);
      console.log(`generated: ${path.join(out, 'generated')} (${r.manifest.samples.length} samples)`);
    });
}
