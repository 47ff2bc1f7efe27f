/**
 * The sharded steps as the commands run them with `--distributed`: `distributedEncode` and
 * `distributedPredict` split the samples, run the shards on the workers (./coordinator.ts) and gather the
 * results, in shard order, into exactly what the single-process call returns (`encodeSource`, `predict`), so
 * the command writes the same output either way.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { UlearnError } from '../errors.js';
import { embeddingsHeader, sourceSize, type EncodeFilesOptions, type EncodeSource } from '../predict/encode-files.js';
import { parseEmbeddings, type EmbeddingsHeader } from '../predict/embeddings-file.js';
import { collectImageFiles, META_FILE, type ClassifierMeta, type Prediction } from '../predict/image-model.js';
import { localModel } from '../predict/remote-model.js';
import { isTableModelDir } from '../predict/table-model.js';
import { ulearnVersion } from '../transfer/sidecar.js';
import { sha256Files } from '../util/hash-files.js';
import { isS3Url } from '../util/s3.js';
import { runShards, type RunShardsOptions, type RunShardsResult } from './coordinator.js';
import { planShards, shardName, type ShardRange } from './shards.js';
import { runLocation, runStorage, workKey, type RunStorage } from './storage.js';

export interface DistributedOptions extends Pick<RunShardsOptions, 'url' | 'queue' | 'attempts' | 'retryDelayMs' | 'pollMs' | 'connectTimeoutMs' | 'log' | 'redisDownMs'> {
  /** Samples per shard; default 1000. */
  shardSize?: number;
  /** Shared folder or s3:// prefix for the shards' results (a subfolder per run, removed once merged). */
  work: string;
  /** Show a progress bar. */
  progress?: boolean;
  /** Keep the shard files after the merge (the benchmark counts them). */
  keepShards?: boolean;
}

/** A short id from everything that decides a run's results: the same command again is the same run. */
export function runId(kind: string, parts: unknown): string {
  return `${kind}-${createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 16)}`;
}

/**
 * A step's run: its id from `kind`, `parts` and the work location (last, so ids stay those runId gave before),
 * the run's location inside `work`, and the storage there. Every sharded step starts its runs here.
 */
export function openRun(kind: string, parts: Record<string, unknown>, work: string): { run: string; dir: string; storage: RunStorage } {
  const run = runId(kind, { ...parts, work: workKey(work) });
  const dir = runLocation(work, run);
  return { run, dir, storage: runStorage(dir) };
}

export async function distributedEncode(source: EncodeSource, opts: EncodeFilesOptions, d: DistributedOptions): Promise<{ header: EmbeddingsHeader; features: Float32Array; stats: RunShardsResult & { shards: number } }> {
  const n = sourceSize(source);
  // An s3:// encoder is hashed as downloaded (remote-model.ts); each worker hashes its own copy the same way.
  const sha256 = await sha256Files(await localModel(opts.encoder.source));
  const shardSize = d.shardSize ?? 1000;
  const version = ulearnVersion();
  const resize = opts.resize ?? 'crop';
  const sourceKey = source.kind === 'files' ? createHash('sha256').update(source.files.join('\n')).digest('hex') : source;
  // The work location too: a job carries its run location, so two runs that write to different places are two runs.
  const { run, dir, storage } = openRun('encode', { sourceKey, sha256, shardSize, resize, pre: opts.encoder.preprocessing ?? null, cut: opts.encoder.cutAt ?? null, version }, d.work);
  const shards = planShards(n, shardSize);
  const stats = await runShards({
    ...d,
    run,
    dir,
    shards,
    label: d.progress ? 'encode' : undefined,
    resultName: (s) => shardName(s.index, 'bin'),
    job: (s) => ({
      kind: 'encode',
      run,
      dir,
      version,
      model: { path: opts.encoder.source, sha256 },
      ...s,
      source: source.kind === 'files' ? { kind: 'files', files: source.files.slice(s.start, s.end) } : source,
      resize,
      preprocessing: opts.encoder.preprocessing,
      cutAt: opts.encoder.cutAt,
    }),
  });
  // Merge by shard index: each shard's rows go to their own place, checked against the plan.
  let features = new Float32Array(0);
  let dim = 0;
  for (const s of shards) {
    const file = storage.describe(shardName(s.index, 'bin'));
    const part = parseEmbeddings(await storage.read(shardName(s.index, 'bin')), file);
    const want = `${run}:${s.index}:${s.start}-${s.end}`;
    if (part.header.encoder.source !== want || part.header.n !== s.end - s.start || part.header.encoder.sha256 !== sha256) {
      throw new UlearnError(`${file}: holds ${part.header.encoder.source} (${part.header.n} rows), expected ${want}`, { code: 'E_SHARD', exitCode: 1, hint: 'remove the run location and rerun' });
    }
    if (s.index === 0) {
      dim = part.header.dim;
      features = new Float32Array(n * dim);
    } else if (part.header.dim !== dim) throw new UlearnError(`${file}: ${part.header.dim} features per sample, shard 0 has ${dim}`, { code: 'E_SHARD', exitCode: 1 });
    features.set(part.features, s.start * dim);
  }
  await cleanUp(storage, d);
  return { header: embeddingsHeader(source, opts.encoder.source, sha256, n, dim), features, stats: { ...stats, shards: shards.length } };
}

/** `predict(modelDir, inputs)` for image models, over the workers; predictions name files as given. */
export async function distributedPredict(modelDir: string, inputs: string[], d: DistributedOptions): Promise<{ classes: string[]; predictions: Prediction[] }> {
  const localDir = await localModel(modelDir);
  if (isTableModelDir(localDir)) throw new UlearnError(`${modelDir}: a tabular model; --distributed predicts with image models`, { code: 'E_ARG', hint: 'run ulearn predict without --distributed' });
  const metaFile = path.join(localDir, META_FILE);
  const meta = JSON.parse(await readFile(metaFile, 'utf8').catch(() => {
    throw new UlearnError(`${modelDir}: not a ulearn image model folder (no ${META_FILE})`, { code: 'E_MODEL_IO', hint: 'give the folder `ulearn train --out` wrote' });
  })) as ClassifierMeta;
  if (meta.preprocessing?.modality === 'audio') throw new UlearnError(`${modelDir}: an audio model; --distributed predicts with image models`, { code: 'E_ARG' });
  const names = await collectImageFiles(inputs);
  const files = names.map((f) => (isS3Url(f) ? f : path.resolve(f)));
  const modelPath = isS3Url(modelDir) ? modelDir : path.resolve(modelDir);
  const sha256 = await sha256Files(localDir);
  const shardSize = d.shardSize ?? 1000;
  const version = ulearnVersion();
  const { run, dir, storage } = openRun('predict', { files: createHash('sha256').update(files.join('\n')).digest('hex'), sha256, shardSize, version }, d.work);
  const shards = planShards(files.length, shardSize);
  await runShards({
    ...d,
    run,
    dir,
    shards,
    label: d.progress ? 'predict' : undefined,
    resultName: (s) => shardName(s.index, 'json'),
    job: (s: ShardRange) => ({ kind: 'predict', run, dir, version, model: { path: modelPath, sha256 }, ...s, files: files.slice(s.start, s.end) }),
  });
  const predictions: Prediction[] = [];
  for (const s of shards) {
    const file = storage.describe(shardName(s.index, 'json'));
    const part = JSON.parse(Buffer.from(await storage.read(shardName(s.index, 'json'))).toString('utf8')) as { run: string; index: number; start: number; end: number; predictions: Prediction[] };
    if (part.run !== run || part.index !== s.index || part.start !== s.start || part.end !== s.end || part.predictions.length !== s.end - s.start) {
      throw new UlearnError(`${file}: holds shard ${part.index} of run ${part.run}, expected shard ${s.index} of ${run}`, { code: 'E_SHARD', exitCode: 1, hint: 'remove the run location and rerun' });
    }
    part.predictions.forEach((p, k) => predictions.push({ ...p, file: names[s.start + k] }));
  }
  await cleanUp(storage, d);
  return { classes: meta.classes, predictions };
}

/** The run's location goes once merged (a folder: the work folder with it when no other run is in it). */
export async function cleanUp(storage: RunStorage, d: DistributedOptions): Promise<void> {
  if (d.keepShards) return;
  await storage.removeAll();
}
