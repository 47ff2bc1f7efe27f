/**
 * Clean checks as a registry: a user's own check, registered once, runs with the built-ins and lands in
 * issues.json, the manifest and report.html with its scores, flags and summary; bad registrations and bad
 * results are clear errors.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { UlearnError } from '../../src/errors.js';
import { BUILTIN_CHECKS, checkNames, registerCheck, unregisterCheck } from '../../src/clean/registry.js';
import { runClean } from '../../src/clean/run-clean.js';
import type { Check } from '../../src/clean/types.js';

const root = mkdtempSync(join(tmpdir(), 'ulearn-clean-registry-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** 8 gray 8×8 images in two classes; mean brightness 20 * (i + 1). */
async function folder(): Promise<string> {
  const dir = join(root, 'data');
  for (let i = 0; i < 8; i++) {
    const cls = i % 2 ? 'b' : 'a';
    mkdirSync(join(dir, cls), { recursive: true });
    const px = Buffer.alloc(64, 20 * (i + 1));
    writeFileSync(join(dir, cls, `img${i}.png`), await sharp(px, { raw: { width: 8, height: 8, channels: 1 } }).png().toBuffer());
  }
  return dir;
}

/** The user's check: flags images darker than 50 (mean pixel), scored by darkness. */
const tooDark: Check = {
  name: 'too_dark',
  run: ({ samples: s }) => {
    const n = s.ids.length;
    const per = s.height * s.width * s.channels;
    const scores = new Float32Array(n);
    const flags = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      let sum = 0;
      for (let j = 0; j < per; j++) sum += s.pixels[i * per + j];
      scores[i] = 1 - sum / per / 255;
      flags[i] = sum / per < 50 ? 1 : 0;
    }
    return { name: 'too_dark', description: 'mean brightness under 50 of 255', scores, flags, action: 'exclude', summary: { flagged: flags.reduce((a, b) => a + b, 0), threshold: 50 } };
  },
};

test('a registered check runs after the built-ins and appears in issues.json, the manifest and the report', async () => {
  registerCheck(tooDark);
  try {
    assert.deepEqual(checkNames(), [...BUILTIN_CHECKS, 'too_dark']);
    const data = await folder();
    const out = await runClean({ data, outDir: join(root, 'out'), backend: 'cpu', log: () => undefined });
    assert.equal(out.results.at(-1)!.name, 'too_dark');
    const issues = JSON.parse(readFileSync(out.paths.issues, 'utf8')) as { checks: Record<string, { summary: { flagged: number; threshold: number }; action: string; samples: { id: string; score: number }[] }> };
    const mine = issues.checks.too_dark;
    // Brightness 20 and 40 (img0 in a/, img1 in b/) are under 50; the darker one is listed first.
    assert.deepEqual(mine.summary, { flagged: 2, threshold: 50 });
    assert.equal(mine.action, 'exclude');
    assert.deepEqual(mine.samples.map((x) => x.id), ['a/img0.png', 'b/img1.png']);
    assert.ok(mine.samples[0].score > mine.samples[1].score);
    const manifest = JSON.parse(readFileSync(out.paths.manifest, 'utf8')) as { samples: { id: string; action: string; reasons?: string[] }[] };
    const excluded = manifest.samples.filter((e) => e.reasons?.includes('too_dark')).map((e) => [e.id, e.action]);
    assert.deepEqual(excluded, [['a/img0.png', 'exclude'], ['b/img1.png', 'exclude']]);
    const html = readFileSync(out.paths.report!, 'utf8');
    assert.match(html, /id="too_dark"/);
    assert.match(html, /mean brightness under 50 of 255/);
    // --checks / --skip know it by name.
    const only = await runClean({ data, outDir: join(root, 'out2'), checks: ['too_dark'], html: false, log: () => undefined });
    assert.deepEqual(only.results.map((r) => r.name), ['too_dark']);
  } finally {
    unregisterCheck('too_dark');
  }
  assert.deepEqual(checkNames(), [...BUILTIN_CHECKS]);
});

test('registering a taken or badly formed name, and a result of the wrong length, are errors', async () => {
  assert.throws(() => registerCheck({ ...tooDark, name: 'outlier' }), (e: unknown) => e instanceof UlearnError && /already registered/.test(e.message));
  assert.throws(() => registerCheck({ ...tooDark, name: 'Too Dark' }), (e: unknown) => e instanceof UlearnError && /lower_snake_case/.test(e.message));
  registerCheck({ name: 'short', run: async (ctx) => ({ ...(await tooDark.run(ctx)), name: 'short', flags: new Uint8Array(1) }) });
  try {
    await assert.rejects(runClean({ data: await folder(), outDir: join(root, 'out3'), checks: ['short'], html: false, log: () => undefined }), (e: unknown) => e instanceof UlearnError && /one score and one flag per sample/.test(e.hint ?? ''));
  } finally {
    unregisterCheck('short');
  }
});
