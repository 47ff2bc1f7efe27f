import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile, mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { UlearnError } from '../../src/errors.js';
import { FASHION_MNIST } from '../../src/data/fashion-mnist.js';
import { loadFashionMnist } from '../../src/data/fashion-mnist.js';
import { loadNamedIdx, type NamedIdxDataset } from '../../src/data/named-idx.js';
import { encodeIdx, tempDir } from './fixtures.js';

// A fake Fashion-MNIST: 4 train and 2 test images of 3x3, served gzipped like the real one.
const files: Record<string, Buffer> = {
  'train-images-idx3-ubyte.gz': encodeIdx('uint8', [4, 3, 3], Array.from({ length: 36 }, (_, i) => i * 7), { gzip: true }),
  'train-labels-idx1-ubyte.gz': encodeIdx('uint8', [4], [9, 0, 3, 3], { gzip: true }),
  't10k-images-idx3-ubyte.gz': encodeIdx('uint8', [2, 3, 3], new Array(18).fill(255), { gzip: true }),
  't10k-labels-idx1-ubyte.gz': encodeIdx('uint8', [2], [1, 2], { gzip: true }),
};
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const checksums = Object.fromEntries(Object.entries(files).map(([k, v]) => [k, sha(v)]));

let server: Server;
let base: string;
const requests: string[] = [];

before(async () => {
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const name = (req.url ?? '').replace(/^\/data\//, '');
    const body = files[name];
    if (!body) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(body);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/data/`;
});
after(() => new Promise<void>((ok) => server.close(() => ok())));

/** Every file (recursively) under dir, temp files included. */
async function allFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => e.name).sort();
}

test('downloads into the cache, verifies, then loads from the cache without the network', async () => {
  const cacheDir = await tempDir();
  requests.length = 0;
  const { train, test: t } = await loadFashionMnist({ baseUrl: base, checksums, cacheDir, systemDir: null });
  assert.equal(requests.length, 4);
  assert.equal(train.size, 4);
  assert.equal(t?.size, 2);
  assert.deepEqual(Array.from(train.y), [9, 0, 3, 3]);
  assert.equal(train.classes[9], 'Ankle boot');
  assert.deepEqual(train.inputShape, [3, 3, 1]);
  assert.ok(Math.abs(train.x[1] - 7 / 255) < 1e-7);
  assert.deepEqual(await allFiles(cacheDir), Object.keys(files).sort());
  assert.deepEqual(await readFile(join(cacheDir, 'fashion-mnist', 'train-labels-idx1-ubyte.gz')), files['train-labels-idx1-ubyte.gz']);

  requests.length = 0;
  const again = await loadFashionMnist({ baseUrl: base, checksums, cacheDir, systemDir: null, download: false });
  assert.equal(requests.length, 0);
  assert.equal(again.train.size, 4);
});

test('a checksum mismatch is a clear error and leaves nothing in the cache', async () => {
  const cacheDir = await tempDir();
  const wrong = { ...checksums, 'train-images-idx3-ubyte.gz': '0'.repeat(64) };
  await assert.rejects(loadFashionMnist({ baseUrl: base, checksums: wrong, cacheDir, systemDir: null }), (err: unknown) => {
    assert.ok(err instanceof UlearnError);
    assert.equal(err.code, 'E_CHECKSUM');
    assert.ok(err.message.includes(`${base}train-images-idx3-ubyte.gz`), err.message);
    assert.ok(err.message.includes(`expected ${'0'.repeat(64)}, got ${checksums['train-images-idx3-ubyte.gz']}`), err.message);
    assert.match(err.message, /nothing was saved/);
    return true;
  });
  assert.deepEqual(await allFiles(cacheDir), []);
});

test('the real pinned checksums reject the fake files', async () => {
  const cacheDir = await tempDir();
  await assert.rejects(loadFashionMnist({ baseUrl: base, cacheDir, systemDir: null }), /expected 3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84/);
  assert.deepEqual(await allFiles(cacheDir), []);
});

test('a mirror that fails (HTTP 404) falls through to the next one', async () => {
  const cacheDir = await tempDir();
  requests.length = 0;
  const { train } = await loadFashionMnist({ baseUrl: [`${base}missing/`, base], checksums, cacheDir, systemDir: null });
  assert.equal(train.size, 4);
  assert.equal(requests.filter((r) => r.includes('/missing/')).length, 4);
});

test('HTTP errors and unreachable hosts name the URL', async () => {
  const cacheDir = await tempDir();
  await assert.rejects(loadFashionMnist({ baseUrl: `${base}missing/`, checksums, cacheDir, systemDir: null }), /missing\/train-images-idx3-ubyte\.gz failed: HTTP 404/);
  // Port 1 on localhost: connection refused.
  await assert.rejects(
    loadFashionMnist({ baseUrl: 'http://127.0.0.1:1/', checksums, cacheDir, systemDir: null }),
    (err: unknown) =>
      err instanceof UlearnError &&
      err.code === 'E_DOWNLOAD' &&
      err.message.includes('127.0.0.1:1/train-images') &&
      (err.hint ?? '').includes(join(cacheDir, 'fashion-mnist', 'train-images-idx3-ubyte.gz')),
  );
  assert.deepEqual(await allFiles(cacheDir), []);
});

test('a damaged cached file is replaced by a fresh download', async () => {
  const cacheDir = await tempDir();
  await mkdir(join(cacheDir, 'fashion-mnist'), { recursive: true });
  await writeFile(join(cacheDir, 'fashion-mnist', 'train-labels-idx1-ubyte.gz'), 'garbage');
  requests.length = 0;
  const { train } = await loadFashionMnist({ baseUrl: base, checksums, cacheDir, systemDir: null });
  assert.deepEqual(Array.from(train.y), [9, 0, 3, 3]);
  assert.equal(requests.length, 4);
});

test('download: false with an empty cache says what is missing; a damaged cached file is reported', async () => {
  const cacheDir = await tempDir();
  await assert.rejects(loadFashionMnist({ baseUrl: base, checksums, cacheDir, systemDir: null, download: false }), /not in the cache and downloads are off/);
  await mkdir(join(cacheDir, 'fashion-mnist'), { recursive: true });
  await writeFile(join(cacheDir, 'fashion-mnist', 'train-images-idx3-ubyte.gz'), 'garbage');
  await assert.rejects(
    loadFashionMnist({ baseUrl: base, checksums, cacheDir, systemDir: null, download: false }),
    new RegExp(`train-images-idx3-ubyte\\.gz: has SHA-256 ${sha(Buffer.from('garbage'))}, expected ${checksums['train-images-idx3-ubyte.gz']}`),
  );
});

test('a file without a pinned checksum is never downloaded', async () => {
  const cacheDir = await tempDir();
  const spec: NamedIdxDataset = {
    ...FASHION_MNIST,
    name: 'unpinned',
    files: { ...FASHION_MNIST.files, testLabels: { file: 't10k-labels-idx1-ubyte.gz' } },
  };
  requests.length = 0;
  const only = { 'train-images-idx3-ubyte.gz': checksums['train-images-idx3-ubyte.gz'], 'train-labels-idx1-ubyte.gz': checksums['train-labels-idx1-ubyte.gz'], 't10k-images-idx3-ubyte.gz': checksums['t10k-images-idx3-ubyte.gz'] };
  await assert.rejects(loadNamedIdx(spec, { baseUrl: base, checksums: only, cacheDir, systemDir: null }), /no pinned SHA-256 for t10k-labels-idx1-ubyte\.gz/);
  assert.deepEqual(requests, [], 'nothing may be downloaded when any checksum is missing');
  assert.deepEqual(await allFiles(cacheDir), []);
});

test('ULEARN_CACHE sets the default cache folder', async () => {
  const cacheDir = await tempDir();
  process.env.ULEARN_CACHE = cacheDir;
  try {
    await loadFashionMnist({ baseUrl: base, checksums, systemDir: null });
  } finally {
    delete process.env.ULEARN_CACHE;
  }
  assert.deepEqual(await readdir(join(cacheDir, 'fashion-mnist')).then((f) => f.sort()), Object.keys(files).sort());
});
