/**
 * Every program in examples/ runs as a user would run it (`node --import tsx examples/x.ts …`, importing
 * 'ulearn'), on tiny generated data: a few steps, one wasm thread, fixed seeds; the assertions are on what
 * each program prints and writes. tsc type-checks them with the rest (tsconfig.json includes examples/).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

const root = fileURLToPath(new URL('../..', import.meta.url));

function runExample(name: string, args: string[]): string {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join('examples', name), ...args], { cwd: root, encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, `${name} exited ${r.status}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** n 16×16 RGB PNGs in dir, pixel values in [base, base + spread), varying per image and pixel. */
async function writePngs(dir: string, n: number, base: number, spread: number, prefix = ''): Promise<void> {
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < n; i++) {
    const px = Buffer.alloc(16 * 16 * 3);
    for (let j = 0; j < px.length; j++) px[j] = base + ((j * 7 + i * 13) % spread);
    await sharp(px, { raw: { width: 16, height: 16, channels: 3 } }).png().toFile(join(dir, `${prefix}${i}.png`));
  }
}

test('examples/ssl-image-folder.ts: pretrains, probes, evaluates and saves a model folder on dark vs light images', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ulearn-example-ssl-'));
  for (const [split, n] of [['train', 16], ['test', 8]] as const) {
    await writePngs(join(dir, split, 'dark'), n, 20, 60);
    await writePngs(join(dir, split, 'light'), n, 170, 60);
  }
  const out = join(dir, 'model');
  const stdout = runExample('ssl-image-folder.ts', [join(dir, 'train'), join(dir, 'test'), '--steps', '2', '--labels-per-class', '3', '--size', '16', '--out', out, '--backend', 'wasm', '--threads', '1']);
  assert.match(stdout, /pretrained: 2 steps, loss \d+\.\d+ -> \d+\.\d+/);
  const acc = Number(/test accuracy: ([\d.]+)% with 6 labels/.exec(stdout)?.[1]);
  // Brightness separates the classes, so a probe on 3 labels per class gets every test image right unless the
  // labels, features or test split are mixed up (chance is 50%).
  assert.equal(acc, 100, stdout);
  const meta = JSON.parse(readFileSync(join(out, 'ulearn-model.json'), 'utf8')) as { classes: string[]; method: string; preprocessing: { inputShape: number[] } };
  assert.deepEqual(meta.classes, ['dark', 'light']);
  assert.equal(meta.method, 'linear');
  assert.deepEqual(meta.preprocessing.inputShape, [16, 16, 3]);
});

test('examples/label-propagation.ts: 2 labels per cluster label every point of two separated clusters', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ulearn-example-lp-'));
  let s = 1;
  const noise = () => ((s = (s * 16807) % 2147483647) / 2147483647 - 0.5) * 0.8;
  const ids: string[] = [];
  const vectors: number[][] = [];
  const labels: (string | null)[] = [];
  const truth: string[] = [];
  for (let i = 0; i < 40; i++) {
    const c = i % 2;
    ids.push(`p${i}`);
    vectors.push(Array.from({ length: 8 }, (_, d) => (d === c ? 3 : 0) + noise()));
    truth.push(c ? 'cat' : 'dog');
    labels.push(i < 4 ? truth[i] : null);
  }
  const file = join(dir, 'embeddings.json');
  writeFileSync(file, JSON.stringify({ ids, vectors, labels }));
  const lines = runExample('label-propagation.ts', [file, '--k', '5', '--backend', 'wasm']).trim().split('\n');
  assert.equal(lines[0], 'id,label,confidence');
  assert.equal(lines.length, 41);
  lines.slice(1).forEach((line, i) => {
    const [id, label, confidence] = line.split(',');
    assert.equal(id, ids[i]);
    assert.equal(label, truth[i], line);
    assert.ok(Number(confidence) > 0.5 && Number(confidence) <= 1, line);
  });
});

test('examples/custom-clean-check.ts: the custom check flags exactly the dark images and the manifest excludes them', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ulearn-example-clean-'));
  const folder = join(dir, 'img');
  // Dark but not blank (values 0..24 vary), so no built-in check flags them: only the custom one can.
  await writePngs(folder, 3, 0, 25, 'dark');
  await writePngs(folder, 17, 60, 150, 'ok');
  const out = join(dir, 'out');
  const stdout = runExample('custom-clean-check.ts', [folder, '--out', out]);
  assert.match(stdout, /^too_dark: 3 flagged$/m);
  assert.match(stdout, /^blank: 0 flagged$/m);
  const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { samples: { id: string; action: string; reasons?: string[] }[] };
  const dark = manifest.samples.filter((e) => e.reasons?.includes('too_dark')).map((e) => e.id).sort();
  assert.deepEqual(dark, ['dark0.png', 'dark1.png', 'dark2.png']);
  for (const e of manifest.samples) if (e.id.startsWith('dark')) assert.equal(e.action, 'exclude');
  const issues = JSON.parse(readFileSync(join(out, 'issues.json'), 'utf8')) as Record<string, unknown>;
  assert.ok(JSON.stringify(issues).includes('too_dark'), 'issues.json records the custom check');
});

test('examples/custom-clean-check.ts on a table: the custom table check flags the negative ages next to the built-in checks', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ulearn-example-clean-table-'));
  const csv = join(dir, 'people.csv');
  // Lines 3 and 5 have negative ages; line 6 repeats line 2 (the built-in duplicate_row).
  writeFileSync(csv, 'name,age\nann,31\nbob,-4\ncid,27\ndee,-1\nann,31\n');
  const out = join(dir, 'out');
  const stdout = runExample('custom-clean-check.ts', [csv, '--not-negative', 'age', '--out', out]);
  assert.match(stdout, /^negative_value: 2 flagged$/m);
  assert.match(stdout, /^duplicate_row: 1 flagged$/m);
  assert.doesNotMatch(stdout, /too_dark/, 'the image check does not run on a table');
  const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { samples: { id: string; action: string; reasons?: string[] }[] };
  assert.deepEqual(manifest.samples.map((e) => [e.id, e.action, e.reasons?.[0]]), [['3', 'exclude', 'negative_value'], ['5', 'exclude', 'negative_value'], ['6', 'exclude', 'duplicate_row: same values as line 2']]);
  const issues = JSON.parse(readFileSync(join(out, 'issues.json'), 'utf8')) as { checks: Record<string, { summary: unknown; samples: { id: string }[] }> };
  assert.deepEqual(issues.checks.negative_value.summary, { flagged: 2, column: 'age' });
  assert.deepEqual(issues.checks.negative_value.samples.map((x) => x.id), ['3', '5'], 'worst (most negative) first');
  assert.match(readFileSync(join(out, 'report.html'), 'utf8'), /id="negative_value"/);
});
