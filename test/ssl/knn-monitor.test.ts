/** The kNN monitor on synthetic features through an identity-like encoder (flatten), and its collapse flag. */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { Rng } from '../../src/engine/seed.js';
import { UlearnError } from '../../src/errors.js';
import { KnnMonitor, weightedKnnPredict } from '../../src/ssl/knn-monitor.js';
import { encodeTensor } from '../../src/models/encode.js';
import { useWasm } from './helpers.js';

before(useWasm);

const D = 8;
const SHAPE = [D, 1, 1];
const identity = () => tfl.sequential({ layers: [tfl.layers.flatten({ inputShape: SHAPE })] });

/** n samples per class around 3·e_c (classes < D), noise σ = 0.3: separable by cosine. */
function clusters(nPerClass: number, classes: number, seed: number): { x: Float32Array; y: Int32Array } {
  const rng = new Rng(seed);
  const x = new Float32Array(nPerClass * classes * D);
  const y = new Int32Array(nPerClass * classes);
  for (let s = 0; s < y.length; s++) {
    y[s] = s % classes;
    for (let k = 0; k < D; k++) x[s * D + k] = (k === y[s] ? 3 : 0) + 0.3 * rng.normal();
  }
  return { x, y };
}

describe('KnnMonitor', () => {
  test('separable clusters: accuracy 1, not collapsed', () => {
    const mon = new KnnMonitor(clusters(20, 4, 1), clusters(20, 4, 2), SHAPE, { batchSize: 16 });
    const before = tf.memory().numTensors;
    const r = mon.evaluate(identity());
    assert.equal(tf.memory().numTensors, before, 'evaluate leaks no tensors');
    assert.equal(r.accuracy, 1);
    assert.equal(r.dim, D);
    assert.equal(r.k, 20);
    assert.equal(r.collapsed, false);
    assert.ok(r.normalizedStd > 0.3 && Math.abs(r.normalizedStd - r.featureStd * Math.sqrt(D)) < 1e-6);
    mon.dispose();
  });

  test('labels independent of the features: about chance', () => {
    const rng = new Rng(3);
    const relabel = (s: { x: Float32Array; y: Int32Array }) => ({ x: s.x, y: s.y.map(() => rng.int(4)) });
    const mon = new KnnMonitor(relabel(clusters(50, 4, 4)), relabel(clusters(100, 4, 5)), SHAPE);
    const r = mon.evaluate(identity());
    assert.ok(Math.abs(r.accuracy - 0.25) < 0.1, `accuracy ${r.accuracy}`);
    mon.dispose();
  });

  test('a constant encoder is flagged collapsed', () => {
    const constant = tfl.sequential({
      layers: [tfl.layers.flatten({ inputShape: SHAPE }), tfl.layers.dense({ units: 16, kernelInitializer: 'zeros', biasInitializer: 'ones' })],
    });
    const mon = new KnnMonitor(clusters(10, 4, 6), clusters(10, 4, 7), SHAPE);
    const r = mon.evaluate(constant);
    assert.equal(r.collapsed, true);
    assert.ok(r.featureStd < 1e-4);
    mon.dispose();
  });

  test('k is capped at the bank size; bad labels and shapes are errors', () => {
    const mon = new KnnMonitor(clusters(2, 4, 8), clusters(5, 4, 9), SHAPE);
    assert.equal(mon.evaluate(identity()).k, 8);
    mon.dispose();
    const bad = clusters(2, 2, 10);
    assert.throws(() => new KnnMonitor({ x: bad.x, y: bad.y.map((v, i) => (i === 0 ? -1 : v)) }, bad, SHAPE), UlearnError);
    assert.throws(() => new KnnMonitor({ x: bad.x.subarray(1), y: bad.y }, bad, SHAPE), UlearnError);
  });
});

describe('weighted kNN', () => {
  test('votes are weighted by exp(sim / T): a close neighbour beats a far majority at low T', () => {
    // Query (1, 0). Class 1: one sample at cos 0.99. Class 0: three samples at cos 0.8.
    const far = [0.8, 0.6];
    const near = [0.99, Math.sqrt(1 - 0.99 ** 2)];
    const bank = tf.tensor2d([far, far, far, near]);
    const labels = tf.tensor1d([0, 0, 0, 1], 'int32');
    const q = tf.tensor2d([[1, 0]]);
    // T = 0.07: exp(0.99/0.07) vs 3 exp(0.8/0.07): ratio e^{2.71}/3 ≈ 5 → class 1. T = 10: ~1 vs ~3 → class 0.
    const at = (t: number) => weightedKnnPredict(bank, labels, q, 2, 4, t).dataSync()[0];
    assert.equal(at(0.07), 1);
    assert.equal(at(10), 0);
    tf.dispose([bank, labels, q]);
  });

  test('encode with normalize: unit rows, the same in any batch size', () => {
    const { x } = clusters(5, 3, 11);
    const a = encodeTensor(identity(), x, SHAPE, { batchSize: 4, normalize: true });
    const b = encodeTensor(identity(), x, SHAPE, { batchSize: 256, normalize: true });
    assert.deepEqual(a.shape, [15, D]);
    const norms = tf.tidy(() => tf.sqrt(tf.sum(tf.square(a), 1)).dataSync());
    for (const v of norms) assert.ok(Math.abs(v - 1) < 1e-5);
    const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
    assert.ok(diff < 1e-6);
    tf.dispose([a, b]);
  });
});
