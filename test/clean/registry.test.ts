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
import { runTabularClean } from '../../src/clean/run-tabular.js';
import type { Check, TableCheck } from '../../src/clean/types.js';

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
    assert.deepEqual(checkNames(), [...BUILTIN_CHECKS.image, 'too_dark']);
    assert.deepEqual(checkNames('table'), [...BUILTIN_CHECKS.table], 'an image check is not run on tables');
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
  assert.deepEqual(checkNames(), [...BUILTIN_CHECKS.image]);
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

/**
 * The user's table check: a negative age is a typo, not a person; it reads the cells (a second pass over the
 * file) and the loading pass's column profile, and excludes the row.
 */
const negativeAge: TableCheck = {
  name: 'negative_age',
  modality: 'table',
  async run({ table, profile }) {
    const col = table.columns.indexOf('age');
    const scores = new Float32Array(table.rows);
    const flags = new Uint8Array(table.rows);
    await table.eachRow((values, i) => {
      const age = Number(values[col]);
      scores[i] = Number.isFinite(age) ? -age : NaN;
      flags[i] = age < 0 ? 1 : 0;
    });
    const flagged = flags.reduce((a, b) => a + b, 0);
    return { name: 'negative_age', description: 'age below zero', scores, flags, reason: (i) => `negative_age: ${-scores[i]}`, action: 'exclude', summary: { flagged, ages_seen: profile.columns[col].numbers } };
  },
};

test('a registered table check runs after the table built-ins and appears in issues.json, the manifest and the report', async () => {
  const csv = join(root, 'people.csv');
  // Line 3 has a negative age; line 5 repeats line 2 (a built-in duplicate_row); line 6 is fine.
  writeFileSync(csv, 'name,age\nann,31\nbob,-4\ncid,-40\nann,31\ndee,52\n');
  registerCheck(negativeAge);
  try {
    assert.deepEqual(checkNames('table'), [...BUILTIN_CHECKS.table, 'negative_age']);
    assert.deepEqual(checkNames(), [...BUILTIN_CHECKS.image], 'a table check is not run on images');
    // Image and table checks may share a name (both have an outlier); within a modality it is taken.
    assert.throws(() => registerCheck({ ...negativeAge, name: 'duplicate_row' }), (e: unknown) => e instanceof UlearnError && /a table check named 'duplicate_row' is already registered/.test(e.message));
    const out = await runTabularClean(csv, join(root, 'table-out'));
    assert.equal(out.results.at(-1)!.name, 'negative_age');
    const issues = JSON.parse(readFileSync(out.paths.issues, 'utf8')) as { checks: Record<string, { summary: Record<string, number>; action: string; samples: { id: string; split: string; score: number; reason: string; related?: { id: string } }[] }> };
    const mine = issues.checks.negative_age;
    assert.deepEqual(mine.summary, { flagged: 2, ages_seen: 5 });
    assert.equal(mine.action, 'exclude');
    // Worst (most negative) first; ids are file lines.
    assert.deepEqual(mine.samples.map((x) => [x.id, x.split, x.score, x.reason]), [['4', '*', 40, 'negative_age: -40'], ['3', '*', 4, 'negative_age: -4']]);
    // The built-ins report in the same shape.
    assert.deepEqual(issues.checks.duplicate_row.samples.map((x) => [x.id, x.related?.id, x.reason]), [['5', '2', 'duplicate_row: same values as line 2']]);
    const manifest = JSON.parse(readFileSync(out.paths.manifest, 'utf8')) as { counts: Record<string, number>; samples: { id: string; action: string; reasons?: string[] }[] };
    assert.deepEqual(manifest.samples.map((e) => [e.id, e.action, e.reasons]), [['3', 'exclude', ['negative_age: -4']], ['4', 'exclude', ['negative_age: -40']], ['5', 'exclude', ['duplicate_row: same values as line 2']]]);
    assert.deepEqual(manifest.counts, { keep: 2, exclude: 3, unlabel: 0 });
    const html = readFileSync(out.paths.report!, 'utf8');
    assert.match(html, /<a href="#negative_age">negative_age<\/a><\/td><td class="num">2<\/td>/, 'in the table of checks, with its count');
    assert.match(html, /<section class="card" id="negative_age">[\s\S]*?age below zero[\s\S]*?negative_age: -40/, 'its own section lists the flagged rows');
    // --checks knows it by name, and a name of the other modality is unknown here.
    const only = await runTabularClean(csv, join(root, 'table-out2'), { checks: ['negative_age'], html: false });
    assert.deepEqual(only.results.map((r) => r.name), ['negative_age']);
    await assert.rejects(runTabularClean(csv, join(root, 'table-out3'), { checks: ['blank'] }), (e: unknown) => e instanceof UlearnError && /unknown check\(s\) blank; known: missing_values/.test(e.message));
  } finally {
    unregisterCheck('negative_age', 'table');
  }
  assert.deepEqual(checkNames('table'), [...BUILTIN_CHECKS.table]);
});
