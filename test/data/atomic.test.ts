import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../../src/util/atomic.js';
import { mapLimit } from '../../src/util/pool.js';
import { tempDir } from './fixtures.js';

test('writeFileAtomic writes and replaces a file and leaves no temp files', async () => {
  const dir = await tempDir();
  const path = join(dir, 'out.bin');
  await writeFile(path, 'old');
  await writeFileAtomic(path, new Uint8Array([1, 2, 3]));
  assert.deepEqual([...(await readFile(path))], [1, 2, 3]);
  await writeFileAtomic(path, 'text');
  assert.equal(await readFile(path, 'utf8'), 'text');
  assert.deepEqual(await readdir(dir), ['out.bin']);
});

test('writeFileAtomic into a missing folder fails and leaves nothing behind', async () => {
  const dir = await tempDir();
  await assert.rejects(writeFileAtomic(join(dir, 'no', 'such', 'x'), 'data'), /ENOENT/);
  assert.deepEqual(await readdir(dir), []);
});

test('writeJsonAtomic round-trips', async () => {
  const dir = await tempDir();
  const path = join(dir, 'a.json');
  await writeJsonAtomic(path, { a: [1, 2], b: 'x' });
  const text = await readFile(path, 'utf8');
  assert.deepEqual(JSON.parse(text), { a: [1, 2], b: 'x' });
  assert.ok(text.endsWith('\n'));
});

test('mapLimit keeps order and never exceeds the limit', async () => {
  let inFlight = 0;
  let peak = 0;
  const out = await mapLimit(Array.from({ length: 20 }, (_, i) => i), 3, async (v) => {
    inFlight++;
    peak = Math.max(peak, inFlight);
    await new Promise((r) => setTimeout(r, (v * 7) % 5));
    inFlight--;
    return v * 2;
  });
  assert.deepEqual(out, Array.from({ length: 20 }, (_, i) => i * 2));
  assert.equal(peak, 3);
  assert.deepEqual(await mapLimit([], 4, async () => 1), []);
});

test('mapLimit rejects with the first error and stops starting new items', async () => {
  const started: number[] = [];
  await assert.rejects(
    mapLimit(Array.from({ length: 50 }, (_, i) => i), 2, async (v) => {
      started.push(v);
      await new Promise((r) => setTimeout(r, 1));
      if (v === 3) throw new Error('boom 3');
      return v;
    }),
    /boom 3/,
  );
  await new Promise((r) => setTimeout(r, 20));
  assert.ok(started.length <= 6, `started ${started.length} items`);
});
