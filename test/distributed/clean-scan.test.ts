/**
 * `clean --distributed` without an encoder: the scan's two passes (src/distributed/clean-scan.ts) run as
 * shards on in-process workers over a real redis-server, and give scanImageFolders' samples exactly (pixels,
 * read errors and their order, native shapes, file sizes), on a folder with every case the scan treats apart:
 * mixed sizes, a corrupt file, an empty file, gray stored as RGB, a colour image, a train and a test split.
 * Then the whole command's outputs against one process's, a shard that always fails, and a file that changed
 * between the passes.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { cleanDecodeShard, distributedScan } from '../../src/distributed/clean-scan.js';
import { ChangedInput } from '../../src/distributed/shards.js';
import type { DistributedOptions } from '../../src/distributed/steps.js';
import { runShards } from '../../src/distributed/coordinator.js';
import { runWorker } from '../../src/distributed/worker.js';
import { scanImageFolders } from '../../src/clean/scan.js';
import type { ImageSamples } from '../../src/clean/types.js';
import { main } from '../../src/cli/program.js';
import { ulearnVersion } from '../../src/transfer/sidecar.js';
import { UlearnError } from '../../src/errors.js';
import { Rng } from '../../src/engine/seed.js';
import { tempDir } from '../label/fixtures.js';
import { initBackend } from '../../src/engine/backend.js';
import { buildEncoder } from '../../src/models/architecture.js';
import { saveCheckpoint } from '../../src/runs/checkpoint.js';
import { TestRedis } from '../support/redis.js';

const T = { timeout: 60_000 };
const SHARD = 5;

let redis: TestRedis;
let root: string;
let folders: { train: string; test: string };
const stops: (() => Promise<void>)[] = [];

/** An in-process worker on `queue` (a process's start-up would be most of this file's time); resolves its stop. */
function startWorker(queue: string): () => Promise<void> {
  let stop!: () => void;
  const stopped = new Promise<void>((r) => (stop = r));
  const running = runWorker({ url: redis.url, queue, backend: 'cpu', lockMs: 5000, stalledMs: 1000, log: () => undefined, stop: stopped });
  const fn = async () => {
    stop();
    await running;
  };
  stops.push(fn);
  return fn;
}

const dist = (queue: string, extra: Partial<DistributedOptions> = {}): DistributedOptions => ({ url: redis.url, queue, shardSize: SHARD, pollMs: 30, work: join(root, `work-${queue}`), log: () => undefined, ...extra });

const gray = (px: Uint8Array, size: number) => sharp(Buffer.from(px), { raw: { width: size, height: size, channels: 1 } });

function stripes(rng: Rng, size: number, vertical: boolean): Uint8Array {
  const px = new Uint8Array(size * size);
  const period = 3 + rng.int(3);
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) px[y * size + x] = (((vertical ? x : y) % period) < period / 2 ? 200 : 40) + rng.int(20);
  return px;
}

async function fixture(): Promise<void> {
  const rng = new Rng(3);
  for (const [split, count] of [['train', 7], ['test', 3]] as const) {
    for (const cls of ['h', 'v']) {
      const dir = join(root, split, cls);
      mkdirSync(dir, { recursive: true });
      for (let i = 0; i < count; i++) writeFileSync(join(dir, `img${i}.png`), await gray(stripes(rng, 12, cls === 'v'), 12).png().toBuffer());
    }
  }
  const h = join(root, 'train', 'h');
  // Another size (decoded by sharp to the common 12x12), gray stored as RGB (a JPEG with three equal
  // channels), a colour image, a corrupt file, an empty file.
  writeFileSync(join(h, 'big.png'), await gray(stripes(rng, 20, false), 20).png().toBuffer());
  writeFileSync(join(h, 'rgb-gray.jpg'), await gray(stripes(rng, 12, false), 12).toColourspace('srgb').jpeg({ quality: 95 }).toBuffer());
  const colour = Buffer.alloc(12 * 12 * 3);
  for (let p = 0; p < 144; p++) colour.set([200, 30 + p, 40], p * 3);
  writeFileSync(join(root, 'train', 'v', 'colour.png'), await sharp(colour, { raw: { width: 12, height: 12, channels: 3 } }).png().toBuffer());
  writeFileSync(join(root, 'train', 'v', 'corrupt.png'), Buffer.concat([(await gray(stripes(rng, 12, true), 12).png().toBuffer()).subarray(0, 40), Buffer.from('garbage')]));
  writeFileSync(join(root, 'test', 'v', 'empty.png'), Buffer.alloc(0));
  // A duplicate across the splits, so the full command has leakage to report.
  writeFileSync(join(root, 'test', 'h', 'leak.png'), readFileSync(join(h, 'img0.png')));
}

before(async () => {
  redis = await TestRedis.start();
  root = tempDir('clean-scan');
  folders = { train: join(root, 'train'), test: join(root, 'test') };
  await fixture();
  startWorker('scan');
  startWorker('scan');
});

after(async () => {
  for (const stop of stops) await stop().catch(() => undefined);
  await redis?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

/** Every field, the read errors' order included (deepEqual does not compare a Map's order). */
function assertSameSamples(got: ImageSamples, want: ImageSamples): void {
  assert.deepEqual([...got.readError.entries()], [...want.readError.entries()]);
  assert.ok(Buffer.from(got.pixels).equals(Buffer.from(want.pixels)), 'pixels byte for byte');
  assert.deepEqual(got, want);
}

test('the distributed scan gives scanImageFolders\' samples exactly', T, async () => {
  const want = await scanImageFolders(folders);
  // The fixture does what it claims: every special case is there.
  assert.equal(want.ids.length, 26);
  // The empty file fails pass 1 (reading), the corrupt one pass 2 (its header is whole): pass-1 errors come
  // first, though the corrupt file's index is lower.
  assert.deepEqual([...want.readError].map(([i, e]) => [want.ids[i], want.split[i], /^(empty file|truncated)/.test(e)]), [['v/empty.png', 1, true], ['v/corrupt.png', 0, true]]);
  assert.equal(want.channels, 1, 'gray by content: the RGB-stored gray JPEG and one colour image do not make it colour');
  assert.ok(want.ids.includes('h/rgb-gray.jpg') && want.nativeShape[want.ids.indexOf('h/big.png') * 3] === 20);
  assert.equal(want.nativeShape[want.ids.indexOf('v/colour.png') * 3 + 2], 3);
  assert.equal(want.nativeShape[want.ids.indexOf('h/rgb-gray.jpg') * 3 + 2], 1);
  assert.equal((await sharp(join(folders.train, 'h', 'rgb-gray.jpg')).metadata()).channels, 3, 'stored as RGB');
  const work = join(root, 'work-scan');
  const got = await distributedScan(folders, {}, dist('scan'));
  assertSameSamples(got, want);
  assert.ok(!existsSync(work), 'both passes\' run folders are removed after the merge');
  // Options that change the plan travel with the jobs: a forced size and channel count, a small check size.
  const opts = { size: 16, channels: 3 as const, maxSide: 8 };
  assertSameSamples(await distributedScan(folders, opts, dist('scan', { shardSize: 7 })), await scanImageFolders(folders, opts));
});

/** `ulearn clean` on the fixture in this process, then with --distributed; both outputs compared. */
async function cleanBoth(name: string, extra: string[]): Promise<void> {
  const one = join(root, `${name}-one`);
  const many = join(root, `${name}-many`);
  const args = ['clean', folders.train, '--test-data', folders.test, '--backend', 'cpu', '--no-html', ...extra];
  assert.equal(await main([...args, '--out', one]), 0);
  assert.equal(await main([...args, '--out', many, '--distributed', redis.url, '--queue', 'scan', '--shard-size', String(SHARD), '--poll', '30']), 0);
  // Times and dates differ between any two runs; everything else must not.
  const stable = (file: string) => JSON.stringify(JSON.parse(readFileSync(file, 'utf8'), (k, v: unknown) => (/^(created|timings|seconds.*|peak_rss_mb)$/.test(k) ? undefined : v)));
  const issues = stable(join(one, 'issues.json'));
  assert.equal(stable(join(many, 'issues.json')), issues);
  assert.match(issues, /corrupt/);
  assert.match(issues, /leakage/);
  assert.equal(stable(join(many, 'manifest.json')), stable(join(one, 'manifest.json')));
  assert.equal(readFileSync(join(many, 'manifest.csv'), 'utf8'), readFileSync(join(one, 'manifest.csv'), 'utf8'));
  assert.ok(!existsSync(join(many, 'shards')), 'the work folder is removed');
}

test('`ulearn clean --distributed` writes what one process writes', T, async () => {
  await cleanBoth('plain', []);
  // A named dataset is loaded whole: without --encoder nothing would run on the workers, which is said.
  const errors: string[] = [];
  const err = console.error;
  console.error = (m: string) => errors.push(m);
  try {
    assert.equal(await main(['clean', 'fashion-mnist', '--out', join(root, 'named'), '--distributed', redis.url]), 2);
  } finally {
    console.error = err;
  }
  assert.match(errors.join('\n'), /'fashion-mnist' is loaded whole, and without --encoder nothing is left to shard/);
});

test('`ulearn clean --encoder --distributed`: the sharded scan, then the sharded encoder pass, as one process', T, async () => {
  await initBackend('cpu');
  const model = buildEncoder({ family: 'resnet', modality: 'image', inputShape: [12, 12, 1], widths: [4, 8], blocksPerStage: 1, method: 'none' }, 3);
  const encoder = join(root, 'encoder');
  await saveCheckpoint(encoder, model);
  model.dispose();
  await cleanBoth('encoder', ['--encoder', encoder]);
});

test('a scan shard that fails every attempt fails the run, naming the shard and its samples', T, async () => {
  process.env.ULEARN_TEST_FAULT = 'fail:1';
  const stop = startWorker('fail');
  try {
    await assert.rejects(distributedScan(folders, {}, dist('fail', { attempts: 2, retryDelayMs: 10 })), (e: UlearnError) => {
      assert.equal(e.code, 'E_SHARD');
      assert.match(e.message, /^shard 1 \(samples 5\.\.9\) failed after \d+ attempt\(s\): test fault in shard 1/);
      return true;
    });
  } finally {
    delete process.env.ULEARN_TEST_FAULT;
    await stop();
  }
});

test('a file that changed since the first pass fails its decode shard with the file named, not a retry', T, async () => {
  const file = join(folders.train, 'h', 'img1.png');
  const dir = join(root, 'changed');
  mkdirSync(dir);
  const job = (sha: string) => ({
    kind: 'clean-decode' as const, run: 'changed', dir, version: ulearnVersion(), index: 0, start: 0, end: 1, files: [file], sha: [sha],
    plan: { storedHeight: 12, storedWidth: 12, height: 12, width: 12, channels: 1 as const },
  });
  await assert.rejects(cleanDecodeShard(job('0'.repeat(64))), (e: ChangedInput) => {
    assert.ok(e instanceof ChangedInput);
    assert.match(e.message, /img1\.png changed between the clean scan's two passes/);
    return true;
  });
  // Through a worker: one attempt, not --attempts (every retry would see the same file).
  await assert.rejects(
    runShards({ url: redis.url, queue: 'scan', run: 'changed', dir, shards: [{ index: 0, start: 0, end: 1 }], pollMs: 30, attempts: 3, retryDelayMs: 10, resultName: () => 'shard-000000.bin', job: () => job('0'.repeat(64)), log: () => undefined }),
    /shard 0 \(samples 0\.\.0\) failed after 1 attempt\(s\): .*img1\.png changed between the clean scan's two passes/,
  );
  // With the hash the first pass saw, the same job writes its shard.
  assert.equal(await cleanDecodeShard(job(createHash('sha256').update(readFileSync(file)).digest('hex'))), 1);
  assert.ok(existsSync(join(dir, 'shard-000000.bin')));
});
