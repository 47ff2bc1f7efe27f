/**
 * Training with generated samples: fitMethod adds them to the labeled set (more steps per epoch, better test
 * accuracy from 1 real label per class); `ulearn train --generated` reports what it kept and refuses a
 * mismatched or broken folder before training, writing nothing. (The filters: filter.test.ts.)
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tfl from '@tensorflow/tfjs-layers';
import { folderSpec, loadDataset } from '../../src/data/load.js';
import type { Dataset } from '../../src/data/dataset.js';
import { accuracy, argmaxRows } from '../../src/eval/metrics.js';
import { checkGeneratedOptions } from '../../src/generate/filter.js';
import { readGeneratedFolder, type GeneratedSet } from '../../src/generate/generated-folder.js';
import { fitMethod } from '../../src/semi/fit.js';
import { predictProba } from '../../src/train/fit-classifier.js';
import { Budget } from '../../src/util/budget.js';
import { useWasm } from '../engine/helpers.js';
import { runUlearn } from '../cli/run-cli.js';
import { writeStripes } from '../semi/fixtures.js';
import { writeGeneratedStripes } from './write-generated.js';
import { buildEncoder } from '../../src/models/architecture.js';
import { modality } from '../../src/modality.js';
import { saveCheckpoint } from '../../src/runs/checkpoint.js';

let root: string;
let train: Dataset;
let test_: Dataset;
let gen: GeneratedSet;
const none = Budget.parse('none');
const encoder = { widths: [4, 8], blocksPerStage: 1 };

before(async () => {
  await useWasm();
  root = mkdtempSync(join(tmpdir(), 'ulearn-train-gen-'));
  await writeStripes(join(root, 'train'), 6, 1);
  await writeStripes(join(root, 'test'), 6, 2);
  await writeGeneratedStripes(join(root, 'gen'), 8, 3);
  train = (await loadDataset(await folderSpec(join(root, 'train')))).train;
  test_ = (await loadDataset(await folderSpec(join(root, 'test')))).train;
  gen = await readGeneratedFolder(join(root, 'gen'), { target: train });
});
after(() => rmSync(root, { recursive: true, force: true }));

/** One real label per class: the first sample of each class. */
function oneLabelEach(): { y: Int32Array; labeled: Int32Array } {
  const labeled = Int32Array.from([0, 1, 2].map((c) => train.y.indexOf(c)));
  const y = new Int32Array(train.size).fill(-1);
  for (const i of labeled) y[i] = train.y[i];
  return { y, labeled };
}

function testAcc(fit: { encoder: tfl.LayersModel; head: tfl.LayersModel }): number {
  return accuracy(test_.y, argmaxRows(predictProba(fit.encoder, fit.head, test_.x, [16, 16, 1]), 3));
}

test('fitMethod: generated samples join the labeled set and lift 1-label-per-class accuracy', async () => {
  const { y, labeled } = oneLabelEach();
  const base = { method: 'supervised' as const, train, y, labeled, encoder, settings: { epochs: 10, batchSize: 3, flip: false }, seed: 0, budget: none };
  const real = await fitMethod(base);
  const withGen = await fitMethod({ ...base, generated: { x: gen.x, y: gen.y } });
  // 3 labels → 1 batch per epoch; 3 + 24 → 9.
  assert.equal(real.info.steps, 10);
  assert.equal(withGen.info.steps, 90);
  const [a, b] = [testAcc(real), testAcc(withGen)];
  assert.ok(b >= 0.9 && b > a + 0.1, `real only ${a}, with generated ${b}`);
  await assert.rejects(fitMethod({ ...base, generated: { x: gen.x, y: gen.y.map(() => 3) } }), /generated sample 0 has label 3, expected one of the 3 classes/);
});

const ulearn = (...args: string[]) => runUlearn(args, { timeout: 180_000 });

test('ulearn train --generated: kept and used per class in the log and model.json; bad folders refused before training', async () => {
  const model = join(root, 'model');
  const common = ['--method', 'supervised', '--total-labels', '6', '--widths', '4,8', '--epochs', '3', '--batch-size', '6', '--backend', 'wasm', '--no-flip'];
  const r = ulearn('train', join(root, 'train'), '--test-data', join(root, 'test'), ...common, '--generated', join(root, 'gen', 'manifest.json'), '--generated-filter', 'classifier', '--generated-ratio', '1.5', '--out', model);
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /generated: 24 vae samples in .*gen\b/);
  assert.match(r.err, /generated: the classifier filter kept \d+ of 24: diagonal \d\/8, horizontal \d\/8, vertical \d\/8/);
  assert.match(r.err, /generated: \d+ added to the labeled set \(ratio 1.5, class-balanced\)/);
  const meta = JSON.parse(readFileSync(join(model, 'ulearn-model.json'), 'utf8'));
  const g = meta.training.generated;
  assert.equal(g.filter, 'classifier');
  assert.deepEqual(g.available, [8, 8, 8]);
  assert.ok(g.used.every((u: number, c: number) => u <= g.kept[c] && u <= 3), JSON.stringify(g));
  // The knn filter in a separate SSL encoder's space (loaded from its checkpoint), for a fit from scratch.
  const encoderDir = join(root, 'encoder');
  const enc = buildEncoder({ ...modality('image').encoder([16, 16, 1], { widths: [4, 8], blocksPerStage: 1 }), method: 'none' }, 1);
  await saveCheckpoint(encoderDir, enc);
  enc.dispose();
  const k = ulearn('train', join(root, 'train'), ...common, '--epochs', '1', '--generated', join(root, 'gen'), '--generated-filter', 'knn', '--generated-encoder', encoderDir, '--out', join(root, 'model-knn'));
  assert.equal(k.code, 0, k.err);
  assert.match(k.err, /generated: the knn filter kept \d+ of 24: diagonal \d\/8/);
  assert.equal(JSON.parse(readFileSync(join(root, 'model-knn', 'ulearn-model.json'), 'utf8')).training.generated.filter, 'knn');

  const wrong = join(root, 'gen-wrong');
  cpSync(join(root, 'gen'), wrong, { recursive: true });
  await writeGeneratedStripes(wrong, 8, 3, (m) => (m.classes = ['diagonal', 'vertical', 'horizontal']));
  const broken = join(root, 'gen-broken');
  cpSync(join(root, 'gen'), broken, { recursive: true });
  rmSync(join(broken, 'vertical', '5.png'));
  const out = join(root, 'never');
  const cases: [string[], RegExp][] = [
    [['--generated', wrong], /generated samples .*gen-wrong: class 1 is "vertical" but in .* it is "horizontal"/],
    [['--generated', broken], /generated samples .*gen-broken: sample file vertical\/5.png is missing/],
  ];
  for (const [args, message] of cases) {
    const b = ulearn('train', join(root, 'train'), ...common, ...args, '--out', out);
    assert.equal(b.code, 2, `${args.join(' ')}: ${b.err}`);
    assert.match(b.err, message);
    assert.doesNotMatch(b.err, /\n\s+at /, 'no stack trace');
    assert.doesNotMatch(b.err, /epoch|supervised \d/i, 'nothing trained');
    assert.ok(!existsSync(out));
  }
  // The option checks the CLI runs first (library calls: a process per case costs seconds).
  assert.throws(() => checkGeneratedOptions({ filter: 'knn' }, undefined), /the 'knn' filter votes in an SSL encoder's feature space and there is none/);
  assert.throws(() => checkGeneratedOptions({ ratio: 0 }, undefined), /generated ratio must be a number > 0/);
  assert.throws(() => checkGeneratedOptions({ filter: 'best' as 'none' }, undefined), /unknown generated-sample filter 'best'/);
});
