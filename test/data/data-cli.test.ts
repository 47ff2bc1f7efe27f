/** `ulearn data` as a user meets it: a build, a rerun that reuses it, and a refusal to overwrite another build. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './fixtures.js';
import { ulearn } from '../cli/run-cli.js';

test('ulearn data shapes --out: builds, reuses, and refuses a different build in the same folder', async () => {
  const out = join(await tempDir(), 'shapes');
  const first = ulearn('data', 'shapes', '--per-class', '2', '--test-per-class', '1', '--out', out);
  assert.equal(first.code, 0, first.err);
  assert.match(first.out, /^shapes: 20 train \+ 10 test images, 10 classes, 32x32x3; built in [\d.]+ s$/m);
  assert.deepEqual(readdirSync(out).sort(), ['meta.json', 't10k-images-idx-ubyte', 't10k-labels-idx1-ubyte', 'train-images-idx-ubyte', 'train-labels-idx1-ubyte']);
  const again = ulearn('data', 'shapes', '--per-class', '2', '--test-per-class', '1', '--out', out);
  assert.equal(again.code, 0, again.err);
  assert.match(again.out, /already built/);
  const other = ulearn('data', 'shapes', '--per-class', '2', '--test-per-class', '1', '--seed', '4', '--out', out);
  assert.equal(other.code, 2);
  assert.match(other.err, /already holds a different shapes build \(seed 0, 2\/1 per class\)/);
  const bad = ulearn('data', 'cifar');
  assert.notEqual(bad.code, 0);
  assert.match(bad.err, /glyphs, shapes/);
});
