/**
 * The library's top-level calls (README "The library"): `pretrain` counts steps, is seeded, stops on a budget
 * and trains the encoder in place; `fit` takes an in-memory encoder and gives a `Classifier` whose saved
 * folder predicts what it predicts. One wasm thread, so equal seeds give bit-identical runs.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { applyLabelBudget, Budget, fit, initBackend, models, predict, pretrain, UlearnError, type Dataset } from '../../src/index.js';
import { Rng } from '../../src/engine/seed.js';
import { fitMethod } from '../../src/semi/fit.js';
import { trainLinearProbe } from '../../src/train/linear-probe.js';

before(async () => {
  await initBackend('wasm', { threads: 1 });
});

/** n 8×8×1 images: class 0 dark, class 1 light, with per-pixel noise. */
function images(n: number, seed: number, split: Dataset['split'] = 'train'): Dataset {
  const rng = new Rng(seed);
  const x = new Float32Array(n * 64);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % 2;
    for (let j = 0; j < 64; j++) x[i * 64 + j] = (y[i] ? 0.7 : 0.1) + 0.2 * rng.random();
  }
  return { name: `blobs/${split}`, modality: 'image', inputShape: [8, 8, 1], classes: ['dark', 'light'], size: n, ids: Array.from({ length: n }, (_, i) => String(i)), x, y, split, source: 'memory' };
}

// Seed 1, not 0: tfjs draws a seed of 0 as no seed at all (MPRandGauss: `seed ? seed : Math.random()`), and
// buildResNetEncoder gives its stem conv seed * 1000.
const encoderOf = (seed = 1) => models.buildResNetEncoder({ inputShape: [8, 8, 1], widths: [4], blocksPerStage: 1, seed });
const weightsOf = (m: ReturnType<typeof encoderOf>) => m.getWeights().map((w) => Array.from(w.dataSync()));

test('pretrain takes exactly `steps` steps, trains the encoder in place, and repeats bit for bit with a seed', async () => {
  const data = images(24, 1);
  const runOnce = async () => {
    const encoder = encoderOf();
    const before = weightsOf(encoder);
    const steps: number[] = [];
    const r = await pretrain(encoder, data, { steps: 3, batchSize: 8, seed: 5, onStep: (s) => steps.push(s) });
    const after = weightsOf(encoder);
    encoder.dispose();
    return { r, steps, before, after };
  };
  const tensorsBefore = tf.memory().numTensors;
  const a = await runOnce();
  assert.equal(tf.memory().numTensors, tensorsBefore, 'no tensors left behind (head and optimizer freed)');
  const b = await runOnce();
  assert.equal(a.r.steps, 3);
  assert.equal(a.r.stoppedByBudget, false);
  assert.deepEqual(a.steps, [1, 2, 3]);
  assert.ok(a.r.losses.every(Number.isFinite));
  assert.notDeepEqual(a.after, a.before, 'the encoder was trained');
  assert.deepEqual(a.r.losses, b.r.losses);
  assert.deepEqual(a.after, b.after);
});

test('pretrain stops on an exhausted budget and says so; bad input is a UlearnError', async () => {
  const encoder = encoderOf();
  const r = await pretrain(encoder, images(16, 2), { steps: 5, budget: new Budget(0) });
  assert.deepEqual([r.steps, r.stoppedByBudget], [0, true]);
  const table: Dataset = { ...images(4, 3), modality: 'table', inputShape: [64] };
  await assert.rejects(pretrain(encoder, table, { steps: 1 }), (e: unknown) => e instanceof UlearnError && /takes images/.test(e.message));
  await assert.rejects(pretrain(encoder, images(4, 3), { steps: -1 }), UlearnError);
  encoder.dispose();
});

test('fit with an in-memory encoder gives a Classifier; its saved folder predicts the same probabilities', async () => {
  const train = images(40, 4);
  const test_ = images(20, 5, 'test');
  const labels = applyLabelBudget(train, { perClass: 3, seed: 0 });
  await assert.rejects(fit('linear', { train, labels }), (e: unknown) => e instanceof UlearnError && /needs a pretrained encoder/.test(e.message));

  const clf = await fit('linear', { train, labels, encoder: encoderOf() });
  const probs = clf.predictProba(test_);
  assert.equal(probs.length, 20 * 2);
  const pred = clf.predict(test_);
  const ev = clf.evaluate(test_);
  assert.equal(ev.accuracy, pred.filter((p, i) => p === test_.y[i]).length / 20);
  assert.ok(ev.accuracy >= 0.9, `dark vs light from 6 labels: ${ev.accuracy}`);
  assert.equal(ev.confusion.flat().reduce((a, b) => a + b, 0), 20);
  assert.throws(() => clf.evaluate({ ...test_, y: new Int32Array(20).fill(-1) }), UlearnError);
  assert.throws(() => clf.predict({ ...test_, inputShape: [4, 16, 1] }), UlearnError);

  const dir = join(mkdtempSync(join(tmpdir(), 'ulearn-api-')), 'model');
  await clf.save(dir);
  const { model, meta } = await predict.loadClassifier(dir);
  assert.deepEqual(meta.classes, ['dark', 'light']);
  assert.equal(meta.method, 'linear');
  const logits = model.predict(tf.tensor4d(test_.x, [20, 8, 8, 1])) as tf.Tensor;
  const loaded = tf.softmax(logits).dataSync();
  for (let i = 0; i < probs.length; i++) assert.ok(Math.abs(loaded[i] - probs[i]) < 1e-5, `row ${Math.floor(i / 2)}`);
  tf.dispose([logits]);
  model.dispose();
  clf.dispose();
});

test("the linear method's probe uses settings.probeWeightDecay (default 1e-2): its head is the reference probe's", async () => {
  const train = images(40, 6);
  const labels = applyLabelBudget(train, { perClass: 4, seed: 1 });
  const encoder = encoderOf(2);
  // Reference: the probe trained by hand on the labeled images' features, folded into a dense head.
  const feats = tf.tidy(() => {
    const xl = new Float32Array(labels.labeled.length * 64);
    labels.labeled.forEach((i, r) => xl.set(train.x.subarray(i * 64, (i + 1) * 64), r * 64));
    return encoder.predict(tf.tensor4d(xl, [labels.labeled.length, 8, 8, 1])) as tf.Tensor2D;
  });
  const yl = Int32Array.from(labels.labeled, (i) => train.y[i]);
  const reference = (weightDecay: number) => {
    const probe = trainLinearProbe(feats, yl, 2, { seed: 0, weightDecay });
    const [k, b] = probe.denseWeights();
    const out = [...k.dataSync(), ...b.dataSync()];
    tf.dispose([k, b]);
    probe.dispose();
    return out;
  };
  const headOf = async (settings: { probeWeightDecay?: number }) => {
    const r = await fitMethod({ method: 'linear', train, y: labels.y, labeled: labels.labeled, pretrained: encoder, settings, seed: 0, budget: new Budget(undefined) });
    const w = r.head.getWeights().flatMap((t) => Array.from(t.dataSync()));
    r.head.dispose();
    return { w, info: r.info };
  };
  const close = (a: number[], b: number[]) => a.length === b.length && a.every((v, i) => Math.abs(v - b[i]) < 1e-3 * (1 + Math.abs(b[i])));
  const byDefault = await headOf({});
  assert.equal(byDefault.info.probeWeightDecay, 1e-2);
  assert.ok(close(byDefault.w, reference(1e-2)), 'the default is weight decay 1e-2');
  const strong = await headOf({ probeWeightDecay: 0.5 });
  assert.ok(close(strong.w, reference(0.5)), 'the setting reaches the probe');
  assert.ok(!close(strong.w, byDefault.w), 'and changes it');
  await assert.rejects(headOf({ probeWeightDecay: -1 }), (e: unknown) => e instanceof UlearnError && /probe weight decay/.test(e.message));
  feats.dispose();
  encoder.dispose();
});
