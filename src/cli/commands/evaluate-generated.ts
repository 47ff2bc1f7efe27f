/**
 * `ulearn evaluate-generated <folder> --data <data> --encoder <ssl encoder>`: how good a folder of generated
 * samples is (CAS, Fréchet distance, k-NN precision and recall in the SSL encoder's feature space), printed
 * and written as report.html + results.json with a gallery per class. Arguments only; the work is
 * src/generate/metrics.ts.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { folderSpec, loadDataset } from '../../data/load.js';
import { describeBackend, initBackend } from '../../engine/index.js';
import { UlearnError } from '../../errors.js';
import { writeReport, type ReportInput } from '../../eval/report.js';
import { galleryOf, readGeneratedFolder } from '../../generate/generated-folder.js';
import { DEFAULT_MAX_SAMPLES, DEFAULT_PR_K, evaluateGenerated, NOT_INCEPTION_NOTE } from '../../generate/metrics.js';
import { Budget } from '../../util/budget.js';
import { backendOption, budgetOption, intArg, seedOption, threadsOption } from '../options.js';

interface EvaluateGeneratedOpts {
  data: string;
  encoder: string;
  testData?: string;
  k: number;
  maxSamples: number;
  cas: boolean;
  epochs?: number;
  widths?: number[];
  gallery: number;
  out?: string;
  budget?: string;
  seed: number;
  backend: string;
  threads?: number;
}

export function registerEvaluateGeneratedCommand(program: Command): void {
  program
    .command('evaluate-generated')
    .description('measure a folder of generated samples against real data: CAS (train on generated, test on real), Fréchet distance and k-NN precision/recall in an SSL encoder’s feature space (not comparable with Inception-based FID); writes report.html with a gallery per class')
    .argument('<folder>', 'generated samples: the folder `ulearn generate` wrote, or its manifest.json')
    .requiredOption('--data <name|folder>', 'the real data the samples imitate (same image shape and classes)')
    .requiredOption('--encoder <path>', 'SSL encoder whose features FD and precision/recall compare: a run directory, its checkpoint or a model folder')
    .option('--test-data <folder>', 'labeled real test images for CAS, for a folder dataset (named datasets bring their test split)')
    .option('--k <n>', 'neighbours of the precision/recall manifolds', intArg('--k', 1), DEFAULT_PR_K)
    .option('--max-samples <n>', 'real and generated samples compared at most, each (drawn seeded)', intArg('--max-samples', 2), DEFAULT_MAX_SAMPLES)
    .option('--no-cas', 'skip CAS (it trains a classifier)')
    .option('--epochs <n>', "CAS classifier's epochs (default: the supervised rule, max(20, 600 / samples per class))", intArg('--epochs', 1))
    .option('--widths <list>', "CAS classifier's stage widths (default 16,32,64)", (v) => v.split(',').map(intArg('--widths', 1)))
    .option('--gallery <n>', 'samples shown per class in the report', intArg('--gallery', 0), 8)
    .option('--out <dir>', 'where report.html and results.json go (default runs/evaluate-generated-<time>)')
    .addOption(budgetOption('wall-clock budget for the CAS classifier, e.g. 5m'))
    .addOption(seedOption())
    .addOption(backendOption())
    .addOption(threadsOption())
    .action(async (folder: string, o: EvaluateGeneratedOpts) => {
      const splits = await loadDataset(await folderSpec(o.data, { test: o.testData }), { log: (l) => console.error(l) });
      const train = splits.train;
      // Every check that can fail does so before the backend starts: the folder against the data, the encoder, the test split.
      const set = await readGeneratedFolder(folder, { target: train });
      if (!existsSync(o.encoder)) throw new UlearnError(`encoder ${o.encoder}: no such folder`, { code: 'E_CHECKPOINT', hint: 'give a run directory, its checkpoints/pretrain-encoder, or a model folder' });
      if (o.cas && !splits.test) throw new UlearnError(`${train.name}: CAS needs real labeled test data and this dataset has no test split`, { code: 'E_ARG', hint: 'pass --test-data <folder>, or --no-cas' });
      const backend = await initBackend(o.backend, { threads: o.threads });
      console.error(describeBackend(backend));
      const settings = { flip: false, ...(o.epochs === undefined ? {} : { epochs: o.epochs }) };
      const metrics = await evaluateGenerated({
        set,
        real: train,
        test: o.cas ? splits.test : undefined,
        encoder: o.encoder,
        k: o.k,
        maxSamples: o.maxSamples,
        casEncoder: { widths: o.widths ?? [16, 32, 64], blocksPerStage: 1 },
        casSettings: settings,
        seed: o.seed,
        budget: Budget.parse(o.budget),
        log: (l) => console.error(l),
      });
      const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
      const out = o.out ?? path.join('runs', `evaluate-generated-${stamp}`);
      const dataset = train.name.split('/')[0];
      const input: ReportInput = {
        title: `ulearn: ${set.manifest.model} samples of ${dataset}`,
        dataset,
        totalLabels: set.size,
        backend: describeBackend(backend),
        seed: o.seed,
        createdAt: new Date().toISOString(),
        classes: train.classes,
        methods: metrics.cas === undefined ? [] : [{ name: 'generated only (CAS)', acc: metrics.cas, steps: metrics.casSteps }],
        dataNote: `The labels are the generated samples' own (${set.size} samples); accuracy is on ${splits.test?.size ?? 0} real test samples.`,
        generated: { model: set.manifest.model, folder: set.dir, samples: set.size, gallery: await galleryOf(set, o.gallery), metrics },
      };
      const { htmlPath } = await writeReport(out, input);
      const rows: [string, string][] = [
        ...(metrics.cas === undefined ? [] : [['CAS', `${(metrics.cas * 100).toFixed(2)}%  (trained on ${set.size} generated, tested on ${splits.test!.size} real)`] as [string, string]]),
        ['FD', metrics.fd.toFixed(4)],
        ['precision', `${(metrics.precision * 100).toFixed(2)}%  (k = ${metrics.k})`],
        ['recall', `${(metrics.recall * 100).toFixed(2)}%`],
      ];
      for (const [name, value] of rows) console.log(`${name.padEnd(10)} ${value}`);
      console.log(`features: ${metrics.realSamples} real and ${metrics.generatedSamples} generated samples through ${o.encoder}`);
      console.log(`note: ${NOT_INCEPTION_NOTE}`);
      console.log(`report: ${htmlPath}`);
    });
}
