/**
 * `npm run bench estimate`: how well does cross-validation on the few labels predict an arm's accuracy, and
 * which way of running the folds predicts it best (issue 18 part 4)? Judged on a validation split carved from
 * train, never on the test split that bench robustness reports, so the estimator is not tuned on test.
 *
 * For each (dataset, seed) of bench robustness (its run directories hold the pretrained encoder and the
 * augmentation choice; run that first), 10 labels per class as the pipeline draws them:
 *   - truth: each arm (supervised-only, linear probe, fine-tune) trained on all the labels, scored on 2,000
 *     validation images from train that are not labeled;
 *   - schemes: `estimateArms` (the pipeline's own code) with different settings:
 *       cv3-epochs  3-fold, each fold trains the final fit's epochs (two thirds of its steps): the first default
 *       cv3-curve   3-fold at the final fit's steps, plus the inverted folds (train on a third), extrapolated;
 *                   its (k-1)/k point alone is the "cv3-steps" estimator
 *       cv5-curve, cv10-curve (the probe only: cheap)
 * The candidate estimators are compared in `summary` (mean signed and absolute error against validation, per
 * arm and overall). Each (dataset, seed, arm, scheme) is a unit file under --work.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { gatherRows, sampleSize } from '../src/data/dataset.js';
import { applyLabelBudget } from '../src/data/label-budget.js';
import { loadDataset } from '../src/data/load.js';
import { currentBackend, describeBackend, initBackend } from '../src/engine/backend.js';
import { Rng } from '../src/engine/seed.js';
import { accuracy, argmaxRows } from '../src/eval/metrics.js';
import { RunDir } from '../src/runs/run-dir.js';
import { estimateArms, type EstimateSettings } from '../src/semi/estimate.js';
import { fitMethod, type EncoderSpec } from '../src/semi/fit.js';
import { predictProba } from '../src/train/fit-classifier.js';
import { writeJsonAtomic } from '../src/util/atomic.js';
import { Budget } from '../src/util/budget.js';
import { benchOptions, engineOptions, list, threadsOf } from './options.js';

type Arm = 'supervised' | 'linear' | 'finetune';
const ARMS: Arm[] = ['supervised', 'linear', 'finetune'];
const SCHEMES: Record<string, { arms: Arm[]; settings?: Partial<EstimateSettings> }> = {
  truth: { arms: ARMS },
  'cv3-epochs': { arms: ARMS, settings: { folds: 3, epochsScale: 1, curve: false } },
  'cv3-curve': { arms: ARMS, settings: { folds: 3, stepsScale: 1, curve: true } },
  'cv5-curve': { arms: ['linear'], settings: { folds: 5, stepsScale: 1, curve: true } },
  'cv10-curve': { arms: ['linear'], settings: { folds: 10, stepsScale: 1, curve: true } },
};

interface Unit {
  dataset: string;
  seed: number;
  arm: Arm;
  scheme: string;
  /** Percent: the validation accuracy (truth) or the scheme's estimate. */
  acc: number;
  /** The learning-curve points the scheme measured (share of the labels, percent). */
  points?: { share: number; acc: number }[];
  steps: number;
  seconds: number;
}

const ENCODER: EncoderSpec = { widths: [16, 32, 64], blocksPerStage: 1 };

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...benchOptions({ name: 'estimate', out: path.join('bench', 'results', 'estimate.json'), seeds: '0,1,2' }),
      ...engineOptions(),
      datasets: { type: 'string', default: 'fashion-mnist,glyphs,shapes' },
      schemes: { type: 'string', default: Object.keys(SCHEMES).join(',') },
      arms: { type: 'string', default: ARMS.join(',') },
      robustness: { type: 'string', default: path.join('bench', '.work', 'robustness') },
      val: { type: 'string', default: '2000' },
    },
  });
  const datasets = list(values.datasets!);
  const seeds = list(values.seeds!).map(Number);
  const schemes = list(values.schemes!);
  const arms = list(values.arms!) as Arm[];
  for (const s of schemes) if (!SCHEMES[s]) throw new Error(`--schemes: unknown '${s}' (known: ${Object.keys(SCHEMES).join(', ')})`);
  const work = path.resolve(values.work!);
  await mkdir(path.join(work, 'units'), { recursive: true });
  const threads = threadsOf(values.threads, 1)!;
  await initBackend(values.backend, { threads });
  const log = (l: string) => console.log(`[bench estimate] ${l}`);
  const started = new Date().toISOString();

  for (const dataset of datasets) {
    const { train } = await loadDataset(dataset);
    const K = train.classes.length;
    const shape = train.inputShape as [number, number, number];
    const size = sampleSize(train);
    for (const seed of seeds) {
      const runDir = path.resolve(values.robustness!, `${dataset}-l10-s${seed}`);
      const encoderDir = path.join(runDir, 'checkpoints', 'pretrain-encoder');
      if (!existsSync(encoderDir)) {
        log(`${dataset} seed ${seed}: no pretrained encoder in ${runDir} (run bench robustness first); skipped`);
        continue;
      }
      const flip = Boolean(((await (await RunDir.open(runDir)).stage('augment'))?.choice as { flip?: boolean } | undefined)?.flip ?? true);
      const lb = applyLabelBudget(train, { perClass: 10, seed });
      const isLabeled = new Uint8Array(train.size);
      for (const i of lb.labeled) isLabeled[i] = 1;
      const valIdx = new Rng(seed).fork('validation').permutation(train.size).filter((i) => !isLabeled[i]).slice(0, Number(values.val));
      const valX = gatherRows(train.x, size, valIdx);
      const valY = Int32Array.from(valIdx, (i) => train.y[i]);

      for (const scheme of schemes) {
        for (const arm of arms.filter((a) => SCHEMES[scheme].arms.includes(a))) {
          const file = path.join(work, 'units', `${dataset}-s${seed}-${arm}-${scheme}.json`);
          if (existsSync(file)) continue;
          const t0 = Date.now();
          let unit: Unit;
          if (scheme === 'truth') {
            const f = await fitMethod({ method: arm, train, y: lb.y, labeled: lb.labeled, encoder: ENCODER, pretrained: arm === 'supervised' ? undefined : encoderDir, settings: { flip }, seed, budget: Budget.parse('none') });
            const pred = argmaxRows(predictProba(f.encoder, f.head, valX, shape), K);
            unit = { dataset, seed, arm, scheme, acc: round(100 * accuracy(valY, pred)), steps: (f.info.steps as number | undefined) ?? 0, seconds: 0 };
            f.encoder.dispose();
            f.head.dispose();
          } else {
            const [e] = await estimateArms({ arms: [arm], train, y: lb.y, labeled: lb.labeled, encoder: ENCODER, pretrained: encoderDir, settings: { flip }, estimate: SCHEMES[scheme].settings, seed, budget: Budget.parse('none') });
            unit = { dataset, seed, arm, scheme, acc: round(100 * e.acc), points: e.points.map((p) => ({ share: round(p.share, 4), acc: round(100 * p.acc) })), steps: e.steps, seconds: 0 };
          }
          unit.seconds = round((Date.now() - t0) / 1000, 1);
          await writeJsonAtomic(file, unit);
          log(`${dataset} seed ${seed} ${arm} ${scheme}: ${unit.acc}%${unit.points ? ` (points ${unit.points.map((p) => `${p.acc}@${p.share}`).join(', ')})` : ''} (${unit.steps} steps, ${unit.seconds} s)`);
          await save(work, values.out!, started, threads);
        }
      }
    }
  }
  await save(work, values.out!, started, threads);
  log(`wrote ${values.out}`);
  return 0;
}

/** The candidate estimators, from the schemes' units, against the validation truth. */
const ESTIMATORS: Record<string, (u: (scheme: string) => Unit | undefined) => number | undefined> = {
  'cv3-epochs': (u) => u('cv3-epochs')?.acc,
  'cv3-steps': (u) => u('cv3-curve')?.points?.[0].acc,
  'cv3-curve': (u) => u('cv3-curve')?.acc,
  'cv5-steps': (u) => u('cv5-curve')?.points?.[0].acc,
  'cv5-curve': (u) => u('cv5-curve')?.acc,
  'cv10-steps': (u) => u('cv10-curve')?.points?.[0].acc,
  'cv10-curve': (u) => u('cv10-curve')?.acc,
};

async function save(work: string, out: string, started: string, threads: number): Promise<void> {
  const units: Unit[] = [];
  for (const f of (await readdir(path.join(work, 'units'))).filter((n) => n.endsWith('.json')).sort()) units.push(JSON.parse(await readFile(path.join(work, 'units', f), 'utf8')) as Unit);
  const keys = [...new Set(units.map((u) => `${u.dataset}|${u.seed}|${u.arm}`))];
  const rows = keys.flatMap((key) => {
    const [dataset, seedS, arm] = key.split('|');
    const mine = units.filter((u) => `${u.dataset}|${u.seed}|${u.arm}` === key);
    const u = (scheme: string) => mine.find((m) => m.scheme === scheme);
    const truth = u('truth')?.acc;
    if (truth === undefined) return [];
    const estimates = Object.fromEntries(Object.entries(ESTIMATORS).map(([name, fn]) => [name, fn(u)]).filter(([, v]) => v !== undefined).map(([n, v]) => [n, round(v as number)]));
    return [{ dataset, seed: Number(seedS), arm, val_acc: truth, schemes: Object.fromEntries(mine.filter((m) => m.scheme !== 'truth').map((m) => [m.scheme, { acc: m.acc, points: m.points, steps: m.steps, seconds: m.seconds }])), estimates }];
  });
  const summary = Object.fromEntries(
    Object.keys(ESTIMATORS).map((name) => {
      const per = (rs: typeof rows) => {
        const errs = rs.filter((r) => r.estimates[name] !== undefined).map((r) => r.estimates[name] - r.val_acc);
        return errs.length ? { n: errs.length, mean_error: round(errs.reduce((s, e) => s + e, 0) / errs.length), mean_abs_error: round(errs.reduce((s, e) => s + Math.abs(e), 0) / errs.length) } : null;
      };
      return [name, { all: per(rows), ...Object.fromEntries(ARMS.map((arm) => [arm, per(rows.filter((r) => r.arm === arm))])) }];
    }),
  );
  const backend = currentBackend();
  await writeJsonAtomic(out, {
    note: 'estimates from the 10 labels per class against accuracy on 2,000 validation images carved from train (never test); encoders from bench robustness',
    machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, node: process.version, threads, load_1m: Number(os.loadavg()[0].toFixed(2)), engine: backend ? describeBackend(backend) : null },
    started,
    updated: new Date().toISOString(),
    summary,
    rows,
  });
}

function round(v: number, digits = 2): number {
  return Number(v.toFixed(digits));
}
