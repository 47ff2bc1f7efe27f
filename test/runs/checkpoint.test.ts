/**
 * Checkpoints on the pure-JS `cpu` backend: exact round trips (weights, BN statistics, Adam state), clear
 * errors on a model that does not fit, and crash safety (an interrupted save leaves a loadable checkpoint).
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdir, readdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../../src/engine/backend.js';
import { UlearnError } from '../../src/errors.js';
import { latestCheckpoint, loadCheckpoint, saveCheckpoint } from '../../src/runs/checkpoint.js';
import { RunDir } from '../../src/runs/run-dir.js';
import { tempDir } from '../data/fixtures.js';

before(async () => {
  await initBackend('cpu');
  X = tf.randomNormal([6, 5], 0, 1, 'float32', 3);
  Y = tf.tidy(() => tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2], 'int32'), 3));
});

/** Dense + BatchNorm (moving statistics are non-trainable weights) + Dense; random init on every call. */
function buildModel(hidden = 8): tfl.LayersModel {
  const input = tfl.input({ shape: [5] });
  let x = tfl.layers.dense({ units: hidden }).apply(input) as tfl.SymbolicTensor;
  x = tfl.layers.batchNormalization().apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.reLU().apply(x) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: 3 }).apply(x) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: out });
}

// Created in before(), once the backend is chosen.
let X: tf.Tensor;
let Y: tf.Tensor;

function predict(m: tfl.LayersModel): Float32Array {
  return tf.tidy(() => (m.predict(X) as tf.Tensor).dataSync() as Float32Array);
}

function trainSteps(m: tfl.LayersModel, opt: tf.Optimizer, steps: number): void {
  for (let i = 0; i < steps; i++) {
    tf.tidy(() => {
      // training: true updates the BN moving statistics too, so they are not at their initial values.
      opt.minimize(() => tf.losses.softmaxCrossEntropy(Y, m.apply(X, { training: true }) as tf.Tensor) as tf.Scalar);
    });
  }
}

test('round trip: a freshly initialized model predicts identically after loading', async () => {
  const dir = join(await tempDir(), 'checkpoints', 'pretrain');
  const a = buildModel();
  trainSteps(a, tf.train.adam(0.05), 3);
  await saveCheckpoint(dir, a, { state: { epoch: 3, step: 30, seed: 7, metrics: { loss: [1.2, 0.9] } } });
  assert.deepEqual((await readdir(dir)).sort(), ['manifest.json', 'weights.bin']);

  const b = buildModel();
  assert.notDeepEqual(predict(b), predict(a), 'the fresh model starts different');
  const loaded = await loadCheckpoint(dir, b);
  assert.deepEqual(predict(b), predict(a));
  assert.deepEqual(loaded.state, { epoch: 3, step: 30, seed: 7, metrics: { loss: [1.2, 0.9] } });
  assert.equal(loaded.path, dir);
  assert.equal(loaded.optimizerRestored, false);

  // Freezing layers (linear probe) reorders model.weights; loading must not care.
  const c = buildModel();
  c.layers[1].trainable = false;
  await loadCheckpoint(dir, c);
  assert.deepEqual(predict(c), predict(a));
});

test('optimizer state round-trips: training continues exactly as if never interrupted', async () => {
  const dir = join(await tempDir(), 'ck');
  const a = buildModel();
  const optA = tf.train.adam(0.05);
  trainSteps(a, optA, 3);
  await saveCheckpoint(dir, a, { optimizer: optA, state: { step: 3 } });

  const b = buildModel();
  const optB = tf.train.adam(0.05);
  const r = await loadCheckpoint(dir, b, { optimizer: optB });
  assert.equal(r.optimizerRestored, true);
  assert.equal(r.hasOptimizer, true);
  assert.equal(optB.iterations, 3);
  trainSteps(a, optA, 2);
  trainSteps(b, optB, 2);
  const pa = predict(a);
  const pb = predict(b);
  pa.forEach((v, i) => assert.ok(Math.abs(v - pb[i]) < 1e-6, `${v} vs ${pb[i]}`));

  await assert.rejects(loadCheckpoint(dir, buildModel(), { optimizer: tf.train.sgd(0.1) }), /holds Adam state; cannot restore it into SGD/);
});

test('a model that does not fit is a clear error naming the checkpoint and the first mismatching weight', async () => {
  const dir = join(await tempDir(), 'ck');
  const a = buildModel(8);
  await saveCheckpoint(dir, a);
  const wide = buildModel(9);
  const before = predict(wide);
  await assert.rejects(loadCheckpoint(dir, wide), (e: unknown) => {
    assert.ok(e instanceof UlearnError);
    assert.match(e.message, new RegExp(`checkpoint ${dir.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&')} does not fit this model`));
    assert.match(e.message, /weight #0 'dense_Dense\d+\/kernel' is float32\[5,8\] in the checkpoint but float32\[5,9\] in the model/);
    return true;
  });
  assert.deepEqual(predict(wide), before, 'a failed load leaves the model untouched');

  const input = tfl.input({ shape: [5] });
  const small = tfl.model({ inputs: input, outputs: tfl.layers.dense({ units: 8 }).apply(input) as tfl.SymbolicTensor });
  await assert.rejects(loadCheckpoint(dir, small), /the checkpoint has 8 weights, the model 2 \(first unmatched: the checkpoint's 'batch_normalization/);
  await assert.rejects(loadCheckpoint(join(dir, 'nothing'), a), /no checkpoint at/);
});

test('a crash mid-save leaves the previous checkpoint loadable', async () => {
  const runRoot = await tempDir();
  const run = await RunDir.create(runRoot, { x: 1 }, { id: 'r' });
  const dir = run.path('checkpoints', 'pretrain');
  const v1 = buildModel();
  await saveCheckpoint(dir, v1, { state: { epoch: 1 } });

  // Killed while writing the temp dir: a partial weights.bin and no manifest.
  const torn = run.path('checkpoints', '.pretrain.tmp-deadbeef');
  await mkdir(torn);
  await writeFile(torn + '/weights.bin', new Uint8Array(10));
  const m = buildModel();
  const r = await loadCheckpoint(dir, m);
  assert.equal(r.state.epoch, 1);
  assert.deepEqual(predict(m), predict(v1));
  assert.equal((await latestCheckpoint(run, 'pretrain'))?.path, dir);

  // The next save cleans the debris up.
  await saveCheckpoint(dir, v1, { state: { epoch: 1 } });
  assert.deepEqual(await readdir(run.path('checkpoints')), ['pretrain']);
});

test('a crash between the two renames: the newer complete checkpoint wins, and the next save finishes the swap', async () => {
  const root = await tempDir();
  const ckRoot = join(root, 'checkpoints');
  const dir = join(ckRoot, 'm');
  const v1 = buildModel();
  const v2 = buildModel();
  await saveCheckpoint(dir, v1, { state: { epoch: 1 } });
  await new Promise((r) => setTimeout(r, 5)); // distinct savedAt
  await saveCheckpoint(join(root, 'scratch'), v2, { state: { epoch: 2 } });
  // Recreate the state right after `rename(dir, old)`, before `rename(tmp, dir)`.
  await cp(join(root, 'scratch'), join(ckRoot, '.m.tmp-0a0b0c0d'), { recursive: true });
  await rename(dir, join(ckRoot, '.m.old-01020304'));

  const m = buildModel();
  const r = await loadCheckpoint(dir, m);
  assert.equal(r.state.epoch, 2);
  assert.equal(r.path, join(ckRoot, '.m.tmp-0a0b0c0d'));
  assert.deepEqual(predict(m), predict(v2));
  const latest = await latestCheckpoint(root);
  assert.equal(latest?.state.epoch, 2, 'found by name-less lookup although m/ itself is missing');

  await saveCheckpoint(join(ckRoot, 'other'), v1, { state: { epoch: 3 } });
  assert.equal((await latestCheckpoint(root))?.state.epoch, 3, 'newest over all names');
  assert.equal((await latestCheckpoint(root, 'm'))?.state.epoch, 2);

  await saveCheckpoint(dir, v2, { state: { epoch: 4 } });
  assert.deepEqual((await readdir(ckRoot)).sort(), ['m', 'other']);
  assert.equal((await latestCheckpoint(root, 'm'))?.state.epoch, 4);
  assert.equal(await latestCheckpoint(root, 'none'), undefined);
  assert.equal(await latestCheckpoint(join(root, 'no-run')), undefined);
});
