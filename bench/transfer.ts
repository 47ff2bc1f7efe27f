/**
 * `npm run bench transfer [--quick]`: transfer from models trained elsewhere (issue 14, item 7). Writes
 * bench/results/transfer.json:
 *   { machine, imports: [{ arch, max_abs_diff, import_s, features_img_s: { tfjs, onnxruntime, pytorch } }],
 *     rows: [{ method, labels_per_class, accs, acc_mean, acc_std }], ... }
 * with accuracies in percent (mean ± population std over seeds).
 *
 * Imports: the torchvision ResNet-18, MobileNetV2 and EfficientNet-B0 exports (random weights, [N, 3, 64, 64];
 * scripts/fixtures/transfer.sh --torchvision builds them into the git-ignored test/fixtures/transfer/torchvision/,
 * run here when missing), each loaded by `loadEncoder` (import + cut before the classifier): the import time, the
 * largest difference between the tfjs features (`encode`) and onnxruntime's (`encodeFrozen`, the ONNX graph cut at
 * the same node) on random images, and feature throughput of both and of PyTorch on the same architecture
 * (bench/pytorch/transfer_features.py, run side by side, same thread count), best of 3 passes each, with the load
 * average beside it (the machine is shared: figures under load are lower bounds).
 *
 * The transfer task: the CNN PyTorch trained on Fashion-MNIST classes 0-4 (test/fixtures/transfer/fmnist-cnn.onnx)
 * adapted to classes 5-9 with 1, 5 and 10 labels per class (labels drawn per seed), through `fitMethod`, the
 * code `ulearn train` runs:
 *   scratch            supervised from a fresh ulearn encoder (the pipeline's default architecture);
 *   transfer+linear    linear probe on the imported CNN's frozen features (onnxruntime computes them);
 *   transfer+finetune  the imported CNN fine-tuned with its new head (LP-FT, the finetune default);
 *   transfer-flatten+… the same two, and label propagation over the unlabeled images of classes 5-9, with the
 *                      CNN cut earlier, at its flattened conv features (FLATTEN_CUT);
 *   ssl+finetune       fine-tune from ulearn's own SSL encoder, pretrained by the pipeline's pretrain stage on the
 *                      unlabeled Fashion-MNIST training images (all ten classes, labels unused) for a fixed
 *                      number of steps, once, shared by every seed.
 * Tested on the 5,000 test images of classes 5-9. Units are kept under --work, so a killed run continues.
 * --quick: tiny sizes (a few hundred images, a few steps, two epochs), to check that it runs; it writes to
 * --work, not to the committed results, unless --out is given.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { applyLabelBudget } from '../src/data/label-budget.js';
import { subset, type Dataset } from '../src/data/dataset.js';
import { loadDataset } from '../src/data/load.js';
import { currentBackend, describeBackend, initBackend } from '../src/engine/backend.js';
import { accuracy, argmaxRows, meanStd } from '../src/eval/metrics.js';
import { encode, encodeFrozen, hasFrozenFeatures } from '../src/models/encode.js';
import { loadEncoder } from '../src/models/load-encoder.js';
import { pipelineConfig } from '../src/pipeline/config.js';
import { runPipeline } from '../src/pipeline/run-pipeline.js';
import { RunDir } from '../src/runs/run-dir.js';
import { fitMethod, type FitMethod } from '../src/semi/fit.js';
import { predictProba } from '../src/train/fit-classifier.js';
import { writeJsonAtomic } from '../src/util/atomic.js';
import { Budget } from '../src/util/budget.js';
import { benchOptions, engineOptions, list, threadsOf } from './options.js';

const ARCHS = ['resnet18', 'mobilenet_v2', 'efficientnet_b0'] as const;
const FIXTURES = 'test/fixtures/transfer/torchvision';
const FMNIST_CNN = 'test/fixtures/transfer/fmnist-cnn.onnx';
/**
 * Where the "transfer-flatten" arms cut the imported CNN: its flattened conv features (1,568 values), before the
 * fully connected layer. The default cut (before the classifier) keeps the fc layer's 32 features, which
 * PyTorch trained to separate classes 0-4 only; later layers are the most task-specific (Yosinski et al.,
 * "How transferable are features in deep neural networks?", NeurIPS 2014).
 */
const FLATTEN_CUT = '/Reshape';
const ARMS: { method: string; fit: FitMethod; from?: 'imported' | 'ssl'; cutAt?: string }[] = [
  { method: 'scratch', fit: 'supervised' },
  { method: 'transfer+linear', fit: 'linear', from: 'imported' },
  { method: 'transfer+finetune', fit: 'finetune', from: 'imported' },
  { method: 'transfer-flatten+linear', fit: 'linear', from: 'imported', cutAt: FLATTEN_CUT },
  { method: 'transfer-flatten+finetune', fit: 'finetune', from: 'imported', cutAt: FLATTEN_CUT },
  // Semi-supervised on top of transfer: the labels spread over a kNN graph of the imported features of the
  // unlabeled training images of classes 5-9 (which ssl+finetune also uses, to pretrain).
  { method: 'transfer-flatten+label-propagation', fit: 'label-propagation', from: 'imported', cutAt: FLATTEN_CUT },
  { method: 'ssl+finetune', fit: 'finetune', from: 'ssl' },
];

interface ImportRow {
  arch: string;
  max_abs_diff: number;
  import_s: number;
  features_img_s: { tfjs: number; onnxruntime: number | null; pytorch: number | null };
  load_1m: number;
}

interface UnitRow {
  method: string;
  labels_per_class: number;
  seed: number;
  acc: number;
  seconds: number;
}

const pct = (v: number) => Number((100 * v).toFixed(2));
const round = (v: number, d = 2) => Number(v.toFixed(d));

export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      ...benchOptions({ name: 'transfer', out: 'bench/results/transfer.json', seeds: '0,1,2' }),
      ...engineOptions(),
      quick: { type: 'boolean', default: false },
      labels: { type: 'string', default: '1,5,10' },
      'pretrain-steps': { type: 'string', default: '1500' },
      images: { type: 'string', default: '512' },
      batch: { type: 'string', default: '32' },
      'skip-imports': { type: 'boolean', default: false },
    },
  });
  const quick = values.quick!;
  const work = values.work!;
  const out = quick && !args.includes('--out') ? path.join(work, 'quick.json') : values.out!;
  const seeds = list(values.seeds!).map(Number);
  const lpcs = list(values.labels!).map(Number);
  const threads = threadsOf(values.threads, os.cpus().length)!;
  const steps = quick ? 3 : Number(values['pretrain-steps']);
  const images = quick ? 32 : Number(values.images);
  const batch = quick ? 16 : Number(values.batch);
  const log = (l: string) => console.log(`[bench transfer] ${l}`);
  const started = new Date().toISOString();
  await mkdir(path.join(work, 'units'), { recursive: true });
  await initBackend(values.backend as never, { threads });

  // ---- imports: time, agreement with onnxruntime, feature throughput ----------------------------------------
  const imports: ImportRow[] = [];
  if (!values['skip-imports']) {
    if (ARCHS.some((a) => !existsSync(path.join(FIXTURES, `${a}.onnx`)))) {
      log(`building the torchvision fixtures (scripts/fixtures/transfer.sh --torchvision)`);
      const r = spawnSync('bash', ['scripts/fixtures/transfer.sh', '--torchvision'], { stdio: 'inherit' });
      if (r.status !== 0) throw new Error('scripts/fixtures/transfer.sh --torchvision failed');
    }
    for (const arch of ARCHS) imports.push(await measureImport(arch, { images, batch, threads, log }));
  }

  // ---- the transfer task: classes 5-9 of Fashion-MNIST ---------------------------------------------------------
  const fm = await loadDataset('fashion-mnist', { log });
  const train = classes5to9(fm.train, quick ? 400 : undefined);
  const test = classes5to9(fm.test!, quick ? 200 : undefined);
  const shape = train.inputShape as [number, number, number];
  // The pipeline's default encoder (16-32-64), in --quick too: the from-scratch arm trains what the pipeline
  // would.
  const encoderSpec = pipelineConfig({}).encoder;

  // ulearn's SSL encoder on the unlabeled training images (all classes), once for every seed.
  let sslCheckpoint: string | undefined;
  if (ARMS.some((a) => a.from === 'ssl')) {
    const id = `pretrain-s0-${steps}${quick ? '-quick' : ''}`;
    const cfg = pipelineConfig({
      data: 'fashion-mnist',
      labelsPerClass: 1,
      seed: 0,
      budget: 'none',
      backend: values.backend as never,
      encoder: encoderSpec,
      pretrain: { method: 'simclr', maxSteps: steps, budgetShare: 1, monitorEvery: Math.max(1, Math.min(100, steps)), ...(quick ? { batchSize: 16, poolSize: 256 } : {}) },
    });
    const dir = path.join(work, id);
    if (!existsSync(path.join(dir, 'state.json'))) await RunDir.create(work, cfg, { id });
    log(`SSL encoder: ${steps} steps of SimCLR on the unlabeled Fashion-MNIST training images: ${dir}`);
    await runPipeline(cfg, { runDir: dir, stages: ['pretrain'], threads, log });
    sslCheckpoint = path.join(dir, 'checkpoints', 'pretrain-encoder');
  }

  const rows: UnitRow[] = [];
  for (const seed of seeds) {
    for (const lpc of lpcs) {
      const unitFile = path.join(work, 'units', `${quick ? 'quick-' : ''}s${seed}-l${lpc}.json`);
      const done: UnitRow[] = existsSync(unitFile) ? (JSON.parse(await readFile(unitFile, 'utf8')) as { rows: UnitRow[] }).rows : [];
      for (const arm of ARMS) {
        if (done.some((r) => r.method === arm.method)) continue;
        const lb = applyLabelBudget(train, { perClass: lpc, seed });
        const t0 = Date.now();
        // The imported CNN is loaded afresh for each fit (fine-tuning changes its weights).
        const pretrained = arm.from === 'imported' ? (await loadEncoder(FMNIST_CNN, { inputShape: shape, cutAt: arm.cutAt })).encoder : arm.from === 'ssl' ? sslCheckpoint : undefined;
        const fit = await fitMethod({
          method: arm.fit,
          train,
          y: lb.y,
          labeled: lb.labeled,
          pretrained,
          encoder: arm.from ? undefined : encoderSpec,
          settings: quick ? { epochs: 2 } : {},
          seed,
          budget: Budget.parse('none'),
          log: (l) => log(`  ${l}`),
        });
        const probs = predictProba(fit.encoder, fit.head, test.x, shape);
        const acc = accuracy(test.y, argmaxRows(probs, train.classes.length));
        fit.encoder.dispose();
        fit.head.dispose();
        const row: UnitRow = { method: arm.method, labels_per_class: lpc, seed, acc: pct(acc), seconds: round((Date.now() - t0) / 1000, 1) };
        log(`seed ${seed}, ${lpc} labels/class, ${arm.method}: ${row.acc}% (${row.seconds} s)`);
        done.push(row);
        await writeJsonAtomic(unitFile, { rows: done, load_1m: round(os.loadavg()[0]), finished: new Date().toISOString() });
      }
      rows.push(...done);
    }
  }

  const summary = ARMS.flatMap((arm) =>
    lpcs.map((lpc) => {
      const rs = rows.filter((r) => r.method === arm.method && r.labels_per_class === lpc).sort((a, b) => a.seed - b.seed);
      const { mean, std } = meanStd(rs.map((r) => r.acc));
      return { method: arm.method, labels_per_class: lpc, seeds: rs.map((r) => r.seed), accs: rs.map((r) => r.acc), acc_mean: round(mean), acc_std: round(std), seconds: rs.map((r) => r.seconds) };
    }),
  );
  const at5 = (m: string) => summary.find((r) => r.method === m && r.labels_per_class === 5)?.acc_mean;
  // Every arm that starts from the imported CNN, supervised ones and the one that also reads the unlabeled pool.
  const gains5 = ARMS.filter((a) => a.from === 'imported' && at5(a.method) !== undefined && at5('scratch') !== undefined).map((a) => ({ method: a.method, uses_unlabeled: a.fit === 'label-propagation', gain: round(at5(a.method)! - at5('scratch')!) }));
  const bestOf = (gs: typeof gains5) => gs.reduce<(typeof gains5)[number] | undefined>((b, g) => (b === undefined || g.gain > b.gain ? g : b), undefined);
  const best5 = bestOf(gains5);
  const bestSupervised5 = bestOf(gains5.filter((g) => !g.uses_unlabeled));
  const backend = currentBackend();
  await writeJsonAtomic(out, {
    machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, node: process.version, engine: backend ? describeBackend(backend) : null, load_average: os.loadavg().map((v) => round(v)) },
    started,
    updated: new Date().toISOString(),
    settings: { quick, seeds, labels_per_class: lpcs, ssl: { method: 'simclr', steps, shared_by_seeds: true }, throughput: { images, batch, threads, image_size: [64, 64, 3] } },
    imports,
    rows: summary,
    targets: {
      onnxruntime_vs_pytorch: imports.map((i) => ({ arch: i.arch, ratio: i.features_img_s.onnxruntime && i.features_img_s.pytorch ? round(i.features_img_s.onnxruntime / i.features_img_s.pytorch) : null, met_0_8: i.features_img_s.onnxruntime && i.features_img_s.pytorch ? i.features_img_s.onnxruntime >= 0.8 * i.features_img_s.pytorch : null })),
      transfer_5_labels_gain_over_scratch: best5 === undefined ? null : { by_method: gains5, best: best5.method, gain: best5.gain, met_15: best5.gain >= 15, best_labels_only: bestSupervised5 ? { method: bestSupervised5.method, gain: bestSupervised5.gain, met_15: bestSupervised5.gain >= 15 } : null },
    },
  });
  log(`wrote ${out}`);
  return 0;
}

/** Classes 5-9 relabelled 0-4 (the first `limit` of them, in file order, for --quick). */
function classes5to9(ds: Dataset, limit?: number): Dataset {
  const idx: number[] = [];
  for (let i = 0; i < ds.size; i++) if (ds.y[i] >= 5) idx.push(i);
  const s = subset(ds, limit ? idx.slice(0, limit) : idx, `${ds.name} classes 5-9`);
  return { ...s, y: Int32Array.from(s.y, (v) => v - 5), classes: ds.classes.slice(5) };
}

/** Best of 3 timed passes of `f` (after one warm-up), in images per second. */
async function imgPerS(n: number, f: () => unknown): Promise<number> {
  await f();
  let best = Infinity;
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    await f();
    best = Math.min(best, (performance.now() - t0) / 1000);
  }
  return round(n / best, 1);
}

async function measureImport(arch: string, o: { images: number; batch: number; threads: number; log: (l: string) => void }): Promise<ImportRow> {
  const file = path.join(FIXTURES, `${arch}.onnx`);
  const t0 = performance.now();
  const { encoder } = await loadEncoder(file);
  const importS = round((performance.now() - t0) / 1000, 3);
  try {
    const shape = encoder.inputs[0].shape.slice(1) as number[];
    const x = new Float32Array(o.images * shape[0] * shape[1] * shape[2]);
    for (let i = 0; i < x.length; i++) x[i] = ((i * 2654435761) % 1000) / 1000;
    const viaTfjs = encode(encoder, x, shape, { batchSize: o.batch });
    const viaOrt = await encodeFrozen(encoder, x, shape, { batchSize: o.batch });
    const ort = hasFrozenFeatures(encoder);
    let diff = 0;
    for (let i = 0; i < viaTfjs.length; i++) diff = Math.max(diff, Math.abs(viaTfjs[i] - viaOrt[i]));
    const tfjs = await imgPerS(o.images, () => encode(encoder, x, shape, { batchSize: o.batch }));
    const onnxruntime = ort ? await imgPerS(o.images, () => encodeFrozen(encoder, x, shape, { batchSize: o.batch })) : null;
    const py = spawnSync('/usr/bin/python3', ['bench/pytorch/transfer_features.py', '--arch', arch, '--images', String(o.images), '--batch', String(o.batch), '--threads', String(o.threads), '--size', String(shape[0])], { encoding: 'utf8' });
    const pytorch = py.status === 0 ? round((JSON.parse(py.stdout.trim().split('\n').pop()!) as { img_s: number }).img_s, 1) : null;
    if (py.status !== 0) o.log(`${arch}: PyTorch throughput failed: ${py.stderr.slice(-400)}`);
    const row: ImportRow = { arch, max_abs_diff: Number(diff.toExponential(2)), import_s: importS, features_img_s: { tfjs, onnxruntime, pytorch }, load_1m: round(os.loadavg()[0]) };
    o.log(`${arch}: import ${importS} s, max |tfjs - onnxruntime| ${row.max_abs_diff}, img/s tfjs ${tfjs}, onnxruntime ${onnxruntime}, PyTorch ${pytorch} (load ${row.load_1m})`);
    return row;
  } finally {
    encoder.dispose();
  }
}
