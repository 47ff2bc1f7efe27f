/**
 * `npm run bench scale`: distributed encoding (src/distributed/) on one machine, 1 worker against 2, and
 * what it costs over one process.
 *
 *  - data: Fashion-MNIST's 70,000 images (train + test) repeated with shifts and flips to `--images` rows
 *    (default 1,000,000), one uncompressed IDX file in --work (built once, kept);
 *  - encoder: ResNet 16-32-64 (the image pipeline's default) on 28x28x1, seeded, untrained: the cost of a
 *    forward pass does not depend on the weights;
 *  - single: `encodeSource` in this process, one thread (the same code the workers run, without the queue);
 *  - workers 1 and 2: `ulearn worker --threads 1` processes, started and warmed up (a first tiny run)
 *    before the clock starts; the coordinator in this process, timed from enqueueing to the merged result;
 *  - queue_overhead_fraction: the share of the 1-worker run's time that is not the worker encoding its shards,
 *    1 - (sum of the worker's own per-shard times, from its log) / (run time - merge): enqueueing, polling,
 *    handing over, reading the shard and writing its file. The same process computes both sides, so it does not
 *    depend on how fast another process runs. vs_single_process beside it: 1 - single time / 1-worker time, which
 *    also holds the differences between two processes (heap, page cache) and can come out negative;
 *  - per-shard cost and a model of N machines: T(N) = ceil(S / N) × t + merge, with t the time per shard
 *    with one worker (queue included; its compute part single / S beside it) and merge the measured gather;
 *  - fault runs: `--fault-runs K` small runs (`--fault-images`, default 2,000 in shards of 100) on 2 workers,
 *    one of them SIGKILLed at a random moment of each run and replaced; every run's output is compared with a
 *    single-process encode of the same images: lost shards (rows missing or different) and duplicated shards
 *    (rows present more than once) are counted.
 * A throwaway redis-server on a free loopback port serves the run (test/support/redis.ts). The machine should
 * be otherwise idle: the load averages at start and end are recorded.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { initBackend, describeBackend } from '../src/engine/index.js';
import { readIdx } from '../src/data/idx.js';
import { buildEncoder } from '../src/models/architecture.js';
import { saveCheckpoint } from '../src/runs/checkpoint.js';
import { distributedEncode } from '../src/distributed/steps.js';
import { encodeSource, resolveEncodeSource, sourceSize } from '../src/predict/encode-files.js';
import { writeJsonAtomic } from '../src/util/atomic.js';
import { TestRedis } from '../test/support/redis.js';
import { benchOptions, engineOptions, threadsOf } from './options.js';

const FMNIST = '/usr/share/datasets/fashion-mnist';
const BIN = path.join(import.meta.dirname, '..', 'bin', 'ulearn.js');

export async function run(args: string[]): Promise<number> {
  const { values: o } = parseArgs({
    args,
    options: {
      ...benchOptions({ name: 'scale', out: 'bench/results/scale.json', seeds: '0' }),
      ...engineOptions(),
      images: { type: 'string', default: '1000000' },
      'shard-size': { type: 'string', default: '10000' },
      'fault-runs': { type: 'string', default: '100' },
      'fault-images': { type: 'string', default: '2000' },
      'fault-shard-size': { type: 'string', default: '100' },
    },
  });
  const images = posInt(o.images, '--images');
  const shardSize = posInt(o['shard-size'], '--shard-size');
  const faultRuns = Number(o['fault-runs']);
  const faultImages = posInt(o['fault-images'], '--fault-images');
  const faultShard = posInt(o['fault-shard-size'], '--fault-shard-size');
  const threads = threadsOf(o.threads, 1)!;
  const seed = Number(o.seeds.split(',')[0] ?? 0);
  const work = path.resolve(o.work);
  await mkdir(work, { recursive: true });
  const load = [os.loadavg()];

  const data = await augmentedFashionMnist(work, images);
  const faultData = await augmentedFashionMnist(work, faultImages);
  const encoderDir = path.join(work, 'encoder');
  const backend = await initBackend(o.backend, { threads });
  if (!existsSync(encoderDir)) {
    const model = buildEncoder({ family: 'resnet', modality: 'image', inputShape: [28, 28, 1], widths: [16, 32, 64], blocksPerStage: 1, method: 'none' }, seed + 1);
    await saveCheckpoint(encoderDir, model);
    model.dispose();
  }
  const spec = { encoder: { source: encoderDir } };
  const source = await resolveEncodeSource([data]);
  const n = sourceSize(source);
  const shards = Math.ceil(n / shardSize);
  log(`scale: ${n} images in ${shards} shards of ${shardSize}; ${describeBackend(backend).split('\n')[0]}, ${threads} thread(s) per process`);

  // One process, no queue: the reference time, after a warm-up pass as the workers get (the first batches
  // compile kernels and allocate).
  await encodeSource(await resolveEncodeSource([faultData]), spec);
  let t = Date.now();
  const single = await encodeSource(source, { ...spec, progress: true });
  const singleS = (Date.now() - t) / 1000;
  log(`single process: ${(n / singleS).toFixed(0)} img/s`);

  const redis = await TestRedis.start();
  const workers: { n: number; img_s: number; seconds: number; merge_s: number; worker_shard_s: number; identical: boolean }[] = [];
  const procs: Worker[] = [];
  try {
    for (const count of [1, 2]) {
      while (procs.length < count) procs.push(await startWorker(redis.url, 'bench', o.backend, threads));
      // Warm-up: each worker loads the encoder once before the clock starts.
      await distributedEncode(await resolveEncodeSource([faultData]), spec, { url: redis.url, queue: 'bench', shardSize: Math.ceil(faultImages / count), pollMs: 100, work: path.join(work, 'shards'), log: () => undefined });
      const marks = procs.map((p) => p.lines.length);
      t = Date.now();
      let runId = '';
      const logRun = (l: string) => {
        runId ||= /^run (\S+):/.exec(l)?.[1] ?? '';
        log(l);
      };
      const r = await distributedEncode(source, spec, { url: redis.url, queue: 'bench', shardSize, pollMs: 200, work: path.join(work, 'shards'), progress: true, log: logRun });
      const seconds = (Date.now() - t) / 1000;
      // The workers' own time per shard (their log: "shard i of run R: n samples in s s"), summed over this run.
      const workerShardS = procs.reduce((a, p, i) => a + shardSeconds(p.lines.slice(marks[i]), runId), 0);
      const identical = Buffer.compare(Buffer.from(r.features.buffer), Buffer.from(single.features.buffer)) === 0;
      workers.push({ n: count, img_s: round(n / seconds), seconds: round(seconds), merge_s: round(seconds - r.stats.ms / 1000), worker_shard_s: round(workerShardS), identical });
      log(`${count} worker(s): ${(n / seconds).toFixed(0)} img/s, identical to one process: ${identical}`);
    }

    // Fault runs: 2 workers, one killed at a random moment, replaced; results against one process.
    const faultSource = await resolveEncodeSource([faultData]);
    const want = (await encodeSource(faultSource, spec)).features;
    const dim = want.length / faultImages;
    let lost = 0;
    let duplicated = 0;
    let killed = 0;
    let rng = seed * 7919 + 17;
    const rand = () => ((rng = (rng * 1103515245 + 12345) % 2147483648) / 2147483648);
    const faultSeconds: number[] = [];
    for (let k = 0; k < faultRuns; k++) {
      const runStart = Date.now();
      const runP = distributedEncode(faultSource, spec, { url: redis.url, queue: 'bench', shardSize: faultShard, pollMs: 50, work: path.join(work, `fault-shards-${k}`), log: () => undefined, keepShards: false });
      // Handled now, awaited below: a rejection while this loop waits elsewhere must not go unhandled.
      runP.catch(() => undefined);
      // A random moment within the typical run time (the mean of the runs so far, or 1 s).
      const typical = faultSeconds.length ? faultSeconds.reduce((a, b) => a + b, 0) / faultSeconds.length : 1;
      await sleep(rand() * typical * 1000);
      const victim = Math.floor(rand() * procs.length);
      if (procs[victim].child.exitCode === null) {
        procs[victim].child.kill('SIGKILL');
        await procs[victim].exited;
        killed++;
      }
      procs[victim] = await startWorker(redis.url, 'bench', o.backend, threads);
      const r = await runP;
      faultSeconds.push((Date.now() - runStart) / 1000);
      const c = compareRows(r.features, want, dim, faultShard);
      lost += c.lost;
      duplicated += c.duplicated;
      log(`fault run ${k + 1}/${faultRuns}: ${faultSeconds.at(-1)!.toFixed(1)} s, lost ${c.lost}, duplicated ${c.duplicated}`);
    }

    const one = workers[0];
    const two = workers[1];
    const vsSingle = 1 - singleS / one.seconds;
    const overhead = 1 - one.worker_shard_s / (one.seconds - one.merge_s);
    // Per shard, as one worker ran them (queue included), and the worker's own part of it; their difference is
    // the queue's share.
    const perShard = (one.seconds - one.merge_s) / shards;
    const computePerShard = one.worker_shard_s / shards;
    const model = [1, 2, 4, 8, 16, 32, 64].map((m) => {
      const seconds = Math.ceil(shards / m) * perShard + one.merge_s;
      return { machines: m, seconds: round(seconds), img_s: round(n / seconds) };
    });
    load.push(os.loadavg());
    const result = {
      machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, node: process.version, backend: describeBackend(backend).split('\n')[0], threads_per_process: threads, loadavg_start: load[0].map(round), loadavg_end: load[1].map(round) },
      images: n,
      shard_size: shardSize,
      shards,
      single_process: { img_s: round(n / singleS), seconds: round(singleS) },
      workers,
      speedup_1_to_2: round(two.img_s / one.img_s),
      queue_overhead_fraction: round(overhead),
      vs_single_process: round(vsSingle),
      per_shard: { seconds: round(perShard), compute_s: round(computePerShard), queue_s: round(perShard - computePerShard), merge_s_per_run: one.merge_s },
      model_n_machines: { formula: 'T(N) = ceil(shards / N) * per_shard.seconds + merge_s_per_run; one worker per machine, Redis and the shared filesystem not the bottleneck', rows: model },
      fault_runs: faultRuns,
      fault_images: faultImages,
      fault_shard_size: faultShard,
      workers_killed: killed,
      lost_shards: lost,
      duplicated_shards: duplicated,
    };
    await writeJsonAtomic(o.out, result);
    log(`written ${o.out}`);
    return lost === 0 && duplicated === 0 && workers.every((w) => w.identical) ? 0 : 1;
  } finally {
    for (const p of procs) p.child.kill('SIGKILL');
    await redis.stop();
    await rm(path.join(work, 'shards'), { recursive: true, force: true });
  }
}

interface Worker {
  child: ChildProcess;
  exited: Promise<unknown>;
  /** Its stderr, line by line. */
  lines: string[];
}

/** Seconds the worker's log gives for the shards of run `run`. */
function shardSeconds(lines: string[], run: string): number {
  let s = 0;
  for (const l of lines) {
    const m = /^shard \d+ of run (\S+): \d+ samples in ([\d.]+) s/.exec(l);
    if (m && m[1] === run) s += Number(m[2]);
  }
  return s;
}

/** A `ulearn worker` process, resolved once it waits for shards. Locks of 5 s (renewed every 2.5 s
 * between batches of 256 images), so a killed worker's shard is back in the queue within seconds. */
async function startWorker(url: string, queue: string, backend: string, threads: number): Promise<Worker> {
  const child = spawn(process.execPath, [BIN, 'worker', '--redis', url, '--queue', queue, '--backend', backend, '--threads', String(threads), '--lock-duration', '5000', '--stalled-interval', '1000'], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ULEARN_FROM_SOURCE: '1' } });
  const exited = new Promise((r) => child.once('exit', r));
  const lines: string[] = [];
  let partial = '';
  await new Promise<void>((resolve, reject) => {
    let text = '';
    child.stderr!.on('data', (d: Buffer) => {
      if (text.length < 1e5) text += d.toString();
      const parts = (partial + d.toString()).split('\n');
      partial = parts.pop()!;
      lines.push(...parts);
      if (text.includes('waiting for shards')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`worker exited (${code}) before it was ready:\n${text}`)));
  });
  return { child, exited, lines };
}

/** Shards (of `shardSize` rows) whose rows differ from `want` (lost), and rows beyond `want`'s count (duplicated). */
function compareRows(got: Float32Array, want: Float32Array, dim: number, shardSize: number): { lost: number; duplicated: number } {
  const rows = want.length / dim;
  const gotRows = got.length / dim;
  let lost = 0;
  for (let s = 0; s < rows; s += shardSize) {
    const e = Math.min(rows, s + shardSize);
    if (e > gotRows || Buffer.compare(Buffer.from(got.buffer, got.byteOffset + s * dim * 4, (e - s) * dim * 4), Buffer.from(want.buffer, want.byteOffset + s * dim * 4, (e - s) * dim * 4)) !== 0) lost++;
  }
  return { lost, duplicated: Math.max(0, Math.ceil((gotRows - rows) / shardSize)) };
}

/**
 * Fashion-MNIST (train + test, 70,000 images) repeated to `n` rows as an uncompressed IDX file: copy k of an
 * image is shifted by (k mod 5 - 2, floor(k / 5) mod 5 - 2) pixels and mirrored when k / 25 is odd, so the
 * first 50 copies all differ. Written to a temporary name and renamed: a killed build leaves no partial file.
 */
async function augmentedFashionMnist(work: string, n: number): Promise<string> {
  const file = path.join(work, `fashion-mnist-x${n}.idx`);
  if (existsSync(file)) return file;
  const parts = await Promise.all(['train', 't10k'].map((p) => readIdx(path.join(FMNIST, `${p}-images-idx3-ubyte.gz`))));
  const base = Buffer.concat(parts.map((p) => Buffer.from(p.data.buffer, p.data.byteOffset, p.data.byteLength)));
  const count = base.length / 784;
  const tmp = `${file}.${process.pid}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    const head = Buffer.alloc(16);
    head.writeUInt32BE(0x00000803, 0);
    head.writeUInt32BE(n, 4);
    head.writeUInt32BE(28, 8);
    head.writeUInt32BE(28, 12);
    await fh.write(head);
    const chunk = 10_000;
    for (let s = 0; s < n; s += chunk) {
      const m = Math.min(chunk, n - s);
      const out = Buffer.alloc(m * 784);
      for (let j = 0; j < m; j++) {
        const i = s + j;
        const k = Math.floor(i / count);
        const src = (i % count) * 784;
        const dx = (k % 5) - 2;
        const dy = (Math.floor(k / 5) % 5) - 2;
        const flip = Math.floor(k / 25) % 2 === 1;
        for (let y = 0; y < 28; y++) {
          const sy = y - dy;
          if (sy < 0 || sy >= 28) continue;
          for (let x = 0; x < 28; x++) {
            let sx = x - dx;
            if (flip) sx = 27 - sx;
            if (sx < 0 || sx >= 28) continue;
            out[j * 784 + y * 28 + x] = base[src + sy * 28 + sx];
          }
        }
      }
      await fh.write(out);
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
  return file;
}

function posInt(v: string, flag: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag}: expected a positive integer, got '${v}'`);
  return n;
}

const round = (v: number) => Number(v.toFixed(4));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (m: string) => console.error(m);

