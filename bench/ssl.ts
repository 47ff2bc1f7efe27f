/**
 * `npm run bench ssl`: Fashion-MNIST at 10 and 100 labels per class, 3 seeds, each SSL method, plus
 * supervised-only and the all-labels upper bound, into bench/results/ssl-fashion-mnist.json.
 *
 * One pretraining run per method (seed 0, capped by --pretrain-budget) serves all seeds; the seeds vary the
 * label draw, the head initialisation and the fine-tune (recorded in each row's `protocol`). Every unit of work
 * is a pipeline run directory under --work, and the JSON is rewritten after each one, so a killed benchmark
 * continues where it stopped (finished runs are read back, an interrupted pretraining resumes from its
 * checkpoint).
 */
import { cp, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { meanStd } from '../src/eval/metrics.js';
import { pipelineConfig, type PipelineConfigInput } from '../src/pipeline/config.js';
import { runPipeline, type MethodResult } from '../src/pipeline/run-pipeline.js';
import { fitEpochs } from '../src/semi/fit.js';
import { RunDir } from '../src/runs/run-dir.js';
import { writeJsonAtomic } from '../src/util/atomic.js';
import { parseDuration } from '../src/util/duration.js';
import { describeBackend, currentBackend } from '../src/engine/backend.js';
import { benchOptions, engineOptions, list, threadsOf } from './options.js';

interface Row {
  method: string;
  labels_per_class: number;
  seeds: number[];
  acc: number[];
  acc_mean: number;
  acc_std: number;
  pretrain_s: number | null;
  /** What the pretraining budget bought: optimizer steps and passes over the pool. */
  pretrain_steps?: number;
  pretrain_epochs?: number;
  /** 1-minute load average when pretraining ended: above ~2 on this 2-core machine, other work shared the CPU. */
  pretrain_load_1m?: number;
  /** Pretraining throughput: steps × batch ÷ pretrain_s (for SimCLR and VICReg, pairs of views per second). */
  pretrain_pairs_s?: number;
  wall_s: number[];
  /** Seeds whose arm the run budget cut short (their accuracy is that of a shorter run); empty when none. */
  stopped_by_budget: number[];
  protocol: string;
}


export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...benchOptions({ name: 'ssl', out: path.join('bench', 'results', 'ssl-fashion-mnist.json'), seeds: '0,1,2' }),
      ...engineOptions(),
      methods: { type: 'string', default: 'simclr,vicreg,masked-pixels' },
      labels: { type: 'string', default: '10,100' },
      'pretrain-budget': { type: 'string', default: '15m' },
      /** A guard for each (labels, seed) run (probe + fine-tune + baseline); the epoch counts are the protocol. */
      'finetune-budget': { type: 'string', default: '30m' },
      'all-labels-budget': { type: 'string', default: '10m' },
      data: { type: 'string', default: 'fashion-mnist' },
      'no-all-labels': { type: 'boolean', default: false },
      /**
       * Pretrain every other method for the same number of optimizer steps (same batch size) as this method's
       * time-capped run, instead of for the same wall-clock time: on a machine shared with other work a time cap
       * hands each method whatever CPU happened to be free. '' turns it off.
       */
      'match-steps-of': { type: 'string', default: 'simclr' },
      /** Pretrain every method for exactly this many optimizer steps (overrides --match-steps-of). */
      steps: { type: 'string' },
    },
  });
  const methods = list(values.methods!);
  const labels = list(values.labels!).map(Number);
  const seeds = list(values.seeds!).map(Number);
  const threads = threadsOf(values.threads);
  const work = path.resolve(values.work!);
  await mkdir(work, { recursive: true });
  const rows = new Map<string, Row>();
  const samples = new Map<string, Map<number, { acc: number; wall: number; cut: boolean }>>();
  const started = new Date().toISOString();
  const log = (l: string) => console.log(`[bench ssl] ${l}`);

  const record = (method: string, lpc: number, seed: number, r: MethodResult, pretrainS: number | null, protocol: string, pre: Partial<Row> = {}) => {
    const key = `${method}|${lpc}`;
    const per = samples.get(key) ?? new Map();
    per.set(seed, { acc: r.acc, wall: r.seconds, cut: r.stoppedByBudget === true });
    // The budget of a per-seed run is a guard, not the protocol (epochs are): an arm it cuts short, typically the
    // baseline that runs last, no longer gets the same training as the other side. Say so loudly.
    if (r.stoppedByBudget) log(`WARNING: ${method}, ${lpc} labels/class, seed ${seed}: the run budget (--finetune-budget) cut this arm short; rerun with a larger one`);
    samples.set(key, per);
    const seedsDone = [...per.keys()].sort((a, b) => a - b);
    const acc = seedsDone.map((s) => per.get(s)!.acc);
    const { mean, std } = meanStd(acc);
    rows.set(key, { method, labels_per_class: lpc, seeds: seedsDone, acc, acc_mean: mean, acc_std: std, pretrain_s: pretrainS, ...pre, wall_s: seedsDone.map((s) => per.get(s)!.wall), stopped_by_budget: seedsDone.filter((s) => per.get(s)!.cut), protocol });
  };
  const save = async () => {
    const backend = currentBackend();
    await writeJsonAtomic(values.out!, {
      dataset: 'fashion-mnist',
      machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, node: process.version, backend: backend ? describeBackend(backend) : null },
      started,
      updated: new Date().toISOString(),
      settings: { methods, labels, seeds, pretrainBudget: values['pretrain-budget'], matchStepsOf: fixedSteps ? null : reference || null, steps: fixedSteps ?? null, backend: values.backend, finetuneBudget: values['finetune-budget'], allLabelsBudget: values['all-labels-budget'] },
      rows: [...rows.values()],
    });
  };

  const base = (extra: PipelineConfigInput): PipelineConfigInput => ({ data: values.data, seed: 0, backend: values.backend as PipelineConfigInput['backend'], ...extra });
  const fixedSteps = values.steps === undefined ? undefined : Number(values.steps);
  if (fixedSteps !== undefined && !(Number.isInteger(fixedSteps) && fixedSteps > 0)) throw new Error(`--steps ${values.steps}: expected a positive integer`);
  const reference = fixedSteps ? '' : (values['match-steps-of'] ?? '');
  if (reference && !methods.includes(reference)) throw new Error(`--match-steps-of ${reference}: not one of --methods (${methods.join(', ')})`);
  // The reference method runs first, so the others know its step count.
  const ordered = reference ? [reference, ...methods.filter((m) => m !== reference)] : methods;
  let referenceSteps: number | undefined;
  for (const method of ordered) {
    const matched = fixedSteps !== undefined || (reference !== '' && method !== reference);
    const stepCap = fixedSteps ?? referenceSteps;
    const preCfg = pipelineConfig(
      base({
        labelsPerClass: labels[0],
        // A matched run is capped by steps; the (4x) time budget only guards against a run that never ends.
        budget: matched ? `${(4 * parseDuration(values['pretrain-budget']!)) / 1000}s` : values['pretrain-budget'],
        pretrain: { method, budgetShare: 1, ...(matched ? { maxSteps: stepCap } : {}) },
      }),
    );
    const preRun = await RunDir.create(work, preCfg, { id: `pretrain-${method}` });
    log(`pretraining ${method} (${matched ? `${stepCap} steps${fixedSteps ? '' : `, as ${reference}`}` : `${values['pretrain-budget']} cap`}) in ${preRun.dir}`);
    const pretrainedBefore = await preRun.isStageDone('pretrain');
    await runPipeline(preCfg, { runDir: preRun.dir, stages: ['pretrain'], threads, log });
    let preStage = (await preRun.stage('pretrain'))!;
    if (!pretrainedBefore) {
      await preRun.stageDone('pretrain', { ...preStage, load1m: os.loadavg()[0] });
      preStage = (await preRun.stage('pretrain'))!;
    }
    const pretrainS = Number(preStage.seconds ?? 0);
    const steps = Number(preStage.steps ?? 0);
    if (method === reference) referenceSteps = steps;
    const epochList = (preStage.epochs as { epoch: number }[] | undefined) ?? [];
    const pre: Partial<Row> = {
      pretrain_steps: steps,
      pretrain_epochs: epochList.length ? Number(epochList[epochList.length - 1].epoch.toFixed(3)) : undefined,
      pretrain_load_1m: preStage.load1m === undefined ? undefined : Number(Number(preStage.load1m).toFixed(2)),
      pretrain_pairs_s: pretrainS > 0 ? Number(((steps * preCfg.pretrain.batchSize) / pretrainS).toFixed(1)) : undefined,
    };
    for (const lpc of labels) {
      for (const seed of seeds) {
        // fitMethod's rule (60 epochs at 10 labels per class, 20 at 100), which is also the pipeline's default;
        // written into the config so run directories made before that default keep matching it.
        const epochs = fitEpochs(lpc);
        const cfg = pipelineConfig(base({ labelsPerClass: lpc, seed, budget: values['finetune-budget'], pretrain: { method }, finetune: { epochs } }));
        const runDir = await RunDir.create(work, cfg, { id: `${method}-l${lpc}-s${seed}` });
        if (!(await runDir.isStageDone('pretrain'))) {
          await cp(preRun.path('checkpoints', 'pretrain-encoder'), runDir.path('checkpoints', 'pretrain-encoder'), { recursive: true });
          const { doneAt: _doneAt, ...details } = preStage;
          await runDir.stageDone('pretrain', { ...details, borrowedFrom: preRun.dir });
        }
        const res = await runPipeline(cfg, { runDir: runDir.dir, stages: ['probe', 'finetune', 'baseline'], threads, log });
        const cap = matched ? `${steps} steps of ${preCfg.pretrain.batchSize}${fixedSteps ? '' : `, matching ${reference}'s ${values['pretrain-budget']} run`}` : `${values['pretrain-budget']} cap`;
        const protocol = `one ${method} pretraining (seed 0, ${cap}, ${Math.round(pretrainS)} s) serves all seeds; seeds vary labels, head init and fine-tune`;
        for (const r of res.methods) {
          if (r.name === 'supervised only') record('supervised-only', lpc, seed, r, null, 'same encoder architecture, labels, augmentations and epochs as fine-tune, from scratch');
          else record(`${method} + ${r.name === 'SSL + linear probe' ? 'linear' : 'fine-tune'}`, lpc, seed, r, pretrainS, protocol, pre);
        }
        await save();
      }
    }
  }
  if (!values['no-all-labels']) {
    for (const seed of seeds) {
      const cfg = pipelineConfig(base({ labelsPerClass: 6000, seed, budget: values['all-labels-budget'], finetune: { epochs: 30, batchSize: 128 } }));
      const runDir = await RunDir.create(work, cfg, { id: `all-labels-s${seed}` });
      const res = await runPipeline(cfg, { runDir: runDir.dir, stages: ['baseline'], threads, log });
      record('all-labels (supervised)', 6000, seed, res.methods[0], null, `supervised on all 60,000 labels, capped at ${values['all-labels-budget']}`);
      await save();
    }
  }
  await save();
  log(`wrote ${values.out}`);
  return 0;
}
