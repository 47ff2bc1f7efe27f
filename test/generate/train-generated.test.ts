/**
 * Training with generated samples: fitMethod adds them to the labeled set (more steps per epoch, better test
 * accuracy from 1 real label per class); the kNN vote and both filters keep correctly labeled samples and
 * drop mislabeled ones; `ulearn train --generated` reports what it kept and refuses a mismatched or broken
 * folder before training, writing nothing.
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
import { agreeing, checkGeneratedOptions, fitWithGenerated, knnVote } from '../../src/generate/filter.js';
import { readGeneratedFolder, type GeneratedSet } from '../../src/generate/generated-folder.js';
import { fitMethod } from '../../src/semi/fit.js';
import { predictProba } from '../../src/train/fit-classifier.js';
import { Budget } from '../../src/util/budget.js';
import { useWasm } from '../engine/helpers.js';
import { runUlearn } from '../cli/run-cli.js';
import { writeStripes } from '../semi/fixtures.js';
import { writeGeneratedStripes } from './write-generated.js';

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

test('knnVote: majority of the k nearest, ties to the nearest; agreeing keeps matching labels', () => {
  // Reference points on the unit circle (cosine distance): class 0 near angle 0, class 1 near π/2.
  const at = (deg: number) => [Math.cos((deg * Math.PI) / 180), Math.sin((deg * Math.PI) / 180)];
  const ref = Float32Array.from([0, 10, 20, 80, 90].flatMap(at));
  const refY = [0, 0, 0, 1, 1];
  const queries = Float32Array.from([5, 85, 60, 44].flatMap(at));
  // k = 3: 5° → {0, 10, 20} class 0; 85° → {80, 90, 20} → 1; 60° → {80, 90, 20} → 1; 44° → {20, 10, 80} → 0.
  assert.deepEqual(Array.from(knnVote(ref, refY, queries, 2, 2, 3)), [0, 1, 1, 0]);
  // k = 2 at 56°: {80 (24° away), 20 (36°)}, one vote each: the nearest decides → 1.
  assert.deepEqual(Array.from(knnVote(ref, refY, Float32Array.from(at(56)), 2, 2, 2)), [1]);
  assert.deepEqual(Array.from(agreeing([0, 1, 2, 1], [0, 2, 2, 0])), [0, 2]);
});

/** Generated samples that are copies of the real labeled ones, every other one with a wrong label. */
function mislabeledCopies(labeled: Int32Array): GeneratedSet {
  const per = 256;
  const x = new Float32Array(labeled.length * per);
  labeled.forEach((i, k) => x.set(train.x.subarray(i * per, (i + 1) * per), k * per));
  const y = Int32Array.from(labeled, (i, k) => (k % 2 ? (train.y[i] + 1) % 3 : train.y[i]));
  const files = Array.from(labeled, (_, k) => `copy/${k}.png`);
  return { ...gen, size: labeled.length, x, y, files };
}

test('filters: the kNN vote (k = 1 on pixels) and the classifier keep the correct copies and drop the mislabeled', async () => {
  const labeled = Int32Array.from({ length: train.size }, (_, i) => i);
  const copies = mislabeledCopies(labeled);
  const input = { method: 'supervised' as const, train, y: train.y, labeled, encoder, settings: { epochs: 15, batchSize: 6, flip: false }, seed: 1, budget: none };
  const correct = [0, 1, 2].map((c) => labeled.filter((i, k) => k % 2 === 0 && train.y[i] === c).length);
  // Pixels as features: each copy's nearest real sample is its original, so the vote is its true class.
  const pixels = tfl.sequential({ layers: [tfl.layers.flatten({ inputShape: [16, 16, 1] })] });
  const lines: string[] = [];
  const knn = await fitWithGenerated({ ...input, settings: { ...input.settings, epochs: 1 }, log: (l) => lines.push(l) }, { set: copies, filter: 'knn', knnEncoder: pixels, k: 1, ratio: 2 });
  assert.deepEqual(knn.generated.kept, correct);
  assert.deepEqual(knn.generated.used, correct, 'ratio 2 asks for more than passed: all kept are used');
  assert.ok(lines.some((l) => /the knn filter kept 9 of 18: diagonal \d\/\d, horizontal/.test(l)), lines.join('\n'));
  pixels.dispose();
  const clf = await fitWithGenerated(input, { set: copies, filter: 'classifier', ratio: 0.5 });
  const keptWrong = clf.generated.kept.reduce((s, v) => s + v, 0) - 9;
  const kept = clf.generated.kept;
  assert.ok(kept.every((v, c) => v >= correct[c] - 1) && keptWrong <= 1, `kept ${kept}, correct ${correct}`);
  assert.equal(clf.generated.used.reduce((s, v) => s + v, 0), 9, 'ratio 0.5 of 18 labels');
  assert.deepEqual(clf.info.generated, clf.generated);
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
