/**
 * The robustness benchmark's smoke test (`npm run bench robustness -- --quick`): tiny glyphs and shapes built
 * offline into a temporary cache, the whole default pipeline for a few steps with no budget, and
 * robustness.json in the shape; a rerun reads the finished units back instead of training again.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, summarize, type RobustnessRow } from '../../bench/robustness.js';

let root: string;
const cacheBefore = process.env.ULEARN_CACHE;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'ulearn-robustness-'));
  process.env.ULEARN_CACHE = join(root, 'cache');
});
after(async () => {
  if (cacheBefore === undefined) delete process.env.ULEARN_CACHE;
  else process.env.ULEARN_CACHE = cacheBefore;
  await rm(root, { recursive: true, force: true });
});

test('--quick runs the default pipeline on each dataset and writes rows, estimates, the chosen arm and augment choices', async () => {
  const out = join(root, 'robustness.json');
  const args = ['--quick', '--datasets', 'glyphs,shapes', '--seeds', '0', '--labels', '3', '--threads', '1', '--work', join(root, 'work'), '--out', out];
  const lines: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => lines.push(a.join(' '));
  try {
    assert.equal(await run(args), 0);
  } finally {
    console.log = log;
  }
  const r = JSON.parse(await readFile(out, 'utf8'));
  assert.ok(Array.isArray(r.machine.load_average) && r.machine.load_average.length === 3);
  assert.match(r.machine.engine, /^engine: /);
  for (const d of ['glyphs', 'shapes']) {
    const rows = (r.rows as RobustnessRow[]).filter((x) => x.dataset === d);
    assert.deepEqual(rows.map((x) => x.method), ['supervised only', 'SSL + linear probe', 'SSL + label propagation', 'SSL + fine-tune']);
    for (const x of rows) {
      assert.equal(x.labels_per_class, 3);
      assert.equal(x.seed, 0);
      assert.ok(x.test_acc >= 0 && x.test_acc <= 100, `${d} ${x.method}: test ${x.test_acc}`);
      assert.ok(x.estimated_acc !== null && x.estimated_acc >= 0 && x.estimated_acc <= 100, `${d} ${x.method}: estimate ${x.estimated_acc}`);
    }
    assert.equal(rows.filter((x) => x.chosen).length, 1, `${d}: one chosen arm`);
    assert.equal(typeof r.augment_choices[d]['0'].flip, 'boolean');
    assert.equal(r.summary[d].per_seed.length, 1);
  }
  // The glyphs are digits: the augmentation chooser turns horizontal flips off for them.
  assert.equal(r.augment_choices.glyphs['0'].flip, false);

  // Again: both units are finished, so nothing runs and the file is rebuilt from them.
  lines.length = 0;
  console.log = (...a: unknown[]) => lines.push(a.join(' '));
  try {
    assert.equal(await run(args), 0);
  } finally {
    console.log = log;
  }
  assert.ok(!lines.some((l) => /seed 0: /.test(l)), lines.join('\n'));
  assert.deepEqual(JSON.parse(await readFile(out, 'utf8')).rows, r.rows);
});

test('summary: the chosen arm against supervised-only per seed, and the mean distance of estimates from test', () => {
  const row = (seed: number, method: string, test_acc: number, estimated_acc: number | null, chosen: boolean): RobustnessRow => ({ dataset: 'd', labels_per_class: 10, seed, method, test_acc, estimated_acc, estimated_stderr: null, chosen, steps: null, stopped_by_budget: false });
  const s = summarize(
    [
      row(0, 'supervised only', 60, 58, false),
      row(0, 'SSL + fine-tune', 70, 66, true),
      row(1, 'supervised only', 62, 64, true),
      row(1, 'SSL + fine-tune', 61, 60, false),
    ],
    ['d'],
  ).d;
  assert.deepEqual(s.per_seed, [
    { seed: 0, chosen: 'SSL + fine-tune', chosen_acc: 70, supervised_acc: 60, gain: 10 },
    { seed: 1, chosen: 'supervised only', chosen_acc: 62, supervised_acc: 62, gain: 0 },
  ]);
  assert.equal(s.mean_gain, 5);
  assert.equal(s.never_below_supervised, true);
  assert.equal(s.mean_abs_estimate_error, (2 + 4 + 2 + 1) / 4);
});
