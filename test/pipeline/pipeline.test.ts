/**
 * The whole pipeline end to end on a tiny synthetic image folder (3 classes of bar patterns, 16x16): every
 * stage runs, the run directory holds what the README promises, a second invocation resumes instead of
 * redoing work, and bad input fails before any training.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { Rng } from '../../src/engine/seed.js';
import { pipelineConfig, type PipelineConfigInput } from '../../src/pipeline/config.js';
import { defaultPretrainShare, runPipeline } from '../../src/pipeline/run-pipeline.js';
import { UlearnError } from '../../src/errors.js';

let root: string;

function pattern(cls: number, rng: Rng): Buffer {
  const px = Buffer.alloc(16 * 16);
  const phase = rng.int(4);
  for (let r = 0; r < 16; r++) {
    for (let c = 0; c < 16; c++) {
      const on = cls === 0 ? (r + phase) % 4 < 2 : cls === 1 ? (c + phase) % 4 < 2 : (r + c + phase) % 4 < 2;
      px[r * 16 + c] = Math.max(0, Math.min(255, (on ? 200 : 40) + Math.round(rng.normal() * 20)));
    }
  }
  return px;
}

async function writeSplit(dir: string, perClass: number, seed: number): Promise<void> {
  const rng = new Rng(seed);
  for (const [k, name] of ['horizontal', 'vertical', 'diagonal'].entries()) {
    await mkdir(join(dir, name), { recursive: true });
    for (let i = 0; i < perClass; i++) {
      await sharp(pattern(k, rng), { raw: { width: 16, height: 16, channels: 1 } }).png().toFile(join(dir, name, `${i}.png`));
    }
  }
}

function config(extra: PipelineConfigInput = {}): PipelineConfigInput {
  return {
    data: join(root, 'train'),
    testData: join(root, 'test'),
    totalLabels: 6,
    seed: 1,
    // No wall-clock cap: epochs and steps alone stop every stage, so the numbers do not depend on the machine.
    budget: 'none',
    backend: 'wasm',
    encoder: { widths: [8, 16], blocksPerStage: 1 },
    pretrain: { method: 'vicreg', batchSize: 32, epochs: 6, monitorEvery: 2 },
    finetune: { epochs: 10, batchSize: 6 },
    ...extra,
  };
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'ulearn-pipeline-'));
  await writeSplit(join(root, 'train'), 20, 1);
  await writeSplit(join(root, 'test'), 8, 2);
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

// One wasm thread: threaded kernels sum in a varying order, and the reproducibility check below is exact.
const threads = 1;

test('runs every stage and writes config, log, checkpoints, results and report; a rerun resumes', async () => {
  const lines: string[] = [];
  const cfg = pipelineConfig(config());
  const res = await runPipeline(cfg, { runsRoot: join(root, 'runs'), log: (l) => lines.push(l), threads });
  assert.deepEqual(res.methods.map((m) => m.name), ['supervised only', 'SSL + linear probe', 'SSL + label propagation', 'SSL + fine-tune']);
  for (const m of res.methods) assert.equal(m.confusion.flat().reduce((a, b) => a + b, 0), 24, `${m.name} scored all 24 test images`);
  // Bar orientations are easy once pretrained: with 2 labels a class, the SSL arms beat chance (1/3) by far
  // (seeds 1-5 give the probe 0.79-1.00 and the fine-tune 0.79-1.00). The supervised-only arm ranges from 0.33
  // to 1.00 over those seeds, too noisy to hold to a margin.
  const acc = (name: string) => res.methods.find((m) => m.name === name)!.acc;
  assert.ok(acc('SSL + linear probe') > 0.6, `probe ${acc('SSL + linear probe')}`);
  assert.ok(acc('SSL + fine-tune') > 0.6, `fine-tune ${acc('SSL + fine-tune')}`);
  // Label propagation spreads the 6 labels over the 60 training images' features, then fits a probe on them.
  assert.ok(acc('SSL + label propagation') > 0.6, `label propagation ${acc('SSL + label propagation')}`);
  assert.ok(lines.some((l) => /^label propagation: 60 × 16 features and their 10-NN graph/.test(l)), lines.join('\n'));
  assert.ok(acc('supervised only') >= 0 && acc('supervised only') <= 1);
  const results = JSON.parse(await readFile(join(res.runDir, 'results.json'), 'utf8'));
  assert.equal(results.totalLabels, 6);
  assert.equal(results.methods.length, 4);
  assert.ok(results.pretrain.epochs.length >= 1, 'pretraining history recorded');
  // Before the final fits, every arm was estimated from the 6 labels (2 folds: 2 labels a class), and the
  // estimates chose one arm; results.json records them, and the chosen arm is marked among the methods.
  assert.deepEqual(results.estimates.map((e: { method: string }) => e.method), ['supervised', 'linear', 'label-propagation', 'finetune']);
  for (const e of results.estimates) assert.ok(e.total === 6 && e.folds === 2 && e.acc >= 0 && e.acc <= 1 && e.low <= e.acc && e.acc <= e.high, JSON.stringify(e));
  assert.equal(results.methods.filter((m: { chosen?: boolean }) => m.chosen).length, 1);
  assert.equal(results.chosen, results.methods.find((m: { chosen?: boolean }) => m.chosen).name);
  assert.ok(res.methods.every((m) => m.estimate !== undefined));
  assert.ok(lines.some((l) => /^chosen from the estimates: /.test(l)), lines.join('\n'));
  const html = await readFile(join(res.runDir, 'report.html'), 'utf8');
  assert.match(html, /<svg/);
  assert.ok((await stat(join(res.runDir, 'checkpoints', 'pretrain-encoder'))).isDirectory());
  const log = (await readFile(join(res.runDir, 'log.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(log.some((e) => e.stage === 'pretrain') && log.some((e) => e.stage === 'baseline'));

  // Same run directory again: every stage is already done, so nothing trains (no stage appends to the log,
  // none reports a test accuracy) and the numbers are the same.
  const logBefore = await readFile(join(res.runDir, 'log.jsonl'), 'utf8');
  const againLines: string[] = [];
  const again = await runPipeline(cfg, { runDir: res.runDir, log: (l) => againLines.push(l), threads });
  assert.deepEqual(again.methods.map((m) => m.acc), res.methods.map((m) => m.acc));
  assert.equal(await readFile(join(res.runDir, 'log.jsonl'), 'utf8'), logBefore, 'resume trained nothing');
  assert.ok(!againLines.some((l) => /test accuracy/.test(l)), againLines.join('\n'));

  // A fresh run of the same config and seed pretrains to the same encoder: the same probe accuracy, bit for bit.
  const fresh = await runPipeline(cfg, { runsRoot: join(root, 'runs-again'), stages: ['pretrain', 'probe'], log: () => {}, threads });
  assert.notEqual(fresh.runDir, res.runDir);
  assert.equal(fresh.methods.find((m) => m.name === 'SSL + linear probe')!.acc, acc('SSL + linear probe'));
});

test('pretraining\'s default share of the budget leaves image runs the time of their label-propagation arm', () => {
  // Unset in the config (a run directory's config.json records only what was given) and chosen per modality.
  assert.equal(pipelineConfig(config()).pretrain.budgetShare, undefined);
  assert.equal(pipelineConfig(config({ pretrain: { budgetShare: 0.5 } })).pretrain.budgetShare, 0.5);
  assert.equal(defaultPretrainShare('image'), 0.64);
  assert.equal(defaultPretrainShare('audio'), 0.72);
});

test('bad input fails before any training, with a message naming the problem', async () => {
  const runs = join(root, 'runs-bad');
  await assert.rejects(
    runPipeline(pipelineConfig(config({ totalLabels: undefined, labelsPerClass: 50 })), { runsRoot: runs, log: () => {} }),
    (e: unknown) => e instanceof UlearnError && /50/.test(e.message),
  );
  await assert.rejects(
    runPipeline(pipelineConfig(config({ totalLabels: 2 })), { runsRoot: runs, log: () => {} }),
    (e: unknown) => e instanceof UlearnError && /class/i.test(e.message),
  );
  await assert.rejects(
    runPipeline(pipelineConfig(config({ data: join(root, 'nope') })), { runsRoot: runs, log: () => {} }),
    (e: unknown) => e instanceof UlearnError && /nope/.test(e.message),
  );
  assert.throws(() => pipelineConfig({ ...config(), pretrain: { method: 'simclr', batchSize: -1 } } as PipelineConfigInput));
});

test('pretrain.maxSteps stops pretraining at that many steps, before the epochs run out', async () => {
  const cfg = pipelineConfig(config({ pretrain: { method: 'simclr', batchSize: 16, epochs: 5, monitorEvery: 2, maxSteps: 3 } }));
  const res = await runPipeline(cfg, { runsRoot: join(root, 'runs-steps'), stages: ['pretrain'], log: () => {}, threads });
  const state = JSON.parse(await readFile(join(res.runDir, 'state.json'), 'utf8'));
  // 60 images / 16 = 3 steps an epoch, so 5 epochs would be 15 steps; there is no time budget to stop it.
  assert.equal(state.stages.pretrain.steps, 3);
  assert.equal(state.stages.pretrain.stoppedByBudget, false);
  assert.ok(state.stages.pretrain.epochs.at(-1).epoch < 1.01);
});

test('with a single label in a class the estimate is skipped, said in the log, and the run goes on', async () => {
  const lines: string[] = [];
  const cfg = pipelineConfig(config({ totalLabels: 3, pretrain: { method: 'simclr', batchSize: 16, epochs: 1, monitorEvery: 2, maxSteps: 2 } }));
  const res = await runPipeline(cfg, { runsRoot: join(root, 'runs-one-label'), stages: ['pretrain', 'estimate', 'probe'], log: (l) => lines.push(l), threads });
  assert.ok(lines.some((l) => /^estimate: skipped, a class has a single label/.test(l)), lines.join('\n'));
  assert.deepEqual(res.methods.map((m) => [m.name, m.estimate, m.chosen]), [['SSL + linear probe', undefined, undefined]]);
});
