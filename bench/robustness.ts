/**
 * `npm run bench robustness`: does the default pipeline help on data it was not tuned on (issue 18)? For each
 * dataset of the suite (Fashion-MNIST and the synthetic glyphs and shapes, built offline on first use), 10
 * labels per class, the README's default pipeline (`ulearn run` defaults, default 10-minute budget), seeds
 * 0, 1, 2: every arm's test accuracy next to the accuracy the labels estimated before the final fit, and which
 * arm the estimate chose. Writes bench/results/robustness.json:
 *   { machine, rows: [{ dataset, labels_per_class, seed, method, test_acc, estimated_acc, chosen }],
 *     augment_choices: { dataset: { seed: choice } }, summary }
 * with accuracies in percent. The targets (chosen arm ≥ supervised-only + 8 points on every dataset, never
 * below it on any seed; estimates within 5 points of test on average) are checked in `summary`.
 *
 * Each (dataset, seed) is a pipeline run directory under --work (a killed run resumes there, stage by stage)
 * and, once finished, a unit file under <work>/units/ that later invocations read back; the JSON is rebuilt
 * from the units after each one. `--quick` is the smoke test: tiny synthetic builds, a few steps, no budget.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { currentBackend, describeBackend } from '../src/engine/backend.js';
import { meanStd } from '../src/eval/metrics.js';
import { pipelineConfig, type PipelineConfigInput } from '../src/pipeline/config.js';
import { runPipeline } from '../src/pipeline/run-pipeline.js';
import { RunDir } from '../src/runs/run-dir.js';
import { writeJsonAtomic } from '../src/util/atomic.js';
import { benchOptions, engineOptions, list, threadsOf } from './options.js';

export interface RobustnessRow {
  dataset: string;
  labels_per_class: number;
  seed: number;
  method: string;
  test_acc: number;
  /** Null for an arm the estimate does not cover (or with the estimate off). */
  estimated_acc: number | null;
  estimated_stderr: number | null;
  chosen: boolean;
  steps: number | null;
  stopped_by_budget: boolean;
}

interface Unit {
  dataset: string;
  seed: number;
  rows: RobustnessRow[];
  augment: unknown;
  pretrain: { steps: number | null; epochs: number | null };
  load_1m: number;
  finished: string;
  /** The engine the run trained on (its results.json's backend); units written before this field have none. */
  engine?: string;
}

const pct = (v: number) => Number((v * 100).toFixed(2));

/** The smoke test's settings: every stage runs, on tiny data, for a few steps, with no wall-clock budget. */
function quickConfig(dataset: string, seed: number, lpc: number): PipelineConfigInput {
  const data = dataset === 'fashion-mnist' ? 'fashion-mnist' : ({ name: dataset, perClass: 12, testPerClass: 4 } as PipelineConfigInput['data']);
  return {
    data,
    labelsPerClass: lpc,
    seed,
    budget: 'none',
    encoder: { widths: [4, 8], blocksPerStage: 1 },
    pretrain: { batchSize: 16, poolSize: 120, maxSteps: 2, monitorEvery: 2 },
    finetune: { epochs: 2, batchSize: 8 },
    estimate: { folds: 3, stepsScale: 0.25 },
    testSize: 40,
  };
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...benchOptions({ name: 'robustness', out: path.join('bench', 'results', 'robustness.json'), seeds: '0,1,2' }),
      ...engineOptions(),
      datasets: { type: 'string', default: 'fashion-mnist,glyphs,shapes' },
      labels: { type: 'string', default: '10' },
      budget: { type: 'string', default: '10m' },
      quick: { type: 'boolean', default: false },
    },
  });
  const datasets = list(values.datasets!);
  const seeds = list(values.seeds!).map(Number);
  const lpc = Number(values.labels);
  const quick = values.quick!;
  const threads = threadsOf(values.threads);
  const work = path.resolve(values.work!);
  await mkdir(path.join(work, 'units'), { recursive: true });
  const log = (l: string) => console.log(`[bench robustness] ${l}`);
  const started = new Date().toISOString();

  for (const dataset of datasets) {
    for (const seed of seeds) {
      const unitFile = path.join(work, 'units', `${dataset}-l${lpc}-s${seed}.json`);
      if (existsSync(unitFile)) continue;
      const cfg = pipelineConfig(quick ? quickConfig(dataset, seed, lpc) : { data: dataset, labelsPerClass: lpc, seed, budget: values.budget, backend: values.backend as PipelineConfigInput['backend'] });
      const runDir = await RunDir.create(work, cfg, { id: `${dataset}-l${lpc}-s${seed}` });
      log(`${dataset} seed ${seed}: ${runDir.dir}`);
      const res = await runPipeline(cfg, { runDir: runDir.dir, threads, log });
      const pre = await runDir.stage('pretrain');
      const epochs = (pre?.epochs as { epoch: number }[] | undefined) ?? [];
      const unit: Unit = {
        dataset,
        seed,
        rows: res.methods.map((m) => ({
          dataset,
          labels_per_class: lpc,
          seed,
          method: m.name,
          test_acc: pct(m.acc),
          estimated_acc: m.estimate ? pct(m.estimate.acc) : null,
          estimated_stderr: m.estimate ? pct(m.estimate.stderr) : null,
          chosen: m.chosen === true,
          steps: m.steps ?? null,
          stopped_by_budget: m.stoppedByBudget === true,
        })),
        augment: (await runDir.stage('augment'))?.choice ?? null,
        pretrain: { steps: typeof pre?.steps === 'number' ? pre.steps : null, epochs: epochs.length ? Number(epochs[epochs.length - 1].epoch.toFixed(3)) : null },
        load_1m: Number(os.loadavg()[0].toFixed(2)),
        finished: new Date().toISOString(),
        engine: describeBackendOrUndefined(),
      };
      await writeJsonAtomic(unitFile, unit);
      await save(work, values.out!, { started, quick, budget: quick ? 'none (quick)' : values.budget!, datasets, seeds, lpc });
    }
  }
  await save(work, values.out!, { started, quick, budget: quick ? 'none (quick)' : values.budget!, datasets, seeds, lpc });
  log(`wrote ${values.out}`);
  return 0;
}

async function save(work: string, out: string, s: { started: string; quick: boolean; budget: string; datasets: string[]; seeds: number[]; lpc: number }): Promise<void> {
  const units: Unit[] = [];
  for (const f of (await readdir(path.join(work, 'units'))).filter((n) => n.endsWith('.json')).sort()) units.push(JSON.parse(await readFile(path.join(work, 'units', f), 'utf8')) as Unit);
  const mine = units.filter((u) => s.datasets.includes(u.dataset) && s.seeds.includes(u.seed) && u.rows[0]?.labels_per_class === s.lpc);
  // A save that only reads units back (every run already done) has started no engine: say the runs' engines.
  const backend = currentBackend();
  const engines = new Set<string>();
  for (const u of mine) {
    const own = u.engine ?? (await readFile(path.join(work, `${u.dataset}-l${s.lpc}-s${u.seed}`, 'results.json'), 'utf8').then((t) => (JSON.parse(t) as { backend?: string }).backend).catch(() => undefined));
    if (own) engines.add(own);
  }
  if (engines.size === 0 && backend) engines.add(describeBackend(backend));
  const load = os.loadavg();
  await writeJsonAtomic(out, {
    machine: {
      cpu: os.cpus()[0]?.model,
      cores: os.cpus().length,
      node: process.version,
      engine: engines.size > 0 ? [...engines].join('; ') : null,
      load_average: load.map((v) => Number(v.toFixed(2))),
    },
    started: s.started,
    updated: new Date().toISOString(),
    settings: { quick: s.quick, budget: s.budget, labels_per_class: s.lpc, seeds: s.seeds, pipeline: s.quick ? 'tiny smoke-test settings' : 'ulearn run defaults' },
    rows: mine.flatMap((u) => u.rows),
    augment_choices: Object.fromEntries(s.datasets.map((d) => [d, Object.fromEntries(mine.filter((u) => u.dataset === d).map((u) => [String(u.seed), u.augment]))])),
    pretrain: Object.fromEntries(s.datasets.map((d) => [d, Object.fromEntries(mine.filter((u) => u.dataset === d).map((u) => [String(u.seed), { ...u.pretrain, load_1m: u.load_1m, finished: u.finished }]))])),
    summary: summarize(mine.flatMap((u) => u.rows), s.datasets),
  });
}

/** Per dataset: the chosen arm against supervised-only, seed by seed, and how far the estimates were from test. */
/** The engine the pipeline just trained on, as its results.json says it. */
function describeBackendOrUndefined(): string | undefined {
  const b = currentBackend();
  return b ? describeBackend(b) : undefined;
}

export function summarize(rows: RobustnessRow[], datasets: string[]) {
  return Object.fromEntries(
    datasets.map((d) => {
      const seeds = [...new Set(rows.filter((r) => r.dataset === d).map((r) => r.seed))].sort((a, b) => a - b);
      const per = seeds.flatMap((seed) => {
        const rs = rows.filter((r) => r.dataset === d && r.seed === seed);
        const chosen = rs.find((r) => r.chosen);
        const sup = rs.find((r) => r.method === 'supervised only');
        return chosen && sup ? [{ seed, chosen: chosen.method, chosen_acc: chosen.test_acc, supervised_acc: sup.test_acc, gain: Number((chosen.test_acc - sup.test_acc).toFixed(2)) }] : [];
      });
      const estimated = rows.filter((r) => r.dataset === d && r.estimated_acc !== null);
      const gains = per.length ? meanStd(per.map((p) => p.gain)) : undefined;
      return [
        d,
        {
          per_seed: per,
          mean_gain: gains ? Number(gains.mean.toFixed(2)) : null,
          never_below_supervised: per.every((p) => p.gain >= 0),
          mean_abs_estimate_error: estimated.length ? Number((estimated.reduce((a, r) => a + Math.abs(r.estimated_acc! - r.test_acc), 0) / estimated.length).toFixed(2)) : null,
        },
      ];
    }),
  );
}
