/**
 * `npm run bench generative` (issue 13): what generative models do for few-label accuracy on Fashion-MNIST.
 * Rows, at each label count (40, 100, 250, 1000) and seed (0, 1, 2), through `fitMethod` (the code `ulearn train`
 * runs): supervised-only; the SSVAE (M2's classifier q(y|x)) on the images and as M1+M2 on a VAE's posterior;
 * with --encoder <SSL checkpoint>, SSL + fine-tune and M1+M2 on the encoder's features. Generators (vae, ssvae,
 * diffusion) are trained with `generate` (the code `ulearn generate` runs) at --generator-labels (default 100)
 * for every seed, each under --budget (default 20m, the issue's target), and their training time recorded;
 * their generated folders stay under --work.
 *
 * "+generated" rows (`augmentedRows`): supervised-only, and with --encoder SSL + fine-tune, retrained by
 * `fitWithGenerated` (the code `ulearn train --generated` runs) with --generated-ratio (default 1) generated
 * samples per real label, from each generator trained on the same labeled set, once per --generated-filter
 * (a list, default none): "supervised+vae", "ssl-finetune+diffusion", "ssl-finetune+vae+knn-filter", … They
 * exist only at --generator-labels, since a generator trained with more labels than the row has would carry the
 * extra labels in.
 *
 * Generator metrics (`generatorMetrics`, src/generate/metrics.ts as `ulearn evaluate-generated` computes them):
 * CAS always (a classifier trained on the samples alone, tested on the real test split, in percent); FD and
 * precision/recall only with --encoder, in that SSL encoder's feature space (not comparable with Inception-based
 * FID). Without an encoder they are null and the notes say why: no feature space is invented.
 *
 * Writes bench/results/generative-fashion-mnist.json: { machine, rows: [{ method, labels, accs, acc_mean,
 * acc_std }], generators: [{ model, labels, seed, cas, fd, precision, recall, train_s, steps, stopped_by_budget }] }
 * with accuracies in percent (mean ± population std over seeds). Each unit (method, generator or a generator's
 * metrics; labels; seed) is kept under --work when it finishes, so a killed run continues; a generator's
 * metrics are a unit of their own, keyed by whether --encoder was given, so adding it later fills in FD and
 * precision/recall without retraining anything.
 * `--methods` picks the row methods, each at every label count or, as `ssvae@100`, at some (the SSVAEs take
 * minutes per fit, supervised-only and SSL + fine-tune seconds); the generators always run at --generator-labels.
 * `--quick`: a 1,000-image subset, 40 labels, seed 0, a few steps per model: checks the runner, measures nothing.
 * Without --encoder it skips FD/PR (null) and the ssl-finetune rows, like the full run without one.
 * `{seed}` in --encoder names one encoder per seed (e.g. `--encoder runs/fixmatch-s{seed}`: a model trained on
 * that seed's label draw, which is `ulearn train --total-labels <n> --seed <seed>`'s); each seed's rows use its own.
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
import { checkGeneratedOptions, checkRatio, DEFAULT_GENERATED_RATIO, fitWithGenerated, type GeneratedFilter } from '../src/generate/filter.js';
import { generate } from '../src/generate/generate.js';
import { generatedDataset, readGeneratedFolder } from '../src/generate/generated-folder.js';
import { GENERATED_DIR } from '../src/generate/sample-folder.js';
import { classificationAccuracyScore, evaluateGenerated, NOT_INCEPTION_NOTE } from '../src/generate/metrics.js';
import { GENERATOR_KINDS, type GeneratorKind } from '../src/generate/types.js';
import { fitMethod, type FitMethod, type FitOutput, type SemiSettings } from '../src/semi/fit.js';
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
  /** "+generated" rows: generated samples added to the labeled set. */
  generated_used?: number;
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
  cas_steps?: number | null;
  feature_space?: string | null;
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

/** What the unit builders share with `run`: the data, the options, and the resumable-unit cache. */
interface Ctx {
  train: Dataset;
  test: Dataset;
  shape: [number, number, number];
  quick: boolean;
  encoder: string | undefined;
  budgetText: string;
  /** Each gives its own "+generated" rows; 'none' keeps the plain name, another adds "+<filter>-filter". */
  filters: GeneratedFilter[];
  ratio: number;
  cached: <T>(file: string, make: () => Promise<T>) => Promise<T>;
  unitFile: (kind: string, labels: number, seed: number) => string;
  testAcc: (fit: Pick<FitOutput, 'encoder' | 'head'>, ds: Dataset) => number;
}

/** The rows that get "+<generator>" variants: supervised-only always, SSL + fine-tune with --encoder. */
const AUGMENTED = ['supervised', 'ssl-finetune'];

/**
 * "+generated" rows at one label count and seed: each base row (AUGMENTED) retrained by `fitWithGenerated` (the
 * code `ulearn train --generated` runs) on the real labels plus each generator's samples. Only generators
 * trained on this same labeled set (same label count and seed) are used: one trained with more labels would
 * smuggle those labels in.
 */
async function augmentedRows(c: Ctx, labels: number, seed: number, y: Int32Array, labeled: Int32Array, gens: GenUnit[], work: string): Promise<RowUnit[]> {
  const out: RowUnit[] = [];
  for (const base of AUGMENTED.filter((m) => c.encoder || !ROWS[m].ssl)) {
    for (const [g, filter] of gens.flatMap((g) => c.filters.map((f) => [g, f] as const))) {
      const method = `${base}+${g.model}${filter === 'none' ? '' : `+${filter}-filter`}`;
      out.push(
        // Keyed by the filter and ratio too, so a rerun with other ones does not reuse these.
        await c.cached(c.unitFile(`${base}+${g.model}-${filter}-r${c.ratio}`, labels, seed), async () => {
          console.error(`${method}: ${labels} labels, seed ${seed}`);
          const set = await readGeneratedFolder(path.join(work, g.folder, GENERATED_DIR), { target: c.train });
          const t0 = Date.now();
          const settings = { ...ROWS[base].settings, ...(c.quick ? { steps: 10, epochs: 2 } : {}) };
          const fit = await fitWithGenerated(
            { method: ROWS[base].fit, train: c.train, y, labeled, encoder: { widths: [16, 32, 64], blocksPerStage: 1 }, pretrained: ROWS[base].ssl ? c.encoder : undefined, settings, seed, budget: Budget.parse(c.budgetText), log: (l) => console.error(l) },
            // The knn filter votes in --encoder's features for every row, supervised ones included.
            { set, ratio: c.ratio, filter, knnEncoder: c.encoder },
          );
          try {
            const used = fit.generated.used.reduce((s, v) => s + v, 0);
            return { method, labels, seed, acc: c.testAcc(fit, c.test), seconds: (Date.now() - t0) / 1000, steps: fit.info.steps ?? fit.info.epochs ?? null, generated_used: used };
          } finally {
            fit.encoder.dispose();
            fit.head.dispose();
          }
        }),
      );
    }
  }
  return out;
}

type GenMetrics = Pick<GenUnit, 'cas' | 'fd' | 'precision' | 'recall'> & { cas_steps: number | null; feature_space: string | null };

/**
 * `folder`: the generated-samples folder (`<generator out>/generated`).
 * CAS (always: it needs no features) and, with --encoder, FD and precision/recall in that SSL encoder's feature
 * space (src/generate/metrics.ts, the code `ulearn evaluate-generated` runs, with its CAS settings). Without an
 * encoder FD and precision/recall stay null: there is no feature space we could honestly call "ours".
 * CAS is in percent like the rows.
 */
async function generatorMetrics(c: Ctx, folder: string, seed: number): Promise<GenMetrics> {
  const set = await readGeneratedFolder(folder, { target: c.train });
  // As `ulearn evaluate-generated` trains CAS's classifier; --quick only shortens it.
  const casSettings = { flip: false, ...(c.quick ? { steps: 10, epochs: 2 } : {}) };
  const casEncoder = { widths: [16, 32, 64], blocksPerStage: 1 };
  const budget = Budget.parse(c.budgetText);
  const log = (l: string) => console.error(l);
  if (!c.encoder) {
    const r = await classificationAccuracyScore({ generated: generatedDataset(set), test: c.test, encoder: casEncoder, settings: casSettings, seed, budget, log });
    return { cas: r.cas * 100, cas_steps: r.steps, fd: null, precision: null, recall: null, feature_space: null };
  }
  const m = await evaluateGenerated({ set, real: c.train, test: c.test, encoder: c.encoder, casEncoder, casSettings, seed, budget, log });
  return { cas: m.cas === undefined ? null : m.cas * 100, cas_steps: m.casSteps ?? null, fd: m.fd, precision: m.precision, recall: m.recall, feature_space: `${m.encoder} (${m.realSamples} real, ${m.generatedSamples} generated, k = ${m.k})` };
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
      // Row methods, each at every --labels count or, as `name@40+100`, at those only (default: all of ROWS).
      methods: { type: 'string', default: Object.keys(ROWS).join(',') },
      encoder: { type: 'string' },
      budget: { type: 'string', default: '20m' },
      'generated-ratio': { type: 'string', default: String(DEFAULT_GENERATED_RATIO) },
      'generated-filter': { type: 'string', default: 'none' },
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
  const ratio = checkRatio(Number(values['generated-ratio']), '--generated-ratio');
  const filters = list(values['generated-filter']) as GeneratedFilter[];
  for (const filter of filters) checkGeneratedOptions({ ratio, filter }, values.encoder);
  // '{seed}' in --encoder names one encoder per seed (e.g. a FixMatch model trained on that seed's label draw).
  const encoderFor = (seed: number): string | undefined => values.encoder?.replaceAll('{seed}', String(seed));
  for (const seed of seeds) {
    const e = encoderFor(seed);
    if (e && !existsSync(e)) throw new UlearnError(`--encoder ${e}: no such folder`, { code: 'E_CHECKPOINT', hint: 'give a run directory, its checkpoints/pretrain-encoder, or a model folder' });
  }
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
  const methodAt = parseMethods(values.methods, labelCounts).filter((m) => values.encoder || !ROWS[m.name].ssl);

  const unitFile = (kind: string, labels: number, seed: number) => path.join(work, 'units', `${kind}-l${labels}-s${seed}.json`);
  const cached = async <T>(file: string, make: () => Promise<T>): Promise<T> => {
    if (existsSync(file)) return JSON.parse(await readFile(file, 'utf8')) as T;
    const v = await make();
    await writeJsonAtomic(file, v);
    return v;
  };
  const testAcc = (fit: Pick<FitOutput, 'encoder' | 'head'>, ds: Dataset) => accuracy(ds.y, argmaxRows(predictProba(fit.encoder, fit.head, ds.x, shape), ds.classes.length)) * 100;
  const ctx: Ctx = { train, test, shape, quick, encoder: values.encoder, budgetText, filters, ratio, cached, unitFile, testAcc };
  if (!values.encoder) console.error('no --encoder: FD, precision and recall are left null (they need an SSL encoder\'s feature space), and there are no ssl-finetune rows');

  const rows: RowUnit[] = [];
  const gens: GenUnit[] = [];
  for (const labels of labelCounts) {
    for (const seed of seeds) {
      const { y, labeled } = applyLabelBudget(train, { total: labels, seed });
      const c: Ctx = { ...ctx, encoder: encoderFor(seed) };
      for (const method of methodAt.filter((m) => m.labels.includes(labels)).map((m) => m.name)) {
        rows.push(
          await cached(unitFile(method, labels, seed), async () => {
            console.error(`${method}: ${labels} labels, seed ${seed}`);
            const t0 = Date.now();
            const settings = { ...ROWS[method].settings, ...(quick ? { steps: 10, epochs: 2 } : {}) };
            const fit = await fitMethod({ method: ROWS[method].fit, train, y, labeled, encoder: { widths: [16, 32, 64], blocksPerStage: 1 }, pretrained: ROWS[method].ssl ? c.encoder : undefined, settings, seed, budget: Budget.parse(budgetText), log: (l) => console.error(l) });
            try {
              return { method, labels, seed, acc: testAcc(fit, test!), seconds: (Date.now() - t0) / 1000, steps: fit.info.steps ?? fit.info.epochs ?? null };
            } finally {
              // A full run fits hundreds of models in one process.
              fit.encoder.dispose();
              fit.head.dispose();
            }
          }),
        );
      }
      if (!genLabels.includes(labels)) continue;
      const here: GenUnit[] = [];
      for (const model of models) {
        const trained = await cached(unitFile(`gen-${model}`, labels, seed), async () => {
          const folder = path.join(work, 'generators', `${model}-l${labels}-s${seed}`);
          console.error(`generate ${model}: ${labels} labels, seed ${seed}`);
          const r = await generate({ model, train, y, out: folder, seed, budget: Budget.parse(budgetText), ...(quick ? { steps: 5, samplesPerClass: 5, sampleSteps: 3, sizes: { timesteps: 50 } } : {}), log: (l) => console.error(l) });
          return { model, labels, seed, train_s: r.training!.seconds, steps: r.training!.steps, stopped_by_budget: r.training!.stoppedByBudget, folder: path.relative(work, folder) };
        });
        // Its own unit, so that metrics are (re)computed without retraining the generator; keyed by whether an
        // encoder was given, so adding --encoder later fills in FD and precision/recall.
        const metrics = await cached(unitFile(`gen-${model}-metrics${values.encoder ? '' : '-noenc'}`, labels, seed), async () => {
          console.error(`metrics of ${model}: ${labels} labels, seed ${seed}`);
          return generatorMetrics(c, path.join(work, trained.folder, GENERATED_DIR), seed);
        });
        here.push({ ...trained, ...metrics });
      }
      gens.push(...here);
      rows.push(...(await augmentedRows(c, labels, seed, y, labeled, here, work)));
    }
  }

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
    generated: { ratio, filters, generator_labels: genLabels },
    generators: gens.map((g) => ({ ...g, train_s: round(g.train_s), cas: g.cas === null ? null : round(g.cas) })),
    notes: [
      `"<method>+<generator>" rows: <method> trained by fitWithGenerated (as \`ulearn train --generated\`) on the real labels plus ${ratio} generated sample(s) per real label (class-balanced, no filter; "+<filter>-filter": only the samples whose label the filter agrees with, 'classifier' a classifier trained on the real labels, 'knn' a kNN vote in --encoder's features), from the generator trained on the same labeled set; they exist only at --generator-labels (${genLabels.join(', ')}).`,
      'CAS (percent): a classifier trained on the generated samples alone, tested on the real test split.',
      values.encoder
        ? `FD and precision/recall (k-NN manifolds, k = 3) are in the feature space of the SSL encoder ${values.encoder}. ${NOT_INCEPTION_NOTE}`
        : "FD, precision and recall are null: no --encoder was given, and they need an SSL encoder's feature space (this run invents none).",
    ].join(' '),
  });
  console.log(`wrote ${out}`);
  return 0;
}

/** `--methods`: "supervised,ssvae@100+250" → each row method with the label counts it runs at. */
function parseMethods(text: string, labelCounts: number[]): { name: string; labels: number[] }[] {
  return list(text).map((item) => {
    const [name, at] = item.split('@');
    if (!(name in ROWS)) throw new UlearnError(`--methods: unknown method '${name}'`, { code: 'E_ARG', hint: `choose from ${Object.keys(ROWS).join(', ')}` });
    const labels = at === undefined ? labelCounts : at.split('+').map(Number);
    const bad = labels.find((l) => !labelCounts.includes(l));
    if (bad !== undefined) throw new UlearnError(`--methods: ${item} names ${bad} labels, which --labels (${labelCounts.join(',')}) does not`, { code: 'E_ARG' });
    return { name, labels };
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const code = await run(process.argv.slice(2));
  process.exit(code);
}
