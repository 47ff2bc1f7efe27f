/**
 * FastBatchNormalization against tfjs-layers' BatchNormalization (the reference): same outputs, same
 * gradients for input, gamma and beta, same moving statistics, in training and inference mode.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { Rng } from '../../src/engine/seed.js';
import { fastBatchNormalization } from '../../src/models/fast-batch-norm.js';
import { nativeKernelsActive } from '../../src/engine/kernels/native.js';
import { ENGINES, useEngine } from '../engine/helpers.js';

function maxDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

// On native the training op is oneDNN's batch normalization (forward and backward primitives).
for (const engine of ENGINES) test(`${engine}: matches tfjs-layers BatchNormalization: outputs, gradients, moving statistics`, async () => {
  await useEngine(engine);
  assert.equal(nativeKernelsActive(), engine === 'native');
  const rng = new Rng(3);
  const xv = Float32Array.from({ length: 4 * 5 * 6 * 3 }, () => rng.normal() * 2 + 1);
  const dyv = Float32Array.from({ length: xv.length }, () => rng.normal());
  const args = { momentum: 0.9, epsilon: 1e-5 };
  const ref = tfl.layers.batchNormalization(args);
  const fast = fastBatchNormalization(args);
  const x = tf.tensor4d(xv, [4, 5, 6, 3]);
  ref.build(x.shape);
  fast.build(x.shape);
  const gamma = tf.tensor1d([0.5, 1.5, -2]);
  const beta = tf.tensor1d([0.1, -0.2, 0.3]);
  for (const l of [ref, fast]) l.setWeights([gamma, beta, tf.zeros([3]), tf.ones([3])]);
  const dy = tf.tensor4d(dyv, [4, 5, 6, 3]);
  const run = (layer: tfl.layers.Layer) => {
    const [g, b] = layer.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
    const f = (xi: tf.Tensor) => tf.sum(tf.mul(layer.apply(xi, { training: true }) as tf.Tensor, dy)) as tf.Scalar;
    const y = layer.apply(x, { training: true }) as tf.Tensor;
    const dx = tf.grad(f)(x);
    const { grads } = tf.variableGrads(() => f(x), [g, b]);
    return { y, dx, dg: grads[g.name], db: grads[b.name], stats: layer.getWeights().slice(2) };
  };
  const a = run(ref);
  const b = run(fast);
  assert.ok(maxDiff(a.y, b.y) < 1e-4, 'outputs');
  assert.ok(maxDiff(a.dx, b.dx) < 1e-4, `dx differs by ${maxDiff(a.dx, b.dx)}`);
  assert.ok(maxDiff(a.dg, b.dg) < 1e-3, 'dgamma');
  assert.ok(maxDiff(a.db, b.db) < 1e-3, 'dbeta');
  assert.ok(tf.tidy(() => tf.max(tf.abs(b.dx)).dataSync()[0]) > 1e-3, 'gradient is not trivially zero');
  // Moving statistics moved identically (4 training calls each so far: apply + grad + variableGrads... same count).
  a.stats.forEach((s, i) => assert.ok(maxDiff(s, b.stats[i]) < 1e-4, `moving statistic ${i}`));
  const inferA = ref.apply(x, { training: false }) as tf.Tensor;
  const inferB = fast.apply(x, { training: false }) as tf.Tensor;
  assert.ok(maxDiff(inferA, inferB) < 1e-4, 'inference outputs');
});
