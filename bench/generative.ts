/**
 * `npm run bench generative` (issue 13): what generative models do for few-label accuracy on Fashion-MNIST.
 * Rows, at each label count (40, 100, 250, 1000) and seed (0, 1, 2), through `fitMethod` (the code `ulearn train`
 * runs): supervised-only; the SSVAE (M2's classifier q(y|x)) on the images and as M1+M2 on a VAE's posterior;
 * with --encoder <SSL checkpoint>, SSL + fine-tune and M1+M2 on the encoder's features. Generators (vae, ssvae, diffusion) are trained with `generate` (the code
 * `ulearn generate` runs) at --generator-labels (default 100) for every seed, each under --budget (default 20m,
 * the target), and their training time recorded; their generated folders stay under --work.
 *
 * Not here yet (they need `ulearn train --generated` and src/generate/metrics.ts, built beside this): the
 * "+generated" rows and each generator's CAS, FD, precision and recall. `augmentedRows` and `generatorMetrics`
 * below are where they plug in; until then the generators' metrics are null.
 *
 * Writes bench/results/generative-fashion-mnist.json: { machine, rows: [{ method, labels, accs, acc_mean,
 * acc_std }], generators: [{ model, labels, seed, cas, fd, precision, recall, train_s, steps, stopped_by_budget }] }
 * with accuracies in percent (mean ± population std over seeds). Each unit (method or generator, labels, seed)
 * is kept under --work when it finishes, so a killed run continues.
 * `--quick`: a 1,000-image subset, 40 labels, seed 0, a few steps per model: checks the runner, measures nothing.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { subset, type Dataset } from '../src/data/dataset.js';
import { applyLabelBudget } from '../src/data/label-budget.js';
import { loadDataset } from '../src/data/load.js';
import { describeBackend, initBackend } from '../src/engine/index.js';
import { UlearnError } from '../src/errors.js';
import { accuracy, argmaxRows } from '../src/eval/metrics.js';
import { generate } from '../src/generate/generate.js';
import { GENERATOR_KINDS, type GeneratorKind } from '../src/generate/types.js';
import { fitMethod, type FitMethod, type SemiSettings } from '../src/semi/fit.js';
import { predictProba } from '../src/train/fit-classifier.js';
import { writeJsonAtomic } from '../src/util/atomic.js';
import { Budget } from '../src/util/budget.js';
import { benchOptions, engineOptions, list, threadsOf } from './options.js';

interface RowUnit {
  method: string;
  labels: number;
  seed: number;
  acc: number;
  seconds: number;
  steps: unknown;
}

interface GenUnit {
  model: GeneratorKind;
  labels: number;
  seed: number;
  train_s: number;
  steps: number;
  stopped_by_budget: boolean;
  folder: string;
  cas: number | null;
  fd: number | null;
  precision: number | null;
  recall: number | null;
}

const ROWS: Record<string, { fit: FitMethod; ssl: boolean; settings?: Partial<SemiSettings> }> = {
  supervised: { fit: 'supervised', ssl: false },
  ssvae: { fit: 'ssvae', ssl: false },
  'ssvae-m1m2-vae': { fit: 'ssvae', ssl: false, settings: { ssvaeM1: true } },
  'ssl-finetune': { fit: 'finetune', ssl: true },
  'ssvae-m1m2': { fit: 'ssvae', ssl: true },
};

const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
const std = (a: number[]) => Math.sqrt(mean(a.map((v) => (v - mean(a)) ** 2)));
const round = (v: number) => Number(v.toFixed(2));

/** Where the "+generated" rows plug in once `ulearn train --generated` exists (see the header). */
async function augmentedRows(): Promise<RowUnit[]> {
  return [];
}

/** Where CAS, FD, precision and recall plug in once src/generate/metrics.ts exists (see the header). */
async function generatorMetrics(_folder: string): Promise<Pick<GenUnit, 'cas' | 'fd' | 'precision' | 'recall'>> {
  return { cas: null, fd: null, precision: null, recall: null };
}

export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      ...benchOptions({ name: 'generative', out: path.join('bench', 'results', 'generative-fashion-mnist.json'), seeds: '0,1,2' }),
      ...engineOptions(),
      labels: { type: 'string', default: '40,100,250,1000' },
      'generator-labels': { type: 'string', default: '100' },
      models: { type: 'string', default: GENERATOR_KINDS.join(',') },
      encoder: { type: 'string' },
      budget: { type: 'string', default: '20m' },
      quick: { type: 'boolean', default: false },
    },
  });
  const quick = values.quick;
  const seeds = list(quick ? '0' : values.seeds).map(Number);
  const labelCounts = list(quick ? '40' : values.labels).map(Number);
  const genLabels = list(quick ? '40' : values['generator-labels']).map(Number);
  const models = list(values.models) as GeneratorKind[];
  for (const m of models) if (!(GENERATOR_KINDS as readonly string[]).includes(m)) throw new UlearnError(`--models: unknown generator '${m}'`, { code: 'E_ARG', hint: `choose from ${GENERATOR_KINDS.join(', ')}` });
  const work = path.resolve(quick ? path.join('bench', '.work', 'generative-quick') : values.work);
  const out = quick ? path.join(work, 'generative-quick.json') : values.out;
  const budgetText = quick ? 'none' : values.budget;
  await mkdir(path.join(work, 'units'), { recursive: true });

  const backend = await initBackend(values.backend, { threads: threadsOf(values.threads) });
  console.error(describeBackend(backend));
  let { train, test } = await loadDataset('fashion-mnist');
  if (!test) throw new UlearnError('fashion-mnist has no test split', { code: 'E_DATA' });
  if (quick) {
    train = subset(train, Int32Array.from({ length: 1000 }, (_, i) => i));
    test = subset(test, Int32Array.from({ length: 300 }, (_, i) => i));
  }
  const shape = train.inputShape as [number, number, number];
  const methods = Object.keys(ROWS).filter((m) => values.encoder || !ROWS[m].ssl);

  const unitFile = (kind: string, labels: number, seed: number) => path.join(work, 'units', `${kind}-l${labels}-s${seed}.json`);
  const cached = async <T>(file: string, make: () => Promise<T>): Promise<T> => {
    if (existsSync(file)) return JSON.parse(await readFile(file, 'utf8')) as T;
    const v = await make();
    await writeJsonAtomic(file, v);
    return v;
  };
  const testAcc = (fit: { encoder: Parameters<typeof predictProba>[0]; head: Parameters<typeof predictProba>[1] }, ds: Dataset) =>
    accuracy(ds.y, argmaxRows(predictProba(fit.encoder, fit.head, ds.x, shape), ds.classes.length)) * 100;

  const rows: RowUnit[] = [];
  const gens: GenUnit[] = [];
  for (const labels of labelCounts) {
    for (const seed of seeds) {
      const { y, labeled } = applyLabelBudget(train, { total: labels, seed });
      for (const method of methods) {
        rows.push(
          await cached(unitFile(method, labels, seed), async () => {
            console.error(`${method}: ${labels} labels, seed ${seed}`);
            const t0 = Date.now();
            const settings = { ...ROWS[method].settings, ...(quick ? { steps: 10, epochs: 2 } : {}) };
            const fit = await fitMethod({ method: ROWS[method].fit, train, y, labeled, encoder: { widths: [16, 32, 64], blocksPerStage: 1 }, pretrained: ROWS[method].ssl ? values.encoder : undefined, settings, seed, budget: Budget.parse(budgetText), log: (l) => console.error(l) });
            return { method, labels, seed, acc: testAcc(fit, test!), seconds: (Date.now() - t0) / 1000, steps: fit.info.steps ?? fit.info.epochs ?? null };
          }),
        );
      }
      if (!genLabels.includes(labels)) continue;
      for (const model of models) {
        gens.push(
          await cached(unitFile(`gen-${model}`, labels, seed), async () => {
            const folder = path.join(work, 'generators', `${model}-l${labels}-s${seed}`);
            console.error(`generate ${model}: ${labels} labels, seed ${seed}`);
            const r = await generate({ model, train, y, out: folder, seed, budget: Budget.parse(budgetText), ...(quick ? { steps: 5, samplesPerClass: 5, sampleSteps: 3, sizes: { timesteps: 50 } } : {}), log: (l) => console.error(l) });
            return { model, labels, seed, train_s: r.training!.seconds, steps: r.training!.steps, stopped_by_budget: r.training!.stoppedByBudget, folder: path.relative(work, folder), ...(await generatorMetrics(folder)) };
          }),
        );
      }
    }
  }
  rows.push(...(await augmentedRows()));

  const groups = new Map<string, RowUnit[]>();
  for (const r of rows) groups.set(`${r.method}\n${r.labels}`, [...(groups.get(`${r.method}\n${r.labels}`) ?? []), r]);
  await mkdir(path.dirname(path.resolve(out)), { recursive: true });
  await writeJsonAtomic(out, {
    machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, node: process.version, backend: describeBackend(backend), load_1m_at_end: Number(os.loadavg()[0].toFixed(2)) },
    dataset: `fashion-mnist (${train.size} train, ${test.size} test)`,
    budget_per_generator: budgetText,
    encoder: values.encoder ?? null,
    rows: [...groups.values()].map((g) => {
      const accs = g.sort((a, b) => a.seed - b.seed).map((r) => round(r.acc));
      return { method: g[0].method, labels: g[0].labels, seeds: g.map((r) => r.seed), accs, acc_mean: round(mean(accs)), acc_std: round(std(accs)) };
    }),
    generators: gens.map((g) => ({ ...g, train_s: round(g.train_s) })),
    notes: 'CAS, FD, precision and recall are null until src/generate/metrics.ts is wired in (bench/generative.ts, generatorMetrics); FD and precision/recall are in our SSL encoder’s feature space and not comparable with Inception-based FID.',
  });
  console.log(`wrote ${out}`);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const code = await run(process.argv.slice(2));
  process.exit(code);
}
