/**
 * Audio end to end on a tiny generated folder (3 classes of tones, 1 s at 16 kHz): the pipeline featurizes,
 * pretrains a TC-ResNet, fits every arm and writes a report with spectrograms; the audio front-end is saved
 * with the run and the encoder; `ulearn train` and `ulearn predict` use it on audio folders.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, mkdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeWav } from '../../src/data/wav.js';
import { Rng } from '../../src/engine/seed.js';
import { pipelineConfig } from '../../src/pipeline/config.js';
import { runPipeline } from '../../src/pipeline/run-pipeline.js';
import { runUlearn } from '../cli/run-cli.js';

let root: string;
const CLASSES = { low: 300, mid: 1200, high: 3500 };

/** A tone of the class's pitch (±5 %) lasting 0.3–0.5 s somewhere in the second, over faint noise. */
function clip(freq: number, rng: Rng): Float32Array {
  const x = new Float32Array(16000);
  const f = freq * (0.95 + 0.1 * rng.random());
  const len = 4800 + rng.int(3200);
  const start = rng.int(16000 - len);
  const amp = 0.2 + 0.5 * rng.random();
  for (let i = 0; i < x.length; i++) x[i] = 0.01 * rng.normal();
  for (let i = 0; i < len; i++) x[start + i] += amp * Math.sin((2 * Math.PI * f * i) / 16000) * Math.sin((Math.PI * i) / len);
  return x;
}

async function writeSplit(dir: string, perClass: number, seed: number): Promise<void> {
  const rng = new Rng(seed);
  for (const [name, freq] of Object.entries(CLASSES)) {
    await mkdir(join(dir, name), { recursive: true });
    for (let i = 0; i < perClass; i++) await writeWav(join(dir, name, `${i}.wav`), clip(freq, rng), 16000);
  }
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'ulearn-audio-pipeline-'));
  await writeSplit(join(root, 'train'), 8, 1);
  await writeSplit(join(root, 'test'), 4, 2);
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

test('the pipeline on an audio folder: features, TC-ResNet, every arm, report with spectrograms, front-end saved', async () => {
  const lines: string[] = [];
  const cfg = pipelineConfig({
    data: join(root, 'train'),
    testData: join(root, 'test'),
    totalLabels: 6,
    seed: 1,
    budget: 'none',
    backend: 'wasm',
    encoder: { widths: [8, 8] },
    pretrain: { method: 'simclr', batchSize: 12, maxSteps: 30, monitorEvery: 10 },
    finetune: { epochs: 5, batchSize: 6 },
  });
  const res = await runPipeline(cfg, { runsRoot: join(root, 'runs'), log: (l) => lines.push(l), threads: 1 });
  assert.deepEqual(res.methods.map((m) => m.name), ['supervised only', 'SSL + linear probe', 'SSL + fine-tune']);
  for (const m of res.methods) assert.equal(m.confusion.flat().reduce((a, b) => a + b, 0), 12, `${m.name} scored all 12 test clips`);
  // Tones three octaves apart are told apart from pooled features even of a barely trained encoder.
  const probe = res.methods.find((m) => m.name === 'SSL + linear probe')!.acc;
  assert.ok(probe > 0.6, `probe ${probe}`);
  assert.ok(lines.some((l) => /^audio features: log-mel, 101 frames × 40 bands/.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => /24 train clips/.test(l)), lines.join('\n'));
  // The front-end travels with the run and with the encoder checkpoint.
  for (const dir of [res.runDir, join(res.runDir, 'checkpoints', 'pretrain-encoder')]) {
    const pre = JSON.parse(await readFile(join(dir, 'preprocessor.json'), 'utf8'));
    assert.equal(pre.kind, 'audio');
    assert.equal(pre.mean.length, 40);
  }
  const manifest = JSON.parse(await readFile(join(res.runDir, 'checkpoints', 'pretrain-encoder', 'manifest.json'), 'utf8'));
  assert.equal(manifest.architecture.family, 'tcresnet');
  const html = await readFile(join(res.runDir, 'report.html'), 'utf8');
  assert.equal((html.match(/<img[^>]+src="data:image\/png;base64,/g) ?? []).length, 3, 'one spectrogram per class');
});

test('masked-spectrogram pretrains on audio; image-only choices are refused for audio', async () => {
  const cfg = pipelineConfig({
    data: join(root, 'train'),
    testData: join(root, 'test'),
    totalLabels: 6,
    budget: 'none',
    backend: 'wasm',
    encoder: { widths: [8] },
    pretrain: { method: 'masked-spectrogram', batchSize: 12, maxSteps: 3, monitorEvery: 3 },
  });
  const res = await runPipeline(cfg, { runsRoot: join(root, 'runs-msp'), stages: ['pretrain'], log: () => {}, threads: 1 });
  const state = JSON.parse(await readFile(join(res.runDir, 'state.json'), 'utf8'));
  assert.equal(JSON.stringify(state).includes('"steps":3'), true, JSON.stringify(state));
  await assert.rejects(runPipeline(pipelineConfig({ ...cfg, augment: 'flip=off' }), { runsRoot: join(root, 'runs-bad'), log: () => {} }), /augment .*images/);
});

test('ulearn train and predict on audio folders: the model folder carries its front-end', () => {
  const model = join(root, 'model');
  const t = runUlearn(['train', join(root, 'train'), '--method', 'supervised', '--widths', '8,8', '--epochs', '3', '--test-data', join(root, 'test'), '--out', model, '--backend', 'wasm', '--threads', '1'], { timeout: 300_000 });
  assert.equal(t.code, 0, t.err);
  assert.match(t.out, /test accuracy: [\d.]+% \(12 clips\)/);
  assert.ok(existsSync(join(model, 'preprocessor.json')));
  const p = runUlearn(['predict', model, join(root, 'test'), '--backend', 'wasm'], { timeout: 300_000 });
  assert.equal(p.code, 0, p.err);
  const rows = p.out.trim().split('\n');
  assert.equal(rows.length, 13, p.out);
  assert.match(rows[1], /\.wav,(low|mid|high),/);
});
