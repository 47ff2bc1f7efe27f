/**
 * The whole job, as stages over one run directory: pretrain (self-supervised, on every training image with
 * labels hidden) -> probe (linear classifier on frozen features) -> finetune (encoder + head on the few
 * labels) -> baseline (same architecture, labels, augmentations and epochs, from scratch) -> report.
 * Each finished stage is recorded in the run's state.json with its numbers, so a killed run resumes where it
 * stopped; pretraining also checkpoints atomically every `monitorEvery` steps and continues from there.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { describeAugment, resolveAugment, type ResolvedAugment } from '../augment/choose.js';
import { simclrAugment, weakAugment } from '../augment/presets.js';
import { applyLabelBudget } from '../data/label-budget.js';
import { loadDataset } from '../data/load.js';
import { gather, sampleSize, type Dataset } from '../data/dataset.js';
import { describeBackend, initBackend } from '../engine/backend.js';
import { Rng } from '../engine/seed.js';
import { UlearnError } from '../errors.js';
import { umap2d } from '../eval/embedding-map.js';
import { accuracy, argmaxRows, confusionMatrix, perClassAccuracy } from '../eval/metrics.js';
import { renderReport, type ReportEpoch, type ReportInput, type ReportMethod } from '../eval/report.js';
import { buildResNetEncoder, classifierHead, featureDim } from '../models/resnet.js';
import { latestCheckpoint, loadCheckpoint, saveCheckpoint } from '../runs/checkpoint.js';
import { RunDir } from '../runs/run-dir.js';
import { embed, KnnMonitor } from '../ssl/knn-monitor.js';
import { fitMethod } from '../semi/fit.js';
import { saveClassifier } from '../semi/model-dir.js';
import { NEEDS_ENCODER } from '../semi/names.js';
import { createSSLMethod } from '../ssl/registry.js';
import { fitClassifier, predictProba } from '../train/fit-classifier.js';
import { encodeAll } from '../train/features.js';
import { trainLinearProbe, type LinearProbe } from '../train/linear-probe.js';
import { Budget } from '../util/budget.js';
import { parseDuration } from '../util/duration.js';
import { Progress } from '../util/progress.js';
import type { PipelineConfig } from './config.js';

export const STAGES = ['pretrain', 'probe', 'finetune', 'semi', 'baseline', 'report'] as const;
export type StageName = (typeof STAGES)[number];

export interface PipelineOptions {
  /** Where runs live; a new run gets runs/<id>. */
  runsRoot?: string;
  /** Resume (or extend) this existing run directory instead of creating one. */
  runDir?: string;
  /** Run only these stages (default: all, skipping finished ones). */
  stages?: readonly StageName[];
  threads?: number;
  log?: (line: string) => void;
}

export interface MethodResult {
  name: string;
  acc: number;
  perClass: (number | null)[];
  confusion: number[][];
  seconds: number;
}

export interface PipelineResult {
  runDir: string;
  methods: MethodResult[];
  reportPath: string;
}

interface Context {
  cfg: PipelineConfig;
  run: RunDir;
  train: Dataset;
  test: Dataset;
  inputShape: [number, number, number];
  labeled: Int32Array;
  visibleY: Int32Array;
  budget: Budget;
  log: (line: string) => void;
  /** Flips and crop scale: the user's, else chosen from the labeled images. */
  augment: ResolvedAugment;
}

function imageShape(ds: Dataset): [number, number, number] {
  if (ds.modality !== 'image' || ds.inputShape.length !== 3) {
    throw new UlearnError(`${ds.source}: the image pipeline needs images [H, W, C], got ${ds.modality} [${ds.inputShape}]`);
  }
  return ds.inputShape as [number, number, number];
}

function newEncoder(ctx: Context, seed: number): tfl.LayersModel {
  return buildResNetEncoder({ inputShape: ctx.inputShape, widths: ctx.cfg.encoder.widths, blocksPerStage: ctx.cfg.encoder.blocksPerStage, seed });
}

function testSubset(ctx: Context): { x: Float32Array; y: Int32Array } {
  const n = ctx.cfg.testSize > 0 ? Math.min(ctx.cfg.testSize, ctx.test.size) : ctx.test.size;
  return { x: ctx.test.x.subarray(0, n * sampleSize(ctx.test)), y: ctx.test.y.subarray(0, n) };
}

function score(name: string, ctx: Context, probs: Float32Array, seconds: number): MethodResult {
  const { y } = testSubset(ctx);
  const k = ctx.train.classes.length;
  const pred = argmaxRows(probs, k);
  return { name, acc: accuracy(y, pred), perClass: perClassAccuracy(y, pred, k), confusion: confusionMatrix(y, pred, k), seconds };
}

/**
 * The kNN monitor over a slice of the training pool whose labels are known: used for reporting only (never
 * trained on, never used to pick a model). Undefined when too few labels are known to say anything.
 */
function monitorSlices(ctx: Context): KnnMonitor | undefined {
  const size = sampleSize(ctx.train);
  const rng = new Rng(ctx.cfg.seed).fork('monitor');
  const known = rng.permutation(ctx.train.size).filter((i) => ctx.train.y[i] >= 0);
  if (known.length < 5 * ctx.train.classes.length) return undefined;
  const idx = known.slice(0, Math.min(3000, known.length));
  const nBank = Math.floor(idx.length * 0.8);
  const take = (ids: number[]) => {
    const x = new Float32Array(ids.length * size);
    ids.forEach((i, k) => x.set(ctx.train.x.subarray(i * size, (i + 1) * size), k * size));
    return { x, y: Int32Array.from(ids, (i) => ctx.train.y[i]) };
  };
  return new KnnMonitor(take(idx.slice(0, nBank)), take(idx.slice(nBank)), ctx.inputShape, { k: 20 });
}

async function pretrain(ctx: Context): Promise<{ encoder: tfl.LayersModel; epochs: ReportEpoch[]; seconds: number }> {
  const { cfg, run } = ctx;
  const encoder = newEncoder(ctx, cfg.seed);
  const done = await run.stage('pretrain');
  if (done) {
    await loadCheckpoint(run.path('checkpoints', 'pretrain-encoder'), encoder);
    return { encoder, epochs: (done.epochs as ReportEpoch[]) ?? [], seconds: (done.seconds as number) ?? 0 };
  }
  const method = createSSLMethod(cfg.pretrain.method, {
    encoder,
    inputShape: ctx.inputShape,
    augment: simclrAugment(ctx.inputShape, { flip: ctx.augment.choice.flip, vflip: ctx.augment.choice.verticalFlip, cropScale: ctx.augment.choice.cropScale }),
    seed: cfg.seed,
    lr: cfg.pretrain.lr,
  });
  const monitor = monitorSlices(ctx);
  const size = sampleSize(ctx.train);
  const poolN = cfg.pretrain.poolSize > 0 ? Math.min(cfg.pretrain.poolSize, ctx.train.size) : ctx.train.size;
  const bs = Math.min(cfg.pretrain.batchSize, poolN);
  const stepsPerEpoch = Math.max(1, Math.floor(poolN / bs));
  const totalSteps = Math.min(stepsPerEpoch * cfg.pretrain.epochs, cfg.pretrain.maxSteps ?? Infinity);
  let step = 0;
  let seconds = 0;
  let history: ReportEpoch[] = [];
  const ckpt = await latestCheckpoint(run, 'pretrain-encoder');
  if (ckpt) {
    await loadCheckpoint(run.path('checkpoints', 'pretrain-encoder'), encoder, { optimizer: method.optimizer });
    if (method.head) await loadCheckpoint(run.path('checkpoints', 'pretrain-head'), method.head);
    step = (ckpt.state.step as number) ?? 0;
    seconds = (ckpt.state.seconds as number) ?? 0;
    history = (ckpt.state.history as ReportEpoch[]) ?? [];
    ctx.log(`resuming pretraining at step ${step} (${history.length} monitor points)`);
  }
  const stageBudget = ctx.budget.child(cfg.pretrain.budgetShare);
  const progress = new Progress(`pretrain ${cfg.pretrain.method}`, totalSteps, { deadlineAt: Date.now() + stageBudget.remainingMs() });
  progress.tick(step);
  const rng = new Rng(cfg.seed).fork(`pretrain-${step}`);
  let order: number[] = [];
  let lossSum = 0;
  let lossCount = 0;
  const started = Date.now() - seconds * 1000;
  const checkpoint = async () => {
    const report = monitor?.evaluate(encoder);
    const point: ReportEpoch = { epoch: step / stepsPerEpoch, loss: lossSum / Math.max(1, lossCount), knnAcc: report?.accuracy, featureStd: report?.normalizedStd };
    history.push(point);
    lossSum = 0;
    lossCount = 0;
    if (report?.collapsed) progress.log(`warning: representation collapse at step ${step} (feature std ${report.normalizedStd.toFixed(4)})`);
    seconds = (Date.now() - started) / 1000;
    const state = { step, seconds, history };
    await saveCheckpoint(run.path('checkpoints', 'pretrain-encoder'), encoder, { state, optimizer: method.optimizer });
    if (method.head) await saveCheckpoint(run.path('checkpoints', 'pretrain-head'), method.head, { state });
    await run.appendLog({ stage: 'pretrain', step, ...point });
    return report;
  };
  while (step < totalSteps && !stageBudget.exceeded()) {
    if (order.length < bs) order = rng.permutation(poolN);
    const idx = order.splice(0, bs);
    const xb = new Float32Array(bs * size);
    idx.forEach((i, k) => xb.set(ctx.train.x.subarray(i * size, (i + 1) * size), k * size));
    const batch = tf.tensor4d(xb, [bs, ...ctx.inputShape]);
    const loss = method.trainStep(batch, rng);
    batch.dispose();
    lossSum += loss;
    lossCount++;
    step++;
    const last = history[history.length - 1];
    progress.tick(1, { loss: loss.toFixed(3), ...(last?.knnAcc !== undefined ? { knn: `${(last.knnAcc * 100).toFixed(1)}%` } : {}) });
    if (step % cfg.pretrain.monitorEvery === 0) await checkpoint();
  }
  if (lossCount > 0 || history.length === 0) await checkpoint();
  const lastKnn = history[history.length - 1].knnAcc;
  progress.done(`${step} steps, ${((step * bs) / poolN).toFixed(2)} epochs${lastKnn === undefined ? '' : `, kNN ${(lastKnn * 100).toFixed(1)}%`}`);
  monitor?.dispose();
  method.dispose();
  seconds = (Date.now() - started) / 1000;
  await run.stageDone('pretrain', { steps: step, seconds, epochs: history, stoppedByBudget: step < totalSteps });
  return { encoder, epochs: history, seconds };
}

function labeledSamples(ctx: Context): Float32Array {
  const size = sampleSize(ctx.train);
  const xl = new Float32Array(ctx.labeled.length * size);
  ctx.labeled.forEach((i, k) => xl.set(ctx.train.x.subarray(i * size, (i + 1) * size), k * size));
  return xl;
}

/** The linear probe on the frozen encoder's features of the labeled samples. */
function fitProbe(ctx: Context, encoder: tfl.LayersModel): LinearProbe {
  const fl = encodeAll(encoder, labeledSamples(ctx), ctx.inputShape);
  try {
    return trainLinearProbe(fl, Int32Array.from(ctx.labeled, (i) => ctx.visibleY[i]), ctx.train.classes.length, { seed: ctx.cfg.seed });
  } finally {
    fl.dispose();
  }
}

async function probe(ctx: Context, encoder: tfl.LayersModel): Promise<MethodResult> {
  const t0 = Date.now();
  const clf = fitProbe(ctx, encoder);
  const ft = encodeAll(encoder, testSubset(ctx).x, ctx.inputShape);
  const probs = clf.predictProba(ft);
  const result = score('SSL + linear probe', ctx, probs.dataSync() as Float32Array, (Date.now() - t0) / 1000);
  tf.dispose([ft, probs]);
  clf.dispose();
  return result;
}

async function supervised(ctx: Context, name: string, encoder: tfl.LayersModel, pretrained: boolean): Promise<MethodResult> {
  const t0 = Date.now();
  const { cfg } = ctx;
  const head = classifierHead(featureDim(encoder), ctx.train.classes.length, { seed: cfg.seed + 7 });
  if (pretrained) {
    // LP-FT: start from the linear probe rather than a random head, so the first gradients into the
    // pretrained encoder carry signal instead of noise (Kumar et al. 2022). The baseline has no features
    // worth probing and starts from a random head, as supervised training does.
    const clf = fitProbe(ctx, encoder);
    const weights = clf.denseWeights();
    head.layers[0].setWeights(weights);
    tf.dispose(weights);
    clf.dispose();
  }
  // Fine-tune runs first and may use half of what is left; the baseline then may use all the rest, so when
  // time is short the baseline is never the one starved.
  const stage = ctx.budget.child(pretrained ? 0.5 : 1);
  const progress = new Progress(name, cfg.finetune.epochs, { deadlineAt: Date.now() + stage.remainingMs() });
  fitClassifier({
    encoder,
    head,
    x: ctx.train.x,
    inputShape: ctx.inputShape,
    y: ctx.visibleY,
    indices: ctx.labeled,
    nClasses: ctx.train.classes.length,
    augment: weakAugment(ctx.inputShape, { flip: ctx.augment.choice.flip, vflip: ctx.augment.choice.verticalFlip }),
    epochs: cfg.finetune.epochs,
    batchSize: cfg.finetune.batchSize,
    lrHead: cfg.finetune.lr,
    lrEncoder: pretrained ? cfg.finetune.lr * cfg.finetune.encoderLrScale : cfg.finetune.lr,
    seed: cfg.seed,
    budget: stage,
    onEpoch: (_e, loss) => progress.tick(1, { loss: loss.toFixed(3) }),
  });
  progress.done();
  const probs = predictProba(encoder, head, testSubset(ctx).x, ctx.inputShape);
  head.dispose();
  return score(name, ctx, probs, (Date.now() - t0) / 1000);
}

async function stageResult(
  ctx: Context,
  name: StageName,
  wanted: (s: StageName) => boolean,
  compute: () => Promise<MethodResult>,
): Promise<MethodResult | undefined> {
  const done = await ctx.run.stage(name);
  if (done) return done.result as MethodResult;
  if (!wanted(name)) return undefined;
  const result = await compute();
  ctx.log(`${result.name}: test accuracy ${(result.acc * 100).toFixed(1)}% (${result.seconds.toFixed(0)} s)`);
  await ctx.run.appendLog({ stage: name, acc: result.acc, seconds: result.seconds });
  await ctx.run.stageDone(name, { result });
  return result;
}

export async function runPipeline(cfg: PipelineConfig, opts: PipelineOptions = {}): Promise<PipelineResult> {
  const log = opts.log ?? ((l: string) => console.log(l));
  if (cfg.labelsPerClass === undefined && cfg.totalLabels === undefined) {
    throw new UlearnError('config: give labelsPerClass or totalLabels', { code: 'E_CONFIG' });
  }
  const budget = new Budget(parseDuration(cfg.budget));
  const backend = await initBackend(cfg.backend, { threads: opts.threads });
  log(describeBackend(backend));
  const run = opts.runDir ? await RunDir.open(opts.runDir) : await RunDir.create(opts.runsRoot ?? 'runs', cfg);
  log(`run: ${run.dir}`);
  const splits = await loadDataset(cfg.testData ? { folder: cfg.data, test: cfg.testData } : cfg.data, { log });
  if (!splits.test) throw new UlearnError(`${cfg.data}: no test split; give testData (a labeled folder) to measure accuracy`, { code: 'E_CONFIG' });
  const train = splits.train;
  const lb = applyLabelBudget(train, { perClass: cfg.labelsPerClass, total: cfg.totalLabels, seed: cfg.seed });
  log(`data: ${train.name} ${train.size} train images (${lb.labeled.length} labeled, ${train.classes.length} classes), ${splits.test.size} test images`);
  const inputShape = imageShape(train);
  // Deterministic from the labels and seed, so a resumed run recomputes the same choice.
  const augment = resolveAugment(gather(train, lb.labeled), Int32Array.from(lb.labeled, (i) => lb.y[i]), inputShape, cfg.augment, { seed: cfg.seed });
  log(`augment: ${describeAugment(augment)}`);
  await run.appendLog({ stage: 'augment', ...augment });
  const ctx: Context = { cfg, run, train, test: splits.test, inputShape, labeled: lb.labeled, visibleY: lb.y, budget, log, augment };
  const wanted = (s: StageName) => !opts.stages || opts.stages.includes(s);

  // The report alone (`ulearn eval`) still shows pretraining curves and the embedding map when the run has them.
  const needsEncoder = ['pretrain', 'probe', 'finetune'].some((s) => wanted(s as StageName)) || (wanted('semi') && semiUsesEncoder(cfg)) || (await run.isStageDone('pretrain'));
  const pre = needsEncoder ? await pretrain(ctx) : undefined;
  const methods: MethodResult[] = [];
  const probeRes = await stageResult(ctx, 'probe', wanted, () => probe(ctx, pre!.encoder));
  const ftRes = await stageResult(ctx, 'finetune', wanted, () => supervised(ctx, 'SSL + fine-tune', pre!.encoder, true));
  const semiRes = cfg.semi ? await stageResult(ctx, 'semi', wanted, () => semiStage(ctx)) : undefined;
  const baseRes = await stageResult(ctx, 'baseline', wanted, () => supervised(ctx, 'supervised only', newEncoder(ctx, ctx.cfg.seed + 1), false));
  for (const r of [baseRes, probeRes, ftRes, semiRes]) if (r) methods.push(r);

  let reportPath = run.path('report.html');
  if (wanted('report')) {
    const embedding = pre ? embeddingMap(ctx, pre.encoder) : undefined;
    const input: ReportInput = {
      title: `ulearn: ${train.name.split('/')[0]} with ${lb.labeled.length} labels`,
      dataset: train.name.split('/')[0],
      labelsPerClass: cfg.labelsPerClass,
      totalLabels: lb.labeled.length,
      backend: describeBackend(backend),
      seed: cfg.seed,
      createdAt: new Date().toISOString(),
      classes: train.classes,
      methods: methods.map((m): ReportMethod => ({ name: m.name, acc: m.acc, perClass: m.perClass, confusion: m.confusion })),
      pretrain: pre ? { method: cfg.pretrain.method, epochs: pre.epochs, seconds: pre.seconds } : undefined,
      embedding,
      baselineName: baseRes ? baseRes.name : undefined,
    };
    const html = renderReport(input);
    await run.writeResults({ ...input, augment, config: cfg, budgetUsedSeconds: budget.elapsedMs() / 1000 });
    await run.writeReport(html);
    reportPath = run.path('report.html');
    await run.stageDone('report', {});
  }
  return { runDir: run.dir, methods, reportPath };
}

function semiUsesEncoder(cfg: PipelineConfig): boolean {
  return Boolean(cfg.semi && (NEEDS_ENCODER.includes(cfg.semi.method) || (cfg.semi.fromEncoder && cfg.semi.method !== 'supervised')));
}

/**
 * The optional semi-supervised classifier (src/semi): half of what fine-tuning left, so the baseline after it
 * still gets the other half. Saved as runs/<id>/model for `ulearn predict`.
 */
async function semiStage(ctx: Context): Promise<MethodResult> {
  const s = ctx.cfg.semi!;
  const t0 = Date.now();
  const fit = await fitMethod({
    method: s.method,
    train: ctx.train,
    y: ctx.visibleY,
    labeled: ctx.labeled,
    encoder: ctx.cfg.encoder,
    pretrained: semiUsesEncoder(ctx.cfg) ? ctx.run.path('checkpoints', 'pretrain-encoder') : undefined,
    settings: { threshold: s.threshold, mu: s.mu, steps: s.steps, batchSize: s.batchSize, k: s.k, alpha: s.alpha, epochs: ctx.cfg.finetune.epochs, flip: ctx.augment.choice.flip },
    seed: ctx.cfg.seed,
    budget: ctx.budget.child(0.5),
    log: ctx.log,
  });
  const probs = predictProba(fit.encoder, fit.head, testSubset(ctx).x, ctx.inputShape);
  const result = score(`semi: ${s.method}`, ctx, probs, (Date.now() - t0) / 1000);
  await saveClassifier(ctx.run.path('model'), fit.encoder, fit.head, {
    classes: ctx.train.classes,
    preprocessing: { inputShape: ctx.inputShape, resize: 'crop', scale: '1/255' },
    method: s.method,
    training: { data: ctx.cfg.data, labels: ctx.labeled.length, seed: ctx.cfg.seed, run: ctx.run.dir, testAccuracy: result.acc, ...fit.info },
  });
  fit.encoder.dispose();
  fit.head.dispose();
  return result;
}

function embeddingMap(ctx: Context, encoder: tfl.LayersModel): ReportInput['embedding'] {
  const n = Math.min(1500, ctx.test.size);
  const size = sampleSize(ctx.test);
  const f = embed(encoder, ctx.test.x.subarray(0, n * size), ctx.inputShape);
  const feats = f.dataSync() as Float32Array;
  const dim = f.shape[1];
  f.dispose();
  const map = umap2d(feats, dim, { seed: ctx.cfg.seed, maxPoints: n });
  const x: number[] = [];
  const y: number[] = [];
  const label: number[] = [];
  map.indices.forEach((i, k) => {
    x.push(map.coords[2 * k]);
    y.push(map.coords[2 * k + 1]);
    label.push(ctx.test.y[i]);
  });
  return { x, y, label };
}

/** The table `ulearn demo` prints. */
export function resultsTable(methods: MethodResult[]): string {
  const base = methods.find((m) => m.name === 'supervised only');
  const rows = methods.map((m) => {
    const delta = base && m !== base ? `${m.acc >= base.acc ? '+' : ''}${((m.acc - base.acc) * 100).toFixed(1)}` : '';
    return [m.name, `${(m.acc * 100).toFixed(1)}%`, delta, `${m.seconds.toFixed(0)} s`];
  });
  const header = ['method', 'test accuracy', 'vs supervised', 'time'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
