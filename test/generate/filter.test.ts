/**
 * The generated-sample filters: the kNN vote against hand-placed points, and both filters on copies of the
 * real labeled samples, every other one mislabeled: the kNN filter (k = 1 on pixels) keeps exactly the
 * correctly labeled copies, the classifier filter nearly so; what was kept and used is counted per class.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tfl from '@tensorflow/tfjs-layers';
import { folderSpec, loadDataset } from '../../src/data/load.js';
import type { Dataset } from '../../src/data/dataset.js';
import { agreeing, fitWithGenerated, knnVote } from '../../src/generate/filter.js';
import { readGeneratedFolder, type GeneratedSet } from '../../src/generate/generated-folder.js';
import { Budget } from '../../src/util/budget.js';
import { useWasm } from '../engine/helpers.js';
import { writeStripes } from '../semi/fixtures.js';
import { writeGeneratedStripes } from './write-generated.js';

let root: string;
let train: Dataset;
let gen: GeneratedSet;
const none = Budget.parse('none');
const encoder = { widths: [4, 8], blocksPerStage: 1 };

before(async () => {
  await useWasm();
  root = mkdtempSync(join(tmpdir(), 'ulearn-gen-filter-'));
  await writeStripes(join(root, 'train'), 6, 1);
  await writeGeneratedStripes(join(root, 'gen'), 2, 3);
  train = (await loadDataset(await folderSpec(join(root, 'train')))).train;
  gen = await readGeneratedFolder(join(root, 'gen'), { target: train });
});
after(() => rmSync(root, { recursive: true, force: true }));

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
