import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { sha256Files, sha256FilesCached } from '../../src/util/hash-files.js';

test('sha256Files: names and bytes of every file count; dot-files do not', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ulearn-hash-'));
  mkdirSync(join(dir, 'sub'));
  writeFileSync(join(dir, 'a.bin'), 'ab');
  writeFileSync(join(dir, 'sub', 'b.bin'), 'c');
  const h0 = await sha256Files(dir);
  writeFileSync(join(dir, '.leftover.tmp'), 'x');
  assert.equal(await sha256Files(dir), h0, 'a dot-file (temp or old copy) is not part of the model');
  // The same bytes split differently between the files: another model.
  writeFileSync(join(dir, 'a.bin'), 'a');
  writeFileSync(join(dir, 'sub', 'b.bin'), 'bc');
  assert.notEqual(await sha256Files(dir), h0);
  assert.equal(await sha256FilesCached(dir), await sha256Files(dir));
});

test('sha256FilesCached: a file replaced by rename (as saves publish) is hashed again', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ulearn-hash-'));
  writeFileSync(join(dir, 'w.bin'), 'one');
  const h1 = await sha256FilesCached(dir);
  assert.equal(await sha256FilesCached(dir), h1);
  writeFileSync(join(dir, '.w.tmp'), 'two');
  renameSync(join(dir, '.w.tmp'), join(dir, 'w.bin'));
  const h2 = await sha256FilesCached(dir);
  assert.notEqual(h2, h1);
  assert.equal(h2, await sha256Files(dir));
});
