/**
 * System errors at the command boundary (issue 17 #9): a missing or truncated weights file, a bad input
 * shape, an unwritable runs folder, a port in use, a port out of range, an export into a missing folder and
 * a YAML alias bomb each give one line `ulearn: error: …` with a hint and a non-zero exit, never a stack
 * trace; `--verbose` adds the stack.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import * as tf from '@tensorflow/tfjs-core';
import sharp from 'sharp';
import { initBackend } from '../../src/engine/backend.js';
import { formatCliError, toUserError } from '../../src/cli/errors.js';
import { buildResNetEncoder, classifierHead, featureDim } from '../../src/models/resnet.js';
import { META_FILE, saveClassifier } from '../../src/predict/image-model.js';
import { makeProject } from '../label/fixtures.js';
import { ulearn } from './run-cli.js';

let root: string;
let model: string;
let images: string;

/** One `ulearn: error:` line (plus an optional hint line), no stack frames. */
function oneLineError(r: { code: number | null; err: string }, re: RegExp): void {
  assert.notEqual(r.code, 0, r.err);
  assert.notEqual(r.code, null, 'the command must end (not be killed by the timeout)');
  const lines = r.err.split('\n').filter((l) => l.startsWith('ulearn: error:') || l.startsWith('  hint:') || /^\s+at /.test(l));
  assert.match(lines[0] ?? '', re, r.err);
  assert.ok(!lines.some((l) => /^\s+at /.test(l)), `no stack trace:\n${r.err}`);
  assert.ok(lines.some((l) => l.startsWith('  hint:')), `a hint:\n${r.err}`);
}

before(async () => {
  await initBackend('cpu');
  root = mkdtempSync(join(tmpdir(), 'ulearn-cli-errors-'));
  model = join(root, 'model');
  const enc = buildResNetEncoder({ inputShape: [8, 8, 1], widths: [4], blocksPerStage: 1, seed: 1 });
  await saveClassifier(model, enc, classifierHead(featureDim(enc), 2, { seed: 1 }), { classes: ['a', 'b'], preprocessing: { inputShape: [8, 8, 1], resize: 'crop', scale: '1/255' }, method: 'supervised', training: {} });
  images = join(root, 'images');
  for (const c of ['a', 'b']) {
    mkdirSync(join(images, c), { recursive: true });
    for (const i of [1, 2, 3]) await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 40 * i, g: 40 * i, b: 40 * i } } }).png().toFile(join(images, c, `${i}.png`));
  }
});

after(() => rmSync(root, { recursive: true, force: true }));

test('toUserError: errno, bad port, sqlite, postgres and tfjs errors become UlearnErrors with a hint; bugs do not', async () => {
  const a = net.createServer();
  await new Promise<void>((ok) => a.listen(0, '127.0.0.1', ok));
  const port = (a.address() as net.AddressInfo).port;
  const inUse = await new Promise<Error>((ok) => net.createServer().once('error', ok).listen(port, '127.0.0.1'));
  a.close();
  assert.match(toUserError(inUse)?.message ?? '', new RegExp(`127\\.0\\.0\\.1:${port}: address already in use`));
  assert.match(toUserError(inUse)?.hint ?? '', /--port/);

  let badPort: unknown;
  try {
    net.createServer().listen(99999);
  } catch (e) {
    badPort = e;
  }
  assert.match(toUserError(badPort)?.hint ?? '', /0\.\.65535/);

  for (const code of ['EACCES', 'EROFS', 'ENOENT', 'ENOSPC']) {
    const e = Object.assign(new Error(`${code}: x`), { code, syscall: 'open', path: '/some/file' });
    const u = toUserError(e);
    assert.match(u?.message ?? '', /^open \/some\/file: /, code);
    assert.ok(u?.hint, code);
  }
  let sqlite: unknown;
  try {
    new Database(':memory:').prepare('SELEC nonsense');
  } catch (e) {
    sqlite = e;
  }
  assert.match(toUserError(sqlite)?.message ?? '', /^label database: /);
  let tfErr: unknown;
  try {
    tf.reshape(tf.tensor([1, 2]), [3]);
  } catch (e) {
    tfErr = e;
  }
  assert.equal(toUserError(tfErr)?.code, 'E_ENGINE');
  // PostgreSQL (the label store on postgres://): a server error with its SQLSTATE, and a dropped connection.
  const shutdown = Object.assign(new Error('terminating connection due to administrator command'), { name: 'error', code: '57P01', severity: 'FATAL' });
  assert.equal(toUserError(shutdown)?.code, 'E_DATABASE');
  assert.match(toUserError(shutdown)?.message ?? '', /^label database \(PostgreSQL\): terminating connection .* \(SQLSTATE 57P01\)$/);
  assert.match(toUserError(shutdown)?.hint ?? '', /start it and run the command again/);
  const auth = Object.assign(new Error('password authentication failed for user "ann"'), { name: 'error', code: '28P01', severity: 'FATAL' });
  assert.match(toUserError(auth)?.hint ?? '', /PGPASSWORD/);
  assert.equal(toUserError(new Error('Connection terminated unexpectedly'))?.code, 'E_DATABASE');
  assert.equal(toUserError(Object.assign(new Error('x'), { code: 'ABCDE' })), undefined, 'a five-letter code without a severity is not a database error');
  assert.equal(toUserError(new TypeError('x is undefined')), undefined, 'a bug stays a bug');
});

test('formatCliError: one line and a hint; --verbose adds the stack of the error and its cause', () => {
  const e = Object.assign(new Error('EROFS'), { code: 'EROFS', syscall: 'mkdir', path: '/ro/runs' });
  const quiet = formatCliError(e, false);
  assert.equal(quiet.text.split('\n').length, 2);
  assert.match(quiet.text, /^ulearn: error: mkdir \/ro\/runs: read-only file system\n {2}hint: /);
  assert.equal(quiet.exitCode, 2);
  assert.match(formatCliError(e, true).text, /caused by: Error: EROFS\n\s+at /);
  const bug = formatCliError(new TypeError('oops'), false);
  assert.equal(bug.exitCode, 1);
  assert.match(bug.text, /\n\s+at /, 'a bug keeps its stack');
});

test('predict: missing and truncated weights files', () => {
  for (const damage of ['missing', 'truncated'] as const) {
    const dir = join(root, `m-${damage}`);
    cpSync(model, dir, { recursive: true });
    const w = join(dir, readdirSync(dir).find((f) => f.startsWith('weights-'))!);
    if (damage === 'missing') rmSync(w);
    else writeFileSync(w, readFileSync(w).subarray(0, 64));
    oneLineError(ulearn('predict', dir, images, '--backend', 'cpu'), /^ulearn: error: .*weights-[0-9a-f]{16}\.bin/);
  }
});

test('predict: a model folder whose input shape does not match the model', () => {
  const dir = join(root, 'm-shape');
  cpSync(model, dir, { recursive: true });
  const meta = JSON.parse(readFileSync(join(dir, META_FILE), 'utf8'));
  meta.preprocessing.inputShape = [8, 8, 3];
  writeFileSync(join(dir, META_FILE), JSON.stringify(meta));
  const r = ulearn('predict', dir, images, '--backend', 'cpu');
  assert.notEqual(r.code, 0);
  assert.match(r.err, /^ulearn: error: .*inputShape \[8, 8, 3\] does not match the model's input \[8, 8, 1\]/m);
  assert.doesNotMatch(r.err, /\n\s+at /);
});

test('a runs folder that cannot be created', () => {
  const file = join(root, 'a-file');
  writeFileSync(file, 'x');
  oneLineError(ulearn('pretrain', join(images), '--test-data', images, '--total-labels', '4', '--runs', join(file, 'runs'), '--backend', 'cpu', '--budget', '5s'), /^ulearn: error: mkdir .*a-file\/runs.*: a part of the path is a file/);
});

test('label serve: a port in use, and --port 99999', async () => {
  const { store, dir } = await makeProject(4);
  await store.close();
  oneLineError(ulearn('label', 'serve', dir, '--port', '99999'), /^ulearn: error: --port must be a port number 0\.\.65535/);
  const busy = net.createServer();
  await new Promise<void>((ok) => busy.listen(0, '127.0.0.1', ok));
  try {
    const port = (busy.address() as net.AddressInfo).port;
    oneLineError(ulearn('label', 'serve', dir, '--port', String(port)), new RegExp(`^ulearn: error: .*127\\.0\\.0\\.1:${port}: address already in use`));
  } finally {
    busy.close();
  }
});

test('label export --out into a missing folder', async () => {
  const { store, dir } = await makeProject(4);
  await store.close();
  const out = join(root, 'missing', 'x.csv');
  oneLineError(ulearn('label', 'export', '--project', dir, '--out', out), new RegExp(`^ulearn: error: open ${out.replace(/[.]/g, '\\.')}: no such file or folder`));
});

test('a YAML alias bomb is refused in one line', () => {
  const cfg = join(root, 'bomb.yaml');
  const levels = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
  for (let i = 1; i < 9; i++) levels.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${String.fromCharCode(96 + i)}`).join(',')}]`);
  writeFileSync(cfg, `${levels.join('\n')}\ndata: fashion-mnist\n`);
  oneLineError(ulearn('run', cfg), /^ulearn: error: .*bomb\.yaml: cannot expand this YAML/);
  const verbose = ulearn('run', cfg, '--verbose');
  assert.match(verbose.err, /\n\s+at /, '--verbose shows the stack');
});
