/**
 * The whole job, as stages over one run directory: pretrain (self-supervised, on every training image with
 * labels hidden; `trainSSL`) -> estimate (each arm's accuracy from the labels alone, k-fold, which picks the
 * default arm) -> probe (linear classifier on frozen features) -> finetune (encoder + head on the few labels)
 * -> baseline (same architecture, labels, augmentations and epochs, from scratch) -> report.
 * Probe, fine-tune, baseline and the optional semi stage are `fitMethod` calls, the code `ulearn train` and the
 * label-efficiency benchmark run, so "SSL + fine-tune" means one thing everywhere.
 * Each finished stage is recorded in the run's state.json with its numbers (steps, and whether the budget cut
 * it short), so a killed run resumes where it stopped; pretraining also checkpoints atomically every
 * `monitorEvery` steps and continues from there.
 *
 * Audio runs featurize first (`prepareAudio`): the clips become normalised log-mel features [frames, 1, bins],
 * with the normalisation fitted on the pretraining pool and saved as preprocessor.json in the run directory
 * and beside the pretrained encoder, so every later stage and `ulearn train|predict` compute the same inputs.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { describeAugment, resolveAugment, type ResolvedAugment } from '../augment/choose.js';
import { simclrAugment } from '../augment/presets.js';
import { applyLabelBudget } from '../data/label-budget.js';
import { loadDataset } from '../data/load.js';
import { compareWithBaseline, formatResultsTable, sslVerdict, type AccuracyEstimate } from '../eval/comparison.js';
import { gather, sampleSize, type Dataset } from '../data/dataset.js';
import { loadPreprocessor, savePreprocessor } from '../data/preprocess/index.js';
import { AudioPreprocessor, featurize } from '../data/preprocess/audio.js';
import { spectrogramThumbnails } from '../eval/spectrogram.js';
import { describeBackend, initBackend } from '../engine/backend.js';
import { Rng } from '../engine/seed.js';
import { UlearnError } from '../errors.js';
import { umap2d } from '../eval/embedding-map.js';
import { accuracy, argmaxRows, confusionMatrix, perClassAccuracy } from '../eval/metrics.js';
import { renderReport, type ReportEpoch, type ReportInput, type ReportMethod } from '../eval/report.js';
import { buildEncoder, setArchitecture } from '../models/architecture.js';
import { encode, encodeFrozen } from '../models/encode.js';
import { loadEncoder } from '../models/load-encoder.js';
import { saveClassifier } from '../predict/image-model.js';
import { latestCheckpoint, loadCheckpoint, saveCheckpoint } from '../runs/checkpoint.js';
import { RunDir } from '../runs/run-dir.js';
import { KnnMonitor } from '../ssl/knn-monitor.js';
import { chooseArm, DEFAULT_ESTIMATE, estimateArms, usableFolds, type ArmEstimate, type EstimatedArm, type PropagationPool } from '../semi/estimate.js';
import { DEFAULT_SEMI_SETTINGS, fitEpochs, fitMethod, type SemiSettings } from '../semi/fit.js';
import { DEFAULT_GAMMA, spreadingGraph } from '../semi/label-spreading.js';
import { NEEDS_ENCODER } from '../semi/names.js';
import { createSSLMethod, createSSLViews } from '../ssl/registry.js';
import { trainSSL } from '../ssl/trainer.js';
import { predictProba } from '../train/fit-classifier.js';
import { Budget } from '../util/budget.js';
import type { PipelineConfig } from './config.js';
import { modality } from '../modality.js';

export const STAGES = ['pretrain', 'estimate', 'probe', 'propagate', 'finetune', 'semi', 'baseline', 'report'] as const;
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
  /** Optimizer steps of a trained arm (fine-tune, baseline, pseudo-label, FixMatch); absent for closed-form ones. */
  steps?: number;
  /** Epochs over the labels started (fine-tune, baseline). */
  epochs?: number;
  /** True when the budget ended the arm before its epochs or steps did: its accuracy is that of a shorter run. */
  stoppedByBudget?: boolean;
  /** Its accuracy estimated from the labels alone before the final fit (k-fold; src/semi/estimate.ts). */
  estimate?: AccuracyEstimate;
  /** The arm the estimates picked as the run's default. */
  chosen?: boolean;
}

/** The arms the estimate covers, by their names in tables and reports. */
const ARM_NAMES: Record<EstimatedArm, string> = { supervised: 'supervised only', linear: 'SSL + linear probe', finetune: 'SSL + fine-tune', 'label-propagation': 'SSL + label propagation' };

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
  /** What SSL pretrains on: `pretrainData`'s samples, else `train`'s. */
  pool: Dataset;
  /** Audio runs: the front-end the clips were featurized with (saved beside the encoder and the semi model). */
  audio?: AudioPreprocessor;
  inputShape: [number, number, number];
  labeled: Int32Array;
  visibleY: Int32Array;
  budget: Budget;
  log: (line: string) => void;
  /** Flips and crop scale: the user's, else chosen from the labeled images. */
  augment: ResolvedAugment;
  /** Label propagation's features and graph, built once for its estimate and its arm (`propagationPool`). */
  propagation?: Promise<PropagationPool>;
}

/** [H, W, C] of images, or [frames, 1, bins] of featurized audio. */
function imageShape(ds: Dataset): [number, number, number] {
  if ((ds.modality !== 'image' && ds.modality !== 'audio') || ds.inputShape.length !== 3) {
    throw new UlearnError(`${ds.source}: the pipeline needs images [H, W, C] or audio clips, got ${ds.modality} [${ds.inputShape}]`);
  }
  return ds.inputShape as [number, number, number];
}

/**
 * Audio: the clips of every split as normalised features. The normalisation is fitted on the pretraining pool
 * (the unlabeled data the encoder learns from) and saved in the run directory; a resumed run reads it back, so
 * its features are the ones it started with.
 */
async function prepareAudio(run: RunDir, train: Dataset, test: Dataset, pool: Dataset | undefined, log: (l: string) => void): Promise<{ train: Dataset; test: Dataset; pool?: Dataset; pre: AudioPreprocessor }> {
  const t0 = Date.now();
  const saved = await loadPreprocessor(run.dir);
  const fitOn = pool ?? train;
  let pre: AudioPreprocessor;
  let fitted: Dataset;
  if (saved instanceof AudioPreprocessor) {
    pre = saved;
    fitted = await featurize(fitOn, pre);
  } else {
    ({ pre, data: fitted } = await AudioPreprocessor.fitFeaturize(fitOn));
    await savePreprocessor(run.dir, pre);
  }
  const out = pool ? { train: await featurize(train, pre), pool: fitted } : { train: fitted };
  const testF = await featurize(test, pre);
  const clips = fitOn.size + (pool ? train.size : 0) + test.size;
  log(`audio features: log-mel, ${pre.outputShape[0]} frames × ${pre.outputShape[1]} bands per clip, normalised per band on the ${fitOn.size} clips of ${fitOn.name}${pre.cmn ? ', then each clip minus its own mean per band (CMN)' : ''}; ${clips} clips in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return { ...out, test: testF, pre };
}

/** A fresh encoder of the config's shape; it carries its architecture, so its checkpoints record it. */
function newEncoder(ctx: Context, seed: number, method = 'none'): tfl.LayersModel {
  return buildEncoder({ ...modality(ctx.train.modality).encoder(ctx.inputShape, ctx.cfg.encoder), method }, seed);
}

/**
 * Domain-adaptive pretraining (`encoder.from`): SSL continues from a loaded encoder (an imported model, another
 * run's), at the data's sample shape. Its checkpoints record where it came from (family 'imported' records its
 * source file), so the later stages load it back like a fresh encoder's.
 */
async function startingEncoder(ctx: Context): Promise<tfl.LayersModel> {
  const e = ctx.cfg.encoder;
  const { encoder, architecture } = await loadEncoder(e.from!, { inputShape: ctx.inputShape, preprocessing: e.preprocessing, cutAt: e.cutAt });
  setArchitecture(encoder, { ...architecture, method: ctx.cfg.pretrain.method });
  return encoder;
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
  const rng = new Rng(ctx.cfg.seed).fork('monitor');
  const known = rng.permutation(ctx.train.size).filter((i) => ctx.train.y[i] >= 0);
  if (known.length < 5 * ctx.train.classes.length) return undefined;
  const idx = known.slice(0, Math.min(3000, known.length));
  const nBank = Math.floor(idx.length * 0.8);
  const take = (ids: number[]) => ({ x: gather(ctx.train, ids), y: Int32Array.from(ids, (i) => ctx.train.y[i]) });
  return new KnnMonitor(take(idx.slice(0, nBank)), take(idx.slice(nBank)), ctx.inputShape, { k: 20 });
}

async function pretrain(ctx: Context): Promise<{ encoder: tfl.LayersModel; epochs: ReportEpoch[]; seconds: number }> {
  const { cfg, run } = ctx;
  const done = await run.stage('pretrain');
  if (done) {
    const { encoder } = await loadEncoder(run.path('checkpoints', 'pretrain-encoder'), { inputShape: ctx.inputShape });
    return { encoder, epochs: (done.epochs as ReportEpoch[]) ?? [], seconds: (done.seconds as number) ?? 0 };
  }
  const encoder = cfg.encoder.from ? await startingEncoder(ctx) : newEncoder(ctx, cfg.seed, cfg.pretrain.method);
  const sslConfig = {
    encoder,
    inputShape: ctx.inputShape,
    augment:
      ctx.train.modality === 'image'
        ? simclrAugment(ctx.inputShape, { flip: ctx.augment.choice.flip, vflip: ctx.augment.choice.verticalFlip, cropScale: ctx.augment.choice.cropScale })
        : modality(ctx.train.modality).sslViews!(ctx.inputShape, ctx.pool),
    seed: cfg.seed,
    lr: cfg.pretrain.lr,
  };
  const method = createSSLMethod(cfg.pretrain.method, sslConfig);
  const monitor = monitorSlices(ctx);
  let startStep = 0;
  let seconds = 0;
  let history: ReportEpoch[] = [];
  const ckpt = await latestCheckpoint(run, 'pretrain-encoder');
  if (ckpt) {
    await loadCheckpoint(run.path('checkpoints', 'pretrain-encoder'), encoder, { optimizer: method.optimizer });
    if (method.head) await loadCheckpoint(run.path('checkpoints', 'pretrain-head'), method.head);
    startStep = (ckpt.state.step as number) ?? 0;
    seconds = (ckpt.state.seconds as number) ?? 0;
    history = (ckpt.state.history as ReportEpoch[]) ?? [];
    ctx.log(`resuming pretraining at step ${startStep} (${history.length} monitor points)`);
  }
  const started = Date.now() - seconds * 1000;
  const result = await trainSSL({
    method,
    views: createSSLViews(cfg.pretrain.method, sslConfig),
    x: ctx.pool.x,
    poolSize: cfg.pretrain.poolSize,
    batchSize: cfg.pretrain.batchSize,
    epochs: cfg.pretrain.epochs,
    maxSteps: cfg.pretrain.maxSteps,
    budget: ctx.budget.child(cfg.pretrain.budgetShare ?? defaultPretrainShare(ctx.train.modality)),
    // Forked by the step, so a resumed run draws fresh batches rather than replaying the first ones.
    rng: new Rng(cfg.seed).fork(`pretrain-${startStep}`),
    startStep,
    monitor,
    every: cfg.pretrain.monitorEvery,
    progress: `pretrain ${cfg.pretrain.method}`,
    onCheckpoint: async (c) => {
      const point: ReportEpoch = { epoch: c.epoch, loss: Number.isNaN(c.meanLoss) ? 0 : c.meanLoss, knnAcc: c.knn?.accuracy, featureStd: c.knn?.normalizedStd };
      history.push(point);
      seconds = (Date.now() - started) / 1000;
      const state = { step: c.step, seconds, history };
      await saveCheckpoint(run.path('checkpoints', 'pretrain-encoder'), encoder, { state, optimizer: method.optimizer });
      if (method.head) await saveCheckpoint(run.path('checkpoints', 'pretrain-head'), method.head, { state });
      await run.appendLog({ stage: 'pretrain', step: c.step, ...point });
    },
  });
  monitor?.dispose();
  method.dispose();
  seconds = (Date.now() - started) / 1000;
  // The encoder's inputs travel with it: `ulearn train --encoder <this checkpoint>` featurizes new clips alike.
  if (ctx.audio) await savePreprocessor(run.path('checkpoints', 'pretrain-encoder'), ctx.audio);
  await run.stageDone('pretrain', { steps: result.steps, seconds, epochs: history, stoppedByBudget: result.stoppedByBudget });
  return { encoder, epochs: history, seconds };
}

/** The pretrained encoder's checkpoint, which the probe, fine-tune and semi stages start from. */
function pretrainedCheckpoint(ctx: Context): string {
  return ctx.run.path('checkpoints', 'pretrain-encoder');
}

/**
 * One classifier arm through `fitMethod`, the code `ulearn train` and the label-efficiency benchmark run, so
 * the pipeline's "SSL + fine-tune" is the benchmark's ssl+fine-tune (same epochs rule, LP-FT head, rates).
 * Records the steps it took and whether the budget cut it short.
 */
async function classifierArm(ctx: Context, name: string, method: 'linear' | 'finetune' | 'supervised', budget: Budget): Promise<MethodResult> {
  const t0 = Date.now();
  const { cfg } = ctx;
  const fit = await fitMethod({
    method,
    train: ctx.train,
    y: ctx.visibleY,
    labeled: ctx.labeled,
    encoder: cfg.encoder,
    pretrained: method === 'supervised' ? undefined : pretrainedCheckpoint(ctx),
    settings: armSettings(ctx),
    seed: cfg.seed,
    budget,
    log: ctx.log,
  });
  const probs = predictProba(fit.encoder, fit.head, testSubset(ctx).x, ctx.inputShape);
  fit.encoder.dispose();
  fit.head.dispose();
  return { ...score(name, ctx, probs, (Date.now() - t0) / 1000), ...trainingRecord(fit.info) };
}

/**
 * Label propagation is an arm of image runs: on the image suite it is the best arm on Fashion-MNIST and glyphs
 * and the worst on shapes (validation, bench/results/label-propagation-arm.json), which is what the estimate is
 * for. Audio runs keep their three measured arms (bench/results/speech-digits.json did not measure it).
 */
function propagates(ctx: Context): boolean {
  // defaultPretrainShare leaves image runs the time this arm needs.
  return ctx.train.modality === 'image';
}

/**
 * Pretraining's share of the budget when the config does not set one. 0.72 left the estimate and the three
 * final arms about 30 s to spare in 10 minutes (Fashion-MNIST, 2 threads). Label propagation adds about 50 s
 * (features and graph 18 s, six spreads in the estimate, its arm 15 s): at 0.72 the estimate's fine-tune folds
 * and the supervised baseline were cut short by the budget (162 of 180 steps), which starves the comparison's
 * reference. Image runs therefore pretrain for 0.64 of the budget (about 10 % fewer steps).
 */
export function defaultPretrainShare(kind: Dataset['modality']): number {
  return kind === 'image' ? 0.64 : 0.72;
}

/**
 * The pretrained encoder's features of every training sample and their kNN graph (k and gamma as
 * `ulearn train --method label-propagation` uses them), computed once per process for the estimate and the arm:
 * the graph does not depend on the labels.
 */
function propagationPool(ctx: Context): Promise<PropagationPool> {
  ctx.propagation ??= (async () => {
    const t0 = Date.now();
    const { encoder } = await loadEncoder(pretrainedCheckpoint(ctx), { inputShape: ctx.inputShape });
    const features = await encodeFrozen(encoder, ctx.train.x, ctx.inputShape, { progress: 'encode' });
    encoder.dispose();
    const dim = features.length / ctx.train.size;
    const graph = spreadingGraph(features, dim, DEFAULT_SEMI_SETTINGS.k, DEFAULT_GAMMA);
    ctx.log(`label propagation: ${ctx.train.size} × ${dim} features and their ${DEFAULT_SEMI_SETTINGS.k}-NN graph (${graph.exact ? 'exact' : 'HNSW'}) in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    return { features, dim, graph };
  })();
  return ctx.propagation;
}

/** SSL + label propagation: spreading over the pool, then a probe on every sample's propagated label (fitMethod). */
async function propagationArm(ctx: Context): Promise<MethodResult> {
  const t0 = Date.now();
  const pool = await propagationPool(ctx);
  const fit = await fitMethod({
    method: 'label-propagation',
    train: ctx.train,
    y: ctx.visibleY,
    labeled: ctx.labeled,
    pretrained: pretrainedCheckpoint(ctx),
    features: pool.features,
    graph: pool.graph,
    settings: armSettings(ctx),
    seed: ctx.cfg.seed,
    budget: ctx.budget,
    log: ctx.log,
  });
  const probs = predictProba(fit.encoder, fit.head, testSubset(ctx).x, ctx.inputShape);
  fit.encoder.dispose();
  fit.head.dispose();
  return { ...score(ARM_NAMES['label-propagation'], ctx, probs, (Date.now() - t0) / 1000), ...trainingRecord(fit.info) };
}

/** The fine-tune and baseline settings from the config (recipe keys the config leaves out take fitMethod's defaults). */
function armSettings(ctx: Context): Partial<SemiSettings> {
  const ft = ctx.cfg.finetune;
  const s: Partial<SemiSettings> = { epochs: ft.epochs, batchSize: ft.batchSize, lr: ft.lr, encoderLrScale: ft.encoderLrScale, flip: ctx.augment.choice.flip };
  if (ft.regularizer !== undefined) s.finetuneRegularizer = ft.regularizer;
  if (ft.weightDecay !== undefined) s.finetuneWeightDecay = ft.weightDecay;
  if (ft.lpft !== undefined) s.lpft = ft.lpft;
  if (ft.probeWeightDecay !== undefined) s.probeWeightDecay = ft.probeWeightDecay;
  return s;
}

/**
 * Estimates every arm's accuracy from the labels alone, before the final fits, and picks the default arm from
 * them (src/semi/estimate.ts). Recorded in state.json, so a resumed run reuses it. Undefined when turned off
 * (`estimate.folds: 0`) or when the run has no pretrained encoder to estimate the SSL arms with.
 */
async function estimateStage(ctx: Context, wanted: (s: StageName) => boolean, budget: Budget): Promise<ArmEstimate[] | undefined> {
  const done = await ctx.run.stage('estimate');
  if (done) return done.estimates as ArmEstimate[];
  const folds = ctx.cfg.estimate?.folds;
  if (!wanted('estimate') || folds === 0 || !(await ctx.run.isStageDone('pretrain'))) return undefined;
  const yl = Int32Array.from(ctx.labeled, (i) => ctx.visibleY[i]);
  if (usableFolds(yl, ctx.train.classes.length, folds ?? DEFAULT_ESTIMATE.folds) < 2) {
    // Said, not thrown: the final fits still run; only the choice between them has nothing to go on.
    ctx.log('estimate: skipped, a class has a single label (cross-validation needs two a class); no arm is chosen');
    return undefined;
  }
  const t0 = Date.now();
  const propagate = propagates(ctx) && wanted('propagate');
  const estimates = await estimateArms({
    arms: propagate ? ['supervised', 'linear', 'label-propagation', 'finetune'] : ['supervised', 'linear', 'finetune'],
    pool: propagate ? await propagationPool(ctx) : undefined,
    train: ctx.train,
    y: ctx.visibleY,
    labeled: ctx.labeled,
    encoder: ctx.cfg.encoder,
    pretrained: pretrainedCheckpoint(ctx),
    settings: armSettings(ctx),
    estimate: { folds, stepsScale: ctx.cfg.estimate?.stepsScale, curve: ctx.cfg.estimate?.curve, epochsScale: ctx.cfg.estimate?.epochsScale },
    seed: ctx.cfg.seed,
    budget,
  });
  const { chosen } = chooseArm(estimates);
  const seconds = (Date.now() - t0) / 1000;
  for (const e of estimates) {
    // Old run directories recorded no points; their estimate is the plain cross-validation.
    const curve = (e.points ?? []).length > 1 ? `, extrapolated from ${e.points.map((p) => `${(p.acc * 100).toFixed(1)}% on ${Math.round(p.share * 100)}% of the labels`).join(' and ')}` : '';
    ctx.log(`estimate from the labels (${e.folds}-fold${curve}): ${ARM_NAMES[e.method]} ${(e.acc * 100).toFixed(1)} ± ${(e.stderr * 100).toFixed(1)}%`);
  }
  ctx.log(`chosen from the estimates: ${ARM_NAMES[chosen]} (${seconds.toFixed(0)} s)`);
  await ctx.run.appendLog({ stage: 'estimate', estimates, chosen: ARM_NAMES[chosen], seconds });
  await ctx.run.stageDone('estimate', { estimates, chosen: ARM_NAMES[chosen], seconds });
  return estimates;
}

/** Attaches each arm's estimate, and marks the chosen one, on the results (a copy; stage records stay as they were). */
function withEstimates(methods: MethodResult[], estimates: ArmEstimate[] | undefined): MethodResult[] {
  if (!estimates) return methods;
  const chosen = ARM_NAMES[chooseArm(estimates).chosen];
  return methods.map((m) => {
    const e = estimates.find((x) => ARM_NAMES[x.method] === m.name);
    return e ? { ...m, estimate: { acc: e.acc, stderr: e.stderr, low: e.low, high: e.high, folds: e.folds, labels: e.total, curve: (e.points ?? []).length > 1, cv: e.points?.[0]?.acc }, chosen: m.name === chosen } : m;
  });
}

/** What a trained arm did, from fitMethod's info: steps, epochs, and whether the budget stopped it. */
function trainingRecord(info: Record<string, unknown>): Pick<MethodResult, 'steps' | 'epochs' | 'stoppedByBudget'> {
  const out: Pick<MethodResult, 'steps' | 'epochs' | 'stoppedByBudget'> = {};
  if (typeof info.steps === 'number') out.steps = info.steps;
  if (typeof info.epochs === 'number') out.epochs = info.epochs;
  if (typeof info.stoppedByBudget === 'boolean') out.stoppedByBudget = info.stoppedByBudget;
  return out;
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
  const budget = Budget.parse(cfg.budget);
  const backend = await initBackend(cfg.backend, { threads: opts.threads });
  log(describeBackend(backend));
  // Data and labels are checked before the run directory exists, so a config that fails here leaves no runs/<id>.
  if (cfg.testData && typeof cfg.data !== 'string') throw new UlearnError('config: testData goes with a folder given as data, not a dataset spec object', { code: 'E_CONFIG' });
  const splits = await loadDataset(cfg.testData && typeof cfg.data === 'string' ? { folder: cfg.data, test: cfg.testData } : cfg.data, { log });
  if (!splits.test) throw new UlearnError(`${typeof cfg.data === 'string' ? cfg.data : JSON.stringify(cfg.data)}: no test split; give testData (a labeled folder) to measure accuracy`, { code: 'E_CONFIG' });
  let train = splits.train;
  let test = splits.test;
  let pool = cfg.pretrainData === undefined ? undefined : (await loadDataset(cfg.pretrainData, { log })).train;
  if (pool && (pool.modality !== train.modality || pool.inputShape.join() !== train.inputShape.join())) {
    throw new UlearnError(`pretrainData ${pool.name}: ${pool.modality} samples of [${pool.inputShape}], but the data's are ${train.modality} [${train.inputShape}]`, { code: 'E_CONFIG' });
  }
  if (train.modality === 'audio' && cfg.augment !== undefined) throw new UlearnError('config: augment (flips, crop) is for images; audio runs use the audio augmentations', { code: 'E_CONFIG' });
  const lb = applyLabelBudget(train, { perClass: cfg.labelsPerClass, total: cfg.totalLabels, seed: cfg.seed });
  const run = opts.runDir ? await RunDir.open(opts.runDir) : await RunDir.create(opts.runsRoot ?? 'runs', cfg);
  log(`run: ${run.dir}`);
  const noun = train.modality === 'audio' ? 'clips' : 'images';
  log(`data: ${train.name} ${train.size} train ${noun} (${lb.labeled.length} labeled, ${train.classes.length} classes), ${test.size} test ${noun}${pool ? `; pretraining on ${pool.name} (${pool.size} ${noun})` : ''}`);
  let audio: AudioPreprocessor | undefined;
  if (train.modality === 'audio') ({ train, test, pool, pre: audio } = await prepareAudio(run, train, test, pool, log));
  const inputShape = imageShape(train);
  // Deterministic from the labels and seed, so a resumed run recomputes the same choice. Audio has no flips or
  // crops to choose: its augmentations are fixed (src/augment/audio.ts).
  const augment: ResolvedAugment =
    train.modality === 'image'
      ? resolveAugment(gather(train, lb.labeled), Int32Array.from(lb.labeled, (i) => lb.y[i]), inputShape, cfg.augment, { seed: cfg.seed })
      : { choice: { flip: false, verticalFlip: false, cropScale: [1, 1] }, decidedBy: { flip: 'user', verticalFlip: 'user', cropScale: 'user' } };
  log(train.modality === 'image' ? `augment: ${describeAugment(augment)}` : 'augment: audio (speed, pitch, time shift, gain, mixed-in noise, SpecAugment masks)');
  // Logged once per run: a resumed run recomputes the same choice and leaves log.jsonl as it was.
  if (!(await run.isStageDone('augment'))) {
    await run.appendLog({ stage: 'augment', ...augment });
    await run.stageDone('augment', { choice: augment.choice });
  }
  const ctx: Context = { cfg, run, train, test, pool: pool ?? train, audio, inputShape, labeled: lb.labeled, visibleY: lb.y, budget, log, augment };
  if (cfg.finetune.epochs === undefined) log(`fine-tune and baseline: ${fitEpochs(lb.labeled.length / train.classes.length)} epochs over the labels (max(20, 600 / labels per class))`);
  const wanted = (s: StageName) => !opts.stages || opts.stages.includes(s);

  // The report alone (`ulearn eval`) still shows pretraining curves and the embedding map when the run has them.
  const needsEncoder = ['pretrain', 'probe', 'propagate', 'finetune'].some((s) => wanted(s as StageName)) || (wanted('semi') && semiUsesEncoder(cfg)) || (await run.isStageDone('pretrain'));
  const pre = needsEncoder ? await pretrain(ctx) : undefined;
  const methods: MethodResult[] = [];
  // Before the final fits, inside the budget: three quarters of what pretraining left. With the default
  // 10 minutes pretraining leaves about 170 s; the estimate took 101 s of it (Fashion-MNIST, 100 labels, 2
  // threads: six fold fits per trained arm, see estimate.ts) and the final fits need about 35 s, so the arms
  // after it still get theirs.
  const estimates = await estimateStage(ctx, wanted, budget.child(0.75));
  const probeRes = await stageResult(ctx, 'probe', wanted, () => classifierArm(ctx, 'SSL + linear probe', 'linear', budget));
  const lpRes = propagates(ctx) ? await stageResult(ctx, 'propagate', wanted, () => propagationArm(ctx)) : undefined;
  // Fine-tune runs first and may use half of what is left; the baseline then may use all the rest, so when
  // time is short the baseline is never the one starved.
  const ftRes = await stageResult(ctx, 'finetune', wanted, () => classifierArm(ctx, 'SSL + fine-tune', 'finetune', budget.child(0.5)));
  const semiRes = cfg.semi ? await stageResult(ctx, 'semi', wanted, () => semiStage(ctx)) : undefined;
  const baseRes = await stageResult(ctx, 'baseline', wanted, () => classifierArm(ctx, 'supervised only', 'supervised', budget.child(1)));
  for (const r of withEstimates([baseRes, probeRes, lpRes, ftRes, semiRes].filter((m): m is MethodResult => m !== undefined), estimates)) methods.push(r);

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
      methods: methods.map((m): ReportMethod => ({ name: m.name, acc: m.acc, perClass: m.perClass, confusion: m.confusion, steps: m.steps, notes: trainingNote(m), estimate: m.estimate, chosen: m.chosen })),
      pretrain: pre ? { method: cfg.pretrain.method, epochs: pre.epochs, seconds: pre.seconds } : undefined,
      embedding,
      baselineName: baseRes ? baseRes.name : undefined,
      ...(ctx.audio ? audioReport(ctx, ctx.audio) : {}),
    };
    input.verdict = sslVerdict(input.methods, input.baselineName);
    const html = renderReport(input);
    const chosen = methods.find((m) => m.chosen)?.name;
    await run.writeResults({ ...input, augment, estimates, chosen, comparison: compareWithBaseline(input.methods, input.baselineName), config: cfg, budgetUsedSeconds: budget.elapsedMs() / 1000 });
    await run.writeReport(html);
    reportPath = run.path('report.html');
    await run.stageDone('report', {});
  }
  return { runDir: run.dir, methods, reportPath };
}

/** What an audio run's report adds: a spectrogram per class (first test clip of each) and where the data came from. */
function audioReport(ctx: Context, pre: AudioPreprocessor): Pick<ReportInput, 'spectrograms' | 'dataNote'> {
  const [frames, bins] = pre.outputShape;
  const { x, y } = testSubset(ctx);
  const items = spectrogramThumbnails(x, y, ctx.train.classes.length, frames, bins, (i) => ctx.test.ids[i]);
  const f = pre.features;
  const synthetic = ctx.train.name.startsWith('speech-digits');
  return {
    spectrograms: { frames, bins, items, note: `normalised ${f.kind === 'mfcc' ? 'MFCC' : 'log-mel'} features, ${f.nMels} mel bands, ${(f.hop / f.sampleRate) * 1000} ms hop` },
    dataNote: synthetic
      ? 'The speech is synthetic: spoken by text-to-speech engines (espeak-ng, flite, festival), tested on voices held out of training.'
      : undefined,
  };
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
    pretrained: semiUsesEncoder(ctx.cfg) ? pretrainedCheckpoint(ctx) : undefined,
    settings: { threshold: s.threshold, mu: s.mu, steps: s.steps, batchSize: s.batchSize, k: s.k, alpha: s.alpha, epochs: ctx.cfg.finetune.epochs, flip: ctx.augment.choice.flip },
    seed: ctx.cfg.seed,
    budget: ctx.budget.child(0.5),
    log: ctx.log,
  });
  const probs = predictProba(fit.encoder, fit.head, testSubset(ctx).x, ctx.inputShape);
  const result = { ...score(`semi: ${s.method}`, ctx, probs, (Date.now() - t0) / 1000), ...trainingRecord(fit.info) };
  await saveClassifier(ctx.run.path('model'), fit.encoder, fit.head, {
    classes: ctx.train.classes,
    preprocessing: { inputShape: ctx.inputShape, resize: 'crop', scale: '1/255', ...(ctx.audio ? { modality: 'audio' as const } : {}) },
    method: s.method,
    training: { data: ctx.cfg.data, labels: ctx.labeled.length, seed: ctx.cfg.seed, run: ctx.run.dir, testAccuracy: result.acc, ...fit.info },
  });
  // An audio model reads clips through the run's front-end: it goes into the model folder too.
  if (ctx.audio) await savePreprocessor(ctx.run.path('model'), ctx.audio);
  fit.encoder.dispose();
  fit.head.dispose();
  return result;
}

function embeddingMap(ctx: Context, encoder: tfl.LayersModel): ReportInput['embedding'] {
  const n = Math.min(1500, ctx.test.size);
  const size = sampleSize(ctx.test);
  const feats = encode(encoder, ctx.test.x.subarray(0, n * size), ctx.inputShape, { normalize: true });
  const dim = feats.length / n;
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

/** "60 epochs, 180 steps", or "stopped by the budget after 12 epochs (36 steps)"; undefined for untrained arms. */
export function trainingNote(m: Pick<MethodResult, 'steps' | 'epochs' | 'stoppedByBudget'>): string | undefined {
  if (m.steps === undefined) return undefined;
  const work = m.epochs === undefined ? `${m.steps} steps` : `${m.epochs} epoch${m.epochs === 1 ? '' : 's'} (${m.steps} steps)`;
  return m.stoppedByBudget ? `stopped by the budget after ${work}` : work;
}

/** The table `ulearn demo` prints; "(budget)" marks an arm the budget cut short. */
export function resultsTable(methods: MethodResult[]): string {
  return formatResultsTable(methods, 'supervised only');
}
