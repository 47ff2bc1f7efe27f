/**
 * The label-efficiency harness on a tiny image folder: rows in the SSL benchmark's shape, chart files, a
 * rerun that keeps finished runs and redoes only missing ones (resume), bad settings refused before any run,
 * and the gap-closed figure against hand-computed values.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gapClosed, run, settingsKey, type Row } from '../../bench/label-efficiency.js';
import { initBackend } from '../../src/engine/backend.js';
import { UlearnError } from '../../src/errors.js';
import { buildResNetEncoder } from '../../src/models/resnet.js';
import { saveCheckpoint } from '../../src/runs/checkpoint.js';
import { writeStripes } from './fixtures.js';

let root: string;
let encoder: string;
before(async () => {
  root = mkdtempSync(join(tmpdir(), 'ulearn-semi-bench-'));
  await writeStripes(join(root, 'train'), 12, 5);
  await writeStripes(join(root, 'test'), 4, 6);
  await initBackend('wasm', { threads: 2 });
  mkdirSync(join(root, 'enc', 'checkpoints'), { recursive: true });
  writeFileSync(join(root, 'enc', 'config.json'), JSON.stringify({ encoder: { widths: [4, 8], blocksPerStage: 1 } }));
  encoder = join(root, 'enc', 'checkpoints', 'pretrain-encoder');
  await saveCheckpoint(encoder, buildResNetEncoder({ inputShape: [16, 16, 1], widths: [4, 8], blocksPerStage: 1, seed: 3 }));
});
after(() => rmSync(root, { recursive: true, force: true }));

const args = (extra: string[]) => ['--data', join(root, 'train'), '--test-data', join(root, 'test'), '--encoder', encoder, '--work', join(root, 'work'), '--out', join(root, 'out', 'le.json'), '--budget', 'none', '--no-all-labels', ...extra];

test('rows, chart files, and a rerun that resumes instead of redoing', async () => {
  mkdirSync(join(root, 'out'), { recursive: true });
  assert.equal(await run(args(['--methods', 'ssl+linear,label-propagation', '--labels', '6', '--seeds', '0,1'])), 0);
  const first = JSON.parse(readFileSync(join(root, 'out', 'le.json'), 'utf8')) as { rows: Row[]; encoder: { sha256: string } };
  assert.equal(first.rows.length, 2);
  for (const r of first.rows) {
    assert.deepEqual(Object.keys(r).slice(0, 7), ['method', 'labels', 'seeds', 'acc', 'acc_mean', 'acc_std', 'wall_s']);
    assert.deepEqual(r.seeds, [0, 1]);
    assert.equal(r.labels, 6);
    assert.ok(Math.abs(r.acc_mean - (r.acc[0] + r.acc[1]) / 2) < 1e-12);
  }
  assert.match(first.encoder.sha256, /^[0-9a-f]{64}$/);
  for (const ext of ['svg', 'png', 'html']) assert.ok(existsSync(join(root, 'out', `le.${ext}`)), ext);

  // Mark one finished run with an impossible accuracy and delete another: a rerun must keep the first
  // (it is not recomputed) and redo only the second.
  const units = join(root, 'work', 'units');
  const files = readdirSync(units).sort();
  assert.equal(files.length, 4);
  const kept = JSON.parse(readFileSync(join(units, files[0]), 'utf8'));
  writeFileSync(join(units, files[0]), JSON.stringify({ ...kept, acc: 0.123 }));
  rmSync(join(units, files[1]));
  assert.equal(await run(args(['--methods', 'ssl+linear,label-propagation', '--labels', '6', '--seeds', '0,1'])), 0);
  assert.equal(readdirSync(units).length, 4);
  const second = JSON.parse(readFileSync(join(root, 'out', 'le.json'), 'utf8')) as { rows: Row[] };
  const row = second.rows.find((r) => r.method === kept.method)!;
  assert.equal(row.acc[row.seeds.indexOf(kept.seed)], 0.123);

  // Other settings (a wall-clock budget instead of none) are another unit: the old one is not reused, and the
  // JSON keeps both rows, each with the settings it ran under.
  assert.equal(await run([...args(['--methods', 'ssl+linear', '--labels', '6', '--seeds', '0']), '--budget', '1h']), 0);
  assert.equal(readdirSync(units).length, 5);
  const third = JSON.parse(readFileSync(join(root, 'out', 'le.json'), 'utf8')) as { rows: Row[] };
  const linear = third.rows.filter((r) => r.method === 'ssl+linear' && r.labels === 6);
  assert.deepEqual(linear.map((r) => r.settings.budget_s).sort(), [3600, null]);
  assert.notEqual(linear[0].key, linear[1].key);
  for (const r of linear) assert.equal(r.settings.encoderSha256, first.encoder.sha256);
});

test('bad settings fail before any run starts', async () => {
  const work = join(root, 'work-bad');
  const bad = (extra: string[]) => ['--data', join(root, 'train'), '--test-data', join(root, 'test'), '--encoder', encoder, '--work', work, '--out', join(root, 'bad.json'), '--no-all-labels', '--seeds', '0', ...extra];
  const cases: [string[], RegExp][] = [
    [['--methods', 'supervised-only', '--labels', '1000'], /total 1000 is more than the 36 labeled samples/],
    [['--methods', 'supervised-only', '--labels', '2'], /every class needs at least one label/],
    [['--methods', 'fixmatch', '--labels', '6', '--threshold', '1.01'], /--threshold must be in \(0, 1\]/],
    [['--methods', 'fixmatch', '--labels', '6', '--threshold', '0'], /--threshold must be in \(0, 1\]/],
    [['--methods', 'mixmatch', '--labels', '6'], /unknown method 'mixmatch'/],
  ];
  for (const [extra, message] of cases) {
    await assert.rejects(run(bad(extra)), (e: unknown) => e instanceof UlearnError && message.test(e.message), extra.join(' '));
  }
  assert.ok(!existsSync(join(work, 'units')) || readdirSync(join(work, 'units')).length === 0);
  assert.ok(!existsSync(join(root, 'bad.json')));
});

test('gap closed at 100 labels = (best - supervised) / (all labels - supervised)', () => {
  const settings = { data: 'd', testData: null, trainSize: 1, testSize: 1, encoderSha256: null, encoder: { widths: [4], blocksPerStage: 1 }, budget_s: null, overrides: {}, threads: null, engine: 'wasm' };
  const row = (method: string, labels: number, acc_mean: number): Row => ({ method, labels, seeds: [0], acc: [acc_mean], acc_mean, acc_std: 0, wall_s: [1], protocol: '', info: [], settings, key: 'k', finished: '' });
  const rows = [row('supervised-only', 100, 0.6), row('ssl+linear', 100, 0.75), row('label-propagation', 100, 0.8), row('all-labels (supervised)', 60000, 0.9), row('ssl+linear', 40, 0.99)];
  const g = gapClosed(rows, 100)!;
  assert.equal(g.best, 'label-propagation');
  assert.ok(Math.abs(g.share - 0.2 / 0.3) < 1e-12);
  assert.equal(gapClosed(rows.slice(0, 3), 100), undefined, 'no upper bound, no figure');
});

test("a unit's key includes the engine: a budget-capped unit from one engine is never read back for another", () => {
  const settings = { data: 'd', testData: null, trainSize: 1, testSize: 1, encoderSha256: null, encoder: { widths: [4], blocksPerStage: 1 }, budget_s: 600, overrides: {}, threads: 2, engine: 'wasm' };
  assert.notEqual(settingsKey(settings), settingsKey({ ...settings, engine: 'native' }));
  assert.equal(settingsKey(settings), settingsKey({ ...settings }));
});
