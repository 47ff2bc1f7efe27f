/**
 * What a shard is, for the coordinator and the workers alike: the job data BullMQ carries, the job id, the
 * name of the shard's result, and the checks a worker runs before it takes a job.
 *
 * A shard is a contiguous range of samples of one sorted list (files) or of rows (an IDX file); its result is
 * one file (or S3 object) in the run location, written atomically, named by its index: a retried or repeated shard rewrites the
 * same bytes to the same name, and the merge reads each index once, so nothing is lost or counted twice.
 */
import { UlearnError } from '../errors.js';
import type { EncodeSource } from '../predict/encode-files.js';
import type { DecodePlan } from '../clean/scan.js';
import type { InputPreprocessing } from '../transfer/adapt.js';
import { ulearnVersion } from '../transfer/sidecar.js';
import { sha256FilesCached } from '../util/hash-files.js';
import { localModel } from '../predict/remote-model.js';

export const DEFAULT_QUEUE = 'ulearn-shards';

export interface ShardRange {
  index: number;
  /** Samples start..end-1 of the whole run. */
  start: number;
  end: number;
}

interface ShardJobBase extends ShardRange {
  /** The run's id (deterministic from its inputs, so a rerun finds its finished shards). */
  run: string;
  /** Run location every worker sees: an absolute folder (shared filesystem) or an s3:// prefix (./storage.ts). */
  dir: string;
  /** ulearn version of the coordinator; a worker of another version refuses the job. */
  version: string;
}

/** A shard that runs a model (encode, predict). */
interface ModelShardJob extends ShardJobBase {
  /** The model as the coordinator hashed it (an s3:// model: its downloaded copy); a worker that sees other bytes at `path` refuses the job. */
  model: { path: string; sha256: string };
}

export interface EncodeShardJob extends ModelShardJob {
  kind: 'encode';
  /** For files: only this shard's files (samples start..end are its 0..n); an IDX file: the whole file. */
  source: EncodeSource;
  resize: 'crop' | 'stretch' | 'pad';
  preprocessing?: InputPreprocessing;
  cutAt?: string;
}

export interface PredictShardJob extends ModelShardJob {
  kind: 'predict';
  /** This shard's image files, absolute paths or s3:// URLs. */
  files: string[];
}

/** Pass 1 of the clean scan over a shard of files: sizes, headers, read errors (src/distributed/clean-scan.ts). */
export interface CleanReadShardJob extends ShardJobBase {
  kind: 'clean-read';
  /** This shard's image files, absolute. */
  files: string[];
}

/** Pass 2 of the clean scan: the shard's files decoded to the plan taken from every file's header. */
export interface CleanDecodeShardJob extends ShardJobBase {
  kind: 'clean-decode';
  files: string[];
  /** Per file, the content hash pass 1 saw (a file that differs now fails the shard); null: pass 1 could not read it, skipped. */
  sha: (string | null)[];
  plan: DecodePlan;
}

export type ShardJob = EncodeShardJob | PredictShardJob | CleanReadShardJob | CleanDecodeShardJob;

/** Whether a job runs a model (and so carries one the worker must check and load). */
export const hasModel = (job: ShardJob): job is EncodeShardJob | PredictShardJob => job.kind === 'encode' || job.kind === 'predict';

/** BullMQ job id: unique per run and shard, so adding a shard twice adds it once (BullMQ refuses ':' in ids). */
export const jobId = (run: string, index: number): string => `${run}-s${index}`;

/** The name of the shard's result in the run location. */
export function shardName(index: number, ext: 'bin' | 'json'): string {
  return `shard-${String(index).padStart(6, '0')}.${ext}`;
}

/** Ranges of `shardSize` samples over `total`. */
export function planShards(total: number, shardSize: number): ShardRange[] {
  const out: ShardRange[] = [];
  for (let s = 0, i = 0; s < total; s += shardSize, i++) out.push({ index: i, start: s, end: Math.min(total, s + shardSize) });
  return out;
}

/** Thrown for a job this worker must not run (another version, another model): retrying elsewhere will not help. */
export class RefusedJob extends UlearnError {
  constructor(message: string, hint: string) {
    super(message, { code: 'E_REFUSED', hint });
  }
}

/**
 * Thrown for a shard whose input changed under the run (a file edited between the clean scan's two passes):
 * every retry would see the same, so the run stops at once and says which file.
 */
export class ChangedInput extends UlearnError {
  constructor(message: string) {
    super(message, { code: 'E_CHANGED', hint: 'the data changed while the run read it; rerun the command once the files stay put' });
  }
}

/**
 * Refuses a job from another ulearn version or for model files that differ from the coordinator's (a stale
 * copy on this machine would give other numbers, silently). The clean scan's jobs have no model: only the
 * version is checked.
 */
export async function checkJob(job: ShardJob, version = ulearnVersion()): Promise<void> {
  if (job.version !== version) {
    throw new RefusedJob(`worker runs ulearn ${version}, the run was started with ulearn ${job.version}`, 'run workers of the same ulearn version as the command that started the run');
  }
  if (!hasModel(job)) return;
  // An s3:// model is hashed as downloaded here: a copy that differs from the coordinator's is refused too.
  const sha = await localModel(job.model.path)
    .then((local) => sha256FilesCached(local))
    .catch((e: Error) => {
      throw new RefusedJob(`the model ${job.model.path} cannot be read on this worker (${e.message})`, 'workers must see the model at the same path (a shared filesystem) or the same s3:// URL');
    });
  if (sha !== job.model.sha256) {
    throw new RefusedJob(`the model files at ${job.model.path} differ on this worker (sha256 ${sha.slice(0, 12)}…, the run expects ${job.model.sha256.slice(0, 12)}…)`, 'give every worker the same copy of the model');
  }
}
