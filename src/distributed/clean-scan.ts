/**
 * `ulearn clean <folder> --distributed redis://…`: the scan (reading and decoding every file, the part of
 * clean that grows with the pool's bytes) as shards on the workers, gathered into exactly the ImageSamples
 * `scanImageFolders` returns in one process (pixels byte for byte, the same read errors in the same order,
 * the same native shapes and file sizes).
 *
 * The scan has two passes with a decision between them that needs every file (src/clean/scan.ts):
 *   1. `clean-read` shards: each file's size and header (native shape), or why it cannot be read, and the
 *      sha256 of its bytes. The coordinator merges them by index and takes the decode plan (common size,
 *      check size, decode channels) from all headers, as one process does.
 *   2. `clean-decode` shards carry the plan and, per file, pass 1's hash: the worker reads each file again,
 *      checks the hash and decodes at the plan's size. A file whose bytes differ from pass 1's fails its shard
 *      at once (no retry: `ChangedInput`), since its header no longer stands behind the plan.
 * The gray-or-colour decision (by content, after decoding), the hashes for exact duplicates (taken on the
 * final pixels, so after that decision) and the checks (which compare samples across the pool) stay in the
 * coordinator: they need every sample, and cost little beside decoding.
 *
 * Shard results, written atomically into the run location (./storage.ts: a shared folder; `clean --distributed`
 * refuses an s3:// --work, since its --encoder pass reads a pixels file by byte ranges):
 * - pass 1: JSON `{run, index, start, end, files: [{size, shape: [h, w, c] | null, sha: hex | null, error: string | null}]}`;
 * - pass 2: one binary file: ASCII `ULSCAN1\n`, uint32 LE H, uint32 zero, H bytes of JSON
 *   `{format: 'ulearn-clean-decode', run, index, start, end, height, width, channels, colorful: (0|1|null)[],
 *   errors: (string|null)[]}`, then (end - start) × height × width × channels pixel bytes (a skipped or
 *   undecodable file's are zero).
 * Run ids hash the file list, the shard size, the ulearn version and the work folder (pass 2: also the plan
 * and pass 1's hashes), so the same command again resumes; both runs' folders go after the final merge, so a
 * rerun after a failed pass 2 finds pass 1 done.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { UlearnError } from '../errors.js';
import { decodeFile, decodePlan, finishScan, listScanEntries, newScanState, readHeader, recordDecode, recordHeader, type DecodePlan, type DecodeResult, type ScanFolderOptions } from '../clean/scan.js';
import type { ImageSamples, SplitName } from '../clean/types.js';
import { ulearnVersion } from '../transfer/sidecar.js';
import { mapLimit } from '../util/pool.js';
import { runShards } from './coordinator.js';
import { ChangedInput, planShards, shardName, type CleanDecodeShardJob, type CleanReadShardJob, type ShardRange } from './shards.js';
import { cleanUp, openRun, type DistributedOptions } from './steps.js';
import { runStorage } from './storage.js';

const MAGIC = 'ULSCAN1\n';
/** Files read at once inside a shard (as the single-process scan's default). */
const CONCURRENCY = 16;

interface ReadPart extends ShardRange {
  run: string;
  files: { size: number; shape: [number, number, number] | null; sha: string | null; error: string | null }[];
}

interface DecodeHeader extends ShardRange {
  format: 'ulearn-clean-decode';
  run: string;
  height: number;
  width: number;
  channels: number;
  colorful: (0 | 1 | null)[];
  errors: (string | null)[];
}

const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

/** `scanImageFolders(folders, opts)`, its two passes run as shards on the workers. */
export async function distributedScan(folders: Partial<Record<SplitName, string>>, opts: ScanFolderOptions, d: DistributedOptions): Promise<ImageSamples> {
  const { entries, classes } = await listScanEntries(folders, opts);
  const n = entries.length;
  const files = entries.map((e) => path.resolve(e.root, e.rel));
  const shardSize = d.shardSize ?? 1000;
  const version = ulearnVersion();
  const filesKey = sha256(files.join('\n'));
  const shards = planShards(n, shardSize);

  // Pass 1: sizes, headers, hashes.
  const { run: readRun, dir: readDir, storage: readStore } = openRun('clean-read', { files: filesKey, shardSize, version }, d.work);
  await runShards({
    ...d,
    run: readRun,
    dir: readDir,
    shards,
    label: d.progress ? 'read' : undefined,
    resultName: (s) => shardName(s.index, 'json'),
    job: (s): CleanReadShardJob => ({ kind: 'clean-read', run: readRun, dir: readDir, version, ...s, files: files.slice(s.start, s.end) }),
  });
  const state = newScanState(n);
  const sha: (string | null)[] = new Array<string | null>(n).fill(null);
  for (const s of shards) {
    const file = readStore.describe(shardName(s.index, 'json'));
    const part = JSON.parse(Buffer.from(await readStore.read(shardName(s.index, 'json'))).toString('utf8')) as ReadPart;
    if (part.run !== readRun || part.index !== s.index || part.start !== s.start || part.end !== s.end || part.files?.length !== s.end - s.start) {
      throw new UlearnError(`${file}: holds shard ${part.index} of run ${part.run}, expected shard ${s.index} of ${readRun}`, { code: 'E_SHARD', exitCode: 1, hint: 'remove the run folder and rerun' });
    }
    part.files.forEach((f, k) => {
      recordHeader(state, s.start + k, { size: f.size, shape: f.shape ?? undefined, error: f.error ?? undefined });
      if (f.error === null) sha[s.start + k] = f.sha;
    });
  }

  // Pass 2: pixels at the plan's size.
  const plan = decodePlan(state, opts);
  const per = plan.height * plan.width * plan.channels;
  const { run: decodeRun, dir: decodeDir, storage: decodeStore } = openRun('clean-decode', { files: filesKey, sha: sha256(JSON.stringify(sha)), plan, shardSize, version }, d.work);
  await runShards({
    ...d,
    run: decodeRun,
    dir: decodeDir,
    shards,
    label: d.progress ? 'decode' : undefined,
    resultName: (s) => shardName(s.index, 'bin'),
    job: (s): CleanDecodeShardJob => ({ kind: 'clean-decode', run: decodeRun, dir: decodeDir, version, ...s, files: files.slice(s.start, s.end), sha: sha.slice(s.start, s.end), plan }),
  });
  const pixels = new Uint8Array(n * per);
  for (const s of shards) {
    const file = decodeStore.describe(shardName(s.index, 'bin'));
    const { header: h, pixels: part } = parseDecodeShard(Buffer.from(await decodeStore.read(shardName(s.index, 'bin'))), file);
    const count = s.end - s.start;
    if (h.run !== decodeRun || h.index !== s.index || h.start !== s.start || h.end !== s.end || h.height !== plan.height || h.width !== plan.width || h.channels !== plan.channels || part.length !== count * per || h.colorful.length !== count || h.errors.length !== count) {
      throw new UlearnError(`${file}: holds shard ${h.index} of run ${h.run} (${part.length} pixel bytes), expected shard ${s.index} of ${decodeRun}`, { code: 'E_SHARD', exitCode: 1, hint: 'remove the run folder and rerun' });
    }
    pixels.set(part, s.start * per);
    for (let k = 0; k < count; k++) {
      const i = s.start + k;
      if (sha[i] === null) continue;
      const r: DecodeResult = h.errors[k] !== null ? { error: h.errors[k]! } : { colorful: h.colorful[k] === 1 };
      recordDecode(state, i, r, pixels.subarray(i * per, (i + 1) * per));
    }
  }
  await cleanUp(readStore, d);
  await cleanUp(decodeStore, d);
  return finishScan(folders, entries, classes, plan, state, pixels, opts);
}

/** Worker: pass 1 over the job's files. */
export async function cleanReadShard(d: CleanReadShardJob): Promise<number> {
  const files = await mapLimit(d.files, CONCURRENCY, async (f) => {
    const r = await readHeader(f);
    return { size: r.size, shape: r.shape ?? null, sha: r.bytes && r.error === undefined ? sha256(r.bytes) : null, error: r.error ?? null };
  });
  const part: ReadPart = { run: d.run, index: d.index, start: d.start, end: d.end, files };
  await runStorage(d.dir).write(shardName(d.index, 'json'), JSON.stringify(part, null, 2) + '\n');
  return d.files.length;
}

/** Worker: pass 2 over the job's files, each checked against pass 1's hash. */
export async function cleanDecodeShard(d: CleanDecodeShardJob): Promise<number> {
  const plan: DecodePlan = d.plan;
  const per = plan.height * plan.width * plan.channels;
  const pixels = new Uint8Array(d.files.length * per);
  const results = await mapLimit(d.files, CONCURRENCY, async (f, k): Promise<DecodeResult | null> => {
    const want = d.sha[k];
    if (want === null) return null;
    // Pass 1 read this file: failing to read it now is a fault of this machine or moment, worth a retry.
    const bytes = await readFile(f).catch((e: NodeJS.ErrnoException) => {
      throw new Error(`${f}: read in the scan's first pass but not now (${e.code ?? e.message})`);
    });
    const got = sha256(bytes);
    if (got !== want) throw new ChangedInput(`${f} changed between the clean scan's two passes (sha256 ${got.slice(0, 12)}… now, ${want.slice(0, 12)}… when its header was read)`);
    const out = pixels.subarray(k * per, (k + 1) * per);
    const r = await decodeFile(bytes, plan, out);
    if (r.error !== undefined) out.fill(0);
    return r;
  });
  const header: DecodeHeader = {
    format: 'ulearn-clean-decode',
    run: d.run,
    index: d.index,
    start: d.start,
    end: d.end,
    height: plan.height,
    width: plan.width,
    channels: plan.channels,
    colorful: results.map((r) => (r === null || r.error !== undefined ? null : r.colorful ? 1 : 0)),
    errors: results.map((r) => (r?.error !== undefined ? r.error : null)),
  };
  await runStorage(d.dir).write(shardName(d.index, 'bin'), decodeShardBytes(header, pixels));
  return d.files.length;
}

function decodeShardBytes(header: DecodeHeader, pixels: Uint8Array): Uint8Array {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const head = Buffer.alloc(16);
  head.write(MAGIC, 0, 'latin1');
  head.writeUInt32LE(json.length, 8);
  return Buffer.concat([head, json, pixels]);
}

function parseDecodeShard(b: Buffer, file: string): { header: DecodeHeader; pixels: Uint8Array } {
  const bad = () => new UlearnError(`${file}: not a clean-decode shard file`, { code: 'E_SHARD', exitCode: 1, hint: 'remove the run folder and rerun' });
  if (b.length < 16 || b.toString('latin1', 0, 8) !== MAGIC) throw bad();
  const h = b.readUInt32LE(8);
  if (16 + h > b.length) throw bad();
  const header = JSON.parse(b.toString('utf8', 16, 16 + h)) as DecodeHeader;
  if (header.format !== 'ulearn-clean-decode') throw bad();
  return { header, pixels: b.subarray(16 + h) };
}
