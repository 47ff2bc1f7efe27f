/**
 * `npm run bench label-efficiency`: accuracy against label count for every method, measured the same way on
 * any dataset ulearn loads (named IDX sets, image folders): one dataset spec, one seed list, stratified label
 * draws (nested across counts), each run under the same time budget, evaluated on the whole test split.
 *
 * Each (method, labels, seed) is a unit whose result is written atomically to <work>/units/ when it finishes,
 * so a killed benchmark continues where it stopped (the unit that was running restarts; each is one budget
 * long at most). A unit's file name carries a hash of everything that decides its result (data and sizes,
 * encoder checkpoint hash, encoder shape, budget, overrides, threads, engine), so a rerun with other settings never
 * reuses it; the unit records those settings, and so does each row built from units. The JSON in
 * bench/results/ is rebuilt from every finished unit after each one, so separate invocations (--methods,
 * --labels) add up to one table, with the chart (.svg, .png) and an HTML page beside it; where one (method,
 * labels) was run under several settings, the JSON keeps every row and the chart shows the latest.
 *
 * Methods: supervised-only, ssl+linear, ssl+fine-tune, label-propagation, pseudo-label, ssl+pseudo-label,
 * fixmatch (from scratch), ssl+fixmatch; the ssl ones need --encoder (a pretrained encoder checkpoint, whose
 * hash and training state are recorded). all-labels (supervised on every label) is the upper bound.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import sharp from 'sharp';
import { applyLabelBudget } from '../src/data/label-budget.js';
import { loadDataset, type DatasetSpec } from '../src/data/load.js';
import { sampleSize, subset, type Dataset } from '../src/data/dataset.js';
import { describeBackend, initBackend } from '../src/engine/backend.js';
import { Rng } from '../src/engine/seed.js';
import { UlearnError } from '../src/errors.js';
import { labelEfficiencyChart, type EfficiencySeries } from '../src/eval/chart-label-efficiency.js';
import { esc, pct } from '../src/eval/format.js';
import { accuracy, argmaxRows, meanStd } from '../src/eval/metrics.js';
import { REPORT_CSS } from '../src/eval/report-style.js';
import { featureDim } from '../src/models/resnet.js';
import { encode } from '../src/models/encode.js';
import { buildEncoder, checkFitInput, DEFAULT_SEMI_SETTINGS, fitMethod, type EncoderSpec, type FitMethod, type SemiSettings } from '../src/semi/fit.js';
import { spreadingGraph, type SparseGraph } from '../src/semi/label-spreading.js';
import { checkThreshold } from '../src/semi/validate.js';
import { predictProba } from '../src/train/fit-classifier.js';
import { writeFileAtomic, writeJsonAtomic } from '../src/util/atomic.js';
import { Budget } from '../src/util/budget.js';
import { formatDuration } from '../src/util/duration.js';
import { engineOptions, list } from './options.js';

const METHODS: Record<string, { fit: FitMethod; ssl: boolean; describe: string }> = {
  'supervised-only': { fit: 'supervised', ssl: false, describe: 'ResNet from scratch on the labels only (weak augmentation)' },
  'ssl+linear': { fit: 'linear', ssl: true, describe: 'linear probe on the frozen SSL encoder' },
  'ssl+fine-tune': { fit: 'finetune', ssl: true, describe: 'SSL encoder + probe-initialised head, fine-tuned on the labels (LP-FT)' },
  'label-propagation': { fit: 'label-propagation', ssl: true, describe: 'label spreading on the kNN graph of SSL embeddings, then a linear head on the propagated labels' },
  'pseudo-label': { fit: 'pseudo-label', ssl: false, describe: 'online class-balanced pseudo-labeling from scratch' },
  'ssl+pseudo-label': { fit: 'pseudo-label', ssl: true, describe: 'online class-balanced pseudo-labeling from the SSL encoder' },
  fixmatch: { fit: 'fixmatch', ssl: false, describe: 'FixMatch from scratch (EMA weights evaluated)' },
  'ssl+fixmatch': { fit: 'fixmatch', ssl: true, describe: 'FixMatch from the SSL encoder (EMA weights evaluated)' },
};
const DEFAULT_METHODS = ['supervised-only', 'ssl+linear', 'ssl+fine-tune', 'label-propagation', 'ssl+pseudo-label', 'fixmatch', 'ssl+fixmatch'];
const ALL_LABELS = 'all-labels (supervised)';
/** The upper bound trains with larger batches and fewer epochs (every label, 60,000 of them). */
const ALL_LABELS_EXTRA: Partial<SemiSettings> = { batchSize: 128, epochs: 30 };

/** Everything that decides a unit's result besides (method, labels, seed); its hash names the unit's file. */
export interface UnitSettings {
  data: string;
  testData: string | null;
  trainSize: number;
  testSize: number;
  /** sha256 of the SSL encoder's weights, for the methods that use one (null for the others). */
  encoderSha256: string | null;
  encoder: EncoderSpec;
  /** Wall-clock budget per run in seconds; null: none (epoch and step caps only). */
  budget_s: number | null;
  overrides: Partial<SemiSettings>;
  threads: number | null;
  /** The engine the unit trained on (backend name: native, wasm...): a unit from one engine is never read back for another. */
  engine: string;
}

export function settingsKey(s: UnitSettings): string {
  return createHash('sha256').update(JSON.stringify(s)).digest('hex').slice(0, 12);
}

interface Unit {
  method: string;
  labels: number;
  seed: number;
  acc: number;
  wall_s: number;
  budget_s: number | null;
  info: Record<string, unknown>;
  finishedAt: string;
  load1m: number;
  settings: UnitSettings;
  key: string;
}

export interface Row {
  method: string;
  labels: number;
  seeds: number[];
  acc: number[];
  acc_mean: number;
  acc_std: number;
  wall_s: number[];
  protocol: string;
  /** Per seed: what the method did (steps, epochs, stopped by budget, pool accuracy...). */
  info: Record<string, unknown>[];
  /** The settings every seed of this row ran under, and their hash (the units' file-name key). */
  settings: UnitSettings;
  key: string;
  /** When its last unit finished. */
  finished: string;
}

const positiveInts = (flag: string, s: string) =>
  list(s).map((v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new UlearnError(`--${flag}: expected positive integers, got '${v}'`, { code: 'E_ARG' });
    return n;
  });

function datasetSlug(data: string): string {
  return path.basename(path.resolve(data)).replace(/[^A-Za-z0-9_.-]+/g, '-').toLowerCase();
}

async function encoderRecord(dir: string): Promise<{ path: string; sha256: string; state: unknown; spec?: EncoderSpec }> {
  const manifestFile = path.join(dir, 'manifest.json');
  if (!existsSync(manifestFile)) throw new UlearnError(`--encoder ${dir}: no checkpoint there (manifest.json missing)`, { code: 'E_ARG' });
  const weights = await readFile(path.join(dir, 'weights.bin'));
  const manifest = JSON.parse(await readFile(manifestFile, 'utf8')) as { state?: unknown };
  // A pipeline run keeps its encoder shape in <run>/config.json, two levels above the checkpoint.
  const cfgFile = path.join(dir, '..', '..', 'config.json');
  const spec = existsSync(cfgFile) ? ((JSON.parse(await readFile(cfgFile, 'utf8')) as { encoder?: EncoderSpec }).encoder ?? undefined) : undefined;
  return { path: path.resolve(dir), sha256: createHash('sha256').update(weights).digest('hex'), state: manifest.state ?? null, spec };
}

function seededSubset(ds: Dataset, n: number, seed: number, tag: string): Dataset {
  if (n <= 0 || n >= ds.size) return ds;
  const idx = new Rng(seed).fork(tag).permutation(ds.size).slice(0, n).sort((a, b) => a - b);
  return subset(ds, idx);
}

/** Features from the cache file, or computed and cached; `computed` says which (only then is the time an encoding cost). */
async function cachedFeatures(file: string, compute: () => Float32Array): Promise<{ f: Float32Array; computed: boolean }> {
  if (existsSync(file)) {
    const b = await readFile(file);
    return { f: new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)), computed: false };
  }
  const f = compute();
  await writeFileAtomic(file, new Uint8Array(f.buffer, f.byteOffset, f.byteLength));
  return { f, computed: true };
}

export function buildRows(units: Unit[]): Row[] {
  const groups = new Map<string, Unit[]>();
  for (const u of units) {
    const key = `${u.method}|${u.labels}|${u.key}`;
    groups.set(key, [...(groups.get(key) ?? []), u]);
  }
  return [...groups.values()]
    .map((us) => {
      us.sort((a, b) => a.seed - b.seed);
      const acc = us.map((u) => u.acc);
      const { mean, std } = meanStd(acc);
      const m = METHODS[us[0].method];
      const budgets = [...new Set(us.map((u) => u.budget_s))];
      return {
        method: us[0].method,
        labels: us[0].labels,
        seeds: us.map((u) => u.seed),
        acc,
        acc_mean: mean,
        acc_std: std,
        wall_s: us.map((u) => Number(u.wall_s.toFixed(1))),
        protocol: `${m ? m.describe : 'supervised on every training label'}; budget per run ${budgets.map((b) => (b === null ? 'unlimited' : formatDuration(b * 1000))).join(' / ')}`,
        info: us.map((u) => ({ seed: u.seed, ...u.info, load1m: u.load1m })),
        settings: us[0].settings,
        key: us[0].key,
        finished: us.map((u) => u.finishedAt).sort().at(-1)!,
      };
    })
    .sort((a, b) => a.method.localeCompare(b.method) || a.labels - b.labels || a.finished.localeCompare(b.finished));
}

/** One row per (method, labels): the latest, where settings changed between invocations (for the chart and page). */
export function latestRows(rows: Row[]): Row[] {
  const latest = new Map<string, Row>();
  for (const r of rows) {
    const k = `${r.method}|${r.labels}`;
    const had = latest.get(k);
    if (!had || r.finished > had.finished) latest.set(k, r);
  }
  return rows.filter((r) => latest.get(`${r.method}|${r.labels}`) === r);
}

/** Share of the supervised-to-all-labels gap that the best method closes at `labels`. */
export function gapClosed(rows: Row[], labels: number): { best: string; share: number } | undefined {
  const sup = rows.find((r) => r.method === 'supervised-only' && r.labels === labels);
  const all = rows.find((r) => r.method === ALL_LABELS);
  const others = rows.filter((r) => r.labels === labels && r.method !== 'supervised-only');
  if (!sup || !all || others.length === 0) return undefined;
  const best = others.reduce((a, b) => (b.acc_mean > a.acc_mean ? b : a));
  return { best: best.method, share: (best.acc_mean - sup.acc_mean) / (all.acc_mean - sup.acc_mean) };
}

function htmlPage(title: string, svg: string, rows: Row[], meta: Record<string, string>): string {
  const labelsList = [...new Set(rows.filter((r) => r.method !== ALL_LABELS).map((r) => r.labels))].sort((a, b) => a - b);
  const methods = [...new Set(rows.map((r) => r.method))];
  const cell = (m: string, l: number) => {
    const r = rows.find((x) => x.method === m && (x.labels === l || (m === ALL_LABELS && l === -1)));
    return r ? `${pct(r.acc_mean)} ± ${pct(r.acc_std)} <small>(${r.seeds.length} seed${r.seeds.length > 1 ? 's' : ''})</small>` : '—';
  };
  const head = `<tr><th>method</th>${labelsList.map((l) => `<th>${l} labels</th>`).join('')}<th>all labels</th></tr>`;
  const body = methods.map((m) => `<tr><td>${esc(m)}</td>${labelsList.map((l) => `<td>${m === ALL_LABELS ? '' : cell(m, l)}</td>`).join('')}<td>${m === ALL_LABELS ? cell(m, -1) : ''}</td></tr>`).join('');
  const metaHtml = Object.entries(meta).map(([k, v]) => `<div><dt>${esc(k)}</dt><dd>${esc(v)}</dd></div>`).join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title><style>${REPORT_CSS}</style></head><body><main><header><div class="kicker">ulearn benchmark</div><h1>${esc(title)}</h1><dl class="meta">${metaHtml}</dl></header><section class="card">${svg}</section><section class="card"><table>${head}${body}</table></section></main></body></html>`;
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      data: { type: 'string', default: 'fashion-mnist' },
      'test-data': { type: 'string' },
      methods: { type: 'string', default: DEFAULT_METHODS.join(',') },
      labels: { type: 'string', default: '40,100,250,1000' },
      seeds: { type: 'string', default: '0,1,2' },
      budget: { type: 'string', default: '45m' },
      'all-labels': { type: 'boolean', default: true },
      'no-all-labels': { type: 'boolean', default: false },
      'all-labels-budget': { type: 'string' },
      encoder: { type: 'string' },
      widths: { type: 'string' },
      blocks: { type: 'string' },
      'train-size': { type: 'string', default: '0' },
      'test-size': { type: 'string', default: '0' },
      threshold: { type: 'string' },
      mu: { type: 'string' },
      'batch-size': { type: 'string' },
      ...engineOptions(),
      work: { type: 'string' },
      out: { type: 'string' },
    },
  });
  const methods = list(values.methods!);
  for (const m of methods) if (!METHODS[m]) throw new UlearnError(`--methods: unknown method '${m}'`, { code: 'E_ARG', hint: `choose from: ${Object.keys(METHODS).join(', ')}` });
  const labelCounts = positiveInts('labels', values.labels!);
  const seeds = list(values.seeds!).map(Number);
  if (seeds.some((s) => !Number.isInteger(s) || s < 0)) throw new UlearnError(`--seeds: expected non-negative integers, got '${values.seeds}'`, { code: 'E_ARG' });
  // 'none': no wall-clock cap, the methods' epoch and step caps alone (what the tests use).
  const budgetMs = Budget.parse(values.budget).limitMs;
  const allLabelsMs = values['all-labels-budget'] ? Budget.parse(values['all-labels-budget']).limitMs : budgetMs;
  const settings: Partial<SemiSettings> = {};
  if (values.threshold !== undefined) settings.threshold = checkThreshold(Number(values.threshold), '--threshold');
  if (values.mu !== undefined) settings.mu = positiveInts('mu', values.mu)[0];
  if (values['batch-size'] !== undefined) settings.batchSize = positiveInts('batch-size', values['batch-size'])[0];
  const slug = datasetSlug(values.data!);
  const work = path.resolve(values.work ?? path.join('bench', '.work', 'label-efficiency', slug));
  const out = values.out ?? path.join('bench', 'results', `label-efficiency-${slug}.json`);
  const withAllLabels = values['all-labels']! && !values['no-all-labels'];
  const log = (l: string) => console.log(`[bench label-efficiency] ${l}`);

  const enc = values.encoder ? await encoderRecord(values.encoder) : undefined;
  if (methods.some((m) => METHODS[m].ssl) && !enc) {
    throw new UlearnError(`methods ${methods.filter((m) => METHODS[m].ssl).join(', ')} need --encoder <checkpoint dir> (a self-supervised encoder)`, { code: 'E_ARG' });
  }
  const spec: EncoderSpec = {
    widths: values.widths ? positiveInts('widths', values.widths) : (enc?.spec?.widths ?? [16, 32, 64]),
    blocksPerStage: values.blocks ? positiveInts('blocks', values.blocks)[0] : (enc?.spec?.blocksPerStage ?? 1),
  };

  const backend = await initBackend(values.backend, { threads: values.threads ? positiveInts('threads', values.threads)[0] : undefined });
  log(describeBackend(backend));
  const dataSpec: DatasetSpec = values['test-data'] ? { folder: values.data!, test: values['test-data'] } : values.data!;
  const splits = await loadDataset(dataSpec);
  if (!splits.test) throw new UlearnError(`${values.data}: no test split; give --test-data <labeled folder>`, { code: 'E_ARG' });
  const train = seededSubset(splits.train, Number(values['train-size']), 0, 'bench-train');
  const test = seededSubset(splits.test, Number(values['test-size']), 0, 'bench-test');
  const K = train.classes.length;

  // Every label draw and method check before any training: a bad --labels fails in a second, not after hours.
  const draws = new Map<string, ReturnType<typeof applyLabelBudget>>();
  for (const labels of labelCounts) {
    for (const seed of seeds) {
      const lb = applyLabelBudget(train, { total: labels, seed });
      draws.set(`${labels}|${seed}`, lb);
      for (const m of methods) checkFitInput({ method: METHODS[m].fit, train, y: lb.y, labeled: lb.labeled, pretrained: enc?.path, settings });
    }
  }

  await mkdir(path.join(work, 'units'), { recursive: true });
  const unitSettings = (method: string, ms: number | undefined): UnitSettings => ({
    data: values.data!,
    testData: values['test-data'] ?? null,
    trainSize: train.size,
    testSize: test.size,
    encoderSha256: METHODS[method]?.ssl ? enc!.sha256 : null,
    encoder: spec,
    budget_s: ms === undefined ? null : ms / 1000,
    overrides: { ...settings, ...(method === ALL_LABELS ? ALL_LABELS_EXTRA : {}) },
    threads: values.threads ? positiveInts('threads', values.threads)[0] : null,
    engine: backend.name,
  });
  const unitFile = (method: string, labels: number, seed: number, key: string) => path.join(work, 'units', `${method.replace(/[^a-z0-9.+-]+/gi, '_')}-l${labels}-s${seed}-${key}.json`);
  const started = new Date().toISOString();
  const loadUnits = async (): Promise<Unit[]> => {
    const files = (await readdir(path.join(work, 'units'))).filter((f) => f.endsWith('.json'));
    const units = await Promise.all(files.map(async (f) => JSON.parse(await readFile(path.join(work, 'units', f), 'utf8')) as Unit));
    // Units written before settings were recorded cannot say what they measured: left out (rerun them).
    const known = units.filter((u) => u.key !== undefined);
    if (known.length < units.length) log(`${units.length - known.length} unit file(s) without recorded settings in ${path.join(work, 'units')} left out`);
    return known;
  };
  const save = async () => {
    const allRows = buildRows(await loadUnits());
    const rows = latestRows(allRows);
    const gap = gapClosed(rows, 100);
    await writeJsonAtomic(out, {
      benchmark: 'label-efficiency',
      dataset: slug,
      data: values.data,
      train_size: train.size,
      test_size: test.size,
      classes: K,
      machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, node: process.version, backend: describeBackend(backend) },
      encoder: enc ? { path: enc.path, sha256: enc.sha256, state: enc.state, spec } : null,
      // This invocation's flags only; each row records the settings it ran under (rows.settings).
      last_invocation: { methods, labels: labelCounts, seeds, budget: values.budget, allLabelsBudget: values['all-labels-budget'] ?? values.budget, overrides: settings },
      started,
      updated: new Date().toISOString(),
      /** One-time cost of encoding train + test with the SSL encoder (shared by ssl+linear and label-propagation). */
      encode_s: existsSync(encodeFile) ? (JSON.parse(await readFile(encodeFile, 'utf8')) as { encode_s: number }).encode_s : null,
      rows: allRows,
      gap_closed_at_100: gap ?? null,
    });
    const series: EfficiencySeries[] = [...new Set(rows.filter((r) => r.method !== ALL_LABELS).map((r) => r.method))].map((m) => ({
      method: m,
      points: rows.filter((r) => r.method === m).map((r) => ({ labels: r.labels, mean: r.acc_mean, std: r.acc_std })),
    }));
    const all = rows.find((r) => r.method === ALL_LABELS);
    const svg = labelEfficiencyChart(series, all ? { label: 'all labels', acc: all.acc_mean } : undefined);
    if (!svg) return;
    const base = out.replace(/\.json$/, '');
    await writeFileAtomic(`${base}.svg`, svg);
    await writeFileAtomic(`${base}.png`, await sharp(Buffer.from(svg)).png().toBuffer());
    const meta = { dataset: `${slug} (${train.size} train, ${test.size} test)`, backend: describeBackend(backend), encoder: enc ? `${path.basename(path.dirname(path.dirname(enc.path)))} sha ${enc.sha256.slice(0, 12)}` : 'none', 'budget per run': [...new Set(rows.map((r) => (r.settings.budget_s === null ? 'none' : formatDuration(r.settings.budget_s * 1000))))].join(' / '), updated: new Date().toISOString() };
    await writeFileAtomic(`${base}.html`, htmlPage(`Label efficiency on ${slug}`, svg, rows, meta));
  };

  const size = sampleSize(train);
  const shape = train.inputShape as [number, number, number];
  let trainFeatures: Float32Array | undefined;
  let testFeatures: Float32Array | undefined;
  let graph: SparseGraph | undefined;
  const featureDimOfCache = () => trainFeatures!.length / train.size;
  const encodeFile = path.join(work, enc ? `encode-${enc.sha256.slice(0, 12)}-${train.size}-${test.size}.json` : 'encode.json');
  const ensureFeatures = async () => {
    if (trainFeatures || !enc) return;
    const te = Date.now();
    const encoder = await buildEncoder(shape, spec, 0, enc.path);
    const tag = `${enc.sha256.slice(0, 12)}-${train.size}-${test.size}`;
    const tr = await cachedFeatures(path.join(work, `features-${tag}-train.f32`), () => encode(encoder, train.x, shape, { progress: 'encode train' }));
    const ts = await cachedFeatures(path.join(work, `features-${tag}-test.f32`), () => encode(encoder, test.x, shape, { progress: 'encode test' }));
    trainFeatures = tr.f;
    testFeatures = ts.f;
    encoder.dispose();
    if (tr.computed && ts.computed) await writeJsonAtomic(encodeFile, { encode_s: (Date.now() - te) / 1000, train: train.size, test: test.size, load1m: os.loadavg()[0] });
  };

  const runUnit = async (method: string, labels: number, seed: number, labeled: Int32Array, y: Int32Array, ms: number | undefined) => {
    const unitCfg = unitSettings(method, ms);
    const key = settingsKey(unitCfg);
    const file = unitFile(method, labels, seed, key);
    if (existsSync(file)) return;
    const m = METHODS[method] ?? { fit: 'supervised' as FitMethod, ssl: false };
    log(`${method}, ${labels} labels, seed ${seed} (budget ${ms === undefined ? 'none' : formatDuration(ms)}, settings ${key})`);
    const frozen = m.fit === 'linear' || m.fit === 'label-propagation';
    // Encoding the pool once is shared by every frozen-encoder run, so it is timed apart (encode_s in the JSON).
    if (frozen) await ensureFeatures();
    const extra: Partial<SemiSettings> = method === ALL_LABELS ? ALL_LABELS_EXTRA : {};
    // The kNN graph depends on the features only, so all label-propagation runs share one; its build time is
    // recorded apart (graph_s in that unit's info), like the encoding.
    let graphS: number | undefined;
    if (m.fit === 'label-propagation' && !graph) {
      const tg = Date.now();
      graph = spreadingGraph(trainFeatures!, featureDimOfCache(), DEFAULT_SEMI_SETTINGS.k, 3);
      graphS = (Date.now() - tg) / 1000;
    }
    const t0 = Date.now();
    const fit = await fitMethod({ method: m.fit, train, y, labeled, encoder: spec, pretrained: m.ssl ? enc!.path : undefined, features: frozen ? trainFeatures : undefined, graph: m.fit === 'label-propagation' ? graph : undefined, settings: { ...settings, ...extra }, seed, budget: new Budget(ms), log });
    if (graphS !== undefined) fit.info.graph_s = Number(graphS.toFixed(1));
    let probs: Float32Array;
    if (frozen) {
      const dim = featureDim(fit.encoder);
      const p = tf.tidy(() => tf.softmax(fit.head.apply(tf.tensor2d(testFeatures!, [test.size, dim])) as tf.Tensor2D));
      probs = p.dataSync() as Float32Array;
      p.dispose();
    } else {
      probs = predictProba(fit.encoder, fit.head, test.x.subarray(0, test.size * size), shape);
    }
    const acc = accuracy(test.y, argmaxRows(probs, K));
    fit.encoder.dispose();
    fit.head.dispose();
    const unit: Unit = { method, labels, seed, acc, wall_s: (Date.now() - t0) / 1000, budget_s: unitCfg.budget_s, info: fit.info, finishedAt: new Date().toISOString(), load1m: Number(os.loadavg()[0].toFixed(2)), settings: unitCfg, key };
    await writeJsonAtomic(file, unit);
    log(`${method}, ${labels} labels, seed ${seed}: ${(acc * 100).toFixed(2)}% in ${unit.wall_s.toFixed(0)} s`);
    await save();
  };

  for (const labels of labelCounts) {
    for (const method of methods) {
      for (const seed of seeds) {
        const lb = draws.get(`${labels}|${seed}`)!;
        await runUnit(method, labels, seed, lb.labeled, lb.y, budgetMs);
      }
    }
  }
  if (withAllLabels) {
    const all = Int32Array.from({ length: train.size }, (_, i) => i).filter((i) => train.y[i] >= 0);
    for (const seed of seeds) await runUnit(ALL_LABELS, all.length, seed, all, train.y, allLabelsMs);
  }
  await save();
  log(`wrote ${out}`);
  return 0;
}
