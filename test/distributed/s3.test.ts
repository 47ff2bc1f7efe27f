/**
 * S3-compatible storage for the distributed steps, on a real s3rver (a fake S3 server) and a real redis-server,
 * with real `ulearn worker` processes: data, model and run location on S3 give the single-process bytes; a
 * shard that fails once is retried and merged once; the run's objects go after the merge; a wrong endpoint
 * or a missing bucket is an E_S3 naming the URL without the secret; clean --distributed refuses s3:// work.
 * One bucket per test. Faults are placed with the workers' ULEARN_TEST_FAULT hooks, never with times.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { distributedEncode, type DistributedOptions } from '../../src/distributed/steps.js';
import { encodeSource, resolveEncodeSource, type EncodeSource } from '../../src/predict/encode-files.js';
import { embeddingsBytes, readEmbeddings } from '../../src/predict/embeddings-file.js';
import { collectImageFiles } from '../../src/predict/image-model.js';
import { localModel } from '../../src/predict/remote-model.js';
import { predict, predictionsCsv } from '../../src/predict/index.js';
import { compareKeys, listS3, maskS3, parseS3Url, putS3 } from '../../src/util/s3.js';
import { UlearnError } from '../../src/errors.js';
import { main } from '../../src/cli/program.js';
import { freePort } from '../support/ports.js';
import { TestRedis } from '../support/redis.js';
import { TestS3, filesUnder, uploadDir } from '../support/s3.js';
import { encoderFixture, FAST_WORKER, ulearnProc, type Proc } from './fixtures.js';

const N = 100;
const SHARD = 25;
const T = { timeout: 90_000 };

let fx: Awaited<ReturnType<typeof encoderFixture>>;
let redis: TestRedis;
let s3: TestS3;
let source: EncodeSource;
let reference: Uint8Array;
const saved = { ...process.env };
const W: Record<string, Proc> = {};

const dist = (queue: string, work: string, extra: Partial<DistributedOptions> = {}): DistributedOptions => ({ url: redis.url, queue, shardSize: SHARD, pollMs: 50, work, log: () => undefined, ...extra });

/** A bucket holding the fixture's images under images/, the encoder under models/enc/ and the classifier under models/clf/. */
async function loadedBucket(): Promise<string> {
  const b = await s3.bucket('ul');
  await uploadDir(fx.images, `s3://${b}/images/`, putS3);
  await uploadDir(fx.encoder, `s3://${b}/models/enc/`, putS3);
  await uploadDir(fx.classifier, `s3://${b}/models/clf/`, putS3);
  return b;
}

before(async () => {
  [redis, s3] = await Promise.all([TestRedis.start(), TestS3.start()]);
  fx = await encoderFixture(N);
  // Every process of the test (this one, and the workers through their environment) uses the fake S3 and a
  // model cache of its own.
  Object.assign(process.env, s3.env, { ULEARN_CACHE: join(fx.root, 'cache') });
  W.main = ulearnProc(['worker', '--redis', redis.url, '--queue', 's3-main', ...FAST_WORKER]);
  W.retry = ulearnProc(['worker', '--redis', redis.url, '--queue', 's3-retry', ...FAST_WORKER], { ULEARN_TEST_FAULT: 'failonce:1' });
  source = await resolveEncodeSource([fx.images]);
  const single = await encodeSource(source, { encoder: { source: fx.encoder } });
  reference = embeddingsBytes(single.header, single.features);
});

after(async () => {
  for (const p of Object.values(W)) p.child.kill('SIGKILL');
  await redis?.stop();
  await s3?.stop();
  if (fx) rmSync(fx.root, { recursive: true, force: true });
  for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
  Object.assign(process.env, saved);
});

test('encode: data, model and run location on S3 give the single-process bytes; the run objects are removed', T, async () => {
  const b = await loadedBucket();
  const one = join(fx.root, 'one.emb');
  const many = join(fx.root, 'many.emb');
  const data = `s3://${b}/images/`;
  const encoder = `s3://${b}/models/enc/`;
  // The single-process command as a user runs it: a process of its own, which exits when done (the SDK's
  // sockets do not hold it) and prints no SDK warning.
  const p = ulearnProc(['encode', data, '--encoder', encoder, '--out', one, '--backend', 'cpu']);
  assert.equal(await p.exited, 0, p.text());
  assert.ok(!p.text().includes('Warning'), p.text());
  await W.main.waitFor('waiting for shards');
  const work = `s3://${b}/work`;
  assert.equal(await main(['encode', data, '--encoder', encoder, '--out', many, '--distributed', redis.url, '--queue', 's3-main', '--work', work, '--shard-size', String(SHARD), '--poll', '50']), 0);
  assert.deepEqual(readFileSync(many), readFileSync(one));
  const got = await readEmbeddings(many);
  // The same rows as the local files give, in the same order, named by their URLs.
  assert.deepEqual(got.features, (await readEmbeddings(writeRef())).features);
  const files = (source as { files: string[] }).files;
  assert.deepEqual(got.header.samples, { kind: 'files', files: files.map((f) => `${data}${f.slice(fx.images.length + 1)}`) });
  assert.equal(got.header.encoder.source, encoder);
  assert.match(W.main.text(), /shard 3 of run encode-\S+: 25 samples/);
  assert.ok(!W.main.text().includes('NodeVersionSupportWarning'), W.main.text());
  assert.deepEqual(await listS3(`${work}/`), [], 'the run location is empty after the merge');
});

/** The reference bytes as a file. */
function writeRef(): string {
  const file = join(fx.root, 'ref.emb');
  writeFileSync(file, reference);
  return file;
}

test('predict --distributed with the model and the run location on S3: the CSV of one local process', T, async () => {
  const b = await loadedBucket();
  const out = join(fx.root, 'preds.csv');
  const work = `s3://${b}/pred-work/`;
  assert.equal(await main(['predict', `s3://${b}/models/clf/`, fx.images, '--out', out, '--distributed', redis.url, '--queue', 's3-main', '--work', work, '--shard-size', '40', '--poll', '50']), 0);
  const single = await predict(fx.classifier, [fx.images], { backend: null });
  assert.equal(readFileSync(out, 'utf8'), predictionsCsv(single.predictions, single.classes));
  assert.deepEqual(await listS3(work), []);
});

test('a shard whose first attempt fails is retried and merged once, with the run location on S3', T, async () => {
  const b = await s3.bucket('retry');
  const r = await distributedEncode(source, { encoder: { source: fx.encoder } }, dist('s3-retry', `s3://${b}/work`, { attempts: 3, retryDelayMs: 10 }));
  assert.deepEqual(embeddingsBytes(r.header, r.features), reference);
  assert.equal(r.header.n, N);
  assert.match(W.retry.text(), /test fault: fail once shard 1/);
  assert.match(W.retry.text(), /shard 1 of run \S+: 25 samples .*\(start 2\)/);
  assert.deepEqual(await listS3(`s3://${b}/`), []);
});

test('an unreachable endpoint: E_S3, exit 2, naming the URL and the endpoint without the secret or its password', T, async () => {
  const b = await s3.bucket('gone');
  const port = await freePort();
  Object.assign(process.env, { AWS_ENDPOINT_URL: `http://ep-user:ep-pa55word@127.0.0.1:${port}`, AWS_SECRET_ACCESS_KEY: 'very-secret-key-1234' });
  try {
    const check = (e: UlearnError) => {
      assert.equal(e.code, 'E_S3');
      assert.equal(e.exitCode, 2);
      assert.match(e.message, new RegExp(`cannot reach S3 at http://ep-user:\\*\\*\\*\\*@127\\.0\\.0\\.1:${port}`));
      assert.ok(e.message.includes(`s3://${b}/`), e.message);
      assert.ok(!/ep-pa55word|very-secret-key/.test(`${e.message} ${e.hint}`), e.message);
      return true;
    };
    await assert.rejects(collectImageFiles([`s3://${b}/images/`]), check);
    await assert.rejects(distributedEncode(source, { encoder: { source: fx.encoder } }, dist('s3-main', `s3://${b}/work`)), check);
    // The command: exit 2, the message and its hint without either secret.
    const lines: string[] = [];
    const err = console.error;
    console.error = (m: string) => lines.push(String(m));
    let code: number;
    try {
      code = await main(['predict', fx.classifier, `s3://${b}/images/`]);
    } finally {
      console.error = err;
    }
    assert.equal(code, 2);
    assert.match(lines.join('\n'), /cannot reach S3 at http:\/\/ep-user:\*\*\*\*@127\.0\.0\.1:\d+ \(listing s3:\/\/gone-\d+\/images\/\)/);
    assert.ok(!/ep-pa55word|very-secret-key/.test(lines.join('\n')), lines.join('\n'));
  } finally {
    Object.assign(process.env, s3.env);
  }
  // The masking itself: the secret key and the endpoint's password, in any text.
  process.env.AWS_SECRET_ACCESS_KEY = 'another-secret';
  try {
    assert.equal(maskS3('key another-secret in a message'), 'key **** in a message');
  } finally {
    Object.assign(process.env, s3.env);
  }
});

test('a missing bucket: E_S3 naming the bucket, for data and for the run location', T, async () => {
  const check = (e: UlearnError) => e instanceof UlearnError && e.code === 'E_S3' && e.exitCode === 2 && /bucket no-such-bucket does not exist/.test(e.message);
  await assert.rejects(collectImageFiles(['s3://no-such-bucket/images/']), check);
  await assert.rejects(distributedEncode(source, { encoder: { source: fx.encoder } }, dist('s3-main', 's3://no-such-bucket/work')), check);
  await assert.rejects(async () => parseS3Url('s3://'), /not an S3 URL/);
});

test('models on S3: cached by URL and ETags, so a changed model is a new copy', T, async () => {
  const b = await loadedBucket();
  const url = `s3://${b}/models/enc/`;
  const a = await localModel(url);
  assert.equal(await localModel(url), a, 'the second call uses the cache');
  assert.deepEqual(filesUnder(a), filesUnder(fx.encoder));
  await putS3(`${url}extra.txt`, new Uint8Array([1]));
  const changed = await localModel(url);
  assert.notEqual(changed, a);
  assert.deepEqual(filesUnder(changed), [...filesUnder(fx.encoder), 'extra.txt'].sort());
});

test('an S3 prefix lists its images in the order the same tree on a disk does', T, async () => {
  const b = await s3.bucket('order');
  const dir = join(fx.root, 'order');
  const names = ['b.png', 'A.png', 'a.png', 'a/z.png', 'a-b/c.png', 'é.png', 'e.png', 'Z/1.png', '10.png', '9.png', 'notes.txt'];
  for (const n of names) {
    mkdirSync(join(dir, ...n.split('/').slice(0, -1)), { recursive: true });
    writeFileSync(join(dir, ...n.split('/')), 'x');
    await putS3(`s3://${b}/set/${n}`, new Uint8Array([1]));
  }
  const local = (await collectImageFiles([dir])).map((f) => f.slice(dir.length + 1).split('\\').join('/'));
  const remote = (await collectImageFiles([`s3://${b}/set/`])).map((u) => u.slice(`s3://${b}/set/`.length));
  assert.deepEqual(remote, local);
  assert.ok(compareKeys('a/z.png', 'a.png') !== 0);
  // One object by its URL is one file.
  assert.deepEqual(await collectImageFiles([`s3://${b}/set/e.png`]), [`s3://${b}/set/e.png`]);
});

test('clean --distributed refuses an s3:// --work (its workers read the pixels by byte ranges)', T, async () => {
  const lines: string[] = [];
  const err = console.error;
  console.error = (m: string) => lines.push(String(m));
  let code: number;
  try {
    code = await main(['clean', fx.images, '--encoder', fx.encoder, '--out', join(fx.root, 'clean'), '--distributed', redis.url, '--work', 's3://any-bucket/work']);
  } finally {
    console.error = err;
  }
  assert.equal(code, 2);
  assert.match(lines.join('\n'), /clean --distributed needs a shared folder, not S3/);
});
