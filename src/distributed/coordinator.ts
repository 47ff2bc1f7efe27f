/**
 * The coordinator's side of a distributed step: enqueue one BullMQ job per shard, follow them to the end with
 * a progress bar over every sample, and hand back when every shard's result is in the run location.
 *
 * The run location (a shared folder or an S3 prefix, ./storage.ts) is the record of what is done: a shard is
 * done when its result exists there (written atomically by a worker), whatever Redis says. Redis only hands
 * out the work. So:
 * - a rerun of the same command (same run id) skips the shards already done;
 * - a Redis that restarts empty (no persistence) loses only queue state: a shard whose job is gone and whose
 *   file is missing is enqueued again (same job id, so never twice at once);
 * - a shard whose job failed every attempt stops the run with the shard, its samples and the last error.
 */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { UlearnError } from '../errors.js';
import { formatDuration } from '../util/duration.js';
import { Progress } from '../util/progress.js';
import { connectRedis, maskSecrets, maskUrl } from './redis.js';
import { DEFAULT_QUEUE, jobId, type ShardJob, type ShardRange } from './shards.js';
import { runStorage } from './storage.js';

export interface RunShardsOptions {
  url: string;
  queue?: string;
  run: string;
  /** The run location, a folder or an s3:// prefix (created here before any job exists: a worker skips a job whose run is gone). */
  dir: string;
  shards: ShardRange[];
  /** The job for a shard. */
  job: (s: ShardRange) => ShardJob;
  /** The name of the shard's result in the run location (done when it exists). */
  resultName: (s: ShardRange) => string;
  /** Attempts per shard before the run fails (BullMQ `attempts`); default 3. */
  attempts?: number;
  /** First retry delay, doubled each time (BullMQ exponential backoff); default 5 s. */
  retryDelayMs?: number;
  /** How often the shards' states are read; default 1 s. */
  pollMs?: number;
  /** How long Redis may stay unreachable in the middle of a run before it fails; default 10 min. */
  redisDownMs?: number;
  connectTimeoutMs?: number;
  /** Progress bar label; none: no bar. */
  label?: string;
  log?: (message: string) => void;
}

export interface RunShardsResult {
  /** Shards already done before this call (a rerun), and jobs enqueued again after they vanished from Redis. */
  reused: number;
  requeued: number;
  /** Time from the first job enqueued to the last result found. */
  ms: number;
}

export async function runShards(o: RunShardsOptions): Promise<RunShardsResult> {
  const log = (m: string) => (o.log ?? ((s: string) => console.error(s)))(maskSecrets(m, o.url));
  const client = await connectRedis(o.url, { timeoutMs: o.connectTimeoutMs, log, flag: '--distributed' });
  const queue = new Queue<ShardJob>(o.queue ?? DEFAULT_QUEUE, { connection: client });
  queue.on('error', (e: Error) => log(`queue: ${e.message}`));
  const total = o.shards.reduce((a, s) => a + s.end - s.start, 0);
  const bar = o.label ? new Progress(o.label, total) : undefined;
  const t0 = Date.now();
  const storage = runStorage(o.dir);
  const pending = new Map<number, ShardRange>();
  let reused = 0;
  let requeued = 0;
  const jobOpts = (s: ShardRange) => ({
    jobId: jobId(o.run, s.index),
    attempts: o.attempts ?? 3,
    backoff: { type: 'exponential' as const, delay: o.retryDelayMs ?? 5000 },
    // Kept until the run ends: a completed job that vanished would look lost and be enqueued again.
    removeOnComplete: false,
    removeOnFail: false,
  });
  const redis = <T>(what: string, p: Promise<T>) => withDeadline(p, o.redisDownMs ?? 600_000, `Redis at ${maskUrl(o.url)} did not answer for ${formatDuration(o.redisDownMs ?? 600_000)} (${what})`);
  try {
    await storage.create();
    const found = await storage.names();
    for (const s of o.shards) {
      if (found.has(o.resultName(s))) {
        reused++;
        bar?.tick(s.end - s.start);
      } else pending.set(s.index, s);
    }
    // Jobs of an earlier attempt at this run that ended (failed, or completed but their file is gone) are
    // removed, so adding them again starts them afresh instead of being a no-op on the old id.
    const fresh: ShardRange[] = [];
    for (const s of pending.values()) {
      const state = await redis('reading job states', queue.getJobState(jobId(o.run, s.index)));
      if (state === 'failed' || state === 'completed') await redis('removing old jobs', queue.remove(jobId(o.run, s.index)));
      if (state === 'failed' || state === 'completed' || state === 'unknown') fresh.push(s);
    }
    for (let i = 0; i < fresh.length; i += 500) {
      await redis('enqueueing', queue.addBulk(fresh.slice(i, i + 500).map((s) => ({ name: o.run, data: o.job(s), opts: jobOpts(s) }))));
    }
    if (o.shards.length) log(`run ${o.run}: ${o.shards.length} shards of up to ${o.shards[0].end - o.shards[0].start} samples on queue '${queue.name}' at ${maskUrl(o.url)}${reused ? ` (${reused} done before)` : ''}; waiting for workers (ulearn worker --redis …)`);

    while (pending.size > 0) {
      await sleep(o.pollMs ?? 1000);
      const open: ShardRange[] = [];
      // One listing per poll, not one request per shard (on S3 each would be a round trip).
      const done = await storage.names();
      for (const s of pending.values()) {
        if (done.has(o.resultName(s))) {
          pending.delete(s.index);
          bar?.tick(s.end - s.start);
        } else open.push(s);
      }
      // States a hundred at a time: one round trip's wait for many shards, not one per shard.
      for (let i = 0; i < open.length; i += 100) {
        const chunk = open.slice(i, i + 100);
        const states = await redis('reading job states', Promise.all(chunk.map((s) => queue.getJobState(jobId(o.run, s.index)))));
        for (const [k, s] of chunk.entries()) {
          const state = states[k];
          const id = jobId(o.run, s.index);
          if (state === 'failed') {
            const job = await redis('reading a failed job', queue.getJob(id));
            const reason = maskSecrets(job?.failedReason ?? 'unknown error', o.url);
            // attemptsStarted also counts starts whose worker died (a shard failed for stalling has attemptsMade 0).
            throw new UlearnError(`shard ${s.index} (samples ${s.start}..${s.end - 1}) failed after ${job ? Math.max(job.attemptsMade, job.attemptsStarted) : '?'} attempt(s): ${reason}`, {
              code: 'E_SHARD',
              exitCode: 1,
              hint: `the workers' logs say more; rerun the same command to retry the failed shards (the ${o.shards.length - pending.size} finished ones are kept)`,
            });
          }
          if (state === 'completed') {
            // Completed after the file check above? Then the file is there now; if not, the worker wrote it elsewhere.
            if (await storage.exists(o.resultName(s))) continue;
            throw new UlearnError(`shard ${s.index}: a worker finished it but its result ${storage.describe(o.resultName(s))} is not here`, {
              code: 'E_SHARD',
              exitCode: 1,
              hint: 'the run location must be one shared folder that every worker and this machine see at the same path (NFS or the like), or an s3:// prefix',
            });
          }
          if (state === 'unknown') {
            // Gone from Redis (a restart without persistence, a flush): enqueued again under the same id.
            requeued++;
            log(`shard ${s.index}: its job is gone from Redis (restarted?); enqueued again`);
            await redis('enqueueing', queue.add(o.run, o.job(s), jobOpts(s)));
          }
        }
      }
    }
    bar?.done();
    // The run is done: its jobs go, so Redis holds nothing of it. A job still locked by a worker (a shard
    // whose result a killed worker wrote) is not removed; when it runs again the worker finds the run's
    // marker gone (the caller removes the run location after the merge) and skips it.
    for (const s of o.shards) await redis('removing finished jobs', queue.remove(jobId(o.run, s.index)));
    return { reused, requeued, ms: Date.now() - t0 };
  } finally {
    await queue.close().catch(() => undefined);
    (client as Redis).disconnect();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function withDeadline<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_r, reject) => {
        timer = setTimeout(() => reject(new UlearnError(message, { code: 'E_REDIS', exitCode: 1 })), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
