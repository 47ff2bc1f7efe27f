/**
 * `ulearn train` and `ulearn predict` as a user meets them: a model folder that predict reads back with the
 * same preprocessing (its accuracy on the test files equals the one train measured on the loaded test split),
 * and bad input refused with a clear message before any training (no model folder left behind).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeStripes } from './fixtures.js';
import { runUlearn } from '../cli/run-cli.js';

let root: string;

const ulearn = (...args: string[]) => runUlearn(args, { timeout: 180_000 });

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'ulearn-semi-cli-'));
  await writeStripes(join(root, 'train'), 12, 1);
  await writeStripes(join(root, 'test'), 5, 2);
});

after(() => rmSync(root, { recursive: true, force: true }));

test('train saves a model folder; predict reproduces its test accuracy from the files', () => {
  const model = join(root, 'model');
  const t = ulearn('train', join(root, 'train'), '--test-data', join(root, 'test'), '--method', 'supervised', '--total-labels', '9', '--widths', '4,8', '--epochs', '15', '--batch-size', '9', '--backend', 'wasm', '--out', model);
  assert.equal(t.code, 0, t.err);
  const m = /test accuracy: ([\d.]+)%/.exec(t.out);
  assert.ok(m, t.out);
  const meta = JSON.parse(readFileSync(join(model, 'ulearn-model.json'), 'utf8'));
  assert.deepEqual(meta.preprocessing, { inputShape: [16, 16, 1], resize: 'crop', scale: '1/255' });
  assert.equal(meta.training.labels, 9);
  const p = ulearn('predict', model, join(root, 'test'), '--backend', 'wasm', '--out', join(root, 'preds.csv'));
  assert.equal(p.code, 0, p.err);
  const lines = readFileSync(join(root, 'preds.csv'), 'utf8').trim().split('\n');
  assert.equal(lines[0], 'file,label,confidence,p_diagonal,p_horizontal,p_vertical');
  assert.equal(lines.length, 1 + 15);
  const correct = lines.slice(1).filter((l) => l.split(',')[0].split('/').at(-2) === l.split(',')[1]).length;
  assert.equal(((correct / 15) * 100).toFixed(2), m[1]);
});

test('bad input: clear errors, exit 2, nothing written', () => {
  const out = join(root, 'never');
  const cases: [string[], RegExp][] = [
    [['--method', 'fixmatch', '--threshold', '1.5'], /--threshold must be in \(0, 1\], got 1.5/],
    [['--method', 'fixmatch', '--threshold', '0'], /--threshold must be in \(0, 1\], got 0/],
    [['--method', 'supervised', '--total-labels', '1000'], /total 1000 is more than the 36 labeled samples/],
    [['--method', 'supervised', '--total-labels', '2'], /every class needs at least one label/],
    [['--method', 'fixmatch'], /unlabeled pool is empty/],
    [['--method', 'label-propagation', '--total-labels', '9'], /needs a pretrained encoder/],
  ];
  for (const [args, message] of cases) {
    const r = ulearn('train', join(root, 'train'), ...args, '--out', out, '--backend', 'wasm');
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, message);
    assert.doesNotMatch(r.err, /\n\s+at /, 'no stack trace');
    assert.ok(!existsSync(out));
  }
  const p = ulearn('predict', join(root, 'train'), join(root, 'test'));
  assert.equal(p.code, 2);
  assert.match(p.err, /not a ulearn model folder/);
});
