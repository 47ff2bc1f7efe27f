/**
 * `ulearn train <data> --method <name>`: one classifier from few labels (and, for the semi-supervised methods,
 * the unlabeled rest), saved as a model folder `ulearn predict` can use. Arguments only; the work is
 * src/semi/fit.ts, the same code the label-efficiency benchmark measures. `--generated` adds generated samples
 * to the labeled set through src/generate/filter.ts (docs/generative-metrics.md).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Command, Option } from 'commander';
import { applyLabelBudget } from '../../data/label-budget.js';
import { folderSpec, loadDataset } from '../../data/load.js';
import { AudioPreprocessor, featurize } from '../../data/preprocess/audio.js';
import { loadPreprocessor, savePreprocessor } from '../../data/preprocess/index.js';
import { describeBackend, initBackend } from '../../engine/index.js';
import { UlearnError } from '../../errors.js';
import { accuracy, argmaxRows } from '../../eval/metrics.js';
import { checkFitInput, FIT_METHODS, fitMethod, type EncoderSpec, type SemiSettings } from '../../semi/fit.js';
import { saveClassifier } from '../../predict/image-model.js';
import { checkThreshold } from '../../semi/validate.js';
import { predictProba } from '../../train/fit-classifier.js';
import { Budget } from '../../util/budget.js';
import { backendOption, budgetOption, encoderInputs, intArg, seedOption, skipBadOption, threadsOption, withEncoderInputOptions, type EncoderInputFlags } from '../options.js';
import { loadEncoder } from '../../models/load-encoder.js';
import { architectureOf } from '../../models/architecture.js';
import { readGeneratedFolder, type GeneratedSet } from '../../generate/generated-folder.js';
import { checkGeneratedOptions, checkRatio, DEFAULT_GENERATED_RATIO, fitWithGenerated, GENERATED_FILTERS, type GeneratedFilter } from '../../generate/filter.js';

interface TrainOpts extends EncoderInputFlags {
  method: string;
  encoder?: string;
  labelsPerClass?: number;
  totalLabels?: number;
  testData?: string;
  out?: string;
  threshold?: number;
  mu?: number;
  steps?: number;
  epochs?: number;
  batchSize?: number;
  widths?: number[];
  blocks?: number;
  flip: boolean;
  generated?: string;
  generatedRatio?: number;
  generatedFilter: GeneratedFilter;
  generatedEncoder?: string;
  skipBad?: boolean;
  budget?: string;
  seed: number;
  backend: string;
  threads?: number;
}

export function registerTrainCommand(program: Command): void {
  withEncoderInputOptions(program
    .command('train')
    .description('train a classifier from few labels with one method (supervised, linear, finetune, label-propagation, pseudo-label, fixmatch, ssvae) and save it for `ulearn predict`')
    .argument('<data>', "dataset name ('fashion-mnist', 'mnist') or a folder of images (unlabeled files allowed)")
    .addOption(new Option('--method <name>', 'training method').choices([...FIT_METHODS]).makeOptionMandatory())
    .option('--encoder <path>', 'pretrained encoder: a run directory, its checkpoint (runs/<id>/checkpoints/pretrain-encoder), a model folder, or an imported model (model.onnx, a tfjs model.json; see --input-size, --channels, --mean, --std, --cut-at); needed by linear, finetune, label-propagation; optional start for pseudo-label and fixmatch; with ssvae, M2 runs on its features (M1+M2)')
    .option('--labels-per-class <n>', 'labels kept per class (default: every label the data has)', intArg('--labels-per-class', 1))
    .option('--total-labels <n>', 'labels kept in total, stratified across classes', intArg('--total-labels', 1))
    .option('--test-data <folder>', 'labeled test images for a folder dataset (accuracy is printed)')
    .option('--out <dir>', 'model folder to write (default runs/train-<method>-<time>)')
    .option('--threshold <p>', 'pseudo-label confidence threshold in (0, 1] (pseudo-label, fixmatch)', (v) => checkThreshold(Number(v), '--threshold'))
    .option('--mu <n>', 'unlabeled-to-labeled batch ratio (pseudo-label, fixmatch)', intArg('--mu', 1))
    .option('--steps <n>', 'optimizer steps at most (pseudo-label, fixmatch, ssvae; the budget usually stops first)', intArg('--steps', 1))
    .option('--epochs <n>', 'epochs over the labels (supervised, finetune)', intArg('--epochs', 1))
    .option('--batch-size <n>', 'labeled batch size', intArg('--batch-size', 1))
    .option('--widths <list>', 'stage widths of a fresh encoder, e.g. 16,32,64 (default: images 16,32,64,128, audio 16,32,64; with --encoder, the checkpoint’s)', (v) => v.split(',').map(intArg('--widths', 1)))
    .option('--blocks <n>', 'blocks per stage of a fresh encoder (default 1; with --encoder, the checkpoint’s)', intArg('--blocks', 1))
    .option('--no-flip', 'no horizontal flips in augmentations (digits, text)')
    .option('--generated <folder>', 'add generated samples (a folder `ulearn generate` wrote, or its manifest.json) to the labeled set; checked against the data first')
    .option('--generated-ratio <r>', `generated samples added per real label, drawn class-balanced and seeded (default ${DEFAULT_GENERATED_RATIO})`, (v) => checkRatio(Number(v), '--generated-ratio'))
    .option('--generated-encoder <path>', 'SSL encoder the knn filter votes in (default: --encoder), so a supervised-from-scratch fit can use the knn filter')
    .addOption(new Option('--generated-filter <name>', 'keep only generated samples whose label the classifier trained on the real labels (classifier) or the encoder’s kNN over them (knn, needs --encoder) agrees with').choices([...GENERATED_FILTERS]).default('none'))
    .addOption(skipBadOption())
    .addOption(budgetOption('wall-clock budget for training, e.g. 10m'))
    .addOption(seedOption())
    .addOption(backendOption())
    .addOption(threadsOption()))
    .action(async (data: string, o: TrainOpts) => {
      const settings: Partial<SemiSettings> = { flip: o.flip };
      if (o.threshold !== undefined) settings.threshold = o.threshold;
      if (o.mu !== undefined) settings.mu = o.mu;
      if (o.steps !== undefined) settings.steps = o.steps;
      if (o.epochs !== undefined) settings.epochs = o.epochs;
      if (o.batchSize !== undefined) settings.batchSize = o.batchSize;
      if (o.labelsPerClass !== undefined && o.totalLabels !== undefined) throw new UlearnError('give --labels-per-class or --total-labels, not both');
      if (o.encoder && (o.widths || o.blocks)) throw new UlearnError('--widths and --blocks shape a fresh encoder; --encoder brings its own architecture', { code: 'E_ARG', hint: 'drop --widths/--blocks' });
      const spec = await folderSpec(data, { test: o.testData, skipBad: o.skipBad });
      const splits = await loadDataset(spec, { log: (l) => console.error(l) });
      // Audio clips become features here, with the encoder's own front-end (saved beside it by pretraining) or,
      // for a fresh encoder, one fitted on every training clip; it is saved with the model for `ulearn predict`.
      let pre: AudioPreprocessor | undefined;
      if (splits.train.modality === 'audio') {
        const saved = o.encoder ? await loadPreprocessor(o.encoder) : undefined;
        if (saved instanceof AudioPreprocessor) {
          pre = saved;
          splits.train = await featurize(splits.train, pre);
        } else ({ pre, data: splits.train } = await AudioPreprocessor.fitFeaturize(splits.train));
        if (splits.test) splits.test = await featurize(splits.test, pre);
      }
      const train = splits.train;
      const budgetOpt = o.labelsPerClass !== undefined ? { perClass: o.labelsPerClass } : o.totalLabels !== undefined ? { total: o.totalLabels } : undefined;
      let y: Int32Array = train.y;
      let labeled: Int32Array = Int32Array.from({ length: train.size }, (_, i) => i).filter((i) => train.y[i] >= 0);
      if (budgetOpt) ({ y, labeled } = applyLabelBudget(train, { ...budgetOpt, seed: o.seed }));
      // Every check that can fail does so here, before the backend starts or a weight is trained.
      checkFitInput({ method: o.method as (typeof FIT_METHODS)[number], train, y, labeled, pretrained: o.encoder, settings });
      if (!o.generated && (o.generatedRatio !== undefined || o.generatedFilter !== 'none' || o.generatedEncoder)) throw new UlearnError('--generated-ratio, --generated-filter and --generated-encoder need --generated <folder>', { code: 'E_ARG' });
      if (o.generatedEncoder && !existsSync(o.generatedEncoder)) throw new UlearnError(`encoder ${o.generatedEncoder}: no such folder`, { code: 'E_CHECKPOINT', hint: 'give a run directory, its checkpoints/pretrain-encoder, or a model folder' });
      let generated: GeneratedSet | undefined;
      if (o.generated) {
        checkGeneratedOptions({ ratio: o.generatedRatio, filter: o.generatedFilter, knnEncoder: o.generatedEncoder }, o.encoder);
        generated = await readGeneratedFolder(o.generated, { target: train });
      }
      const backend = await initBackend(o.backend, { threads: o.threads });
      console.error(describeBackend(backend));
      console.error(`data: ${train.name}, ${train.size} ${pre ? 'clips' : 'images'}, ${labeled.length} labeled, ${train.classes.length} classes`);
      // A pretrained encoder brings its own architecture (recorded in its checkpoint); these shape a fresh one.
      const encoder: EncoderSpec = { widths: o.widths, blocksPerStage: o.blocks ?? 1 };
      // The encoder is loaded here, at the data's sample shape, so an imported one gets its input preprocessing
      // (and a shape that does not fit fails) before any training.
      const pretrained = o.encoder ? (await loadEncoder(o.encoder, { inputShape: train.inputShape, ...encoderInputs(o) })).encoder : undefined;
      const t0 = Date.now();
      const fitInput = {
        method: o.method as (typeof FIT_METHODS)[number],
        train,
        y,
        labeled,
        encoder,
        pretrained,
        settings,
        seed: o.seed,
        budget: Budget.parse(o.budget),
        log: (l: string) => console.error(l),
      };
      const fit = generated ? await fitWithGenerated(fitInput, { set: generated, ratio: o.generatedRatio, filter: o.generatedFilter, knnEncoder: o.generatedEncoder }) : await fitMethod(fitInput);
      const seconds = (Date.now() - t0) / 1000;
      let testAcc: number | undefined;
      if (splits.test) {
        const shape = train.inputShape as [number, number, number];
        const probs = predictProba(fit.encoder, fit.head, splits.test.x, shape);
        testAcc = accuracy(splits.test.y, argmaxRows(probs, train.classes.length));
      }
      const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
      const out = o.out ?? path.join('runs', `train-${o.method}-${stamp}`);
      await saveClassifier(out, fit.encoder, fit.head, {
        classes: train.classes,
        preprocessing: { inputShape: train.inputShape as [number, number, number], resize: 'crop', scale: '1/255', ...(pre ? { modality: 'audio' as const } : {}) },
        method: o.method,
        training: { data, labels: labeled.length, seed: o.seed, encoder: o.encoder ?? null, architecture: architectureOf(fit.encoder) ?? (o.method === 'ssvae' ? 'ssvae classifier q(y|x)' : encoder), seconds, testAccuracy: testAcc ?? null, ...fit.info },
      });
      if (pre) await savePreprocessor(out, pre);
      if (testAcc !== undefined) console.log(`test accuracy: ${(testAcc * 100).toFixed(2)}% (${splits.test!.size} ${pre ? 'clips' : 'images'})`);
      console.log(`trained ${o.method} in ${seconds.toFixed(0)} s; model: ${out}`);
    });
}
