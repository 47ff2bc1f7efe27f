/**
 * The speech benchmark's smoke test (`npm run bench speech -- --quick`): a tiny speech-digits build (synthetic
 * speech, espeak-ng / flite / festival) in a temporary folder, each arm for a few steps, and
 * speech-digits.json in the shape; a rerun reads the finished units back instead of training again.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../bench/speech.js';

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'ulearn-speech-bench-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

async function quiet<T>(f: () => Promise<T>): Promise<{ value: T; lines: string[] }> {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => lines.push(a.join(' '));
  try {
    return { value: await f(), lines };
  } finally {
    console.log = log;
  }
}

test('--quick writes one row per method and label count, with accuracies per seed and the feature speed', async () => {
  const out = join(root, 'speech.json');
  const args = ['--quick', '--seeds', '0', '--labels', '1,all', '--arms', 'supervised,ssl-target+linear,ssl-multilingual+finetune,ssl-target+label-propagation', '--threads', '1', '--backend', 'wasm', '--work', join(root, 'work'), '--out', out];
  const first = await quiet(() => run(args));
  assert.equal(first.value, 0);
  const r = JSON.parse(await readFile(out, 'utf8'));
  assert.ok(Array.isArray(r.machine.load_average) && r.machine.load_average.length === 3);
  assert.match(r.data, /synthetic speech/);
  assert.ok(r.features_clips_per_s > 0 && r.features.one_thread_clips_per_s > 0);
  const rows = r.rows as { method: string; labels_per_class: number | string; accs: number[]; acc_mean: number; acc_std: number }[];
  assert.deepEqual(
    rows.map((x) => `${x.method}@${x.labels_per_class}`),
    ['supervised@1', 'ssl-target+linear@1', 'ssl-multilingual+finetune@1', 'ssl-target+label-propagation@1', 'supervised@all', 'ssl-multilingual+finetune@all'],
  );
  for (const x of rows) {
    assert.equal(x.accs.length, 1);
    assert.ok(x.acc_mean >= 0 && x.acc_mean <= 100 && x.acc_std === 0, JSON.stringify(x));
  }
  assert.equal(r.targets.one_label_best.met_70, r.targets.one_label_best.acc_mean >= 70);
  // Everything is done: a rerun trains nothing and writes the same rows.
  const again = await quiet(() => run(args));
  assert.ok(!again.lines.some((l) => /labels\/class, .*: [\d.]+%/.test(l)), again.lines.join('\n'));
  assert.deepEqual(JSON.parse(await readFile(out, 'utf8')).rows, rows);
});
