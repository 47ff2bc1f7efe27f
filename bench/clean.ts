/**
 * `npm run bench clean`: time and peak memory of `ulearn clean` on all 70,000 Fashion-MNIST images, and how well
 * it finds planted problems, into bench/results/clean.json.
 *
 * 1. `ulearn clean fashion-mnist` (the IDX files) in a child process: wall time and the child's own peak RSS.
 * 2. A copy of Fashion-MNIST written as a PNG folder (train/<class>/, test/<class>/) under --work with planted
 *    problems: exact copies of train images, near copies (pixel noise sigma 5/255, a +-15% contrast and +-20
 *    brightness change, or JPEG q90 re-encoding, one third each), exact copies of test images in train
 *    (leakage), damaged files (truncated, a flipped byte in the image data, zero bytes, not an image) and
 *    flipped labels (5% of the 60,000 train images filed under another class). The sets of touched images are
 *    disjoint. Then `ulearn clean <train> --test-data <test>` in a child process (the same code path a user
 *    runs), timed, and precision/recall per check against what was planted.
 * 3. The tabular checks on a generated 1,000,000-row CSV (--skip-csv to leave out).
 * --skip-timing / --skip-planted leave out parts 1 / 2; --repeats N times part 1 (default 3).
 * The planted folder and the CSV are kept and reused (they take minutes to write), each under a name that
 * carries a hash of the settings that made it (seed, flip rate, counts; rows), so other settings write a new
 * one; each part of the result records the settings it ran under.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { loadDataset } from '../src/data/load.js';
import { meanStd } from '../src/eval/metrics.js';
import { Rng } from '../src/engine/seed.js';
import { writeJsonAtomic } from '../src/util/atomic.js';
import { mapLimit } from '../src/util/pool.js';

/** Short hash of the settings that made a cached artefact; part of its file name. */
function settingsKey(settings: object): string {
  return createHash('sha256').update(JSON.stringify(settings)).digest('hex').slice(0, 12);
}

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

interface Planted {
  /** [kept-or-flagged a, b] pairs as "split/id" keys. */
  exact: [string, string][];
  near: [string, string][];
  leakage: [string, string][];
  corrupt: string[];
  flipped: string[];
  nearKinds: Record<string, number>;
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      work: { type: 'string', default: path.join('bench', '.work', 'clean') },
      out: { type: 'string', default: path.join('bench', 'results', 'clean.json') },
      seed: { type: 'string', default: '0' },
      'flip-rate': { type: 'string', default: '0.05' },
      exact: { type: 'string', default: '500' },
      near: { type: 'string', default: '500' },
      leak: { type: 'string', default: '200' },
      corrupt: { type: 'string', default: '200' },
      'skip-timing': { type: 'boolean', default: false },
      'skip-planted': { type: 'boolean', default: false },
      'skip-csv': { type: 'boolean', default: false },
      repeats: { type: 'string', default: '3' },
    },
  });
  const work = path.resolve(values.work!);
  await mkdir(work, { recursive: true });
  const seed = Number(values.seed);
  const log = (l: string) => console.log(`[bench clean] ${l}`);
  const prev = existsSync(values.out!) ? (JSON.parse(await readFile(values.out!, 'utf8')) as Record<string, unknown>) : {};
  const result: Record<string, unknown> = {
    ...prev,
    machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version, platform: `${os.platform()} ${os.arch()}` },
    seed,
    started: new Date().toISOString(),
  };

  if (!values['skip-timing']) {
    const walls: number[] = [];
    const rss: number[] = [];
    const loads: number[][] = [];
    let t: ReturnType<typeof cli> | undefined;
    for (let r = 0; r < Number(values.repeats); r++) {
      log(`ulearn clean fashion-mnist (70,000 images from the IDX files), run ${r + 1} of ${values.repeats}`);
      t = cli(['clean', 'fashion-mnist', '--out', path.join(work, 'fmnist-out')]);
      walls.push(round(t.wall));
      rss.push(Math.round(t.issues.run.peak_rss_mb));
      loads.push(t.load);
      log(`${t.wall.toFixed(1)} s, peak RSS ${Math.round(t.issues.run.peak_rss_mb)} MB (load average ${t.load.join(' -> ')})`);
    }
    const { mean, std } = meanStd(walls);
    Object.assign(result, {
      // Mean over the repeats; the 2-core machine is shared, so see the load averages and the per-run times.
      fashion_mnist_seconds: round(mean),
      fashion_mnist_seconds_std: round(std),
      fashion_mnist_seconds_runs: walls,
      fashion_mnist_peak_rss_mb: Math.max(...rss),
      fashion_mnist_timings_s: t!.issues.run.timings,
      fashion_mnist_flagged: flaggedCounts(t!.issues),
      fashion_mnist_load_avg_1m: loads,
      fashion_mnist_settings: { repeats: Number(values.repeats) },
    });
    await writeJsonAtomic(values.out!, result);
  }

  if (!values['skip-planted']) {
    const plantSettings = { seed, flipRate: Number(values['flip-rate']), exact: Number(values.exact), near: Number(values.near), leak: Number(values.leak), corrupt: Number(values.corrupt) };
    const plantKey = settingsKey(plantSettings);
    const dir = path.join(work, `planted-${plantKey}`);
    const plantedFile = path.join(dir, 'planted.json');
    let planted: Planted;
    if (existsSync(plantedFile)) {
      planted = JSON.parse(await readFile(plantedFile, 'utf8')) as Planted;
      log(`reusing the planted copy in ${dir}`);
    } else {
      await rm(dir, { recursive: true, force: true });
      planted = await plant(dir, plantSettings, log);
      await writeJsonAtomic(plantedFile, planted);
    }
    log('ulearn clean on the planted copy (PNG folder)');
    const t = cli(['clean', path.join(dir, 'train'), '--test-data', path.join(dir, 'test'), '--out', path.join(work, 'planted-out'), '--seed', String(seed)]);
    const scores = score(t.issues, planted);
    Object.assign(result, {
      planted_folder_seconds: t.wall,
      planted_folder_peak_rss_mb: t.issues.run.peak_rss_mb,
      planted_folder_timings_s: t.issues.run.timings,
      planted_folder_load_avg_1m: t.load,
      planted: {
        settings: { ...plantSettings, key: plantKey },
        exact_duplicate_pairs: planted.exact.length,
        near_duplicate_pairs: planted.near.length,
        near_duplicate_kinds: planted.nearKinds,
        leakage_pairs: planted.leakage.length,
        corrupt_files: planted.corrupt.length,
        flipped_labels: planted.flipped.length,
        flip_rate: Number(values['flip-rate']),
      },
      ...scores,
      protocol:
        'recall: share of planted items found (a duplicate pair counts when one member is flagged with the other as its kept copy; leakage pairs count for exact_duplicate too). precision: share of flagged samples that are planted (a flagged duplicate counts when it belongs to a planted pair). Fashion-MNIST has natural near duplicates and natural label errors; they count against precision here and are listed as *_unplanted_flagged.',
    });
    await writeJsonAtomic(values.out!, result);
    log(`recall ${JSON.stringify(scores.recall)} precision ${JSON.stringify(scores.precision)}`);
  }
  if (!values['skip-csv']) {
    const csvSettings = { rows: 1_000_000, seed };
    const csvPath = path.join(work, `table-1m-${settingsKey(csvSettings)}.csv`);
    const plantedCsv = await writeCsv(csvPath, csvSettings.rows, seed, log);
    log('ulearn clean on the 1,000,000-row CSV');
    const t = cli(['clean', csvPath, '--out', path.join(work, 'csv-out')]);
    const found = t.issues as unknown as { run: { peak_rss_mb: number; seconds: number }; checks: TabChecks };
    const names = (xs: (string | { name: string })[]) => xs.map((x) => (typeof x === 'string' ? x : x.name)).sort();
    const c = found.checks;
    const listed = new Set(c.outlier.samples.map((r) => Number(r.id)));
    Object.assign(result, {
      csv_rows: csvSettings.rows,
      csv_settings: { ...csvSettings, key: settingsKey(csvSettings) },
      csv_seconds: t.wall,
      csv_scan_seconds: found.run.seconds,
      csv_peak_rss_mb: found.run.peak_rss_mb,
      csv_load_avg_1m: t.load,
      csv_planted: plantedCsv,
      csv_found: {
        missing_value_columns: names(c.missing_values.summary.columns),
        constant_columns: c.constant_column.summary.columns,
        mixed_type_columns: names(c.mixed_types.summary.columns),
        high_cardinality_columns: names(c.high_cardinality.summary.columns),
        duplicate_rows: c.duplicate_row.summary.flagged,
        outlier_rows: c.outlier.summary.flagged,
        outlier_columns: c.outlier.summary.columns,
      },
      // Precision counts every flagged row; issues.json lists up to 10,000 per check, enough here (100 planted).
      csv_outlier_recall: plantedCsv.outlier_lines.filter((l) => listed.has(l)).length / plantedCsv.outlier_lines.length,
      csv_outlier_precision: c.outlier.summary.flagged ? plantedCsv.outlier_lines.filter((l) => listed.has(l)).length / c.outlier.summary.flagged : null,
    });
    await writeJsonAtomic(values.out!, result);
    log(`${t.wall.toFixed(1)} s, peak RSS ${Math.round(found.run.peak_rss_mb)} MB`);
  }
  result.finished = new Date().toISOString();
  await writeJsonAtomic(values.out!, result);
  log(`wrote ${values.out}`);
  return 0;
}

interface Issues {
  run: { peak_rss_mb: number; timings: Record<string, number> };
  checks: Record<string, { summary: Record<string, unknown>; samples: { id: string; split: string; related?: { id: string; split: string } }[] }>;
}

/** Runs the CLI in a child process: the wall time includes startup and loading, as a user sees it. */
function cli(args: string[]): { wall: number; issues: Issues; load: number[] } {
  const load0 = os.loadavg()[0];
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src', 'cli', 'main.ts'), ...args], { stdio: ['ignore', 'inherit', 'inherit'], cwd: ROOT });
  const wall = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`ulearn ${args.join(' ')} exited with ${r.status}`);
  const out = args[args.indexOf('--out') + 1];
  return { wall, issues: JSON.parse(readFileSync(path.join(out, 'issues.json'), 'utf8')) as Issues, load: [round(load0), round(os.loadavg()[0])] };
}

const round = (v: number) => Math.round(v * 100) / 100;

function flaggedCounts(issues: Issues): Record<string, number> {
  return Object.fromEntries(Object.entries(issues.checks).map(([k, v]) => [k, Number(v.summary.flagged ?? 0)]));
}

async function plant(dir: string, o: { seed: number; flipRate: number; exact: number; near: number; leak: number; corrupt: number }, log: (l: string) => void): Promise<Planted> {
  const splits = await loadDataset('fashion-mnist');
  const train = splits.train;
  const test = splits.test!;
  const rng = new Rng(o.seed).fork('plant');
  const order = rng.permutation(train.size);
  let at = 0;
  const take = (k: number) => order.slice(at, (at += k));
  const flips = new Set(take(Math.round(o.flipRate * train.size)));
  const exactSrc = take(o.exact);
  const nearSrc = take(o.near);
  const corruptSet = new Set(take(o.corrupt));
  const leakSrc = rng.permutation(test.size).slice(0, o.leak);
  const classDir = (c: number) => train.classes[c].replace(/[^A-Za-z0-9-]+/g, '_');
  const name = (i: number) => String(i).padStart(5, '0');
  for (const split of ['train', 'test']) for (let c = 0; c < train.classes.length; c++) await mkdir(path.join(dir, split, classDir(c)), { recursive: true });
  const bytesOf = (ds: typeof train, i: number) => {
    const px = Buffer.alloc(784);
    for (let j = 0; j < 784; j++) px[j] = Math.round(ds.x[i * 784 + j] * 255);
    return px;
  };
  const encode = (px: Uint8Array) => sharp(Buffer.from(px), { raw: { width: 28, height: 28, channels: 1 } }).png().toBuffer();
  const planted: Planted = { exact: [], near: [], leakage: [], corrupt: [], flipped: [], nearKinds: { noise: 0, contrast: 0, jpeg: 0 } };
  const trainLabel = new Int32Array(train.size);
  for (let i = 0; i < train.size; i++) trainLabel[i] = flips.has(i) ? (train.y[i] + 1 + rng.int(train.classes.length - 1)) % train.classes.length : train.y[i];
  const key = (split: string, rel: string) => `${split}/${rel}`;
  const rel = (i: number, suffix = '', ext = '.png') => `${classDir(trainLabel[i])}/${name(i)}${suffix}${ext}`;
  const corruptKinds = ['truncated', 'flipped-byte', 'empty', 'not-an-image'];

  log(`writing ${train.size + test.size} PNGs and the planted problems into ${dir}`);
  const t0 = performance.now();
  await mapLimit(Array.from({ length: train.size }, (_, i) => i), 8, async (i) => {
    let file: Uint8Array = await encode(bytesOf(train, i));
    if (corruptSet.has(i)) {
      const kind = corruptKinds[i % corruptKinds.length];
      if (kind === 'truncated') file = file.subarray(0, Math.floor(file.length / 2));
      else if (kind === 'flipped-byte') {
        file = Buffer.from(file);
        file[Buffer.from(file).indexOf('IDAT') + 10] ^= 0x5a;
      } else if (kind === 'empty') file = new Uint8Array(0);
      else file = Buffer.from('<html>404 not found</html>');
      planted.corrupt.push(key('train', rel(i)));
    }
    await writeFile(path.join(dir, 'train', rel(i)), file);
    if (flips.has(i)) planted.flipped.push(key('train', rel(i)));
  });
  await mapLimit(Array.from({ length: test.size }, (_, i) => i), 8, async (i) => {
    await writeFile(path.join(dir, 'test', classDir(test.y[i]), `${name(i)}.png`), await encode(bytesOf(test, i)));
  });
  for (const i of exactSrc) {
    await writeFile(path.join(dir, 'train', rel(i, '-copy')), await readFile(path.join(dir, 'train', rel(i))));
    planted.exact.push([key('train', rel(i)), key('train', rel(i, '-copy'))]);
  }
  for (const [k, i] of nearSrc.entries()) {
    const src = bytesOf(train, i);
    const kind = (['noise', 'contrast', 'jpeg'] as const)[k % 3];
    planted.nearKinds[kind]++;
    let file: Buffer;
    let target: string;
    if (kind === 'jpeg') {
      target = rel(i, '-near', '.jpg');
      file = await sharp(src, { raw: { width: 28, height: 28, channels: 1 } }).jpeg({ quality: 90 }).toBuffer();
    } else {
      const a = 0.85 + 0.3 * rng.random();
      const b = -20 + 40 * rng.random();
      const px = src.map((v) => Math.max(0, Math.min(255, Math.round(kind === 'noise' ? v + 5 * rng.normal() : a * v + b))));
      target = rel(i, '-near');
      file = await encode(px);
    }
    await writeFile(path.join(dir, 'train', target), file);
    planted.near.push([key('train', rel(i)), key('train', target)]);
  }
  for (const i of leakSrc) {
    const target = `${classDir(test.y[i])}/test-${name(i)}.png`;
    await writeFile(path.join(dir, 'train', target), await readFile(path.join(dir, 'test', classDir(test.y[i]), `${name(i)}.png`)));
    planted.leakage.push([key('test', `${classDir(test.y[i])}/${name(i)}.png`), key('train', target)]);
  }
  log(`planted in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  return planted;
}

function score(issues: Issues, p: Planted) {
  const flagged = (check: string) => issues.checks[check].samples.map((s) => ({ key: `${s.split}/${s.id}`, related: s.related ? `${s.related.split}/${s.related.id}` : undefined }));
  const pairScore = (check: string, pairs: [string, string][]) => {
    const partner = new Map<string, string>();
    for (const [a, b] of pairs) {
      partner.set(a, b);
      partner.set(b, a);
    }
    const f = flagged(check);
    const found = new Set<string>();
    let tp = 0;
    for (const s of f) {
      if (partner.has(s.key)) tp++;
      if (s.related && partner.get(s.key) === s.related) found.add([s.key, s.related].sort().join('|'));
    }
    return { recall: pairs.length ? found.size / pairs.length : null, precision: f.length ? tp / f.length : null, flagged: f.length, unplanted: f.length - tp };
  };
  const setScore = (check: string, planted: string[]) => {
    const want = new Set(planted);
    const f = flagged(check);
    const tp = f.filter((s) => want.has(s.key)).length;
    return { recall: planted.length ? tp / planted.length : null, precision: f.length ? tp / f.length : null, flagged: f.length, unplanted: f.length - tp };
  };
  const exact = pairScore('exact_duplicate', [...p.exact, ...p.leakage]);
  const near = pairScore('near_duplicate', p.near);
  const leak = setScore('leakage', p.leakage.map(([, train]) => train));
  const corrupt = setScore('corrupt', p.corrupt);
  const label = setScore('label_error', p.flipped);
  const all = { exact_duplicate: exact, near_duplicate: near, corrupt, label_error: label, leakage: leak };
  return {
    recall: Object.fromEntries(Object.entries(all).map(([k, v]) => [k, v.recall])),
    precision: Object.fromEntries(Object.entries(all).map(([k, v]) => [k, v.precision])),
    flagged: Object.fromEntries(Object.entries(all).map(([k, v]) => [k, v.flagged])),
    unplanted_flagged: Object.fromEntries(Object.entries(all).map(([k, v]) => [k, v.unplanted])),
    label_error_vote_accuracy: issues.checks.label_error.summary.vote_accuracy,
  };
}

/** The table checks' entries in issues.json (the same shape as the image checks': summary + flagged samples). */
interface TabChecks {
  missing_values: { summary: { columns: { name: string }[] } };
  constant_column: { summary: { columns: string[] } };
  mixed_types: { summary: { columns: { name: string }[] } };
  high_cardinality: { summary: { columns: { name: string }[] } };
  duplicate_row: { summary: { flagged: number } };
  outlier: { summary: { flagged: number; columns: string[] }; samples: { id: string; score: number }[] };
}

/**
 * A generated table: a unique id (high cardinality), a numeric column with 2% missing cells, a numeric column
 * with 0.1% 'n/a' strings (mixed types), a 20-value category, a constant column, a label; 100 rows far out in
 * age and income (outliers); 1,000 rows are
 * repeated verbatim later in the file (duplicate rows).
 */
async function writeCsv(file: string, rows: number, seed: number, log: (l: string) => void) {
  // Outliers: rows i % 9973 === 5 (100 of them) get an age of 150-250 and an income of 1-5 million.
  const isOutlier = (i: number) => i % 9973 === 5 && i < rows - 1000;
  const outlierLines = Array.from({ length: rows }, (_, i) => i).filter(isOutlier).map((i) => i + 2);
  const planted = { missing_value_columns: ['age'], constant_columns: ['source'], mixed_type_columns: ['income'], high_cardinality_columns: ['customer_id'], duplicate_rows: 1000, outlier_lines: outlierLines };
  if (existsSync(file) && existsSync(`${file}.v2`)) return planted;
  log(`writing ${rows} rows to ${file}`);
  const rng = new Rng(seed).fork('csv');
  const { createWriteStream } = await import('node:fs');
  const tmp = `${file}.tmp`;
  const out = createWriteStream(tmp);
  const write = (s: string) => (out.write(s) ? Promise.resolve() : new Promise<void>((r) => out.once('drain', () => r())));
  await write('customer_id,age,income,city,source,label\n');
  const kept: string[] = [];
  const dupAt = new Set(Array.from({ length: planted.duplicate_rows }, (_, k) => rows - planted.duplicate_rows + k));
  let buf = '';
  for (let i = 0; i < rows; i++) {
    let line: string;
    if (dupAt.has(i)) line = kept[i - (rows - planted.duplicate_rows)];
    else {
      let age = rng.random() < 0.02 ? '' : String(18 + rng.int(60));
      let income = rng.random() < 0.001 ? 'n/a' : (20000 + 80000 * rng.random()).toFixed(2);
      if (isOutlier(i)) [age, income] = [String(150 + rng.int(100)), (1e6 + 4e6 * rng.random()).toFixed(2)];
      line = `C${String(i).padStart(7, '0')},${age},${income},city${rng.int(20)},web,${rng.int(2)}`;
      if (kept.length < planted.duplicate_rows && i % 997 === 0) kept.push(line);
    }
    buf += line + '\n';
    if (buf.length > 1 << 20) {
      await write(buf);
      buf = '';
    }
  }
  await write(buf);
  await new Promise<void>((r) => out.end(() => r()));
  const { rename } = await import('node:fs/promises');
  await rename(tmp, file);
  await writeFile(`${file}.v2`, 'with planted outliers\n');
  return planted;
}
