/**
 * Distributed encode on a real redis-server with real `ulearn worker` processes: the result is the
 * single-process result byte for byte, through a worker killed mid-shard, a Redis restart and 2 workers; a
 * shard that always fails, an unreachable Redis and a worker of another version or model are clear errors.
 * Faults are placed with the workers' ULEARN_TEST_FAULT hooks (src/distributed/test-faults.ts) and the tests
 * wait for the line each prints, never for a time.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { distributedEncode, type DistributedOptions } from '../../src/distributed/steps.js';
import { runShards } from '../../src/distributed/coordinator.js';
import { runWorker } from '../../src/distributed/worker.js';
import { planShards, shardName, checkJob, RefusedJob, type EncodeShardJob } from '../../src/distributed/shards.js';
import { maskSecrets, maskUrl } from '../../src/distributed/redis.js';
import { encodeSource, resolveEncodeSource, type EncodeSource } from '../../src/predict/encode-files.js';
import { embeddingsBytes, readEmbeddings } from '../../src/predict/embeddings-file.js';
import { ulearnVersion } from '../../src/transfer/sidecar.js';
import { sha256Files } from '../../src/util/hash-files.js';
import { UlearnError } from '../../src/errors.js';
import { main } from '../../src/cli/program.js';
import { scanImageFolders } from '../../src/clean/scan.js';
import { encoderEmbedding } from '../../src/clean/encoder-embedding.js';
import { distributedEncoderEmbedding } from '../../src/distributed/clean-embedding.js';
import { predict, predictionsCsv } from '../../src/predict/index.js';
import { decodeImage } from '../../src/data/image-decode.js';
import { TestRedis } from '../support/redis.js';
import { encoderFixture, FAST_WORKER, stopProc, ulearnProc, type Proc } from './fixtures.js';

const N = 200;
const SHARD = 25;
const T = { timeout: 90_000 };

let fx: Awaited<ReturnType<typeof encoderFixture>>;
let redis: TestRedis;
/** The restart test's own Redis (restarting the shared one would disturb the other tests' workers). */
let own: TestRedis;
let gate: string;
let source: EncodeSource;
let reference: Uint8Array;
const procs: Proc[] = [];
const spawnWorker = (queue: string, url: string, env: Record<string, string> = {}) => {
  const p = ulearnProc(['worker', '--redis', url, '--queue', queue, ...FAST_WORKER], env);
  procs.push(p);
  return p;
};
const encoderSpec = () => ({ encoder: { source: fx.encoder } });
const dist = (queue: string, extra: Partial<DistributedOptions> = {}): DistributedOptions => ({ url: redis.url, queue, shardSize: SHARD, pollMs: 50, work: join(fx.root, `work-${queue}`), log: () => undefined, ...extra });

/** Every worker the tests use, started together up front: start-up (tsx, tfjs) is most of their cost. */
const W: Record<string, Proc> = {};

before(async () => {
  redis = await TestRedis.start();
  own = await TestRedis.start();
  gate = join(mkdtempSync(join(tmpdir(), 'ulearn-dist-gate-')), 'open');
  W.main1 = spawnWorker('main', redis.url);
  W.main2 = spawnWorker('main', redis.url);
  W.killA = spawnWorker('kill', redis.url, { ULEARN_TEST_FAULT: 'hang:3' });
  // Takes no job until killA is dead, so shard 3 is killA's first.
  W.killB = spawnWorker('kill', redis.url, { ULEARN_TEST_START_AFTER: gate });
  W.fail = spawnWorker('fail', redis.url, { ULEARN_TEST_FAULT: 'fail:1' });
  fx = await encoderFixture(N);
  W.restart = spawnWorker('restart', own.url, { ULEARN_TEST_FAULT: `wait:2:${join(fx.root, 'restart-flag')}` });
  source = await resolveEncodeSource([fx.images]);
  const single = await encodeSource(source, encoderSpec());
  reference = embeddingsBytes(single.header, single.features);
});

after(async () => {
  for (const p of procs) p.child.kill('SIGKILL');
  await redis?.stop();
  await own?.stop();
  if (fx) rmSync(fx.root, { recursive: true, force: true });
  if (gate) rmSync(dirname(gate), { recursive: true, force: true });
});

async function bytesOf(r: Awaited<ReturnType<typeof distributedEncode>>): Promise<Uint8Array> {
  return embeddingsBytes(r.header, r.features);
}

test('two workers: `ulearn encode --distributed` writes the single-process file byte for byte', T, async () => {
  const w = [W.main1, W.main2];
  await Promise.all(w.map((p) => p.waitFor('waiting for shards')));
  const out = join(fx.root, 'dist.emb');
  const coord = ulearnProc(['encode', fx.images, '--encoder', fx.encoder, '--out', out, '--distributed', redis.url, '--queue', 'main', '--shard-size', String(SHARD), '--poll', '50']);
  assert.equal(await coord.exited, 0, coord.text());
  const got = await readEmbeddings(out);
  assert.deepEqual(embeddingsBytes(got.header, got.features), reference);
  assert.equal(got.header.n, N);
  // Every shard ran, on one worker or the other (a worker starved past its lock may let a shard run twice,
  // which changes nothing: the bytes above are the proof).
  const ran = new Set(w.flatMap((p) => [...p.text().matchAll(/shard (\d+) of run \S+: \d+ samples/g)].map((m) => Number(m[1]))));
  assert.deepEqual([...ran].sort((a, b) => a - b), planShards(N, SHARD).map((s) => s.index));
  assert.ok(!existsSync(`${out}.shards`), 'the shard folder is removed after the merge');
});

test('predict --distributed: the same CSV as one process (file names as given)', T, async () => {
  const out = join(fx.root, 'preds.csv');
  const code = await main(['predict', fx.classifier, fx.images, '--out', out, '--distributed', redis.url, '--queue', 'main', '--shard-size', '40', '--poll', '50']);
  assert.equal(code, 0);
  const single = await predict(fx.classifier, [fx.images], { backend: null });
  assert.equal(readFileSync(out, 'utf8'), predictionsCsv(single.predictions, single.classes));
  assert.equal(single.predictions.length, N);
});

test('ulearn encode (one process) on an IDX file: rows read by offset, same features as the PNGs they hold', T, async () => {
  // The fixture's PNGs as a uint8 IDX file [n, 8, 8], then both encoded by the command in this process.
  const idx = join(fx.root, 'pool-ubyte');
  const head = Buffer.alloc(16);
  head.writeUInt32BE(0x00000803, 0);
  head.writeUInt32BE(N, 4);
  head.writeUInt32BE(8, 8);
  head.writeUInt32BE(8, 12);
  const files = (source as { files: string[] }).files;
  const pixels = await Promise.all(
    files.map(async (f) => {
      const img = await decodeImage(f, 8, 8, 'crop');
      // Gray images may decode as RGB with equal channels: one channel is the gray value.
      return img.channels === 1 ? img.pixels : img.pixels.filter((_, i) => i % 3 === 0);
    }),
  );
  writeFileSync(idx, Buffer.concat([head, ...pixels]));
  const out = join(fx.root, 'idx.emb');
  assert.equal(await main(['encode', idx, '--encoder', fx.encoder, '--out', out, '--backend', 'cpu']), 0);
  const got = await readEmbeddings(out);
  assert.deepEqual(got.header.samples, { kind: 'idx', file: idx, rows: N });
  assert.deepEqual(got.features, (await readEmbeddings(await writeRef())).features);
  // A gzipped IDX cannot be read by ranges: refused, with the way out.
  writeFileSync(`${idx}.gz`, gzipSync(readFileSync(idx)));
  await assert.rejects(resolveEncodeSource([`${idx}.gz`]), /gzipped IDX file cannot be read by row ranges/);
  const bad = join(fx.root, 'bad.emb');
  writeFileSync(bad, 'not embeddings');
  await assert.rejects(readEmbeddings(bad), /not a ulearn embeddings file/);
});

/** The reference bytes as a file. */
async function writeRef(): Promise<string> {
  const file = join(fx.root, 'ref.emb');
  writeFileSync(file, reference);
  return file;
}

test('clean --encoder --distributed: the same embedding vectors as clean --encoder in one process', T, async () => {
  const samples = await scanImageFolders({ train: fx.images });
  const single = await encoderEmbedding(fx.encoder, 'cpu')(samples);
  const work = join(fx.root, 'clean-work');
  const got = await distributedEncoderEmbedding(fx.encoder, {}, dist('main', { work }))(samples);
  assert.equal(got.dim, single.dim);
  assert.deepEqual(got.vectors, single.vectors);
  assert.ok(!existsSync(work), 'the pixels file and the shards are removed');
});

test('a worker of another ulearn version, or with other model bytes, refuses the job and the run says why', T, async () => {
  const sha = await sha256Files(fx.encoder);
  const base = (index: number, over: Partial<EncodeShardJob>): EncodeShardJob => ({
    kind: 'encode', run: 'refuse', dir: join(fx.root, 'refuse'), version: ulearnVersion(), model: { path: fx.encoder, sha256: sha },
    index, start: 0, end: 10, source: { kind: 'files', files: (source as { files: string[] }).files.slice(0, 10) }, resize: 'crop', ...over,
  });
  const run = (over: Partial<EncodeShardJob>, run: string) =>
    runShards({ url: redis.url, queue: 'main', run, dir: join(fx.root, 'refuse'), shards: [{ index: 0, start: 0, end: 10 }], pollMs: 50, resultName: () => run, job: (s) => ({ ...base(s.index, over), run }), log: () => undefined });
  await assert.rejects(run({ version: '0.0.0-other' }, 'v'), (e: UlearnError) => {
    assert.match(e.message, /shard 0 \(samples 0\.\.9\) failed after \d+ attempt\(s\): refused by worker .*: worker runs ulearn \S+, the run was started with ulearn 0\.0\.0-other/);
    assert.equal(e.exitCode, 1);
    return true;
  });
  await assert.rejects(run({ model: { path: fx.encoder, sha256: '0'.repeat(64) } }, 'm'), /refused by worker .*the model files at .* differ on this worker/);
  // The same checks, called directly.
  await assert.rejects(checkJob(base(0, {}), '9.9.9'), RefusedJob);
  await checkJob(base(0, {}));
});

test('a worker killed (SIGKILL) mid-shard: the shard runs again elsewhere and the result is unchanged', T, async () => {
  const [a, b] = [W.killA, W.killB];
  const run = distributedEncode(source, encoderSpec(), dist('kill'));
  run.catch(() => undefined); // awaited below; a rejection meanwhile must not go unhandled
  await a.waitFor('test fault: hang shard 3');
  a.child.kill('SIGKILL');
  await a.exited;
  writeFileSync(gate, '');
  const r = await run;
  assert.deepEqual(await bytesOf(r), reference);
  assert.match(b.text(), /shard 3 of run .* \(start 2\)/, 'the second worker ran shard 3 again');
  await stopProc(b);
});

test('Redis restarted (empty) mid-run: lost jobs are enqueued again and the run completes unchanged', T, async () => {
  const w = W.restart;
  const lines: string[] = [];
  const run = distributedEncode(source, encoderSpec(), { ...dist('restart'), url: own.url, log: (m) => lines.push(m) });
  run.catch(() => undefined);
  await w.waitFor('test fault: wait shard 2');
  await own.restart();
  writeFileSync(join(fx.root, 'restart-flag'), '');
  const r = await run;
  assert.deepEqual(await bytesOf(r), reference);
  assert.ok(r.stats.requeued > 0, `some jobs were enqueued again: ${lines.join('\n')}`);
  assert.match(lines.join('\n'), /gone from Redis \(restarted\?\); enqueued again/);
  await stopProc(w);
});

test('a shard that fails every attempt fails the run, naming the shard, its samples and the error; a rerun resumes', T, async () => {
  const w = W.fail;
  await assert.rejects(distributedEncode(source, encoderSpec(), dist('fail', { attempts: 2, retryDelayMs: 10 })), (e: UlearnError) => {
    assert.equal(e.code, 'E_SHARD');
    assert.match(e.message, /^shard 1 \(samples 25\.\.49\) failed after [23] attempt\(s\): test fault in shard 1/);
    return true;
  });
  await stopProc(w);
  // The same command again (here on healthy workers) keeps the finished shards (shard 0 at least: the worker
  // took it before shard 1) and completes with the single-process result.
  const again = await distributedEncode(source, encoderSpec(), dist('fail', { queue: 'main' }));
  assert.ok(again.stats.reused >= 1, `reused ${again.stats.reused}`);
  assert.deepEqual(await bytesOf(again), reference);
});

test('unreachable Redis: exit 2 within the connect deadline, URL named with its password masked', T, async () => {
  const url = `redis://user:s3cr%2Ft@127.0.0.1:${redis.port + 1 === 65536 ? 1 : redis.port + 1}/0`;
  mkdirSync(join(fx.root, 'u'), { recursive: true });
  const p = ulearnProc(['encode', fx.images, '--encoder', fx.encoder, '--out', join(fx.root, 'u', 'x.emb'), '--distributed', url]);
  assert.equal(await p.exited, 2, p.text());
  assert.match(p.text(), /cannot reach Redis at redis:\/\/user:\*\*\*\*@127\.0\.0\.1:\d+\/0/);
  assert.ok(!p.text().includes('s3cr'), p.text());
  // The worker's first connection is bounded the same way.
  await assert.rejects(runWorker({ url, backend: 'cpu', connectTimeoutMs: 2000, log: () => undefined }), (e: UlearnError) => e.exitCode === 2 && !e.message.includes('s3cr'));
});

test('masking: every form of the password goes, the rest of the URL stays', () => {
  assert.equal(maskUrl('redis://:pw@h:1'), 'redis://:****@h:1');
  assert.equal(maskUrl('rediss://u:p%40ss@h:1/2'), 'rediss://u:****@h:1/2');
  assert.equal(maskUrl('redis://h:1'), 'redis://h:1');
  const url = 'redis://u:p%40ss@h:1';
  assert.equal(maskSecrets(`failed ${url} with p@ss and p%40ss`, url), 'failed redis://u:****@h:1 with **** and ****');
});

test('shards: ranges cover every sample once; shard results are named by index', () => {
  const plan = planShards(101, 25);
  assert.deepEqual(plan.map((s) => [s.start, s.end]), [[0, 25], [25, 50], [50, 75], [75, 100], [100, 101]]);
  assert.equal(shardName(3, 'bin'), 'shard-000003.bin');
});
