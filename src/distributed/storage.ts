/**
 * The run location of a distributed step: where workers put the shards' results and the coordinator finds
 * and merges them. One interface, two places:
 * - a folder on a shared filesystem (NFS, a cluster filesystem): each result written to a temp file, fsynced,
 *   renamed (util/atomic.ts), so a reader sees the whole file or none;
 * - an S3 prefix (`s3://bucket/work/<run>/`): each result one PUT, which S3 makes visible whole or not at all.
 * Either way the run location, not Redis, is the record of what is done (coordinator.ts), and a small
 * `.ulearn-run` marker written when the run starts tells a worker the run is still alive: once the merge
 * removes the location, a job that outlived its run is skipped.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../util/atomic.js';
import { UlearnError } from '../errors.js';
import { checkBucket, deleteS3Prefix, existsS3, getS3, isS3Url, listS3, parseS3Url, putS3, s3Join } from '../util/s3.js';

export const RUN_MARKER = '.ulearn-run';

export interface RunStorage {
  /** The location, as jobs carry it: an absolute folder, or an s3:// URL ending in '/'. */
  readonly location: string;
  /** For messages: where a name is. */
  describe(name?: string): string;
  /** Creates the location and its marker (the run is alive from here on). */
  create(): Promise<void>;
  /** Whether the run's marker is there (false once the run was merged and removed). */
  alive(): Promise<boolean>;
  /** The names in the location (one listing: the coordinator's poll). */
  names(): Promise<Set<string>>;
  exists(name: string): Promise<boolean>;
  /** Writes `name` atomically: a reader sees the whole content or nothing. */
  write(name: string, bytes: Uint8Array | string): Promise<void>;
  read(name: string): Promise<Uint8Array>;
  /** Removes the location and everything in it. */
  removeAll(): Promise<void>;
}

/** The run location `run` inside the work location `work` (a folder or an s3:// prefix). */
export function runLocation(work: string, run: string): string {
  return isS3Url(work) ? s3Join(work, `${run}/`) : path.resolve(work, run);
}

/** The work location as a run id records it: the absolute folder, or the URL as a folder. */
export function workKey(work: string): string {
  return isS3Url(work) ? s3Join(work, '') : path.resolve(work);
}

/** The storage for a location: an s3:// URL is S3, anything else a folder. */
export function runStorage(location: string): RunStorage {
  return isS3Url(location) ? new S3Storage(location) : new FsStorage(location);
}

class FsStorage implements RunStorage {
  readonly location: string;
  constructor(dir: string) {
    this.location = path.resolve(dir);
  }
  describe(name?: string): string {
    return name ? path.join(this.location, name) : this.location;
  }
  async create(): Promise<void> {
    await mkdir(this.location, { recursive: true });
    if (!existsSync(path.join(this.location, RUN_MARKER))) await writeFileAtomic(path.join(this.location, RUN_MARKER), '');
  }
  async alive(): Promise<boolean> {
    return existsSync(path.join(this.location, RUN_MARKER));
  }
  async names(): Promise<Set<string>> {
    return new Set(await readdir(this.location).catch(() => []));
  }
  async exists(name: string): Promise<boolean> {
    return existsSync(path.join(this.location, name));
  }
  async write(name: string, bytes: Uint8Array | string): Promise<void> {
    await writeFileAtomic(path.join(this.location, name), bytes);
  }
  async read(name: string): Promise<Uint8Array> {
    return readFile(path.join(this.location, name));
  }
  async removeAll(): Promise<void> {
    await rm(this.location, { recursive: true, force: true });
    // The work folder too when no other run is in it.
    await rmdir(path.dirname(this.location)).catch(() => undefined);
  }
}

class S3Storage implements RunStorage {
  readonly location: string;
  constructor(url: string) {
    this.location = s3Join(url, '');
    if (parseS3Url(this.location).key === '') throw new UlearnError(`${url}: a run location needs a prefix`, { code: 'E_ARG' });
  }
  describe(name?: string): string {
    return name ? s3Join(this.location, name) : this.location;
  }
  async create(): Promise<void> {
    // The bucket first: a missing bucket or a wrong endpoint is one clear error before any job exists.
    await checkBucket(this.location);
    await putS3(s3Join(this.location, RUN_MARKER), '');
  }
  async alive(): Promise<boolean> {
    return existsS3(s3Join(this.location, RUN_MARKER));
  }
  async names(): Promise<Set<string>> {
    const prefix = parseS3Url(this.location).key;
    return new Set((await listS3(this.location)).map((o) => o.key.slice(prefix.length)));
  }
  async exists(name: string): Promise<boolean> {
    return existsS3(s3Join(this.location, name));
  }
  async write(name: string, bytes: Uint8Array | string): Promise<void> {
    await putS3(s3Join(this.location, name), bytes);
  }
  async read(name: string): Promise<Uint8Array> {
    return getS3(s3Join(this.location, name));
  }
  async removeAll(): Promise<void> {
    // The marker first: a worker that takes a leftover job from here on skips it. (One already running a
    // shard may still PUT its result afterwards; S3 has no folder whose removal would stop it. That object
    // is left under the prefix, harmless, and removed by the next run of the same id or by hand.)
    await deleteS3Prefix(s3Join(this.location, RUN_MARKER));
    await deleteS3Prefix(this.location);
  }
}
