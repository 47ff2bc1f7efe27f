/**
 * The scan's read errors are facts about the files, not about the run: libvips shares one error buffer between
 * sharp's threads, so a decode that fails beside others can lose (or double) its detail. These tests pin the
 * remedy: a failed call is repeated alone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { AloneOnFailure, scanImageFolders } from '../../src/clean/scan.js';
import { decodeImage } from '../../src/data/image-decode.js';

test('a failed call is repeated alone: after the calls in flight finish, before new ones start', async () => {
  const gate = new AloneOnFailure();
  const log: string[] = [];
  let inFlight = 0;
  let failedOnce = false;
  const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
  const call = (name: string, ticks: number, fail = false) => async () => {
    inFlight++;
    log.push(`start ${name} ${inFlight}`);
    for (let t = 0; t < ticks; t++) await tick();
    inFlight--;
    if (fail && !failedOnce) {
      failedOnce = true;
      throw new Error('detail lost');
    }
    log.push(`end ${name}`);
    return name;
  };
  const first = [gate.run(call('a', 1, true)), gate.run(call('b', 5)), gate.run(call('c', 8))];
  await tick();
  await tick();
  // Started while the repeat of a waits for b and c: must wait for the repeat to end.
  const late = gate.run(call('d', 1));
  assert.deepEqual(await Promise.all([...first, late]), ['a', 'b', 'c', 'd']);
  // a's repeat starts with nothing else in flight (count 1), after b and c ended and before d started.
  assert.deepEqual(log, ['start a 1', 'start b 2', 'start c 3', 'end b', 'end c', 'start a 1', 'end a', 'start d 1', 'end d']);
  // A call that fails alone too is an error for the caller, and the gate stays usable.
  await assert.rejects(gate.run(async () => { throw new Error('still corrupt'); }), /still corrupt/);
  assert.equal(await gate.run(async () => 7), 7);
});

test('every truncated file gets the reason libvips gives when it decodes that file alone, scan after scan', async () => {
  const root = mkdtempSync(join(tmpdir(), 'ulearn-scan-'));
  try {
    const dir = join(root, 'train', 'x');
    mkdirSync(dir, { recursive: true });
    const good = await sharp({ create: { width: 40, height: 40, channels: 3, background: { r: 90, g: 30, b: 200 } } }).png().toBuffer();
    const bad = Buffer.concat([good.subarray(0, 40), Buffer.from('garbage')]);
    for (let i = 0; i < 24; i++) {
      writeFileSync(join(dir, `good-${i}.png`), good);
      writeFileSync(join(dir, `bad-${i}.png`), bad);
    }
    // Decoded alone, the reason has libvips' detail once.
    const alone = await decodeImage(bad, 16, 16, 'crop').then(() => '', (err: Error) => err.message);
    assert.match(alone, /^Input buffer has corrupt header: \S/);
    // Scanned at another size, so every file goes through sharp, 16 at a time (without the gate about one
    // in forty of these failures came back without the detail, or with it twice).
    for (let rep = 0; rep < 10; rep++) {
      const s = await scanImageFolders({ train: join(root, 'train') }, { size: 16 });
      const reasons = [...s.readError].map(([i, why]) => [s.ids[i], why]);
      assert.equal(reasons.length, 24);
      for (const [id, why] of reasons) assert.deepEqual([id, why], [id, alone]);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
