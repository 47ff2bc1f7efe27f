import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { chooseAugment, describeAugment, parseAugmentOverride, resolveAugment } from '../../src/augment/choose.js';
import { gather, type Dataset } from '../../src/data/dataset.js';
import { applyLabelBudget } from '../../src/data/label-budget.js';
import { loadDataset } from '../../src/data/load.js';
import { UlearnError } from '../../src/errors.js';
import { useWasm } from './helpers.js';

let cache: string;
before(async () => {
  await useWasm();
  cache = await mkdtemp(join(tmpdir(), 'ulearn-choose-'));
});
after(() => rm(cache, { recursive: true, force: true }));

/** The labeled images of a seeded 10-per-class draw, as the pipeline passes them. */
function labeledOf(train: Dataset, seed: number): { x: Float32Array; y: Int32Array; shape: [number, number, number] } {
  const lb = applyLabelBudget(train, { perClass: 10, seed });
  return { x: gather(train, lb.labeled), y: Int32Array.from(lb.labeled, (i) => lb.y[i]), shape: train.inputShape as [number, number, number] };
}

test('glyphs: flips are turned off (a mirrored digit looks like another digit or none)', async () => {
  const { train } = await loadDataset({ name: 'glyphs', perClass: 10, testPerClass: 1, cacheDir: cache });
  for (const seed of [0, 1]) {
    const { x, y, shape } = labeledOf(train, seed);
    const { choice, evidence } = chooseAugment(x, y, shape, { seed });
    assert.equal(choice.flip, false, `seed ${seed}: hflip kept ${evidence.hflip.retention.toFixed(2)} of the accuracy`);
    assert.equal(choice.verticalFlip, false);
    assert.ok(evidence.base > evidence.chance + 0.1, `1-NN on glyph orientations (${evidence.base}) must beat chance clearly`);
    assert.ok(evidence.hflip.acc < evidence.base);
    assert.ok(choice.cropScale[0] > 0.2, `seed ${seed}: a fifth of a digit should not pass (kept ${evidence.crop['0.2'].retention.toFixed(2)})`);
  }
});

const fashion = existsSync('/usr/share/datasets/fashion-mnist') ? false : 'needs Debian dataset-fashion-mnist';
test('fashion-mnist: horizontal flip is kept, vertical flip stays off', { skip: fashion }, async () => {
  const { train } = await loadDataset('fashion-mnist');
  for (const seed of [0, 1]) {
    const { x, y, shape } = labeledOf(train, seed);
    const { choice, evidence } = chooseAugment(x, y, shape, { seed });
    assert.equal(choice.flip, true, `seed ${seed}: hflip kept only ${evidence.hflip.retention.toFixed(2)}`);
    assert.equal(choice.verticalFlip, false);
    assert.deepEqual(choice.cropScale, [0.2, 1], `seed ${seed}: area-0.2 crops kept ${evidence.crop['0.2'].retention.toFixed(2)}`);
  }
});

test('shapes: horizontal flip kept (every class is left-right symmetric), vertical flip off (two classes are vertical mirrors)', async () => {
  const { train } = await loadDataset({ name: 'shapes', perClass: 30, testPerClass: 1, cacheDir: cache });
  const lb = applyLabelBudget(train, { perClass: 30, seed: 0 });
  const { choice, evidence } = chooseAugment(gather(train, lb.labeled), Int32Array.from(lb.labeled, (i) => lb.y[i]), [32, 32, 3]);
  assert.equal(choice.flip, true, `hflip kept ${evidence.hflip.retention.toFixed(2)}`);
  assert.equal(choice.verticalFlip, false, `vflip kept ${evidence.vflip.retention.toFixed(2)}`);
});

test('the user override wins; settings it leaves open are still chosen from the data', async () => {
  const { train } = await loadDataset({ name: 'glyphs', perClass: 10, testPerClass: 1, cacheDir: cache });
  const { x, y, shape } = labeledOf(train, 0);
  const partial = resolveAugment(x, y, shape, 'flip=on');
  assert.equal(partial.choice.flip, true);
  assert.equal(partial.decidedBy.flip, 'user');
  assert.equal(partial.decidedBy.cropScale, 'data');
  assert.ok(partial.evidence, 'the open settings were probed');
  assert.equal(partial.choice.verticalFlip, false);
  assert.match(describeAugment(partial), /^flip on \(user\), vflip off \(data: -?\d+% of accuracy kept\), crop \[[\d.]+, 1\] \(data\)/);
  const before = tf.memory().numTensors;
  const full = resolveAugment(x, y, shape, 'flip=on, vflip=on, crop=0.5');
  assert.deepEqual(full.choice, { flip: true, verticalFlip: true, cropScale: [0.5, 1] });
  assert.equal(full.evidence, undefined, 'nothing left to probe');
  const auto = resolveAugment(x, y, shape, undefined);
  assert.equal(auto.choice.flip, false);
  assert.equal(tf.memory().numTensors, before, 'the probe frees its tensors');
});

test('override syntax errors name the part and what was expected', () => {
  assert.deepEqual(parseAugmentOverride('auto'), {});
  assert.deepEqual(parseAugmentOverride('hflip=off,crop=1'), { flip: false, cropScale: [1, 1] });
  for (const [bad, why] of [
    ['flip=maybe', /expected on or off/],
    ['crop=0', /crop=0: expected the smallest crop area as a number in \(0, 1\]/],
    ['rotate=on', /unknown key 'rotate'/],
    ['flip', /expected key=value/],
  ] as const) {
    assert.throws(() => parseAugmentOverride(bad), (e: unknown) => e instanceof UlearnError && e.code === 'E_CONFIG' && why.test(e.message), bad);
  }
});

test('a config file with a bad augment setting is an error naming the file and key', async () => {
  const { parseConfig } = await import('../../src/runs/config.js');
  const { PipelineConfigSchema } = await import('../../src/pipeline/config.js');
  assert.equal(parseConfig('augment: flip=off,crop=0.5\n', 'run.yaml', PipelineConfigSchema).augment, 'flip=off,crop=0.5');
  assert.throws(
    () => parseConfig('augment: flip=sometimes\n', 'run.yaml', PipelineConfigSchema),
    (e: unknown) => e instanceof UlearnError && /^run\.yaml: augment: augment: flip=sometimes: expected on or off/.test(e.message),
  );
});
