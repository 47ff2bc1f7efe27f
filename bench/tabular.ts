/**
 * `npm run bench tabular [-- --part ingest|weka|all]` → bench/results/tabular.json.
 *
 * ingest: CSV ingest speed and memory on generated files (100k and 1M rows, 10 numeric + 1 categorical
 *   feature + a label). Each measurement runs in its own process (peak RSS = the process's maxRSS):
 *   `parse` = one streaming pass (parse + type profile, nothing kept), `dataset` = the full two-pass
 *   `loadTableDataset` (types, preprocessor fit, encoding into Float32Arrays). Rows/s both per wall second and
 *   per CPU second (the machine is shared, so wall time depends on the neighbours).
 * weka: Debian's Weka example ARFFs (segment, soybean, credit-g, diabetes, vote) at 5% and 10% labels, 3 seeds:
 *   logistic regression and the supervised-only MLP (labels only), SCARF + linear probe / fine-tune (LP-FT) /
 *   label propagation. If /usr/share/doc/weka/examples is absent, the files are taken from `apt-get download
 *   weka` + `dpkg -x` into bench/.work/ (weka depends on a JRE; only its example files are used).
 *   Resumable: each (dataset, seed) is stored under --work, in a file named by a hash of its settings (data
 *   files, label fractions, pretraining steps, the tabular config), and skipped when present: a rerun with
 *   other settings computes anew. Each stored result and each row records the settings it ran under.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, readdirSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { readTable } from '../src/data/table.js';
import { streamTable, ColumnProfile } from '../src/data/table.js';
import { loadTableDataset, tableToDatasets } from '../src/data/table-dataset.js';
import { describeBackend, initBackend } from '../src/engine/backend.js';
import { Rng } from '../src/engine/seed.js';
import { meanStd } from '../src/eval/metrics.js';
import { chooseLabeled, compareTabular, pretrainTabular, type TabularMethodResult } from '../src/pipeline/tabular.js';
import { tabularConfig, type TabularConfig } from '../src/pipeline/tabular-config.js';
import { writeJsonAtomic } from '../src/util/atomic.js';
import { benchOptions, list } from './options.js';

const log = (l: string) => console.log(`[bench tabular] ${l}`);
const OUT = path.join('bench', 'results', 'tabular.json');

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      part: { type: 'string', default: 'all' },
      rows: { type: 'string', default: '100000,1000000' },
      datasets: { type: 'string', default: 'segment,soybean,credit-g' },
      fractions: { type: 'string', default: '0.05,0.1' },
      ...benchOptions({ name: 'tabular', out: OUT, seeds: '0,1,2' }),
      // Internal: one ingest measurement in a child process.
      'child-ingest': { type: 'string' },
      mode: { type: 'string', default: 'dataset' },
    },
  });
  if (values['child-ingest']) return childIngest(values['child-ingest'], values.mode!);
  const work = path.resolve(values.work!);
  await mkdir(work, { recursive: true });
  const prev = await readFile(values.out!, 'utf8').then((t) => JSON.parse(t) as Record<string, unknown>).catch(() => ({}) as Record<string, unknown>);
  const result: Record<string, unknown> = { ...prev, machine: machine(), updated: new Date().toISOString() };
  if (values.part === 'ingest' || values.part === 'all') {
    result.ingest = await ingest(list(values.rows!).map(Number), work);
    await writeJsonAtomic(values.out!, result);
  }
  if (values.part === 'weka' || values.part === 'all') {
    const backend = describeBackend(await initBackend('wasm', { threads: 2 }));
    result.weka = await weka(list(values.datasets!), list(values.fractions!).map(Number), list(values.seeds!).map(Number), work, backend, async (partial) => {
      result.weka = partial;
      await writeJsonAtomic(values.out!, result);
    });
    await writeJsonAtomic(values.out!, result);
  }
  log(`wrote ${values.out}`);
  return 0;
}

function machine() {
  return { cpu: os.cpus()[0]?.model.trim(), cores: os.cpus().length, node: process.version, load_1m_at_write: Number(os.loadavg()[0].toFixed(2)) };
}

// ---- ingest --------------------------------------------------------------------------------------------

async function generateCsv(file: string, rows: number): Promise<void> {
  if (existsSync(file)) return;
  log(`writing ${file} (${rows} rows)`);
  const out = createWriteStream(file + '.tmp');
  const rng = new Rng(rows);
  out.write('f0,f1,f2,f3,f4,f5,f6,f7,f8,f9,colour,label\n');
  const colours = ['red', 'green', 'blue', 'cyan', 'magenta'];
  let buf = '';
  for (let i = 0; i < rows; i++) {
    const f: string[] = [];
    for (let j = 0; j < 10; j++) f.push(rng.random() < 0.01 ? '' : (rng.normal() * (j + 1)).toFixed(4));
    buf += `${f.join(',')},${colours[rng.int(5)]},${rng.random() < 0.9 ? '' : rng.int(3)}\n`;
    if (buf.length > 1 << 20) {
      if (!out.write(buf)) await new Promise<void>((r) => out.once('drain', () => r()));
      buf = '';
    }
  }
  out.write(buf);
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  execFileSync('mv', [file + '.tmp', file]);
}

interface IngestSample {
  mode: string;
  rows: number;
  bytes: number;
  wall_s: number;
  cpu_s: number;
  rows_per_s: number;
  rows_per_cpu_s: number;
  peak_rss_mb: number;
  baseline_rss_mb: number;
  output_mb: number;
  retained_after_gc_mb: number;
  load_1m: number;
}

async function childIngest(file: string, mode: string): Promise<number> {
  const baseline = process.resourceUsage().maxRSS / 1024;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let rows = 0;
  let outputMb = 0;
  if (mode === 'parse') {
    let profiles: ColumnProfile[] = [];
    const missing = new Set(['']);
    await streamTable(file, {}, (cols) => (profiles = cols.map(() => new ColumnProfile())), (values, line) => {
      for (let j = 0; j < values.length; j++) profiles[j].add(values[j], line, missing);
      rows++;
    });
  } else {
    const d = await loadTableDataset(file, { labelColumn: 'label', testFraction: 0.2 });
    rows = d.train.size + (d.test?.size ?? 0);
    outputMb = (d.train.x.byteLength + (d.test?.x.byteLength ?? 0) + 4 * rows) / 1e6;
  }
  const wall = (performance.now() - t0) / 1000;
  const u = process.cpuUsage(c0);
  const cpu = (u.user + u.system) / 1e6;
  const { size } = await import('node:fs').then((fs) => fs.statSync(file));
  // What is still held after a full GC: the output arrays (dataset mode) plus anything that grew with the file.
  (globalThis as { gc?: () => void }).gc?.();
  const retained = process.memoryUsage();
  const sample: IngestSample = {
    mode,
    rows,
    bytes: size,
    wall_s: round(wall, 3),
    cpu_s: round(cpu, 3),
    rows_per_s: Math.round(rows / wall),
    rows_per_cpu_s: Math.round(rows / cpu),
    peak_rss_mb: round(process.resourceUsage().maxRSS / 1024, 1),
    baseline_rss_mb: round(baseline, 1),
    output_mb: round(outputMb, 1),
    retained_after_gc_mb: round((retained.heapUsed + retained.arrayBuffers) / 1e6, 1),
    load_1m: round(os.loadavg()[0], 2),
  };
  console.log(`INGEST ${JSON.stringify(sample)}`);
  return 0;
}

async function ingest(sizes: number[], work: string) {
  const samples: IngestSample[] = [];
  for (const rows of sizes) {
    const file = path.join(work, `ingest-${rows}.csv`);
    await generateCsv(file, rows);
    for (const mode of ['parse', 'dataset']) {
      const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', path.join('bench', 'run.ts'), 'tabular', '--child-ingest', file, '--mode', mode], { encoding: 'utf8', maxBuffer: 1 << 24 });
      const line = r.stdout.split('\n').find((l) => l.startsWith('INGEST '));
      if (!line) throw new Error(`ingest child failed: ${r.stderr}`);
      const s = JSON.parse(line.slice(7)) as IngestSample;
      log(`${mode} ${rows} rows: ${s.rows_per_s} rows/s wall, ${s.rows_per_cpu_s} rows/cpu-s, peak RSS ${s.peak_rss_mb} MB (baseline ${s.baseline_rss_mb}, output ${s.output_mb}, retained after GC ${s.retained_after_gc_mb})`);
      samples.push(s);
    }
  }
  return {
    protocol:
      'generated CSV (10 numeric columns with 1% blanks, 1 categorical, label 90% blank); each measurement a fresh node process; parse = one streaming pass with type profiling; dataset = loadTableDataset two passes (profile + preprocessor fit, then encode) into Float32Arrays, 20% test split. Peak RSS = process maxRSS; output_mb = the Float32Array/Int32Array results, which necessarily grow with rows (the Dataset ids, one string per row, also grow and are not counted in output_mb); retained_after_gc_mb = V8 heap + array buffers still live after a forced GC at the end.',
    target: '>= 200,000 rows/s, memory independent of file size',
    samples,
  };
}

// ---- weka ----------------------------------------------------------------------------------------------

/** The Weka examples folder: the system's, or one unpacked from the weka .deb (no JRE needed for its files). */
export function wekaExamples(work: string): string {
  const system = '/usr/share/doc/weka/examples';
  if (existsSync(path.join(system, 'soybean.arff'))) return system;
  const root = path.join(work, 'weka');
  const dir = path.join(root, 'root', 'usr', 'share', 'doc', 'weka', 'examples');
  if (existsSync(path.join(dir, 'soybean.arff'))) return dir;
  log('weka examples not installed: apt-get download weka + dpkg -x');
  execFileSync('mkdir', ['-p', root]);
  execFileSync('apt-get', ['download', 'weka'], { cwd: root, stdio: 'inherit' });
  const deb = readdirSync(root).find((f) => f.startsWith('weka_') && f.endsWith('.deb'));
  if (!deb) throw new Error('apt-get download weka produced no .deb');
  execFileSync('dpkg', ['-x', path.join(root, deb), path.join(root, 'root')]);
  for (const f of readdirSync(dir)) if (f.endsWith('.gz')) execFileSync('gunzip', ['-f', path.join(dir, f)]);
  return dir;
}

export const WEKA: Record<string, { train: string; test?: string; label: string }> = {
  segment: { train: 'segment-challenge.arff', test: 'segment-test.arff', label: 'class' },
  soybean: { train: 'soybean.arff', label: 'class' },
  'credit-g': { train: 'credit-g.arff', label: 'class' },
  diabetes: { train: 'diabetes.arff', label: 'class' },
  vote: { train: 'vote.arff', label: 'Class' },
};

/** Stratified split: per class, `testShare` of its rows (rounded, at least 1 left for training) go to test. */
export function stratifiedSplit(y: string[], testShare: number, rng: Rng): { train: number[]; test: number[] } {
  const byClass = new Map<string, number[]>();
  y.forEach((c, i) => byClass.set(c, [...(byClass.get(c) ?? []), i]));
  const train: number[] = [];
  const test: number[] = [];
  for (const idx of byClass.values()) {
    rng.shuffle(idx);
    const nTest = Math.min(idx.length - 1, Math.round(idx.length * testShare));
    test.push(...idx.slice(0, nTest));
    train.push(...idx.slice(nTest));
  }
  return { train: train.sort((a, b) => a - b), test: test.sort((a, b) => a - b) };
}

/** The tabular config every Weka run uses (bench tabular and bench tune); `pretrain.epochs` is set per split. */
export function wekaConfig(spec: { train: string; label: string }, over: { pretrain?: Partial<TabularConfig['pretrain']>; finetune?: Partial<TabularConfig['finetune']> } = {}): TabularConfig {
  return tabularConfig({
    data: spec.train,
    labelColumn: spec.label,
    encoder: { widths: [128, 128] },
    // Whole epochs of 128 rows that reach PRETRAIN_STEPS; the epoch count is set once the split is known.
    pretrain: { epochs: 1, batchSize: 128, ...over.pretrain },
    finetune: { steps: 150, batchSize: 64, ...over.finetune },
  });
}

/** What decides one (dataset, seed) result besides the seed; hashed into its cache file name. */
interface WekaSettings {
  files: { train: string; test?: string; label: string };
  fractions: number[];
  pretrainSteps: number;
  testShare: number;
  /** The tabular config (encoder, pretraining, fine-tuning, methods), without the data path and pretrain.epochs. */
  config: Omit<TabularConfig, 'data' | 'pretrain'> & { pretrain: Omit<TabularConfig['pretrain'], 'epochs'> & { epochs: undefined } };
}

interface SeedResult {
  dataset: string;
  seed: number;
  settings: WekaSettings;
  key: string;
  train_rows: number;
  test_rows: number;
  features: number;
  classes: number;
  pretrain: { steps: number; epochs: number; seconds: number; final_loss: number };
  fractions: { fraction: number; labeled: number; results: TabularMethodResult[] }[];
  load_1m: number;
}

export const PRETRAIN_STEPS = 400;

async function weka(names: string[], fractions: number[], seeds: number[], work: string, backend: string, save: (partial: unknown) => Promise<void>) {
  const dir = wekaExamples(work);
  const perSeed: SeedResult[] = [];
  const summarise = () => summary(perSeed, names, fractions, seeds, backend, dir);
  for (const name of names) {
    const spec = WEKA[name];
    if (!spec) throw new Error(`unknown weka set '${name}' (known: ${Object.keys(WEKA).join(', ')})`);
    for (const seed of seeds) {
      const cfg = wekaConfig(spec);
      // A copy without the data path and the epoch count (derived from pretrainSteps and the split's size).
      const { data: _data, ...rest } = structuredClone(cfg);
      const config = { ...rest, pretrain: { ...rest.pretrain, epochs: undefined } };
      const settings: WekaSettings = { files: spec, fractions, pretrainSteps: PRETRAIN_STEPS, testShare: 0.3, config };
      const key = createHash('sha256').update(JSON.stringify(settings)).digest('hex').slice(0, 12);
      const cache = path.join(work, `weka-${name}-seed${seed}-${key}.json`);
      const done = await readFile(cache, 'utf8').then((t) => JSON.parse(t) as SeedResult).catch(() => undefined);
      if (done) {
        perSeed.push(done);
        continue;
      }
      const table = await readTable(path.join(dir, spec.train));
      const labelCol = table.columns.find((c) => c.name === spec.label)!;
      let data;
      if (spec.test) {
        // A separate test file: read both, encode the test rows with the preprocessor fitted on the training rows.
        const testTable = await readTable(path.join(dir, spec.test));
        const both = { ...table, columns: table.columns.map((c, j) => ({ ...c, raw: [...c.raw, ...testTable.columns[j].raw], missing: Uint8Array.from([...c.missing, ...testTable.columns[j].missing]) })), lines: Int32Array.from([...table.lines, ...testTable.lines]), nRows: table.nRows + testTable.nRows };
        const trainIdx = Array.from({ length: table.nRows }, (_, i) => i);
        const testIdx = Array.from({ length: testTable.nRows }, (_, i) => table.nRows + i);
        data = tableToDatasets(both, trainIdx, testIdx, { labelColumn: spec.label, seed });
      } else {
        const split = stratifiedSplit(labelCol.raw, settings.testShare, new Rng(seed).fork(`split/${name}`));
        data = tableToDatasets(table, split.train, split.test, { labelColumn: spec.label, seed });
      }
      const train = data.train;
      const test = data.test!;
      const stepsPerEpoch = Math.max(1, Math.floor(train.size / cfg.pretrain.batchSize));
      cfg.pretrain.epochs = Math.ceil(PRETRAIN_STEPS / stepsPerEpoch);
      log(`${name} seed ${seed}: ${train.size} train / ${test.size} test rows, ${train.inputShape[0]} features, ${train.classes.length} classes`);
      const pre = await pretrainTabular(train, data.preprocessor, cfg, seed);
      const res: SeedResult = {
        dataset: name,
        seed,
        settings,
        key,
        train_rows: train.size,
        test_rows: test.size,
        features: train.inputShape[0],
        classes: train.classes.length,
        pretrain: { steps: pre.steps, epochs: pre.epochs, seconds: round(pre.seconds, 2), final_loss: round(pre.finalLoss, 4) },
        fractions: [],
        load_1m: 0,
      };
      for (const fraction of fractions) {
        const labeled = chooseLabeled(train, { labelFraction: fraction }, seed);
        const { results, model } = compareTabular({ train, test }, labeled, pre.encoder, cfg, seed);
        model?.encoder.dispose();
        model?.head.dispose();
        res.fractions.push({ fraction, labeled: labeled.length, results: results.map((r) => ({ ...r, accuracy: round(r.accuracy, 4), seconds: round(r.seconds, 2) })) });
        log(`  ${fraction * 100}% (${labeled.length} labels): ${results.map((r) => `${r.method} ${(100 * r.accuracy).toFixed(1)}%`).join(', ')}`);
      }
      pre.encoder.dispose();
      res.load_1m = round(os.loadavg()[0], 2);
      await writeJsonAtomic(cache, res);
      perSeed.push(res);
      await save(summarise());
    }
  }
  return summarise();
}

function summary(perSeed: SeedResult[], names: string[], fractions: number[], seeds: number[], backend: string, dir: string) {
  const rows: unknown[] = [];
  for (const name of names) {
    const runs = perSeed.filter((r) => r.dataset === name);
    if (runs.length === 0) continue;
    for (const fraction of fractions) {
      const methods = runs[0].fractions.find((f) => f.fraction === fraction)?.results.map((r) => r.method) ?? [];
      for (const method of methods) {
        const acc: number[] = [];
        const secs: number[] = [];
        const labeled: number[] = [];
        for (const r of runs) {
          const f = r.fractions.find((x) => x.fraction === fraction)!;
          const m = f.results.find((x) => x.method === method)!;
          acc.push(m.accuracy);
          secs.push(m.seconds + (method.startsWith('ssl-') ? r.pretrain.seconds : 0));
          labeled.push(f.labeled);
        }
        const { mean, std } = meanStd(acc);
        rows.push({ dataset: name, label_fraction: fraction, labeled, method, settings: runs[0].settings, key: runs[0].key, seeds: runs.map((r) => r.seed), acc, acc_mean: round(mean, 4), acc_std: round(std, 4), seconds_incl_pretrain: secs.map((s) => round(s, 2)) });
      }
    }
  }
  return {
    backend,
    source: dir,
    settings: { fractions, seeds, encoder: 'MLP 128-128 ReLU', pretrain: `SCARF, ${PRETRAIN_STEPS} steps (whole epochs) of 128 rows, corruption 0.6, NT-Xent T=0.2, projector 256-128`, finetune: '150 steps of 64 labeled rows (with replacement across epochs), Adam 1e-3, encoder lr x0.1 for fine-tune' },
    protocol:
      'Per seed: stratified 70/30 split (segment: segment-challenge / segment-test), preprocessor fitted on the training rows, labels hidden except a stratified share (>= 1 per class). SCARF pretrains once per seed on all training rows; every method sees the same labeled rows. logreg = linear probe on the preprocessed features; supervised = the same MLP from scratch on the labels only; ssl-linear = probe on SCARF features; ssl-finetune = LP-FT; ssl-pseudo-label = LP-FT then 2 rounds of class-balanced self-training (predictions >= 0.9, at most 1/K of 60% of the unlabeled rows per class, fine-tuned again on labels + adopted predictions); ssl-labelprop = label spreading (shared solver: cos^3 kNN graph, k 10, class-balanced seeds, conjugate gradients) on SCARF features, test rows take the similarity-weighted scores of their 10 nearest training rows. seconds_incl_pretrain adds the shared pretraining time to the ssl-* methods.',
    rows,
    per_seed: perSeed,
  };
}

function round(v: number, d: number): number {
  const f = 10 ** d;
  return Math.round(v * f) / f;
}
