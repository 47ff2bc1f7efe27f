/**
 * The `ulearn` command line as a module: `buildProgram()` and `main(argv)`, importable without running
 * anything (src/cli/main.ts is the executable entry). It only parses arguments and calls the library; every
 * command has --help. User errors (UlearnError) print one message and exit non-zero; anything else is a bug
 * and shows its stack.
 */
import { z } from 'zod';
import { Command, Option } from 'commander';
import path from 'node:path';
import { formatCliError } from './errors.js';
import { describeBackend, initBackend } from '../engine/index.js';
import { PipelineConfigSchema, pipelineConfig, type PipelineConfigInput } from '../pipeline/config.js';
import { resultsTable, runPipeline, type StageName } from '../pipeline/run-pipeline.js';
import { loadConfigFile } from '../runs/config.js';
import { RunDir } from '../runs/run-dir.js';
import { SSL_METHODS } from '../ssl/registry.js';
import { augmentOption, backendOption, budgetOption, encoderInputs, intArg, seedOption, skipBadOption, threadsOption, withEncoderInputOptions, type EncoderInputFlags } from './options.js';
import { folderSpec, SPEECH_POOL_NAME } from '../data/load.js';
import { registerLabelCommand } from './commands/label.js';
import { registerCleanCommand } from './commands/clean.js';
import { registerTabularCommand, runTabularAndPrint } from './commands/tabular.js';
import { TabularConfigSchema, type TabularConfig } from '../pipeline/tabular-config.js';
import { registerPredictCommand } from './commands/predict.js';
import { registerTrainCommand } from './commands/train.js';
import { registerDataCommand } from './commands/data.js';
import { registerGenerateCommand } from './commands/generate.js';
import { registerExportCommand } from './commands/export.js';
import { registerEvaluateGeneratedCommand } from './commands/evaluate-generated.js';
import { registerEncodeCommand } from './commands/encode.js';
import { registerWorkerCommand } from './commands/worker.js';

export function buildProgram(): Command {
  const program = new Command('ulearn')
    .description('Train good models from mostly unlabeled data: clean, pretrain, label, train, evaluate.')
    .option('--verbose', 'on an error, also print its stack trace')
    .showHelpAfterError()
    .exitOverride();

  program
    .command('info')
    .description('start the compute backend and print what runs (backend, threads, SIMD, GPU adapter)')
    .addOption(backendOption())
    .addOption(threadsOption())
    .action(async (opts: { backend: string; threads?: number }) => {
      const report = await initBackend(opts.backend, { threads: opts.threads });
      console.log(describeBackend(report));
    });

  const common = (cmd: Command) =>
    cmd
      .addOption(backendOption())
      .addOption(threadsOption())
      .addOption(budgetOption('wall-clock budget for the whole command, e.g. 10m, 90s, 1h, or none (epoch/step caps only)'))
      .addOption(seedOption())
      .option('--runs <dir>', 'where run directories are created', 'runs');
  const labelOptions = (cmd: Command) =>
    cmd
      .option('--labels-per-class <n>', 'labels kept per class (the rest are hidden)', intArg('--labels-per-class', 1))
      .option('--total-labels <n>', 'labels kept in total, stratified across classes', intArg('--total-labels', 1));

  common(
    labelOptions(
      program
        .command('demo')
        .description('the whole pipeline on Fashion-MNIST (or --data speech-digits: synthetic spoken digits) with 10 labels per class: self-supervised pretraining, linear probe, fine-tune, and the supervised-only baseline, in about 10 minutes on 2 CPU cores')
        .addOption(new Option('--method <name>', 'self-supervised method').choices(SSL_METHODS).default('simclr'))
        .option('--data <name|folder>', 'dataset name (fashion-mnist, mnist, glyphs, shapes, speech-digits: synthetic speech) or a folder of images or audio clips', 'fashion-mnist')
        .option('--pretrain-data <name|folder>', `unlabeled data to pretrain on instead of --data's training samples (e.g. ${SPEECH_POOL_NAME}: synthetic speech in 49 other languages, for speech-digits)`)
        .addOption(augmentOption())
        .addOption(skipBadOption())
        .option('--resume <run-dir>', 'continue a killed run'),
    ),
  ).action(async (o: CliOpts & { method: string; data: string; pretrainData?: string; resume?: string; augment?: string; skipBad?: boolean }) => {
    const input: PipelineConfigInput = {
      data: (await folderSpec(o.data, { skipBad: o.skipBad })) as PipelineConfigInput['data'],
      pretrainData: o.pretrainData,
      labelsPerClass: o.totalLabels ? undefined : (o.labelsPerClass ?? 10),
      totalLabels: o.totalLabels,
      seed: o.seed,
      budget: o.budget ?? '10m',
      backend: o.backend as PipelineConfigInput['backend'],
      pretrain: { method: o.method },
      augment: o.augment,
    };
    await runAndPrint(o.resume ? ((await RunDir.open(o.resume)).config as PipelineConfigInput) : input, o, { runDir: o.resume });
  });

  common(
    program
      .command('run')
      .description('run the pipeline described by a JSON or YAML config file (see README: "Config files")')
      .argument('<config>', 'config file (.json, .yaml or .yml)')
      .option('--resume <run-dir>', 'continue a killed run of this config'),
  ).action(async (file: string, o: CliOpts & { resume?: string }) => {
    // A config naming a label column describes a table (CSV/ARFF): the tabular pipeline, with its own schema.
    const raw = await loadConfigFile(file, z.record(z.unknown()));
    if (Object.hasOwn(raw, 'labelColumn')) {
      const cfg = await loadConfigFile(file, TabularConfigSchema);
      const overrides = { ...(o.budget ? { budget: o.budget } : {}), ...(o.backend !== 'auto' ? { backend: o.backend as TabularConfig['backend'] } : {}) };
      await runTabularAndPrint({ ...cfg, ...overrides }, o.resume, o.runs);
      return;
    }
    const cfg = await loadConfigFile(file, PipelineConfigSchema);
    await runAndPrint(cfg, o, { runDir: o.resume });
  });

  common(
    labelOptions(
      withEncoderInputOptions(program
        .command('pretrain')
        .description('self-supervised pretraining of an encoder on unlabeled images (creates a run directory)')
        .argument('<data>', "dataset name ('fashion-mnist', 'mnist', 'speech-digits'...) or a folder of images or audio clips")
        .addOption(new Option('--method <name>', 'self-supervised method').choices(SSL_METHODS).default('simclr'))
        .option('--test-data <folder>', 'labeled test images or clips, for a folder dataset')
        .option('--pretrain-data <name|folder>', "unlabeled data to pretrain on instead of <data>'s training samples (same kind and shape)")
        .option('--encoder <path>', 'continue from this encoder instead of a fresh one (domain-adaptive pretraining): an imported model.onnx or tfjs model.json, a run directory, a model folder')
        .addOption(augmentOption())
        .addOption(skipBadOption())),
    ),
  ).action(async (data: string, o: CliOpts & EncoderInputFlags & { method: string; testData?: string; pretrainData?: string; augment?: string; skipBad?: boolean; encoder?: string }) => {
    // With --skip-bad the folder becomes a spec object carrying skipBad (and the test folder, which the
    // pipeline takes beside a plain path only); the pipeline's log lists what was skipped.
    const spec = o.skipBad ? await folderSpec(data, { test: o.testData, skipBad: true }) : data;
    const input: PipelineConfigInput = {
      data: spec as PipelineConfigInput['data'],
      pretrainData: o.pretrainData,
      testData: typeof spec === 'string' ? o.testData : undefined,
      labelsPerClass: o.totalLabels ? undefined : (o.labelsPerClass ?? 10),
      totalLabels: o.totalLabels,
      seed: o.seed,
      budget: o.budget ?? '10m',
      backend: o.backend as PipelineConfigInput['backend'],
      pretrain: { method: o.method, budgetShare: 1 },
      augment: o.augment,
    };
    if (o.encoder) {
      const { preprocessing, cutAt } = encoderInputs(o);
      const pre = Object.fromEntries(Object.entries(preprocessing).filter(([, v]) => v !== undefined));
      input.encoder = { from: path.resolve(o.encoder), ...(cutAt ? { cutAt } : {}), ...(Object.keys(pre).length ? { preprocessing: pre } : {}) };
    }
    await runAndPrint(input, o, { stages: ['pretrain'] });
  });

  common(
    program
      .command('finetune')
      .description("train classifiers on a pretrained run's encoder: linear probe, label propagation (images), fine-tune, and the supervised-only baseline")
      .argument('<run-dir>', 'a run directory made by `ulearn pretrain`'),
  ).action(async (dir: string, o: CliOpts) => {
    const run = await RunDir.open(dir);
    await runAndPrint(run.config as PipelineConfigInput, o, { runDir: dir, stages: ['estimate', 'probe', 'propagate', 'finetune', 'baseline', 'report'] });
  });

  common(
    program
      .command('eval')
      .description("write a run's results.json and report.html from its finished stages")
      .argument('<run-dir>', 'a run directory'),
  ).action(async (dir: string, o: CliOpts) => {
    const run = await RunDir.open(dir);
    await runAndPrint(run.config as PipelineConfigInput, o, { runDir: dir, stages: ['report'] });
  });

  registerLabelCommand(program);
  registerCleanCommand(program);
  registerTabularCommand(program);
  registerTrainCommand(program);
  registerPredictCommand(program);
  registerDataCommand(program);
  registerGenerateCommand(program);
  registerExportCommand(program);
  registerEvaluateGeneratedCommand(program);
  registerEncodeCommand(program);
  registerWorkerCommand(program);
  return program;
}

interface CliOpts {
  backend: string;
  threads?: number;
  budget?: string;
  seed: number;
  runs: string;
  labelsPerClass?: number;
  totalLabels?: number;
}


async function runAndPrint(input: PipelineConfigInput, o: CliOpts, extra: { runDir?: string; stages?: StageName[] }): Promise<void> {
  const cfg = pipelineConfig(input);
  // Command-line --budget and --backend win over a config file or a resumed run's config, for every command.
  if (o.budget) cfg.budget = o.budget;
  if (o.backend !== 'auto') cfg.backend = o.backend as typeof cfg.backend;
  const result = await runPipeline(cfg, { runsRoot: o.runs, runDir: extra.runDir, stages: extra.stages, threads: o.threads });
  if (result.methods.length > 0) {
    console.log('');
    console.log(resultsTable(result.methods));
  }
  console.log('');
  console.log(`run directory: ${result.runDir}`);
  if (!extra.stages || extra.stages.includes('report')) console.log(`report: ${result.reportPath}`);
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help') return 0;
    if (typeof code === 'string' && code.startsWith('commander.')) return 2; // commander already printed why
    const { text, exitCode } = formatCliError(err, argv.includes('--verbose'));
    console.error(text);
    return exitCode;
  }
}
