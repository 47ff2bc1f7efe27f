/**
 * `ulearn clean <data>`: runs the data-quality checks and writes report.html, issues.json and the cleaned
 * manifest into --out. The data is only read. Later commands take the manifest in place of the data
 * (`ulearn pretrain <out>/manifest.json`).
 */
import { stat } from 'node:fs/promises';
import type { Command } from 'commander';
import { UlearnError } from '../../errors.js';
import { Budget } from '../../util/budget.js';
import { BUILTIN_CHECKS, checkNames } from '../../clean/registry.js';
import { runClean } from '../../clean/run-clean.js';
import { encoderEmbedding } from '../../clean/encoder-embedding.js';
import { runTabularClean } from '../../clean/run-tabular.js';
import { runAudioClean } from '../../clean/run-audio.js';
import { AUDIO_NEAR_THRESHOLD } from '../../clean/checks/audio.js';
import { DATASET_NAMES, isAudioFolder } from '../../data/load.js';
import { ensureSpeechDigits, SPEECH_DIGITS } from '../../data/speech-digits.js';
import { join } from 'node:path';
import { backendOption, budgetOption, distributedOptions, encoderInputs, intArg, numberArg, seedOption, withEncoderInputOptions, type DistributedFlags, type EncoderInputFlags } from '../options.js';
import { distributedEncoderEmbedding, s3CleanRefused } from '../../distributed/clean-embedding.js';
import { distributedScan } from '../../distributed/clean-scan.js';
import { isS3Url } from '../../util/s3.js';
import { modalityOfPath } from '../../modality.js';

interface CleanCliOpts extends EncoderInputFlags, DistributedFlags {
  out?: string;
  testData?: string;
  checks?: string;
  skip?: string;
  nearThreshold?: number;
  seconds?: number;
  k: number;
  size?: number;
  maxSide: number;
  encoder?: string;
  budget?: string;
  seed: number;
  backend: string;
  html: boolean;
  skipBadRows?: boolean;
}

export function registerCleanCommand(program: Command): void {
  const cmd = withEncoderInputOptions(program
    .command('clean')
    .description('find corrupt files, duplicates, near duplicates, train/test leakage, outliers and likely label errors; write a report and a cleaned manifest (your files are not changed)')
    .argument('<data>', "dataset name ('fashion-mnist', 'mnist'), a folder of images or of audio clips (WAV), or a table (.csv, .tsv, .arff)")
    .option('--out <dir>', 'where report.html, issues.json and manifest.json go (default: runs/clean-<data name>)')
    .option('--test-data <folder>', 'test images or clips for a folder dataset (checked for leakage against the training folder)')
    .option('--checks <names>', `comma-separated checks to run (default all; images: ${BUILTIN_CHECKS.image.join(', ')}; tables: ${BUILTIN_CHECKS.table.join(', ')}; audio: ${BUILTIN_CHECKS.audio.join(', ')})`)
    .option('--skip <names>', 'comma-separated checks not to run')
    .option('--near-threshold <r>', `near duplicates: images, pixel correlation at or above which two images are (default 0.99); audio, cosine similarity of the pooled log-mel embedding (default ${AUDIO_NEAR_THRESHOLD})`, numberArg('--near-threshold', 0, 1))
    .option('--seconds <s>', 'audio: clip length the clips are fitted to, as training loads them (default 1)', numberArg('--seconds', 0.05, 60))
    .option('--k <n>', 'neighbours per sample for outliers and label errors', intArg('--k', 2), 10)
    .option('--size <px>', 'the expected square image size (default: the most common size)', intArg('--size', 1))
    .option('--max-side <px>', 'check larger images at a copy downscaled to this longer side', intArg('--max-side', 8), 64)
    .option('--encoder <path>', 'embed with this encoder instead of downscaled pixels: a pretrained run directory, checkpoint, model folder, or an imported model (model.onnx, a tfjs model.json; see --input-size, --channels, --mean, --std, --cut-at)')
    .addOption(budgetOption('wall-clock budget; checks not started when it runs out are reported as skipped'))
    .addOption(seedOption('random seed'))
    .addOption(backendOption({ help: 'compute backend (exact kNN on small data, --encoder)' }))
    .option('--no-html', 'skip report.html')
    .option('--skip-bad-rows', 'tables: skip (list, and exclude in the manifest) rows that cannot be read instead of stopping at the first'));
  // On image folders the scan (reading, decoding) and the --encoder pass can run on `ulearn worker`s (docs/scale.md).
  for (const opt of distributedOptions('shared folder for the shards (default: <out>/shards); every worker must see it at the same path (not s3://: the workers read the pixels by byte ranges)')) cmd.addOption(opt);
  cmd.action(async (arg: string, o: CleanCliOpts) => {
    const outDir = o.out ?? `runs/clean-${arg.replace(/\/+$/, '').split('/').pop() || 'data'}`;
    let data = arg;
    let testData = o.testData;
    const list = (v?: string) => v?.split(',').map((x) => x.trim()).filter(Boolean);
    const speech = arg === SPEECH_DIGITS;
    if (speech && testData) throw new UlearnError(`--test-data is for folders; '${arg}' brings its own test split`, { code: 'E_ARG' });
    const st = speech ? undefined : await stat(data).catch(() => undefined);
    const isTable = modalityOfPath(data) === 'table' && st?.isFile();
    const isAudio = speech || (!isTable && st?.isDirectory() === true && (await isAudioFolder(data)));
    // --checks / --skip name the checks of the data's modality (images, tables and audio each have an `outlier`).
    const modality = isTable ? 'table' : isAudio ? 'audio' : 'image';
    if (o.distributed && modality !== 'image') {
      throw new UlearnError('--distributed shards the scan of image folders and the --encoder pass; tables and audio run in one process', { code: 'E_ARG' });
    }
    const named = DATASET_NAMES.includes(data as (typeof DATASET_NAMES)[number]) && !data.includes('/');
    if (o.distributed && named && !o.encoder) {
      throw new UlearnError(`--distributed shards the scan of image folders and the --encoder pass; '${data}' is loaded whole, and without --encoder nothing is left to shard`, { code: 'E_ARG', hint: 'drop --distributed, or add --encoder' });
    }
    // Before any scan: an s3:// --work cannot hold the pixels file the workers read by byte ranges.
    if (o.distributed && o.work && isS3Url(o.work)) throw s3CleanRefused(o.work);
    const skip = new Set(list(o.skip) ?? []);
    const known = checkNames(modality);
    const unknown = [...skip].filter((c) => !known.includes(c));
    if (unknown.length > 0) throw new UlearnError(`--skip: unknown check(s) ${unknown.join(', ')}; known: ${known.join(', ')}`, { code: 'E_ARG' });
    const checks = (list(o.checks) ?? known).filter((c) => !skip.has(c));
    if (isTable) {
      const t = await runTabularClean(data, outDir, {
        html: o.html,
        checks,
        budget: Budget.parse(o.budget),
        seed: o.seed,
        skipBadRows: o.skipBadRows,
        onSkip: (p) => console.error(`clean: skipped ${p.source} line ${p.line}, column ${p.column}: ${p.message}`),
      });
      const c = t.manifest.counts;
      console.log(`clean: ${t.table.rows} rows x ${t.table.columns.length} columns in ${t.seconds.toFixed(1)} s (peak RSS ${Math.round(t.peakRssMb)} MB)`);
      for (const r of t.results) {
        const cols = r.summary.columns;
        const found = r.skipped ? `skipped: ${r.skipped}` : typeof r.summary.flagged_columns === 'number' ? (cols as (string | { name: string })[]).map((x) => (typeof x === 'string' ? x : x.name)).join(', ') || 'none' : `${String(r.summary.flagged ?? 0)} rows`;
        console.log(`  ${r.name.padEnd(16)} ${found}`);
      }
      console.log(`manifest: keep ${c.keep}, exclude ${c.exclude} -> ${t.paths.manifest}\nissues: ${t.paths.issues}${t.paths.report ? `\nreport: ${t.paths.report}` : ''}`);
      return;
    }
    if (o.skipBadRows) throw new UlearnError('--skip-bad-rows is for tables (.csv, .tsv, .arff); unreadable images and audio files are always listed and excluded', { code: 'E_ARG' });
    if (!isAudio && o.seconds !== undefined) throw new UlearnError('--seconds is for folders of audio clips', { code: 'E_ARG' });
    if (isAudio) {
      if (speech) {
        // The synthetic speech corpus is checked where it is built (once, on first use): its train and test folders.
        const { dir } = await ensureSpeechDigits({ log: (l) => console.error(l) });
        [data, testData] = [join(dir, 'train'), join(dir, 'test')];
      }
      if (o.encoder) throw new UlearnError('--encoder is for images; audio clips are compared on their pooled log-mel embedding', { code: 'E_ARG' });
      const a = await runAudioClean({ data, testData, outDir, checks, nearThreshold: o.nearThreshold, k: o.k, seconds: o.seconds, seed: o.seed, backend: o.backend, budget: Budget.parse(o.budget), html: o.html });
      const c = a.manifest.counts;
      console.log(`clean: ${a.samples.ids.length} audio clips in ${a.seconds.toFixed(1)} s`);
      for (const r of a.results) console.log(`  ${r.name.padEnd(16)} ${r.skipped ? `skipped: ${r.skipped}` : String(r.summary.flagged ?? 0)}`);
      if (a.checksNotRun.length > 0) console.log(`  not run: ${a.checksNotRun.join(', ')}`);
      console.log(`manifest: keep ${c.keep}, exclude ${c.exclude}, remove label ${c.unlabel} -> ${a.paths.manifest}`);
      console.log(`issues: ${a.paths.issues}`);
      if (a.paths.report) console.log(`report: ${a.paths.report}`);
      return;
    }
    const dist = o.distributed ? { url: o.distributed, shardSize: o.shardSize, attempts: o.attempts, retryDelayMs: o.retryDelay, queue: o.queue, pollMs: o.poll, work: o.work ?? join(outDir, 'shards'), progress: true } : undefined;
    const out = await runClean({
      data,
      testData: o.testData,
      outDir,
      checks,
      near: { threshold: o.nearThreshold },
      k: o.k,
      scan: { size: o.size, maxSide: o.maxSide },
      // With --distributed: reading and decoding the files, then the encoder pass, each as shards.
      scanSamples: dist ? (folders, opts) => distributedScan(folders, opts, dist) : undefined,
      embed: !o.encoder ? undefined : dist ? distributedEncoderEmbedding(o.encoder, encoderInputs(o), dist) : encoderEmbedding(o.encoder, o.backend, encoderInputs(o)),
      seed: o.seed,
      backend: o.backend,
      budget: Budget.parse(o.budget),
      html: o.html,
    });
    const c = out.manifest.counts;
    console.log(`clean: ${out.samples.ids.length} samples in ${out.seconds.toFixed(1)} s (peak RSS ${Math.round(out.peakRssMb)} MB)`);
    for (const r of out.results) console.log(`  ${r.name.padEnd(16)} ${r.skipped ? `skipped: ${r.skipped}` : String(r.summary.flagged ?? 0)}`);
    console.log(`manifest: keep ${c.keep}, exclude ${c.exclude}, remove label ${c.unlabel} -> ${out.paths.manifest}`);
    console.log(`issues: ${out.paths.issues}`);
    if (out.paths.report) console.log(`report: ${out.paths.report}`);
  });
}
