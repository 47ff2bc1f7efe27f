/** `ulearn clean` as a user meets it: help, and bad input answered with one clear line and a non-zero exit. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ulearn } from '../cli/run-cli.js';

test('clean --help lists its options', () => {
  const h = ulearn('clean', '--help');
  assert.equal(h.code, 0);
  assert.match(h.out, /Usage: ulearn clean/);
  assert.match(h.out, /--test-data/);
  assert.match(h.out, /--near-threshold/);
});

test('bad input: missing folder, unknown check, bad threshold; nothing written', () => {
  const out = join(mkdtempSync(join(tmpdir(), 'ulearn-clean-cli-')), 'out');
  const missing = ulearn('clean', '/no/such/folder', '--out', out);
  assert.equal(missing.code, 2);
  assert.match(missing.err, /\/no\/such\/folder: folder not found/);
  assert.doesNotMatch(missing.err, /at .*\.ts:\d+/, 'no stack trace');
  const bogus = ulearn('clean', 'fashion-mnist', '--skip', 'bogus', '--out', out);
  assert.equal(bogus.code, 2);
  assert.match(bogus.err, /unknown check\(s\) bogus; known: corrupt/);
  const thr = ulearn('clean', 'fashion-mnist', '--near-threshold', '2', '--out', out);
  assert.notEqual(thr.code, 0);
  assert.match(thr.err, /--near-threshold must be a number in \[0, 1\], got '2'/);
  assert.equal(existsSync(out), false, 'no output folder for a failed run');
});

test('a malformed CSV names file and line, exits non-zero, and writes nothing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ulearn-clean-csv-'));
  const csv = join(dir, 'bad.csv');
  writeFileSync(csv, 'a,b\n1,2\n3,"x"y\n');
  const out = join(dir, 'out');
  const r = ulearn('clean', csv, '--out', out);
  assert.notEqual(r.code, 0);
  assert.match(r.err, /bad\.csv.*line 3/);
  assert.equal(existsSync(out), false);
});
