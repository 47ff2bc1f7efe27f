/**
 * `npm run bench speech`: spoken-digit recognition from a few labels (issue 12), on the synthetic
 * speech-digits corpus (`ulearn data speech-digits`: espeak-ng, flite and festival voices; the speech is
 * synthetic). Tested on held-out voices: no test speaker occurs in training or in either pretraining pool.
 *
 * Two encoders are pretrained with the pipeline's own pretrain stage (`runPipeline`, stage 'pretrain', capped by
 * steps, so the result does not depend on the machine's speed), once with --pretrain-seed (default 0) and shared
 * by every seed, as `npm run bench ssl` does (pretraining is the costly part); `--pretrain-seed each` pretrains
 * per seed:
 *   ssl-target        SSL on the target training clips, labels hidden;
 *   ssl-multilingual  SSL on the unlabeled multilingual pool (espeak-ng speech in 49 other languages, no
 *                     English target word), the transfer setting.
 * The encoders then serve every seed and label count (1, 5, 10 per class: the labels are drawn from the seed),
 * through `fitMethod`, the code `ulearn train` and the pipeline run: linear probe and fine-tune from each
 * encoder, label propagation and FixMatch as the semi-supervised rows, supervised-only on the same labels, and
 * supervised on all labels as the upper bound. Writes bench/results/speech-digits.json:
 *   { machine, rows: [{ method, labels_per_class: 1 | 5 | 10 | 'all', accs, acc_mean, acc_std }],
 *     features_clips_per_s, ... }
 * with accuracies in percent (mean ± population std over seeds). Units (one per seed, pool and label count)
 * are kept under --work, so a killed run continues.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { applyLabelBudget } from '../src/data/label-budget.js';
import { loadDataset } from '../src/data/load.js';
import { loadPreprocessor } from '../src/data/preprocess/index.js';
import { AudioPreprocessor, featurize } from '../src/data/preprocess/audio.js';
import { featureThreads } from '../src/data/preprocess/audio-parallel.js';
import type { Dataset } from '../src/data/dataset.js';
import { currentBackend, describeBackend, initBackend } from '../src/engine/backend.js';
import { accuracy, argmaxRows, meanStd } from '../src/eval/metrics.js';
import { pipelineConfig } from '../src/pipeline/config.js';
import { runPipeline } from '../src/pipeline/run-pipeline.js';
import { RunDir } from '../src/runs/run-dir.js';
import { fitMethod, type FitMethod } from '../src/semi/fit.js';
import { predictProba } from '../src/train/fit-classifier.js';
import { Budget } from '../src/util/budget.js';
import { writeJsonAtomic } from '../src/util/atomic.js';
import { benchOptions, engineOptions, list, threadsOf } from './options.js';

type Pool = 'target' | 'multilingual';
type Lpc = number | 'all';

interface Arm {
  /** The row's name in the results file. */
  method: string;
  fit: FitMethod;
  /** The encoder it starts from; none = from scratch. */
  pool?: Pool;
}

const ARMS: Arm[] = [
  { method: 'supervised', fit: 'supervised' },
  { method: 'ssl-target+linear', fit: 'linear', pool: 'target' },
  { method: 'ssl-target+finetune', fit: 'finetune', pool: 'target' },
  { method: 'ssl-multilingual+linear', fit: 'linear', pool: 'multilingual' },
  { method: 'ssl-multilingual+finetune', fit: 'finetune', pool: 'multilingual' },
  { method: 'ssl-target+label-propagation', fit: 'label-propagation', pool: 'target' },
  { method: 'ssl-multilingual+label-propagation', fit: 'label-propagation', pool: 'multilingual' },
  { method: 'ssl-target+fixmatch', fit: 'fixmatch', pool: 'target' },
  { method: 'ssl-multilingual+fixmatch', fit: 'fixmatch', pool: 'multilingual' },
  { method: 'fixmatch', fit: 'fixmatch' },
];

interface UnitRow {
  method: string;
  labels_per_class: Lpc;
  seed: number;
  acc: number;
  steps: number | null;
  seconds: number;
}

const pct = (v: number) => Number((v * 100).toFixed(2));

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...benchOptions({ name: 'speech', out: path.join('bench', 'results', 'speech-digits.json'), seeds: '0,1,2' }),
      ...engineOptions(),
      labels: { type: 'string', default: '1,5,10,all' },
      arms: { type: 'string', default: ARMS.map((a) => a.method).join(',') },
      'pretrain-steps': { type: 'string', default: '600' },
      method: { type: 'string', default: 'simclr' },
      'fixmatch-steps': { type: 'string', default: '600' },
      'pretrain-seed': { type: 'string', default: '0' },
      quick: { type: 'boolean', default: false },
    },
  });
  const seeds = list(values.seeds!).map(Number);
  const lpcs: Lpc[] = list(values.labels!).map((v) => (v === 'all' ? 'all' : Number(v)));
  const arms = ARMS.filter((a) => list(values.arms!).includes(a.method));
  const quick = values.quick!;
  const threads = threadsOf(values.threads);
  const work = path.resolve(values.work!);
  const steps = quick ? 4 : Number(values['pretrain-steps']);
  const fixmatchSteps = quick ? 4 : Number(values['fixmatch-steps']);
  await mkdir(path.join(work, 'units'), { recursive: true });
  const log = (l: string) => console.log(`[bench speech] ${l}`);
  const started = new Date().toISOString();
  const dataSpec = quick ? { name: 'speech-digits' as const, perClass: 6, testPerClass: 3, poolSize: 60, dir: path.join(work, 'quick-data') } : 'speech-digits';
  const poolSpec = quick ? { ...(dataSpec as object), split: 'pool' } : 'speech-digits/pool';
  await initBackend(values.backend as never, { threads });

  // Feature throughput: one thread's worth is what the target counts per core; measured on the test clips.
  const target = await loadDataset(dataSpec as never, { log });
  const speed = { ...(await measureFeatures(target.test!)), load: Number(os.loadavg()[0].toFixed(2)) };
  const featuresPerS = speed.all;
  log(`features: ${speed.all.toFixed(0)} clips/s on ${speed.threads} threads, ${speed.one.toFixed(0)} on one (load ${os.loadavg()[0].toFixed(2)})`);

  // Features as each encoder saw them in pretraining, by its run directory (seeds share encoders, so each is
  // computed once); supervised-only reads the target pool's.
  const featurized = new Map<string, { train: Dataset; test: Dataset }>();
  for (const seed of seeds) {
    // The two encoders of this seed (pretraining is the costly part; every label count shares them).
    const runs: Partial<Record<Pool, string>> = {};
    const pseed = values['pretrain-seed'] === 'each' ? seed : Number(values['pretrain-seed']);
    for (const pool of ['target', 'multilingual'] as Pool[]) {
      if (!arms.some((a) => a.pool === pool)) continue;
      const id = `pretrain-${pool}-s${pseed}`;
      const dir = path.join(work, id);
      const cfg = pipelineConfig({
        data: dataSpec as never,
        pretrainData: pool === 'multilingual' ? (poolSpec as never) : undefined,
        labelsPerClass: 1,
        seed: pseed,
        budget: 'none',
        backend: values.backend as never,
        pretrain: { method: values.method as never, maxSteps: steps, budgetShare: 1, monitorEvery: Math.max(1, Math.min(100, steps)), ...(quick ? { batchSize: 16 } : {}) },
        ...(quick ? { encoder: { widths: [8, 8, 8] } } : {}),
      });
      if (!existsSync(path.join(dir, 'state.json'))) await RunDir.create(work, cfg, { id });
      log(`seed ${seed}: encoder pretrained on the ${pool} pool (${steps} steps, seed ${pseed}): ${dir}`);
      await runPipeline(cfg, { runDir: dir, stages: ['pretrain'], threads, log });
      runs[pool] = dir;
    }
    const dataFor = async (pool: Pool): Promise<{ train: Dataset; test: Dataset }> => {
      const key = runs[pool] ?? pool;
      if (!featurized.has(key)) {
        const saved = runs[pool] ? await loadPreprocessor(runs[pool]!) : undefined;
        const pre = saved instanceof AudioPreprocessor ? saved : AudioPreprocessor.fit(target.train);
        featurized.set(key, { train: await featurize(target.train, pre), test: await featurize(target.test!, pre) });
      }
      return featurized.get(key)!;
    };
    for (const lpc of lpcs) {
      const unitFile = path.join(work, 'units', `s${seed}-l${lpc}.json`);
      const done: UnitRow[] = existsSync(unitFile) ? (JSON.parse(await readFile(unitFile, 'utf8')) as { rows: UnitRow[] }).rows : [];
      for (const arm of arms) {
        // All labels: the upper bound, supervised only (and fine-tune from the transfer encoder).
        if (lpc === 'all' && !['supervised', 'ssl-multilingual+finetune'].includes(arm.method)) continue;
        if (done.some((r) => r.method === arm.method)) continue;
        const { train, test } = await dataFor(arm.pool ?? 'target');
        const lb = lpc === 'all' ? allLabels(train) : applyLabelBudget(train, { perClass: lpc, seed });
        const t0 = Date.now();
        const fit = await fitMethod({
          method: arm.fit,
          train,
          y: lb.y,
          labeled: lb.labeled,
          pretrained: arm.pool ? path.join(runs[arm.pool]!, 'checkpoints', 'pretrain-encoder') : undefined,
          // From scratch: the pipeline's encoder (the architecture the SSL arms were pretrained with), so the
          // comparison is of training, not of networks.
          encoder: arm.pool ? undefined : pipelineConfig({}).encoder,
          settings: { ...(arm.fit === 'fixmatch' ? { steps: fixmatchSteps } : {}), ...(quick ? { epochs: 2 } : {}) },
          seed,
          budget: Budget.parse('none'),
          log: (l) => log(`  ${l}`),
        });
        const probs = predictProba(fit.encoder, fit.head, test.x, test.inputShape as [number, number, number]);
        const acc = accuracy(test.y, argmaxRows(probs, train.classes.length));
        fit.encoder.dispose();
        fit.head.dispose();
        const row: UnitRow = { method: arm.method, labels_per_class: lpc, seed, acc: pct(acc), steps: typeof fit.info.steps === 'number' ? fit.info.steps : null, seconds: Number(((Date.now() - t0) / 1000).toFixed(1)) };
        log(`seed ${seed}, ${lpc} labels/class, ${arm.method}: ${row.acc}% (${row.seconds} s)`);
        done.push(row);
        await writeJsonAtomic(unitFile, { rows: done, load_1m: Number(os.loadavg()[0].toFixed(2)), finished: new Date().toISOString() });
      }
      await save(work, values.out!, { started, quick, steps, method: values.method!, fixmatchSteps, seeds, featuresPerS, speed, pretrainSeed: values['pretrain-seed']! });
    }
  }
  await save(work, values.out!, { started, quick, steps, method: values.method!, fixmatchSteps, seeds, featuresPerS, speed, pretrainSeed: values['pretrain-seed']! });
  log(`wrote ${values.out}`);
  return 0;
}

function allLabels(train: Dataset): { y: Int32Array; labeled: Int32Array } {
  const labeled: number[] = [];
  for (let i = 0; i < train.size; i++) if (train.y[i] >= 0) labeled.push(i);
  return { y: train.y, labeled: Int32Array.from(labeled) };
}

/**
 * Feature extraction speed: one-second clips (the held-out test clips, 1,100) to normalised log-mel, on every
 * core (the target is for 2 cores) and on one thread; best of three runs each, after a warm-up that
 * starts the worker threads.
 */
async function measureFeatures(ds: Dataset): Promise<{ all: number; one: number; threads: number }> {
  const pre = AudioPreprocessor.fit(ds);
  const rate = async (threads: number) => {
    let best = 0;
    await featurize(ds, pre, threads);
    for (let r = 0; r < 3; r++) {
      const t0 = process.hrtime.bigint();
      await featurize(ds, pre, threads);
      best = Math.max(best, ds.size / (Number(process.hrtime.bigint() - t0) / 1e9));
    }
    return best;
  };
  const threads = featureThreads();
  return { all: await rate(threads), one: await rate(1), threads };
}

async function save(
  work: string,
  out: string,
  s: { started: string; quick: boolean; steps: number; method: string; fixmatchSteps: number; seeds: number[]; featuresPerS: number; speed: { all: number; one: number; threads: number; load: number }; pretrainSeed: string },
): Promise<void> {
  const rows: UnitRow[] = [];
  const loads: number[] = [];
  for (const f of (await readdir(path.join(work, 'units'))).filter((n) => n.endsWith('.json')).sort()) {
    const u = JSON.parse(await readFile(path.join(work, 'units', f), 'utf8')) as { rows: UnitRow[]; load_1m: number };
    rows.push(...u.rows.filter((r) => s.seeds.includes(r.seed)));
    loads.push(u.load_1m);
  }
  const groups = new Map<string, UnitRow[]>();
  for (const r of rows) {
    const key = `${r.method}|${r.labels_per_class}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const order = (l: Lpc) => (l === 'all' ? Infinity : l);
  const summary = [...groups.values()]
    .map((rs) => {
      const sorted = [...rs].sort((a, b) => a.seed - b.seed);
      const { mean, std } = meanStd(sorted.map((r) => r.acc));
      return { method: rs[0].method, labels_per_class: rs[0].labels_per_class, seeds: sorted.map((r) => r.seed), accs: sorted.map((r) => r.acc), acc_mean: Number(mean.toFixed(2)), acc_std: Number(std.toFixed(2)), steps: sorted.map((r) => r.steps), seconds: sorted.map((r) => r.seconds) };
    })
    .sort((a, b) => order(a.labels_per_class) - order(b.labels_per_class) || ARMS.findIndex((x) => x.method === a.method) - ARMS.findIndex((x) => x.method === b.method));
  // What each pretraining did (its run directory's state): steps (the epoch cap can stop it before
  // --pretrain-steps), epochs over its pool, wall time, the last kNN-monitor reading (training voices).
  const pretrain: Record<string, unknown> = {};
  for (const d of (await readdir(work)).filter((n) => n.startsWith('pretrain-')).sort()) {
    const state = path.join(work, d, 'state.json');
    if (!existsSync(state)) continue;
    const st = (JSON.parse(await readFile(state, 'utf8')) as { stages: { pretrain?: { steps: number; seconds: number; epochs: { epoch: number; knnAcc?: number }[] } } }).stages.pretrain;
    if (!st) continue;
    const last = st.epochs[st.epochs.length - 1];
    pretrain[d] = { steps: st.steps, epochs: last ? Number(last.epoch.toFixed(2)) : null, seconds: Number(st.seconds.toFixed(0)), knn_monitor: last?.knnAcc === undefined ? null : pct(last.knnAcc) };
  }
  const backend = currentBackend();
  await writeJsonAtomic(out, {
    machine: {
      cpu: os.cpus()[0]?.model,
      cores: os.cpus().length,
      node: process.version,
      engine: backend ? describeBackend(backend) : null,
      load_average: os.loadavg().map((v) => Number(v.toFixed(2))),
      load_1m_per_unit: loads,
    },
    data: 'speech-digits (synthetic speech: espeak-ng, flite and festival voices; test voices held out of training and of both pretraining pools)',
    started: s.started,
    updated: new Date().toISOString(),
    settings: { quick: s.quick, ssl_method: s.method, pretrain_steps: s.steps, pretrain_seed: s.pretrainSeed === 'each' ? 'each seed its own' : Number(s.pretrainSeed), fixmatch_steps: s.fixmatchSteps, seeds: s.seeds },
    pretrain,
    rows: summary,
    features_clips_per_s: Math.floor(s.featuresPerS),
    features: { threads: s.speed.threads, clips_per_s: Math.floor(s.speed.all), one_thread_clips_per_s: Math.floor(s.speed.one), load_1m: s.speed.load, clips: 'the 1,100 one-second test clips, best of 3 runs' },
    targets: targets(summary),
  });
}

/** The targets, checked on the rows: 5 labels ≥ 90 % and ≥ supervised + 15; 1 label ≥ 70 %. */
function targets(rows: { method: string; labels_per_class: Lpc; acc_mean: number }[]) {
  const best = (lpc: Lpc) => rows.filter((r) => r.labels_per_class === lpc && r.method !== 'supervised').sort((a, b) => b.acc_mean - a.acc_mean)[0];
  const sup = (lpc: Lpc) => rows.find((r) => r.labels_per_class === lpc && r.method === 'supervised');
  const b5 = best(5);
  const s5 = sup(5);
  const b1 = best(1);
  return {
    five_labels_best: b5 ? { method: b5.method, acc_mean: b5.acc_mean, supervised: s5?.acc_mean ?? null, gain: s5 ? Number((b5.acc_mean - s5.acc_mean).toFixed(2)) : null, met_90: b5.acc_mean >= 90, met_gain_15: s5 ? b5.acc_mean - s5.acc_mean >= 15 : null } : null,
    one_label_best: b1 ? { method: b1.method, acc_mean: b1.acc_mean, met_70: b1.acc_mean >= 70 } : null,
  };
}
