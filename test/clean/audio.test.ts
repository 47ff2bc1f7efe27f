/**
 * `ulearn clean` on a folder of audio clips: generated bursts plus one clip of each problem (truncated file,
 * silent, clipped, an exact duplicate in another WAV encoding, a near duplicate at another gain), checked
 * through the library call, the manifest as a dataset, and the command line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAudioClean } from '../../src/clean/run-audio.js';
import { AUDIO_NEAR_THRESHOLD } from '../../src/clean/checks/audio.js';
import { checkNames, registerCheck, unregisterCheck } from '../../src/clean/registry.js';
import { loadDataset } from '../../src/data/load.js';
import { pooledLogMel } from '../../src/data/preprocess/audio-embedding.js';
import { fitClip } from '../../src/data/audio-folder.js';
import { burst, tone, toneFolder, truncatedWav, writeClip } from '../data/audio-folder-fixtures.js';
import { ulearn } from '../cli/run-cli.js';

function problemFolder(): string {
  const d = mkdtempSync(join(tmpdir(), 'ulearn-clean-audio-'));
  toneFolder(d, { perClass: 6 });
  writeClip(join(d, 'low', 'silent.wav'), new Float32Array(8000).map((_, i) => 1e-4 * Math.sin(i))); // −83 dBFS
  writeClip(join(d, 'high', 'clipped.wav'), tone(600, { amp: 1.6, seed: 99 }).map((v) => Math.max(-1, Math.min(1, v))));
  // low-1 again, as 32-bit float instead of 16-bit PCM: other bytes, the same decoded samples.
  writeClip(join(d, 'low', 'copy-of-1.wav'), burst(250 * 1.12, { start: 0.09, seed: 2 }).map((v) => Math.round(v * 32768) / 32768), 'float32');
  // low-2 at 0.7× gain with faint noise: not the same samples, the same sound.
  const faint = tone(0, { amp: 0, seed: 7 });
  writeClip(join(d, 'low', 'near-2.wav'), burst(250 * 1.12 ** 2, { start: 0.13, seed: 3 }).map((v, i) => 0.7 * v + 0.01 * faint[i]));
  writeFileSync(join(d, 'high', 'cut.wav'), truncatedWav());
  return d;
}

const flagged = (r: { flags: Uint8Array }, ids: string[]) => ids.filter((_, i) => r.flags[i]);

test('audio clean flags the corrupt, silent, clipped, duplicate and near-duplicate clips and nothing else', async () => {
  const d = problemFolder();
  const out = join(d, 'out');
  const o = await runAudioClean({ data: d, outDir: out, log: () => undefined });
  const s = o.samples;
  const by = new Map(o.results.map((r) => [r.name, r]));
  assert.deepEqual(o.checksRun, ['corrupt', 'silent', 'clipped', 'exact_duplicate', 'near_duplicate', 'leakage', 'outlier', 'label_error', 'class_imbalance']);
  assert.deepEqual(flagged(by.get('corrupt')!, s.ids), ['cut.wav'].map((f) => `high/${f}`));
  assert.match(by.get('corrupt')!.reason!(s.ids.indexOf('high/cut.wav')), /corrupt: truncated: the data chunk at byte 36/);
  assert.deepEqual(flagged(by.get('silent')!, s.ids), ['low/silent.wav']);
  assert.deepEqual(flagged(by.get('clipped')!, s.ids), ['high/clipped.wav']);
  assert.equal(by.get('clipped')!.action, 'none', 'clipping is reported, not excluded');
  const exact = by.get('exact_duplicate')!;
  assert.deepEqual(flagged(exact, s.ids), ['low/low-1.wav']);
  assert.equal(s.ids[exact.related![s.ids.indexOf('low/low-1.wav')]], 'low/copy-of-1.wav');
  const near = by.get('near_duplicate')!;
  const nearFlagged = flagged(near, s.ids);
  assert.equal(nearFlagged.length, 1, `near duplicates: ${nearFlagged.join(', ')}`);
  assert.ok(['low/low-2.wav', 'low/near-2.wav'].includes(nearFlagged[0]));
  assert.ok(near.scores[s.ids.indexOf('low/near-2.wav')] >= AUDIO_NEAR_THRESHOLD);
  assert.equal(flagged(by.get('leakage')!, s.ids).length, 0);
  assert.equal(by.get('label_error')!.skipped, undefined);
  assert.equal(by.get('label_error')!.action, 'none', 'label errors are reported, not removed');
  assert.deepEqual((by.get('class_imbalance')!.summary.counts as Record<string, Record<string, number>>).train, { high: 7, low: 9 });

  // The manifest excludes corrupt, silent and duplicate clips, keeps the clipped one, and loads as a dataset.
  const m = JSON.parse(readFileSync(o.paths.manifest, 'utf8')) as { samples: { id: string; action: string }[]; data: unknown };
  const excluded = m.samples.filter((e) => e.action === 'exclude').map((e) => e.id).sort();
  assert.deepEqual(excluded, ['high/cut.wav', 'low/low-1.wav', 'low/silent.wav', nearFlagged[0]].sort());
  const { train } = await loadDataset(o.paths.manifest);
  assert.equal(train.modality, 'audio');
  assert.equal(train.size, s.ids.length - excluded.length);
  assert.ok(train.ids.includes('high/clipped.wav') && !train.ids.includes('low/silent.wav'));

  const issues = JSON.parse(readFileSync(o.paths.issues, 'utf8')) as { run: { checks_run: string[]; checks_not_run: string[] } };
  assert.deepEqual(issues.run.checks_run, o.checksRun);
  assert.deepEqual(issues.run.checks_not_run, []);
  const html = readFileSync(o.paths.report!, 'utf8');
  assert.match(html, /Checks run: corrupt, silent, clipped, exact_duplicate/);
  assert.match(html, /data:image\/png;base64,/, 'spectrogram thumbnails');
  assert.doesNotMatch(html, /<script/);
});

test('audio clean with --checks: the report and issues.json say which checks ran and which did not', async () => {
  const d = problemFolder();
  const o = await runAudioClean({ data: d, outDir: join(d, 'out'), checks: ['corrupt', 'silent'], log: () => undefined });
  assert.deepEqual(o.checksRun, ['corrupt', 'silent']);
  assert.ok(o.checksNotRun.includes('near_duplicate') && o.checksNotRun.includes('clipped'));
  assert.match(readFileSync(o.paths.report!, 'utf8'), /Not run \(not asked for\): clipped, exact_duplicate, near_duplicate/);
  await assert.rejects(runAudioClean({ data: d, outDir: join(d, 'out2'), checks: ['blank'] }), /unknown audio check\(s\) blank; known: corrupt, silent, clipped/);
  assert.equal(existsSync(join(d, 'out2')), false);
});

test('the pooled log-mel embedding (nearly) ignores gain and the zero padding of a short clip', () => {
  const a = fitClip(burst(400, { start: 0.1, seed: 4 }), 16000); // 0.5 s in 1 s: a quarter second of zeros each side
  const e = pooledLogMel(Float32Array.from([...a, ...a.map((v) => 0.5 * v), ...fitClip(burst(800, { start: 0.1, seed: 4 }), 16000)]), 16000);
  const dist = (i: number, j: number) => Math.hypot(...Array.from({ length: 80 }, (_, d) => e[i * 80 + d] - e[j * 80 + d]));
  // Half the gain moves the clip a little (the log offset, 1e-6, bends the faintest bands); another pitch far.
  assert.ok(dist(0, 1) < dist(0, 2) / 10, `gain ${dist(0, 1)}, pitch ${dist(0, 2)}`);
  // Without leaving out the padding, its −13.8 log floor would add a large deviation to every band.
  assert.ok(e[40 + 20] < 3, `band 20 deviation ${e[60]}`);
});

test('ulearn clean <audio folder> runs the audio checks and prints them', () => {
  const d = problemFolder();
  const r = ulearn('clean', d, '--out', join(d, 'out'), '--skip', 'outlier');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /clean: 17 audio clips/);
  assert.match(r.out, /silent +1/);
  assert.match(r.out, /clipped +1/);
  assert.match(r.out, /not run: outlier/);
  assert.match(r.out, /manifest: keep 13, exclude 4, remove label 0/);
  const bad = ulearn('clean', d, '--out', join(d, 'out3'), '--skip', 'blank');
  assert.equal(bad.code, 2);
  assert.match(bad.err, /unknown check\(s\) blank; known: corrupt, silent, clipped/);
});

test('a test folder: a train clip whose copy is in the test folder is leakage; the test copy is kept', async () => {
  const d = mkdtempSync(join(tmpdir(), 'ulearn-clean-audio-split-'));
  toneFolder(join(d, 'train'), { perClass: 4 });
  toneFolder(join(d, 'test'), { perClass: 1 }); // test/low/low-0 and test/high/high-0 repeat train clips too
  // and an exact copy of train/low/low-3 under another name.
  writeClip(join(d, 'test', 'low', 'copy.wav'), burst(250 * 1.12 ** 3, { start: 0.17, seed: 4 }));
  const o = await runAudioClean({ data: join(d, 'train'), testData: join(d, 'test'), outDir: join(d, 'out'), log: () => undefined });
  const s = o.samples;
  const leak = o.results.find((r) => r.name === 'leakage')!;
  const leaked = s.ids.filter((_, i) => leak.flags[i]);
  assert.ok(leaked.includes('low/low-3.wav'), `leakage: ${leaked.join(', ')}`);
  for (let i = 0; i < s.ids.length; i++) if (leak.flags[i]) assert.equal(s.split[i], 0, 'only train clips are flagged');
  const m = JSON.parse(readFileSync(o.paths.manifest, 'utf8')) as { data: { audio: string; test: string } };
  assert.equal(m.data.test, join(d, 'test'));
  const { train, test: testSplit } = await loadDataset(o.paths.manifest);
  assert.ok(!train.ids.includes('low/low-3.wav') && testSplit!.ids.includes('low/copy.wav'));
});

test('a registered audio check runs after the built-ins and lands in issues.json, the manifest and the report', async () => {
  const d = problemFolder();
  writeClip(join(d, 'high', 'short.wav'), burst(1000, { start: 0.05, length: 0.1, seconds: 0.2, seed: 5 }));
  registerCheck({
    name: 'too_short',
    modality: 'audio',
    run: ({ samples: s }) => {
      const flags = Uint8Array.from(s.seconds, (t, i) => (s.readable[i] && t < 0.4 ? 1 : 0));
      return { name: 'too_short', description: 'shorter than 0.4 s', scores: Float32Array.from(s.seconds), flags, action: 'exclude', summary: { flagged: flags.reduce((a, b) => a + b, 0) } };
    },
  });
  try {
    assert.equal(checkNames('audio').at(-1), 'too_short');
    const o = await runAudioClean({ data: d, outDir: join(d, 'out'), log: () => undefined });
    const r = o.results.find((x) => x.name === 'too_short')!;
    assert.deepEqual(flagged(r, o.samples.ids), ['high/short.wav']);
    assert.ok(o.checksRun.includes('too_short'));
    const m = JSON.parse(readFileSync(o.paths.manifest, 'utf8')) as { samples: { id: string; action: string; reasons?: string[] }[] };
    assert.deepEqual(m.samples.find((e) => e.id === 'high/short.wav'), { id: 'high/short.wav', split: 'train', action: 'exclude', reasons: ['too_short'] });
    const issues = JSON.parse(readFileSync(o.paths.issues, 'utf8')) as { checks: Record<string, { samples: { id: string }[] }> };
    assert.deepEqual(issues.checks.too_short.samples.map((x) => x.id), ['high/short.wav']);
    assert.match(readFileSync(o.paths.report!, 'utf8'), /id="too_short"/);
  } finally {
    unregisterCheck('too_short', 'audio');
  }
});
