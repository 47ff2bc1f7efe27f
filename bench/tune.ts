/**
 * `npm run bench tune -- tabular|clean|all` → bench/results/tuning.json: the design choices that were first
 * made against test numbers, re-decided on data the reported numbers never see (issue 18 part 5).
 *
 * tabular: on the Weka sets (bench/tabular.ts), per seed, the benchmark's own training split (its test split
 *   is never read) is split again, stratified, into fit rows and a validation quarter. SCARF pretrains on the
 *   fit rows, labels are drawn from them (bench/tabular's fractions), and every choice is scored on the
 *   validation rows:
 *   - the SCARF temperature (first picked by soybean probe accuracy): ssl-linear validation accuracy;
 *   - label propagation's graph (first judged by soybean and credit-g test gains): k, class balance, affinity
 *     exponent and alpha, on the features of the default temperature's encoder;
 *   - the baselines get the same tuning: the supervised MLP's learning rate and weight decay, a grid as large
 *     as the temperature grid (logistic regression and the SSL probe share one probe, tuned alike or not at all).
 * clean: the HNSW settings of clean's kNN graph (first picked by recall on the benchmark's planted pairs, seed
 *   0): near copies of Fashion-MNIST training images (noise, contrast/brightness, JPEG q90: bench/clean.ts's
 *   kinds) planted in memory with other seeds; per setting the graph's build time (settings interleaved in one
 *   process, so machine load hits each alike), the share of pairs it holds as neighbours, and the near-duplicate
 *   check's recall end to end. The choice is made on the first seed and confirmed on the second (held out).
 *
 * The rule for every choice, fixed before running: keep the current default unless another setting beats it
 * by more than two standard errors of the paired difference over the units (dataset × seed × label fraction;
 * for clean: the fastest setting whose choice-seed recall is within half a point of the best). Resumable:
 * each unit is cached under --work in a file named by a hash of its settings. Runs on one thread.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { exactDuplicateCheck, nearDuplicateCheck } from '../src/clean/checks/duplicates.js';
import { buildNeighbourGraph, CLEAN_HNSW, type NeighbourGraph } from '../src/clean/neighbours.js';
import { samplesFromSplits } from '../src/clean/scan.js';
import type { CheckContext, CheckResult, ImageSamples } from '../src/clean/types.js';
import { loadDataset } from '../src/data/load.js';
import { readTable } from '../src/data/table.js';
import { tableToDatasets } from '../src/data/table-dataset.js';
import { describeBackend, initBackend } from '../src/engine/backend.js';
import { Rng } from '../src/engine/seed.js';
import { meanStd } from '../src/eval/metrics.js';
import { encode } from '../src/models/encode.js';
import { chooseLabeled, compareTabular, pretrainTabular } from '../src/pipeline/tabular.js';
import { labelSpreading, spreadToNewRows } from '../src/semi/label-spreading.js';
import { Budget } from '../src/util/budget.js';
import { writeJsonAtomic } from '../src/util/atomic.js';
import { PRETRAIN_STEPS, stratifiedSplit, WEKA, wekaConfig, wekaExamples } from './tabular.js';
import { benchOptions, list } from './options.js';

const OUT = path.join('bench', 'results', 'tuning.json');
const log = (l: string) => console.log(`[bench tune] ${l}`);
const key = (o: unknown) => createHash('sha256').update(JSON.stringify(o)).digest('hex').slice(0, 12);
const round = (v: number, d = 4) => Math.round(v * 10 ** d) / 10 ** d;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      datasets: { type: 'string', default: 'segment,soybean,credit-g' },
      fractions: { type: 'string', default: '0.05,0.1' },
      ...benchOptions({ name: 'tune', out: OUT, seeds: '0,1,2' }),
      'clean-seeds': { type: 'string', default: '1,2' },
    },
  });
  const part = positionals[0] ?? 'all';
  if (!['tabular', 'clean', 'all'].includes(part)) {
    console.error(`bench tune: expected tabular, clean or all, got '${part}'`);
    return 2;
  }
  const work = path.resolve(values.work!);
  await mkdir(work, { recursive: true });
  const prev = await readFile(values.out!, 'utf8').then((t) => JSON.parse(t) as Record<string, unknown>).catch(() => ({}) as Record<string, unknown>);
  const result: Record<string, unknown> = { ...prev, machine: { cpu: os.cpus()[0]?.model.trim(), cores: os.cpus().length, node: process.version, threads: 1 } };
  const backend = describeBackend(await initBackend('wasm', { threads: 1 }));
  if (part !== 'clean') {
    result.tabular = await tuneTabular(list(values.datasets!), list(values.fractions!).map(Number), list(values.seeds!).map(Number), work, backend);
    await writeJsonAtomic(values.out!, result);
  }
  if (part !== 'tabular') {
    result.clean = await tuneClean(list(values['clean-seeds']!).map(Number), work);
    await writeJsonAtomic(values.out!, result);
  }
  log(`wrote ${values.out}`);
  return 0;
}

// ---- the choice rule ------------------------------------------------------------------------------------

/**
 * Per candidate: its mean score over the units and its paired gain over the default (mean, standard error).
 * The choice is the best candidate if its gain exceeds two standard errors, else the default.
 */
function decide<T extends string>(scores: Record<T, number[]>, current: T) {
  const names = Object.keys(scores) as T[];
  const base = scores[current];
  const rows = names.map((name) => {
    const d = scores[name].map((v, u) => v - base[u]);
    const { mean, std } = meanStd(d);
    const se = d.length > 1 ? std / Math.sqrt(d.length) : Infinity;
    return { setting: name, mean: round(meanStd(scores[name]).mean), gain_vs_default: round(mean), gain_se: round(se), units: d.length };
  });
  const best = rows.reduce((a, b) => (b.mean > a.mean ? b : a));
  const changed = best.setting !== current && best.gain_vs_default > 2 * best.gain_se;
  return { rule: 'keep the default unless the best beats it by > 2 standard errors of the paired difference over units', default: current, best: best.setting, choice: changed ? best.setting : current, changed, candidates: rows.sort((a, b) => b.mean - a.mean) };
}

// ---- tabular --------------------------------------------------------------------------------------------

const TEMPERATURES = [0.1, 0.2, 0.5, 1];
const DEFAULT_T = 0.2;
/** Label propagation grid: k, class balance, affinity exponent gamma, alpha. The default is k10/bal/g3/a0.99. */
const LP_GRID = [5, 10, 20].flatMap((k) => [true, false].flatMap((balance) => [1, 3].flatMap((gamma) => [0.9, 0.99].map((alpha) => ({ k, balance, gamma, alpha })))));
const lpName = (o: { k: number; balance: boolean; gamma: number; alpha: number }) => `k${o.k}/${o.balance ? 'bal' : 'nobal'}/g${o.gamma}/a${o.alpha}`;
const LP_DEFAULT = 'k10/bal/g3/a0.99';
/** The supervised MLP's grid (as many points as the temperature grid); the default is lr 1e-3, weight decay 1e-4. */
const SUP_GRID = [1e-3, 3e-3].flatMap((lr) => [1e-4, 1e-3].map((weightDecay) => ({ lr, weightDecay })));
const supName = (o: { lr: number; weightDecay: number }) => `lr${o.lr}/wd${o.weightDecay}`;
const SUP_DEFAULT = 'lr0.001/wd0.0001';
const VAL_SHARE = 0.25;

interface TabularUnit {
  dataset: string;
  seed: number;
  key: string;
  fit_rows: number;
  val_rows: number;
  fractions: { fraction: number; labeled: number; scarf: Record<string, { linear: number; finetune: number }>; labelprop: Record<string, number>; supervised: Record<string, number> }[];
}

async function tuneTabular(names: string[], fractions: number[], seeds: number[], work: string, backend: string) {
  const dir = wekaExamples(work);
  const units: TabularUnit[] = [];
  for (const name of names) {
    const spec = WEKA[name];
    if (!spec) throw new Error(`unknown weka set '${name}' (known: ${Object.keys(WEKA).join(', ')})`);
    for (const seed of seeds) {
      const settings = { spec, fractions, pretrainSteps: PRETRAIN_STEPS, valShare: VAL_SHARE, temperatures: TEMPERATURES, lp: LP_GRID.map(lpName), sup: SUP_GRID.map(supName), config: wekaConfig(spec) };
      const k = key(settings);
      const cache = path.join(work, `tabular-${name}-seed${seed}-${k}.json`);
      const done = await readFile(cache, 'utf8').then((t) => JSON.parse(t) as TabularUnit).catch(() => undefined);
      if (done) {
        units.push(done);
        continue;
      }
      // The benchmark's training rows, exactly as bench/tabular.ts splits them (segment: its -challenge file);
      // their validation quarter is carved out here. The benchmark's test rows are never loaded.
      const table = await readTable(path.join(dir, spec.train));
      const labels = table.columns.find((c) => c.name === spec.label)!.raw;
      const benchTrain = spec.test ? Array.from({ length: table.nRows }, (_, i) => i) : stratifiedSplit(labels, 0.3, new Rng(seed).fork(`split/${name}`)).train;
      const inner = stratifiedSplit(benchTrain.map((i) => labels[i]), VAL_SHARE, new Rng(seed).fork(`val/${name}`));
      const data = tableToDatasets(table, inner.train.map((j) => benchTrain[j]), inner.test.map((j) => benchTrain[j]), { labelColumn: spec.label, seed });
      const fit = data.train;
      const val = data.test!;
      const dim = fit.inputShape[0];
      log(`${name} seed ${seed}: ${fit.size} fit / ${val.size} validation rows (test rows not read)`);
      const unit: TabularUnit = { dataset: name, seed, key: k, fit_rows: fit.size, val_rows: val.size, fractions: fractions.map((fraction) => ({ fraction, labeled: 0, scarf: {}, labelprop: {}, supervised: {} })) };
      const epochsFor = (batch: number) => Math.ceil(PRETRAIN_STEPS / Math.max(1, Math.floor(fit.size / batch)));
      for (const T of TEMPERATURES) {
        const cfg = wekaConfig(spec, { pretrain: { temperature: T } });
        cfg.pretrain.epochs = epochsFor(cfg.pretrain.batchSize);
        cfg.methods = ['ssl-linear', 'ssl-finetune'];
        const pre = await pretrainTabular(fit, data.preprocessor, cfg, seed);
        const feats = T === DEFAULT_T ? encode(pre.encoder, fit.x, [dim]) : undefined;
        for (const f of unit.fractions) {
          const labeled = chooseLabeled(fit, { labelFraction: f.fraction }, seed);
          f.labeled = labeled.length;
          const { results, model } = compareTabular({ train: fit, test: val }, labeled, pre.encoder, cfg, seed);
          model?.encoder.dispose();
          model?.head.dispose();
          const acc = (m: string) => round(results.find((r) => r.method === m)!.accuracy);
          f.scarf[String(T)] = { linear: acc('ssl-linear'), finetune: acc('ssl-finetune') };
          if (feats) {
            // Label propagation on the default encoder's features, every grid point on the same labels.
            const d = feats.length / fit.size;
            const fv = encode(pre.encoder, val.x, [dim]);
            const visible = new Int32Array(fit.size).fill(-1);
            for (const i of labeled) visible[i] = fit.y[i];
            for (const o of LP_GRID) {
              const spread = labelSpreading(feats, d, visible, fit.classes.length, { k: o.k, balance: o.balance, gamma: o.gamma, alpha: o.alpha });
              f.labelprop[lpName(o)] = round(accuracy(spreadToNewRows(feats, spread.proba, fit.classes.length, fv, d, o.k), val.y, fit.classes.length));
            }
          }
        }
        pre.encoder.dispose();
        log(`  T=${T}: ${unit.fractions.map((f) => `${f.fraction * 100}% linear ${(100 * f.scarf[String(T)].linear).toFixed(1)} / finetune ${(100 * f.scarf[String(T)].finetune).toFixed(1)}`).join(', ')}`);
      }
      for (const o of SUP_GRID) {
        const cfg = wekaConfig(spec, { finetune: { lr: o.lr, weightDecay: o.weightDecay } });
        cfg.methods = ['supervised'];
        for (const f of unit.fractions) {
          const labeled = chooseLabeled(fit, { labelFraction: f.fraction }, seed);
          const { results } = compareTabular({ train: fit, test: val }, labeled, undefined, cfg, seed);
          f.supervised[supName(o)] = round(results[0].accuracy);
        }
      }
      await writeJsonAtomic(cache, unit);
      units.push(unit);
    }
  }
  const pick = <T extends string>(get: (f: TabularUnit['fractions'][number]) => Record<T, number>) => {
    const out = {} as Record<T, number[]>;
    for (const u of units) for (const f of u.fractions) for (const [name, v] of Object.entries(get(f)) as [T, number][]) (out[name] ??= []).push(v);
    return out;
  };
  return {
    backend,
    protocol: `per dataset and seed: bench/tabular.ts's training split (segment: segment-challenge), stratified into fit rows and a ${VAL_SHARE * 100}% validation part; SCARF ${PRETRAIN_STEPS} steps on the fit rows; labels drawn from the fit rows at each fraction; accuracy on the validation rows. The benchmark's test rows are never read.`,
    units_are: 'dataset x seed x label fraction',
    datasets: names,
    seeds,
    fractions,
    scarf_temperature: decide(pick((f) => Object.fromEntries(Object.entries(f.scarf).map(([t, v]) => [t, v.linear]))), String(DEFAULT_T)),
    scarf_temperature_by_finetune: decide(pick((f) => Object.fromEntries(Object.entries(f.scarf).map(([t, v]) => [t, v.finetune]))), String(DEFAULT_T)),
    label_propagation: decide(pick((f) => f.labelprop), LP_DEFAULT),
    supervised_baseline: decide(pick((f) => f.supervised), SUP_DEFAULT),
    per_unit: units,
  };
}

function accuracy(proba: Float32Array, y: Int32Array, k: number): number {
  let right = 0;
  let n = 0;
  for (let i = 0; i < y.length; i++) {
    if (y[i] < 0) continue;
    let best = 0;
    for (let c = 1; c < k; c++) if (proba[i * k + c] > proba[i * k + best]) best = c;
    right += best === y[i] ? 1 : 0;
    n++;
  }
  return n ? right / n : 0;
}

// ---- clean ----------------------------------------------------------------------------------------------

const HNSW_GRID = [
  { connectivity: 8, expansionAdd: 32, expansionSearch: 16, quantization: 'i8' as const },
  { connectivity: 12, expansionAdd: 40, expansionSearch: 24, quantization: 'i8' as const },
  { connectivity: 16, expansionAdd: 64, expansionSearch: 32, quantization: 'i8' as const },
];
const hnswName = (o: (typeof HNSW_GRID)[number]) => `M${o.connectivity}/ef${o.expansionAdd}/${o.expansionSearch}`;
const NEAR_PAIRS = 500;

/** Fashion-MNIST (train + test) with `NEAR_PAIRS` near copies of training images appended, planted with `seed`. */
async function plantedSamples(seed: number): Promise<{ samples: ImageSamples; pairs: [number, number][] }> {
  const base = samplesFromSplits(await loadDataset('fashion-mnist'), 'fashion-mnist');
  const n0 = base.ids.length;
  const per = base.height * base.width * base.channels;
  const rng = new Rng(seed).fork('tune-plant');
  const trainIdx = Array.from({ length: n0 }, (_, i) => i).filter((i) => base.split[i] === 0);
  const src = rng.permutation(trainIdx.length).slice(0, NEAR_PAIRS).map((j) => trainIdx[j]);
  const copies: Uint8Array[] = [];
  for (const [k, i] of src.entries()) {
    const px = base.pixels.subarray(i * per, (i + 1) * per);
    const kind = (['noise', 'contrast', 'jpeg'] as const)[k % 3];
    if (kind === 'jpeg') {
      const jpg = await sharp(Buffer.from(px), { raw: { width: base.width, height: base.height, channels: base.channels as 1 } }).jpeg({ quality: 90 }).toBuffer();
      const raw = await sharp(jpg).extractChannel(0).raw().toBuffer();
      copies.push(new Uint8Array(raw));
    } else {
      const a = 0.85 + 0.3 * rng.random();
      const b = -20 + 40 * rng.random();
      copies.push(px.map((v) => Math.max(0, Math.min(255, Math.round(kind === 'noise' ? v + 5 * rng.normal() : a * v + b)))));
    }
  }
  const n = n0 + copies.length;
  const pixels = new Uint8Array(n * per);
  pixels.set(base.pixels);
  copies.forEach((c, j) => pixels.set(c, (n0 + j) * per));
  const grow = <T extends Uint8Array | Int32Array>(a: T, fill: (j: number) => number[], width = 1): T => {
    const b = new (a.constructor as new (n: number) => T)(n * width);
    b.set(a);
    for (let j = 0; j < copies.length; j++) b.set(fill(j), (n0 + j) * width);
    return b;
  };
  const samples: ImageSamples = {
    ...base,
    ids: [...base.ids, ...src.map((i) => `${base.ids[i]}-near`)],
    split: grow(base.split, () => [0]),
    y: grow(base.y, (j) => [base.y[src[j]]]),
    pixels,
    readable: grow(base.readable, () => [1]),
    nativeShape: grow(base.nativeShape, () => [base.height, base.width, base.channels], 3),
    nonFinite: grow(base.nonFinite, () => [0]),
  };
  return { samples, pairs: src.map((i, j) => [i, n0 + j]) };
}

async function tuneClean(seeds: number[], work: string) {
  const perSeed: Record<string, Record<string, { graph_seconds: number; pairs_in_graph: number; near_duplicate_recall: number; near_duplicate_flagged: number }>> = {};
  for (const seed of seeds) {
    const settings = { seed, pairs: NEAR_PAIRS, grid: HNSW_GRID, k: 10 };
    const cache = path.join(work, `clean-seed${seed}-${key(settings)}.json`);
    const done = await readFile(cache, 'utf8').then((t) => JSON.parse(t) as (typeof perSeed)[string]).catch(() => undefined);
    if (done) {
      perSeed[seed] = done;
      continue;
    }
    const { samples, pairs } = await plantedSamples(seed);
    log(`clean seed ${seed}: ${samples.ids.length} images, ${pairs.length} planted near pairs`);
    const ctx = (graph?: NeighbourGraph): CheckContext => ({
      samples,
      rng: new Rng(seed),
      budget: new Budget(undefined),
      log: () => undefined,
      results: new Map<string, CheckResult>(),
      neighbours: async () => graph ?? Promise.reject(new Error('no graph here')),
    });
    const exact = await exactDuplicateCheck.run(ctx());
    const out: (typeof perSeed)[string] = {};
    // Twice through the grid, interleaved (A, B, C, A, B, C): the second pass's times are recorded, so each
    // setting is timed under the same load and none pays the first call's warm-up.
    for (const pass of [0, 1]) {
      for (const o of HNSW_GRID) {
        const graph = buildNeighbourGraph(samples, { k: 10, mode: 'approximate', hnsw: o, threads: 1 });
        if (pass === 0) continue;
        const inGraph = pairs.filter(([a, b]) => holds(graph, a, b) || holds(graph, b, a)).length;
        const c = ctx(graph);
        c.results.set('exact_duplicate', exact);
        const near = await nearDuplicateCheck().run(c);
        const found = pairs.filter(([a, b]) => (near.flags[b] && near.related?.[b] === a) || (near.flags[a] && near.related?.[a] === b)).length;
        out[hnswName(o)] = { graph_seconds: round(graph.seconds, 2), pairs_in_graph: round(inGraph / pairs.length), near_duplicate_recall: round(found / pairs.length), near_duplicate_flagged: Number(near.summary.flagged) };
        log(`  ${hnswName(o)}: graph ${graph.seconds.toFixed(1)} s, pairs in graph ${inGraph}/${pairs.length}, near-duplicate recall ${found}/${pairs.length}`);
      }
    }
    await writeJsonAtomic(cache, out);
    perSeed[seed] = out;
  }
  const [choiceSeed, heldOut] = seeds;
  const choose = perSeed[choiceSeed];
  const best = Math.max(...Object.values(choose).map((r) => r.near_duplicate_recall));
  const eligible = Object.entries(choose).filter(([, r]) => r.near_duplicate_recall >= best - 0.005).sort((a, b) => a[1].graph_seconds - b[1].graph_seconds);
  const current = hnswName({ ...CLEAN_HNSW, quantization: 'i8' } as (typeof HNSW_GRID)[number]);
  return {
    protocol: `${NEAR_PAIRS} near copies (noise sigma 5/255, contrast 0.85-1.15 and brightness +-20, JPEG q90; a third each) of Fashion-MNIST training images, planted in memory into the 70,000 images with seeds ${seeds.join(' and ')} (bench clean plants with seed 0, which chose the current setting); k = 10 cosine graph on the pooled 7x7 embedding, one thread; the settings interleaved twice, the second pass timed.`,
    rule: 'the fastest setting whose near-duplicate recall on the choice seed is within 0.005 of the best; confirmed on the held-out seed',
    choice_seed: choiceSeed,
    held_out_seed: heldOut,
    default: current,
    choice: eligible[0][0],
    changed: eligible[0][0] !== current,
    per_seed: perSeed,
  };
}

function holds(g: NeighbourGraph, a: number, b: number): boolean {
  for (let j = 0; j < g.k; j++) if (g.indices[a * g.k + j] === b) return true;
  return false;
}
