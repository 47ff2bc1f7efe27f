import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RunDir } from '../../src/runs/run-dir.js';
import { UlearnError } from '../../src/errors.js';
import { tempDir } from '../data/fixtures.js';

const config = { data: 'mnist', pretrain: { epochs: 3, method: 'simclr' } };

test('create writes config.json and checkpoints/, with a timestamp + hash id', async () => {
  const root = await tempDir();
  const run = await RunDir.create(root, config, { now: new Date('2025-03-14T15:30:12Z') });
  assert.match(run.id, /^20250314-153012-[0-9a-f]{6}$/);
  assert.deepEqual(JSON.parse(await readFile(run.path('config.json'), 'utf8')), config);
  assert.deepEqual((await readdir(run.dir)).sort(), ['checkpoints', 'config.json']);
  assert.deepEqual(run.config, config);
  const other = await RunDir.create(root, { ...config, seed: 2 }, { now: new Date('2025-03-14T15:30:12Z') });
  assert.notEqual(other.id, run.id, 'the hash part differs with the config');
});

test('create with an existing id resumes the same config and refuses a different one', async () => {
  const root = await tempDir();
  const a = await RunDir.create(root, config, { id: 'exp1' });
  await a.stageDone('pretrain');
  // Key order does not make a config different.
  const b = await RunDir.create(root, { pretrain: { method: 'simclr', epochs: 3 }, data: 'mnist' }, { id: 'exp1' });
  assert.equal(await b.isStageDone('pretrain'), true);
  await assert.rejects(
    RunDir.create(root, { ...config, pretrain: { epochs: 4, method: 'simclr' } }, { id: 'exp1' }),
    (e: unknown) => e instanceof UlearnError && /already exists with a different config/.test(e.message),
  );
  await assert.rejects(RunDir.create(root, config, { id: '../escape' }), /invalid run id/);
  await mkdir(join(root, 'notarun'));
  await writeFile(join(root, 'notarun', 'data.csv'), 'x');
  await assert.rejects(RunDir.create(root, config, { id: 'notarun' }), /not a run directory/);
});

test('open validates config.json', async () => {
  const root = await tempDir();
  const run = await RunDir.create(root, config, { id: 'r' });
  const opened = await RunDir.open(run.dir);
  assert.deepEqual(opened.config, config);
  assert.equal(opened.dir, run.dir);
  await assert.rejects(RunDir.open(join(root, 'nope')), /not a run directory: it has no config.json/);
  await writeFile(run.path('config.json'), '{ broken');
  await assert.rejects(RunDir.open(run.dir), /not valid JSON/);
});

test('the log appends JSON lines in order, even when appends are not awaited one by one', async () => {
  const root = await tempDir();
  const run = await RunDir.create(root, config, { id: 'r' });
  assert.deepEqual(await run.readLog(), []);
  await Promise.all(Array.from({ length: 20 }, (_, i) => run.appendLog({ event: 'step', i })));
  const log = await run.readLog();
  assert.deepEqual(
    log.map((e) => e.i),
    Array.from({ length: 20 }, (_, i) => i),
  );
  assert.equal(typeof log[0].time, 'string');
  const text = await readFile(run.path('log.jsonl'), 'utf8');
  assert.equal(text.split('\n').length, 21);
});

test('a torn last log line from a crash is ignored, and the next append does not glue onto it', async () => {
  const root = await tempDir();
  const run = await RunDir.create(root, config, { id: 'r' });
  await run.appendLog({ event: 'a' });
  await appendFile(run.path('log.jsonl'), '{"event":"b","lo');
  assert.deepEqual((await run.readLog()).map((e) => e.event), ['a']);
  const resumed = await RunDir.open(run.dir);
  await resumed.appendLog({ event: 'c' });
  assert.deepEqual((await resumed.readLog()).map((e) => e.event), ['a', 'c']);
  // Corruption in the middle is not a crash artifact: say so.
  await writeFile(run.path('log.jsonl'), '{"a":1}\nnot json\n{"a":2}\n');
  await assert.rejects(resumed.readLog(), /log.jsonl:2: not valid JSON/);
});

test('results, report and stage markers are written atomically and survive reopening', async () => {
  const root = await tempDir();
  const run = await RunDir.create(root, config, { id: 'r' });
  assert.equal(await run.readResults(), undefined);
  await run.writeResults({ accuracy: 0.91 });
  await run.writeReport('<html></html>');
  assert.equal(await run.isStageDone('pretrain'), false);
  await Promise.all([run.stageDone('pretrain', { knn: 0.71 }), run.stageDone('finetune')]);
  const again = await RunDir.open(run.dir);
  assert.deepEqual(await again.readResults(), { accuracy: 0.91 });
  assert.equal(await readFile(again.path('report.html'), 'utf8'), '<html></html>');
  assert.equal(await again.isStageDone('pretrain'), true);
  assert.equal(await again.isStageDone('finetune'), true);
  assert.equal(await again.isStageDone('toString'), false);
  assert.equal((await again.stage('pretrain'))?.knn, 0.71);
  assert.ok(!(await readdir(run.dir)).some((n) => n.endsWith('.tmp')), 'no temp files left');
});
