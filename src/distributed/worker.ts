/**
 * `ulearn worker --redis <url>`: takes shard jobs from the BullMQ queue, one at a time (one compute engine per
 * process; run one worker per machine or per core group), and writes each result into the run location (a
 * shared folder or an S3 prefix, ./storage.ts).
 *
 * Faults are BullMQ's to handle: the job's lock is renewed while a shard runs (encodeRange yields between
 * chunks for that, the clean scan's shards between file reads); a worker that dies stops renewing, the stalled-job check of any other worker puts the job
 * back in the queue, and it runs again (the result file is written atomically, so a half-written one never
 * exists). A job this worker must not run (other ulearn version, other model bytes) fails at once with
 * BullMQ's UnrecoverableError, so the coordinator stops the run and says why instead of retrying.
 */
import { hostname } from 'node:os';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type * as tfl from '@tensorflow/tfjs-layers';
import { initBackend, describeBackend } from '../engine/index.js';
import { encodeRange, openEncoder, type EncodeSource } from '../predict/encode-files.js';
import { embeddingsBytes } from '../predict/embeddings-file.js';
import { loadClassifier, predictFiles, type ClassifierMeta } from '../predict/image-model.js';
import { localModel } from '../predict/remote-model.js';
import { ChangedInput, checkJob, DEFAULT_QUEUE, hasModel, RefusedJob, shardName, type EncodeShardJob, type PredictShardJob, type ShardJob } from './shards.js';
import { runStorage } from './storage.js';
import { cleanDecodeShard, cleanReadShard } from './clean-scan.js';
import { connectRedis, maskSecrets } from './redis.js';
import { testFault, testStartGate } from './test-faults.js';

export interface WorkerOptions {
  url: string;
  queue?: string;
  backend?: string;
  threads?: number;
  /** How long a job's lock lasts without renewal (BullMQ lockDuration); a dead worker's shard waits this long. Default 60 s. */
  lockMs?: number;
  /** How often stalled jobs are looked for (BullMQ stalledInterval). Default 30 s. */
  stalledMs?: number;
  /** First-connection deadline. */
  connectTimeoutMs?: number;
  log?: (message: string) => void;
  /** Resolves when the worker should stop (after the job in hand). */
  stop?: Promise<void>;
}

/** The model of the last job, kept for the next (shards of one run share it). */
interface Loaded {
  key: string;
  encoder?: { model: tfl.LayersModel; inputShape: [number, number, number] };
  classifier?: { model: tfl.LayersModel; meta: ClassifierMeta };
  dispose(): void;
}

export async function runWorker(o: WorkerOptions): Promise<void> {
  const log = (m: string) => (o.log ?? ((s: string) => console.error(s)))(maskSecrets(m, o.url));
  const client = await connectRedis(o.url, { timeoutMs: o.connectTimeoutMs, log, flag: '--redis' });
  const report = await initBackend(o.backend ?? 'auto', { threads: o.threads });
  const queue = o.queue ?? DEFAULT_QUEUE;
  const me = `${hostname()}:${process.pid}`;
  log(`worker ${me}: ${describeBackend(report).split('\n')[0]}; waiting for shards on queue '${queue}'`);
  let loaded: Loaded | undefined;
  await testStartGate(log);

  const processor = async (job: Job<ShardJob>): Promise<{ rows: number; worker: string }> => {
    const d = job.data;
    const t0 = Date.now();
    try {
      await checkJob(d);
    } catch (e) {
      if (e instanceof RefusedJob) {
        log(`shard ${d.index} of run ${d.run}: refused: ${e.message}`);
        throw new UnrecoverableError(`refused by worker ${me}: ${e.message} (${e.hint ?? ''})`);
      }
      throw e;
    }
    // attemptsStarted counts the starts a dead worker left behind too (attemptsMade counts only failures).
    await testFault(d.index, job.attemptsStarted - 1, log);
    if (!(await runStorage(d.dir).alive())) {
      // The coordinator made the run location before enqueueing and removes it once merged: this job outlived its run.
      log(`shard ${d.index} of run ${d.run}: the run location ${d.dir} is gone (the run ended); skipped`);
      return { rows: 0, worker: me };
    }
    if (!hasModel(d)) {
      // The clean scan's shards: no model to load, and a file changed under the run is not worth a retry.
      let rows: number;
      try {
        rows = d.kind === 'clean-read' ? await cleanReadShard(d) : await cleanDecodeShard(d);
      } catch (e) {
        if (e instanceof ChangedInput) {
          log(`shard ${d.index} of run ${d.run}: ${e.message}`);
          throw new UnrecoverableError(`${e.message} (${e.hint ?? ''})`);
        }
        throw e;
      }
      log(`shard ${d.index} of run ${d.run}: ${rows} samples in ${((Date.now() - t0) / 1000).toFixed(1)} s${job.attemptsStarted > 1 ? ` (start ${job.attemptsStarted})` : ''}`);
      return { rows, worker: me };
    }
    const key = `${d.kind}\0${d.model.sha256}\0${d.kind === 'encode' ? JSON.stringify([d.source.kind === 'idx' ? d.source.shape : null, d.preprocessing, d.cutAt]) : ''}`;
    if (loaded?.key !== key) {
      loaded?.dispose();
      loaded = undefined;
      loaded = await load(d, key);
    }
    const rows = d.kind === 'encode' ? await runEncode(d, loaded) : await runPredict(d, loaded);
    log(`shard ${d.index} of run ${d.run}: ${rows} samples in ${((Date.now() - t0) / 1000).toFixed(1)} s${job.attemptsStarted > 1 ? ` (start ${job.attemptsStarted})` : ''}`);
    return { rows, worker: me };
  };

  const worker = new Worker<ShardJob>(queue, processor, {
    connection: client,
    concurrency: 1,
    lockDuration: o.lockMs ?? 60_000,
    stalledInterval: o.stalledMs ?? 30_000,
    // A shard whose worker dies a third time is failed rather than retried for ever (a shard that kills its worker).
    maxStalledCount: 2,
  });
  worker.on('error', (e) => log(`worker: ${e.message}`));
  worker.on('failed', (job, e) => {
    if (job && !(e instanceof UnrecoverableError)) log(`shard ${job.data.index} of run ${job.data.run}: failed (attempt ${job.attemptsMade}): ${e.message}`);
  });
  try {
    await (o.stop ?? new Promise<void>(() => undefined));
  } finally {
    await worker.close();
    loaded?.dispose();
    client.disconnect();
  }
}

async function load(d: EncodeShardJob | PredictShardJob, key: string): Promise<Loaded> {
  if (d.kind === 'encode') {
    const { encoder, inputShape } = await openEncoder({ source: d.model.path, preprocessing: d.preprocessing, cutAt: d.cutAt }, d.source);
    return { key, encoder: { model: encoder, inputShape }, dispose: () => encoder.dispose() };
  }
  const { model, meta } = await loadClassifier(await localModel(d.model.path));
  return { key, classifier: { model, meta }, dispose: () => model.dispose() };
}

/** Range of the job's source that is this shard: a files source holds only the shard's files. */
const localRange = (source: EncodeSource, d: ShardJob): [number, number] => (source.kind === 'files' ? [0, d.end - d.start] : [d.start, d.end]);

async function runEncode(d: EncodeShardJob, loaded: Loaded): Promise<number> {
  const { model, inputShape } = loaded.encoder!;
  const [a, b] = localRange(d.source, d);
  const { features, dim } = await encodeRange(model, d.source, a, b, inputShape, { resize: d.resize });
  // The shard file is an embeddings file of its own rows; the merge checks its run, range and size.
  await runStorage(d.dir).write(
    shardName(d.index, 'bin'),
    embeddingsBytes(
      { format: 'ulearn-embeddings', version: 1, n: b - a, dim, dtype: 'float32', byteOrder: 'little', encoder: { source: `${d.run}:${d.index}:${d.start}-${d.end}`, sha256: d.model.sha256 }, samples: { kind: 'idx', file: '', rows: b - a } },
      features,
    ),
  );
  return b - a;
}

async function runPredict(d: PredictShardJob, loaded: Loaded): Promise<number> {
  const { model, meta } = loaded.classifier!;
  const predictions = await predictFiles(model, meta, d.files);
  await runStorage(d.dir).write(shardName(d.index, 'json'), JSON.stringify({ run: d.run, index: d.index, start: d.start, end: d.end, predictions }, null, 2) + '\n');
  return d.files.length;
}
