/**
 * The estimate from the labels (src/semi/estimate.ts): stratified folds hold every labeled sample out once,
 * the binomial interval against published Wilson values, the choice rule, and the whole estimate on tiny
 * images where the "pretrained" encoder's features are noise (constant): it must pick supervised-only.
 * One wasm thread, budget none and epoch caps, so every number is exact run to run.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { Dataset } from '../../src/data/dataset.js';
import { initBackend } from '../../src/engine/backend.js';
import { Rng } from '../../src/engine/seed.js';
import { buildEncoder } from '../../src/models/architecture.js';
import { modality } from '../../src/modality.js';
import { saveCheckpoint } from '../../src/runs/checkpoint.js';
import { binomial, chooseArm, curveEstimate, estimateArms, estimateSettings, extrapolate, stepsPerEpoch, stratifiedFolds, type ArmEstimate } from '../../src/semi/estimate.js';
import { Budget } from '../../src/util/budget.js';
import { spreadingGraph } from '../../src/semi/label-spreading.js';
import { UlearnError } from '../../src/errors.js';

let root: string;
before(async () => {
  await initBackend('wasm', { threads: 1 });
  root = await mkdtemp(join(tmpdir(), 'ulearn-estimate-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

test('stratified folds hold out every labeled sample exactly once, each class spread evenly', () => {
  const labels = Int32Array.from({ length: 30 }, (_, i) => i % 3);
  const folds = stratifiedFolds(labels, 3, 4);
  assert.deepEqual(folds.flat().sort((a, b) => a - b), Array.from({ length: 30 }, (_, i) => i));
  for (const f of folds) for (let c = 0; c < 3; c++) assert.ok([3, 4].includes(f.filter((p) => labels[p] === c).length));
  assert.deepEqual(stratifiedFolds(labels, 3, 4), folds, 'same seed, same folds');
});

test('binomial interval: Wilson 95% matches published values', () => {
  // Wilson score intervals (z = 1.96): 8/10 -> [0.490, 0.943]; 0/20 -> [0, 0.161]; 50/100 -> [0.404, 0.596].
  const near = (a: number, b: number) => Math.abs(a - b) < 1e-3;
  const a = binomial(8, 10);
  assert.ok(near(a.low, 0.4902) && near(a.high, 0.9433), JSON.stringify(a));
  assert.ok(near(a.stderr, Math.sqrt(0.8 * 0.2 / 10)));
  const b = binomial(0, 20);
  assert.ok(b.low === 0 && near(b.high, 0.1611), JSON.stringify(b));
  const c = binomial(50, 100);
  assert.ok(near(c.low, 0.4038) && near(c.high, 0.5962), JSON.stringify(c));
});

const est = (method: ArmEstimate['method'], acc: number): ArmEstimate => ({ method, acc, stderr: 0.05, low: acc - 0.1, high: acc + 0.1, correct: 0, total: 100, folds: 3, points: [], steps: 0, stoppedByBudget: false });

test('the choice: an SSL arm must beat supervised-only to be chosen; ties go to supervised, then to the probe', () => {
  assert.deepEqual(chooseArm([est('supervised', 0.6), est('linear', 0.7), est('finetune', 0.72)]), { chosen: 'finetune', sslHelped: true });
  assert.deepEqual(chooseArm([est('supervised', 0.6), est('linear', 0.7), est('finetune', 0.7)]), { chosen: 'linear', sslHelped: true });
  assert.deepEqual(chooseArm([est('supervised', 0.7), est('linear', 0.7), est('finetune', 0.65)]), { chosen: 'supervised', sslHelped: false });
  assert.deepEqual(chooseArm([est('supervised', 0.8), est('linear', 0.5)]), { chosen: 'supervised', sslHelped: false });
  // Label propagation: chosen when best; in a tie it yields to the probe and wins against fine-tuning.
  assert.deepEqual(chooseArm([est('supervised', 0.6), est('linear', 0.7), est('label-propagation', 0.75), est('finetune', 0.72)]), { chosen: 'label-propagation', sslHelped: true });
  assert.deepEqual(chooseArm([est('supervised', 0.6), est('linear', 0.7), est('label-propagation', 0.7)]), { chosen: 'linear', sslHelped: true });
  assert.deepEqual(chooseArm([est('supervised', 0.6), est('label-propagation', 0.7), est('finetune', 0.7)]), { chosen: 'label-propagation', sslHelped: true });
});

/**
 * A pool of 2-d features: `n` per class around class centres (10, 0) and (0, 10) with small noise (the graph's
 * affinity is cosine: the classes differ in direction), labels by class; the first `perClass` of each class are
 * the labeled ones.
 */
function clusters(n: number, perClass: number, rng: Rng): { train: Dataset; labeled: Int32Array; features: Float32Array } {
  const size = 2 * n;
  const y = Int32Array.from({ length: size }, (_, i) => (i < n ? 0 : 1));
  const features = new Float32Array(size * 2);
  for (let i = 0; i < size; i++) {
    features[2 * i] = 10 * (1 - y[i]) + rng.normal();
    features[2 * i + 1] = 10 * y[i] + rng.normal();
  }
  const labeled = Int32Array.from([...Array.from({ length: perClass }, (_, k) => k), ...Array.from({ length: perClass }, (_, k) => n + k)]);
  const x = new Float32Array(size * 4);
  const train: Dataset = { name: 'clusters', modality: 'image', inputShape: [2, 2, 1], classes: ['a', 'b'], size, ids: Array.from({ length: size }, (_, i) => String(i)), x, y, split: 'train', source: 'memory' };
  return { train, labeled, features };
}

test('label propagation\'s estimate spreads the other folds\' labels over the pool and scores the held-out ones', async () => {
  const rng = new Rng(3);
  const { train, labeled, features } = clusters(40, 6, rng);
  const graph = spreadingGraph(features, 2, 5, 3);
  const run = (y: Int32Array, f = features, g = graph) =>
    estimateArms({ arms: ['label-propagation'], train: { ...train, y }, y, labeled, pool: { features: f, dim: 2, graph: g }, estimate: { folds: 3, curve: true }, seed: 0, budget: Budget.parse('none') });
  // Two far-apart clusters: every held-out label is recovered from the others, at both points of the curve.
  const [clean] = await run(train.y);
  assert.deepEqual([clean.method, clean.correct, clean.total, clean.acc, clean.steps], ['label-propagation', 12, 12, 1, 0]);
  assert.deepEqual(clean.points.map((p) => [p.correct, p.total]), [[12, 12], [24, 24]]);
  // Labels that contradict the features (each cluster's labeled samples alternate classes): a held-out label is
  // predicted from its cluster's other labels, never read back. Were the held-out labels visible to the
  // spreading, every one would come back (spreading keeps given labels) and the estimate would read 1.
  const mixed = Int32Array.from(train.y);
  labeled.forEach((i, k) => (mixed[i] = k % 2));
  const [leak] = await run(mixed);
  assert.ok(leak.points[0].acc < 0.75, `held-out labels must be hidden: ${JSON.stringify(leak.points)}`);
  // Without the pool's features: a clear error before anything runs.
  await assert.rejects(
    estimateArms({ arms: ['label-propagation'], train, y: train.y, labeled, estimate: { folds: 3 }, seed: 0, budget: Budget.parse('none') }),
    (e: unknown) => e instanceof UlearnError && /label propagation needs the features/.test(e.message),
  );
});

test('the choice ranks by plain cross-validation, not by the extrapolated accuracy', () => {
  const curved = (method: ArmEstimate['method'], extrapolated: number, cv: number): ArmEstimate => ({ ...est(method, extrapolated), points: [{ share: 2 / 3, acc: cv, correct: 0, total: 100 }, { share: 1 / 3, acc: cv - 0.2, correct: 0, total: 200 }] });
  // Supervised-only's steep curve extrapolates above the fine-tune, but at two thirds of the labels it is behind.
  assert.deepEqual(chooseArm([curved('supervised', 0.73, 0.6), curved('linear', 0.71, 0.69), curved('finetune', 0.69, 0.7)]), { chosen: 'finetune', sslHelped: true });
  assert.deepEqual(chooseArm([curved('supervised', 0.6, 0.72), curved('finetune', 0.75, 0.7)]), { chosen: 'supervised', sslHelped: false });
});

/** 16x16 gray images: horizontal bars (class 0) or vertical bars (class 1) at a random phase, plus noise. */
function bars(perClass: number, seed: number): Dataset {
  const rng = new Rng(seed);
  const n = 2 * perClass;
  const x = new Float32Array(n * 256);
  const y = new Int32Array(n);
  for (let s = 0; s < n; s++) {
    y[s] = s % 2;
    const phase = rng.int(4);
    for (let r = 0; r < 16; r++) for (let c = 0; c < 16; c++) x[s * 256 + r * 16 + c] = ((y[s] === 0 ? r : c) + phase) % 4 < 2 ? 0.8 + 0.1 * rng.normal() : 0.15 + 0.1 * rng.normal();
  }
  return { name: 'bars', modality: 'image', inputShape: [16, 16, 1], classes: ['horizontal', 'vertical'], size: n, ids: Array.from({ length: n }, (_, i) => String(i)), x, y, split: 'train', source: 'memory' };
}

test('when the SSL features are noise, the estimate says so and picks supervised-only', async () => {
  const train = bars(12, 3);
  // A "pretrained" encoder whose every kernel is zero: its features are the same for every image.
  const arch = { ...modality('image').encoder([16, 16, 1], { widths: [4, 8], blocksPerStage: 1 }), method: 'simclr' };
  const enc = buildEncoder(arch, 1);
  enc.setWeights(enc.getWeights().map((w) => (w.shape.length === 4 ? tf.zerosLike(w) : w)));
  const ckpt = join(root, 'noise-encoder');
  await saveCheckpoint(ckpt, enc);
  enc.dispose();
  const labeled = Int32Array.from({ length: train.size }, (_, i) => i);
  const estimates = await estimateArms({
    arms: ['supervised', 'linear'],
    train,
    y: train.y,
    labeled,
    encoder: { widths: [4, 8], blocksPerStage: 1 },
    pretrained: ckpt,
    settings: { epochs: 24, batchSize: 8 },
    estimate: { folds: 3, epochsScale: 0.5, curve: false },
    seed: 0,
    budget: Budget.parse('none'),
  });
  const by = Object.fromEntries(estimates.map((e) => [e.method, e]));
  assert.equal(by.linear.total, 24);
  assert.equal(by.linear.folds, 3);
  // Constant features carry no class: the probe predicts one class for a whole fold, which is half of it.
  assert.ok(Math.abs(by.linear.acc - 0.5) < 1e-9, `probe on noise features: ${by.linear.acc}`);
  assert.ok(by.supervised.acc >= 0.75, `supervised-only learns the bars from pixels: ${by.supervised.acc}`);
  assert.equal(by.supervised.steps, 3 * 12 * 2, 'epochsScale 0.5 (the older spelling): each fold trains half the epochs (12) of 2 batches of 8');
  assert.deepEqual(chooseArm(estimates), { chosen: 'supervised', sslHelped: false });
  const again = await estimateArms({ arms: ['supervised'], train, y: train.y, labeled, encoder: { widths: [4, 8], blocksPerStage: 1 }, settings: { epochs: 24, batchSize: 8 }, estimate: { folds: 3, epochsScale: 0.5, curve: false }, seed: 0, budget: Budget.parse('none') });
  assert.equal(again[0].correct, by.supervised.correct, 'deterministic: same seed, same estimate');
});

test('the learning curve: a line in log(labels) is read back exactly at all the labels; a curve that falls is not extrapolated', () => {
  const line = (share: number) => 0.9 + 0.2 * Math.log(share);
  assert.ok(Math.abs(extrapolate(line(1 / 3), line(2 / 3), 1 / 3, 2 / 3) - 0.9) < 1e-12);
  assert.ok(Math.abs(extrapolate(line(0.1), line(0.9), 0.1, 0.9) - 0.9) < 1e-12);
  assert.equal(extrapolate(0.7, 0.6, 1 / 3, 2 / 3), 0.6, 'noise made the curve fall: the (k-1)/k point stands');
  assert.equal(extrapolate(0.5, 0.99, 1 / 3, 2 / 3), 1, 'never above 1');
  assert.throws(() => extrapolate(0.5, 0.6, 0.5, 0.5), /fracLo < fracHi/);
});

test('the curve estimate\'s standard error is the delta method through the extrapolation (finite differences)', () => {
  const lo = { share: 1 / 3, acc: 0.6, correct: 120, total: 200 };
  const hi = { share: 2 / 3, acc: 0.75, correct: 75, total: 100 };
  const r = curveEstimate(lo, hi);
  const h = 1e-6;
  const dHi = (extrapolate(lo.acc, hi.acc + h, lo.share, hi.share) - extrapolate(lo.acc, hi.acc - h, lo.share, hi.share)) / (2 * h);
  const dLo = (extrapolate(lo.acc + h, hi.acc, lo.share, hi.share) - extrapolate(lo.acc - h, hi.acc, lo.share, hi.share)) / (2 * h);
  const want = Math.sqrt(dHi ** 2 * (0.75 * 0.25) / 100 + dLo ** 2 * (0.6 * 0.4) / 200);
  assert.ok(Math.abs(r.stderr - want) < 1e-6, `${r.stderr} vs ${want}`);
  assert.ok(Math.abs(r.acc - extrapolate(0.6, 0.75, 1 / 3, 2 / 3)) < 1e-12);
  assert.ok(r.low < r.acc && r.acc < r.high && r.high <= 1);
});

test('settings: defaults, the older epochsScale read as a share of steps, and clear errors', () => {
  assert.deepEqual(estimateSettings({}), { folds: 3, stepsScale: 1, curve: true });
  assert.deepEqual(estimateSettings({ folds: undefined, curve: false }), { folds: 3, stepsScale: 1, curve: false });
  // epochsScale 0.75 of the final epochs on 4/5 of the labels: 0.6 of the final fit's steps.
  assert.ok(Math.abs(estimateSettings({ folds: 5, epochsScale: 0.75 }).stepsScale - 0.6) < 1e-12);
  assert.throws(() => estimateSettings({ stepsScale: 0.5, epochsScale: 0.5 }), /not both/);
  assert.throws(() => estimateSettings({ stepsScale: 0 }), /stepsScale must be in \(0, 1\]/);
  assert.throws(() => estimateSettings({ folds: 1 }), /folds must be an integer ≥ 2/);
  assert.equal(stepsPerEpoch(24, 8), 3);
  assert.equal(stepsPerEpoch(17, 8), 2, 'a last partial batch is dropped');
  assert.equal(stepsPerEpoch(5, 8), 1, 'fewer labels than a batch: one step');
});

test('with the curve, every fold trains the final fit\'s steps, at both points', async () => {
  const train = bars(12, 5);
  const labeled = Int32Array.from({ length: train.size }, (_, i) => i);
  const [e] = await estimateArms({ arms: ['supervised'], train, y: train.y, labeled, encoder: { widths: [4, 8], blocksPerStage: 1 }, settings: { epochs: 4, batchSize: 8 }, estimate: { folds: 3 }, seed: 0, budget: Budget.parse('none') });
  // The final fit: 4 epochs of 3 batches = 12 steps. Each of 3 folds at 2/3 (16 labels, 2 batches: 6 epochs)
  // and each of 3 inverted folds at 1/3 (8 labels, 1 batch: 12 epochs) trains 12 steps.
  assert.equal(e.steps, 6 * 12);
  assert.deepEqual(e.points.map((p) => [Number(p.share.toFixed(4)), p.total]), [[0.6667, 24], [0.3333, 48]]);
  assert.equal(e.correct, Math.round(e.points[0].acc * 24));
  assert.ok(Math.abs(e.acc - extrapolate(e.points[1].acc, e.points[0].acc, 1 / 3, 2 / 3)) < 1e-12);
});

test('a class with a single label cannot be cross-validated: a clear error', async () => {
  const train = bars(3, 1);
  const labeled = Int32Array.from([0, 1, 2]);
  await assert.rejects(
    estimateArms({ arms: ['supervised'], train, y: train.y, labeled, encoder: { widths: [4], blocksPerStage: 1 }, seed: 0, budget: Budget.parse('none') }),
    /a class has a single label/,
  );
});
