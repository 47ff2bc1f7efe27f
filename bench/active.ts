/**
 * `npm run bench active`: active learning on Fashion-MNIST (or `--data glyphs|shapes`, with `--encoder`) with a
 * simulated annotator.
 *
 * The pool is the 60,000 training images with their labels hidden; the annotator answers from the hidden
 * labels. For each strategy and seed, starting from no labels, the strategy picks batches up to each step of
 * the label schedule (batch mode: batch = next step - current), and after each step the light model is
 * retrained on the labels so far and scored on the 10,000 test images. Output:
 * bench/results/active-fashion-mnist.json (rows of accuracy mean ± std over seeds per strategy and label
 * count, and `labels_to_match_random_at_200`) and a chart next to it.
 *
 * Embeddings come from a frozen SSL encoder (`--encoder <run-dir or checkpoint dir>`; default: the one cached
 * in --work, else a fresh SimCLR pretraining of --pretrain-budget). They are computed once, L2-normalised and
 * cached with the kNN graph under --work; the encoder's weights hash names the cache and goes into the JSON.
 *
 * Each (strategy, seed) curve is saved under --work when done, so a killed benchmark resumes.
 */
import { createHash } from 'node:crypto';
import { cp, mkdir, readFile, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { curveChart } from '../src/active/curve-chart.js';
import { lightKnn, LIGHT_MODEL_KINDS, trainLightModel, type LightModelKind } from '../src/active/light-model.js';
import { createStrategy, STRATEGIES, type Strategy } from '../src/active/strategy.js';
import { loadDataset } from '../src/data/load.js';
import { describeBackend, initBackend } from '../src/engine/backend.js';
import { Rng } from '../src/engine/seed.js';
import { UlearnError } from '../src/errors.js';
import { meanStd } from '../src/eval/metrics.js';
import { loadEncoder } from '../src/models/load-encoder.js';
import { inspectCheckpoint } from '../src/runs/checkpoint.js';
import { graphFromKnn, type SparseGraph } from '../src/semi/label-spreading.js';
import { pipelineConfig, type PipelineConfigInput } from '../src/pipeline/config.js';
import { runPipeline } from '../src/pipeline/run-pipeline.js';
import { RunDir } from '../src/runs/run-dir.js';
import { encode } from '../src/models/encode.js';
import { writeFileAtomic, writeJsonAtomic } from '../src/util/atomic.js';
import { Budget } from '../src/util/budget.js';
import { Progress } from '../src/util/progress.js';
import { benchOptions, engineOptions, list, threadsOf } from './options.js';

/** Strategies that need the light model's probabilities: their first batch (no labels, no model) is random. */
const NEEDS_MODEL = new Set(['entropy', 'margin', 'least-confidence', 'badge']);
const GRAPH_NEIGHBORS = 10;

interface Curve {
  strategy: string;
  seed: number;
  lightModel: LightModelKind;
  encoderSha: string;
  schedule: number[];
  acc: number[];
  /** Seconds spent choosing each batch and retraining after it. */
  selectS: number[];
  trainS: number[];
  /** Labels per class at the end (how balanced the strategy's picks were). */
  classCounts: number[];
}

interface EncoderInfo {
  /** The run directory the encoder came from (its config.json names the architecture). */
  runDir: string;
  checkpoint: string;
  sha256: string;
  widths: number[];
  blocksPerStage: number;
  pretrain?: Record<string, unknown>;
}

const exists = (p: string) => stat(p).then(() => true, () => false);

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      strategies: { type: 'string', default: STRATEGIES.join(',') },
      labels: { type: 'string', default: '10,20,40,60,80,100,150,200,300,400,500' },
      ...benchOptions({ name: 'active', out: path.join('bench', 'results', 'active-fashion-mnist.json'), seeds: '0,1,2' }),
      ...engineOptions(),
      'light-model': { type: 'string', default: 'label-propagation' },
      encoder: { type: 'string' },
      'pretrain-budget': { type: 'string', default: '15m' },
      budget: { type: 'string' },
      /**
       * Where the light model is scored: 'test' (the 10,000 test images; the README's figures) or 'validation'
       * (10,000 training images held out of the pool, seed-fixed): design choices are made on validation, so
       * that the test figures are not what they were tuned on (issue 18 part 5).
       */
      eval: { type: 'string', default: 'test' },
      /** A named dataset (fashion-mnist, glyphs, shapes); other than Fashion-MNIST it needs --encoder. */
      data: { type: 'string', default: 'fashion-mnist' },
    },
  });
  const strategies = list(values.strategies!);
  for (const s of strategies) createStrategy(s); // unknown names fail before any work
  const schedule = list(values.labels!).map(Number);
  if (schedule.some((v, i) => !Number.isInteger(v) || v <= 0 || (i > 0 && v <= schedule[i - 1]))) {
    throw new UlearnError(`--labels: expected increasing positive integers, got ${values.labels}`, { code: 'E_ARG' });
  }
  const seeds = list(values.seeds!).map(Number);
  const lightModel = values['light-model'] as LightModelKind;
  if (!LIGHT_MODEL_KINDS.includes(lightModel)) throw new UlearnError(`--light-model: one of ${LIGHT_MODEL_KINDS.join(', ')}, got ${lightModel}`, { code: 'E_ARG' });
  const work = path.resolve(values.work!);
  const budget = Budget.parse(values.budget);
  const evalOn = values.eval!;
  const data = values.data!;
  if (data !== 'fashion-mnist' && !values.encoder) throw new UlearnError(`--data ${data}: give --encoder (e.g. a bench robustness run directory); only Fashion-MNIST pretrains its own`, { code: 'E_ARG' });
  // The default results file is named after the dataset.
  const out = values.out === path.join('bench', 'results', 'active-fashion-mnist.json') ? path.join('bench', 'results', `active-${data}.json`) : values.out!;
  if (evalOn !== 'test' && evalOn !== 'validation') throw new UlearnError(`--eval: test or validation, got '${evalOn}'`, { code: 'E_ARG' });
  const log = (l: string) => console.log(`[bench active] ${l}`);
  const started = new Date();
  await mkdir(path.join(work, 'curves'), { recursive: true });

  const backend = await initBackend(values.backend, { threads: threadsOf(values.threads, 2) });
  log(describeBackend(backend));
  const encoder = await resolveEncoder(values.encoder, work, values['pretrain-budget']!, log, values.backend!);
  log(`encoder ${encoder.checkpoint} (sha256 ${encoder.sha256.slice(0, 16)})`);
  const splits = await loadDataset(data);
  const train = splits.train;
  const test = splits.test!;
  const numClasses = train.classes.length;
  const cached = await cachedEmbeddings(encoder, train.x, test.x, train.inputShape, work, log);
  const { dim, seconds: embedS } = cached;
  // Rows: the pool first, then the images the light model is scored on (unlabeled graph nodes, never picked).
  const split = evalSplit(evalOn, train.size, test.size);
  const embeddings = evalOn === 'test' ? cached.embeddings : gatherEmbeddings(cached.embeddings, dim, [...split.pool, ...split.scored]);
  const trueY = evalOn === 'test' ? train.y : Int32Array.from(split.pool, (i) => train.y[i]);
  const scoredY = evalOn === 'test' ? test.y : Int32Array.from(split.scored, (i) => train.y[i]);
  const nPool = split.pool.length;
  const nAll = nPool + split.scored.length;
  const { graph, seconds: graphS } = await cachedGraph(embeddings, dim, nAll, encoder.sha256, work, log, evalOn === 'test' ? '' : '-val');
  const testRows = Int32Array.from({ length: split.scored.length }, (_, j) => nPool + j);

  const curves: Curve[] = [];
  const jobs = strategies.flatMap((strategy) => seeds.map((seed) => ({ strategy, seed })));
  const progress = new Progress('active learning', jobs.length * schedule.length);
  let stoppedEarly = false;
  for (const { strategy, seed } of jobs) {
    const file = path.join(work, 'curves', `${lightModel}-${strategy}-s${seed}${evalOn === 'test' ? '' : '-val'}.json`);
    const cached = (await exists(file)) ? (JSON.parse(await readFile(file, 'utf8')) as Curve) : undefined;
    if (cached && cached.encoderSha === encoder.sha256 && cached.schedule.join() === schedule.join()) {
      curves.push(cached);
      progress.tick(schedule.length);
      continue;
    }
    if (budget.exceeded()) {
      stoppedEarly = true;
      continue;
    }
    const curve = runCurve(strategy, seed, lightModel, schedule, { embeddings, dim, nPool, numClasses, trueY, graph, testRows, testY: scoredY }, (acc, labels) =>
      progress.tick(1, { [`${strategy}@${labels}`]: `${(acc * 100).toFixed(1)}%` }),
    );
    curve.encoderSha = encoder.sha256;
    await writeJsonAtomic(file, curve);
    curves.push(curve);
    progress.log(`${strategy} seed ${seed}: ${curve.acc.map((a, i) => `${schedule[i]}:${(a * 100).toFixed(1)}`).join(' ')}`);
  }
  progress.done();

  const result = summarise(curves, strategies, schedule);
  const wallS = (Date.now() - started.getTime()) / 1000;
  const chartFile = out.replace(/\.json$/, '') + '.svg';
  await writeJsonAtomic(out, {
    dataset: data,
    machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, node: process.version, backend: describeBackend(backend), load_1m_at_end: Number(os.loadavg()[0].toFixed(2)) },
    started: started.toISOString(),
    updated: new Date().toISOString(),
    wall_s: Math.round(wallS),
    complete: !stoppedEarly,
    evaluation: evalOn === 'test' ? `the ${test.size} test images` : `validation: ${split.scored.length} training images held out of the pool (not the test split)`,
    encoder: {
      path: path.relative(process.cwd(), encoder.checkpoint),
      sha256: encoder.sha256,
      architecture: { type: 'resnet', widths: encoder.widths, blocksPerStage: encoder.blocksPerStage, embeddingDim: dim },
      pretrain: encoder.pretrain,
      embed_s: embedS,
    },
    settings: {
      strategies,
      labels: schedule,
      seeds,
      light_model: lightModel,
      graph: lightModel === 'label-propagation' ? { neighbors: GRAPH_NEIGHBORS, metric: 'cosine', exact: graph.exact, build_s: graphS } : undefined,
      protocol:
        `pool: ${nPool} train images, labels revealed only when picked (simulated annotator). Embeddings: frozen encoder, L2-normalised. ` +
        `Batch mode: at each step the strategy picks (next - current) samples, then the ${lightModel} light model is retrained on all labels so far and scored on ${evalOn === 'test' ? `the ${test.size} test images` : `${split.scored.length} validation images held out of train`}. ` +
        (lightModel === 'label-propagation' ? `Label propagation is transductive over pool + the scored images as unlabeled nodes (none of their labels is used). ` : '') +
        `Strategies needing model probabilities (${[...NEEDS_MODEL].join(', ')}) start with a random first batch, the same draw as random sampling's for the same seed.`,
    },
    rows: result.rows,
    labels_to_match_random_at_200: result.match?.labels ?? null,
    labels_to_match_random_at_200_detail: result.match,
    per_strategy_labels_to_match: result.perStrategy,
    timing_s: Object.fromEntries(strategies.map((s) => {
      const cs = curves.filter((c) => c.strategy === s);
      const sum = (f: (c: Curve) => number[]) => cs.reduce((a, c) => a + f(c).reduce((x, y) => x + y, 0), 0) / Math.max(1, cs.length);
      return [s, { select_per_seed: Number(sum((c) => c.selectS).toFixed(1)), train_per_seed: Number(sum((c) => c.trainS).toFixed(1)) }];
    })),
  });
  const random200 = result.rows.find((r) => r.strategy === 'random' && r.labels === 200);
  await writeFileAtomic(
    chartFile,
    curveChart(
      strategies.map((s) => ({ name: s, points: result.rows.filter((r) => r.strategy === s).map((r) => ({ x: r.labels, y: r.acc_mean, std: r.acc_std })) })),
      {
        title: `${data}: ${evalOn} accuracy vs labels (${lightModel}, mean of ${seeds.length} seeds)`,
        reference: random200 ? { y: random200.acc_mean, label: `random at 200 labels: ${(random200.acc_mean * 100).toFixed(1)}%` } : undefined,
      },
    ),
  );
  log(`wrote ${out} and ${chartFile} (${Math.round(wallS)} s)`);
  if (result.match) log(`${result.match.strategy} reaches random@200 (${(result.match.target * 100).toFixed(2)}%) at ${result.match.labels} labels`);
  else log('no strategy reaches random sampling\'s accuracy at 200 labels with fewer labels');
  return stoppedEarly ? 3 : 0;
}

interface Pool {
  embeddings: Float32Array;
  dim: number;
  nPool: number;
  numClasses: number;
  trueY: Int32Array;
  graph: SparseGraph;
  testRows: Int32Array;
  testY: Int32Array;
}

/** One learning curve: the strategy picks, the annotator answers, the light model retrains and is scored. */
function runCurve(strategyName: string, seed: number, lightModel: LightModelKind, schedule: number[], pool: Pool, onStep: (acc: number, labels: number) => void): Curve {
  const { embeddings, dim, nPool, numClasses, trueY } = pool;
  const strategy: Strategy = createStrategy(strategyName);
  // Labels over pool + test rows (test rows stay -1 forever); strategies see the pool rows only.
  const labels = new Int32Array(embeddings.length / dim).fill(-1);
  const poolEmb = embeddings.subarray(0, nPool * dim);
  const poolLabels = labels.subarray(0, nPool);
  let probs: Float32Array | undefined;
  const curve: Curve = { strategy: strategyName, seed, lightModel, encoderSha: '', schedule, acc: [], selectS: [], trainS: [], classCounts: [] };
  let have = 0;
  for (const target of schedule) {
    const t0 = performance.now();
    const first = have === 0;
    const chooser = first && (NEEDS_MODEL.has(strategyName) || strategyName === 'random') ? createStrategy('random') : strategy;
    const rng = first && chooser.name === 'random' ? new Rng(seed).fork('first-batch') : new Rng(seed).fork(`${strategyName}@${have}`);
    const picks = chooser.select({ embeddings: poolEmb, dim, labels: poolLabels, numClasses, probs: probs?.subarray(0, nPool * numClasses), rng }, target - have);
    for (const i of picks) {
      if (poolLabels[i] !== -1) throw new Error(`${strategyName} picked already-labeled sample ${i}`);
      poolLabels[i] = trueY[i]; // the simulated annotator
    }
    have = target;
    const t1 = performance.now();
    const model = trainLightModel({ embeddings, dim, labels, numClasses, kind: lightModel, seed, graph: pool.graph });
    probs = model.probs;
    const acc = model.accuracyOn(pool.testRows, pool.testY);
    curve.acc.push(acc);
    curve.selectS.push(Number(((t1 - t0) / 1000).toFixed(2)));
    curve.trainS.push(Number(((performance.now() - t1) / 1000).toFixed(2)));
    onStep(acc, target);
  }
  curve.classCounts = Array.from({ length: numClasses }, (_, c) => poolLabels.filter((l) => l === c).length);
  return curve;
}

interface Row {
  strategy: string;
  labels: number;
  seeds: number[];
  acc: number[];
  acc_mean: number;
  acc_std: number;
}

function summarise(curves: Curve[], strategies: string[], schedule: number[]) {
  const rows: Row[] = [];
  for (const strategy of strategies) {
    const cs = curves.filter((c) => c.strategy === strategy).sort((a, b) => a.seed - b.seed);
    if (cs.length === 0) continue;
    schedule.forEach((labels, i) => {
      const acc = cs.map((c) => c.acc[i]);
      const { mean, std } = meanStd(acc);
      rows.push({ strategy, labels, seeds: cs.map((c) => c.seed), acc, acc_mean: mean, acc_std: std });
    });
  }
  const target = rows.find((r) => r.strategy === 'random' && r.labels === 200)?.acc_mean;
  const perStrategy: Record<string, number | null> = {};
  let match: { strategy: string; labels: number; target: number; acc_mean: number } | undefined;
  if (target !== undefined) {
    for (const strategy of strategies) {
      // Fewest labels whose mean is at least random's mean at 200 (no rounding, no interpolation).
      const hit = rows.filter((r) => r.strategy === strategy && r.acc_mean >= target).sort((a, b) => a.labels - b.labels)[0];
      perStrategy[strategy] = hit ? hit.labels : null;
      if (hit && (!match || hit.labels < match.labels || (hit.labels === match.labels && hit.acc_mean > match.acc_mean))) {
        match = { strategy, labels: hit.labels, target, acc_mean: hit.acc_mean };
      }
    }
  }
  return { rows, match, perStrategy };
}

function noWidths(checkpoint: string): never {
  throw new UlearnError(`${checkpoint}: neither the checkpoint nor its run's config.json records the encoder's widths`, { code: 'E_CHECKPOINT', hint: 'pretrain it again with this version of ulearn' });
}

/** Finds (or copies, or pretrains) the encoder; the cache copy lives in <work>/encoder as a run directory. */
async function resolveEncoder(given: string | undefined, work: string, pretrainBudget: string, log: (l: string) => void, backend: string): Promise<EncoderInfo> {
  const local = path.join(work, 'encoder');
  let runDir: string;
  if (given) {
    const abs = path.resolve(given);
    // A run directory, or its checkpoints/pretrain-encoder folder.
    runDir = (await exists(path.join(abs, 'checkpoints', 'pretrain-encoder', 'manifest.json'))) ? abs : path.resolve(abs, '..', '..');
    if (!(await exists(path.join(runDir, 'checkpoints', 'pretrain-encoder', 'manifest.json')))) {
      throw new UlearnError(`--encoder ${given}: no encoder checkpoint there`, { code: 'E_ARG', hint: 'give a pretraining run directory (with checkpoints/pretrain-encoder) or that checkpoint folder' });
    }
  } else if (await exists(path.join(local, 'checkpoints', 'pretrain-encoder', 'manifest.json'))) {
    runDir = local;
  } else {
    log(`no encoder given or cached: pretraining SimCLR for ${pretrainBudget} in ${local}`);
    const cfg = pipelineConfig({ data: 'fashion-mnist', labelsPerClass: 10, seed: 0, backend: backend as PipelineConfigInput['backend'], budget: pretrainBudget, pretrain: { method: 'simclr', budgetShare: 1 } });
    const r = await RunDir.create(work, cfg, { id: 'encoder' });
    await runPipeline(cfg, { runDir: r.dir, stages: ['pretrain'], log });
    runDir = local;
  }
  const checkpoint = path.join(runDir, 'checkpoints', 'pretrain-encoder');
  const weights = await readFile(path.join(checkpoint, 'weights.bin'));
  const sha256 = createHash('sha256').update(await readFile(path.join(checkpoint, 'manifest.json'), 'utf8').then((m) => JSON.stringify((JSON.parse(m) as { weights: unknown }).weights))).update(weights).digest('hex');
  // What the checkpoint records (a config written since widths became per modality leaves them out).
  const recorded = (await inspectCheckpoint(checkpoint))?.architecture;
  const config = (await exists(path.join(runDir, 'config.json'))) ? pipelineConfig(JSON.parse(await readFile(path.join(runDir, 'config.json'), 'utf8')) as object) : pipelineConfig({});
  const state = (await exists(path.join(runDir, 'state.json'))) ? (JSON.parse(await readFile(path.join(runDir, 'state.json'), 'utf8')) as { stages?: Record<string, Record<string, unknown>> }) : {};
  const pre = state.stages?.pretrain;
  const epochs = (pre?.epochs as { epoch: number; knnAcc?: number }[] | undefined) ?? [];
  const info: EncoderInfo = {
    runDir,
    checkpoint,
    sha256,
    widths: recorded?.widths ?? config.encoder.widths ?? noWidths(checkpoint),
    blocksPerStage: recorded?.blocksPerStage ?? config.encoder.blocksPerStage,
    pretrain: {
      method: config.pretrain.method,
      budget: config.budget,
      seconds: pre?.seconds,
      steps: pre?.steps,
      epochs: epochs.length ? Number(epochs[epochs.length - 1].epoch.toFixed(3)) : undefined,
      knn_monitor_acc: epochs.length ? epochs[epochs.length - 1].knnAcc : undefined,
      source: given ? path.resolve(given) : runDir,
    },
  };
  // Keep a copy next to the cache it produced, so the benchmark can be rerun after the source is gone.
  if (runDir !== local && !(await exists(path.join(local, 'checkpoints', 'pretrain-encoder')))) {
    await mkdir(local, { recursive: true });
    for (const f of ['config.json', 'state.json']) if (await exists(path.join(runDir, f))) await cp(path.join(runDir, f), path.join(local, f));
    await cp(checkpoint, path.join(local, 'checkpoints', 'pretrain-encoder'), { recursive: true });
  }
  return info;
}

async function cachedEmbeddings(encoder: EncoderInfo, trainX: Float32Array, testX: Float32Array, inputShape: number[], work: string, log: (l: string) => void) {
  const file = path.join(work, `embeddings-${encoder.sha256.slice(0, 16)}.f32`);
  const meta = file + '.json';
  const size = inputShape.reduce((a, b) => a * b, 1);
  const n = (trainX.length + testX.length) / size;
  if ((await exists(file)) && (await exists(meta))) {
    const m = JSON.parse(await readFile(meta, 'utf8')) as { n: number; dim: number; seconds: number };
    const buf = await readFile(file);
    if (m.n === n && buf.byteLength === m.n * m.dim * 4) {
      return { embeddings: new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength)), dim: m.dim, seconds: m.seconds };
    }
  }
  log(`embedding ${n} images (cached afterwards in ${file})`);
  const { encoder: model } = await loadEncoder(encoder.checkpoint, { inputShape });
  const t0 = performance.now();
  const parts: Float32Array[] = [];
  const progress = new Progress('embedding', n);
  const chunk = 5000;
  for (const x of [trainX, testX]) {
    for (let s = 0; s < x.length / size; s += chunk) {
      const m = Math.min(chunk, x.length / size - s);
      parts.push(encode(model, x.subarray(s * size, (s + m) * size), inputShape, { normalize: true }));
      progress.tick(m);
    }
  }
  progress.done();
  model.dispose();
  const dim = parts[0].length / Math.min(chunk, trainX.length / size);
  const embeddings = new Float32Array(n * dim);
  let o = 0;
  for (const p of parts) {
    embeddings.set(p, o);
    o += p.length;
  }
  const seconds = Number(((performance.now() - t0) / 1000).toFixed(1));
  await writeFileAtomic(file, new Uint8Array(embeddings.buffer));
  await writeJsonAtomic(meta, { n, dim, seconds, encoderSha256: encoder.sha256, normalised: 'l2', rows: `train (${trainX.length / size}) then test (${testX.length / size})` });
  return { embeddings, dim, seconds };
}

/** Validation images: 10,000 of train, the same for every seed and strategy. */
export const VALIDATION_SIZE = 10_000;

/**
 * Which rows form the pool and which are scored: with 'test', the training images and then the test images
 * (positions in the cached train-then-test embeddings); with 'validation', the training images minus a
 * seed-fixed 10,000 of them, and those 10,000.
 */
export function evalSplit(evalOn: 'test' | 'validation', nTrain: number, nTest: number): { pool: number[]; scored: number[] } {
  if (evalOn === 'test') return { pool: Array.from({ length: nTrain }, (_, i) => i), scored: Array.from({ length: nTest }, (_, j) => nTrain + j) };
  const held = new Uint8Array(nTrain);
  for (const i of new Rng(0).fork('active-validation').permutation(nTrain).slice(0, Math.min(VALIDATION_SIZE, Math.floor(nTrain / 2)))) held[i] = 1;
  const pool: number[] = [];
  const scored: number[] = [];
  for (let i = 0; i < nTrain; i++) (held[i] ? scored : pool).push(i);
  return { pool, scored };
}

function gatherEmbeddings(all: Float32Array, dim: number, rows: number[]): Float32Array {
  const out = new Float32Array(rows.length * dim);
  rows.forEach((r, k) => out.set(all.subarray(r * dim, (r + 1) * dim), k * dim));
  return out;
}

/** The neighbour search is the slow part, so it is what is cached; turning it into the spreading graph takes a second. */
async function cachedGraph(embeddings: Float32Array, dim: number, n: number, sha: string, work: string, log: (l: string) => void, tag: string): Promise<{ graph: SparseGraph; seconds: number }> {
  const file = path.join(work, `graph-${sha.slice(0, 16)}-k${GRAPH_NEIGHBORS}${tag}.bin`);
  const k = GRAPH_NEIGHBORS;
  if (await exists(file + '.json')) {
    const m = JSON.parse(await readFile(file + '.json', 'utf8')) as { seconds: number; exact: boolean };
    const buf = await readFile(file);
    if (buf.byteLength === n * k * 8) {
      const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
      return { graph: graphFromKnn({ n, k, indices: new Int32Array(ab, 0, n * k), distances: new Float32Array(ab, n * k * 4, n * k), exact: m.exact }, 3), seconds: m.seconds };
    }
  }
  log(`building the ${k}-NN graph over ${n} embeddings`);
  const t0 = performance.now();
  const knn = lightKnn(embeddings, dim, k);
  const seconds = Number(((performance.now() - t0) / 1000).toFixed(1));
  const bytes = new Uint8Array(n * k * 8);
  bytes.set(new Uint8Array(knn.indices.buffer, knn.indices.byteOffset, n * k * 4), 0);
  bytes.set(new Uint8Array(knn.distances.buffer, knn.distances.byteOffset, n * k * 4), n * k * 4);
  await writeFileAtomic(file, bytes);
  await writeJsonAtomic(file + '.json', { seconds, exact: knn.exact, neighbors: k, metric: 'cosine' });
  return { graph: graphFromKnn(knn, 3), seconds };
}
