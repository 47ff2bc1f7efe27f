import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/backend.js';
import { Rng } from '../../src/engine/seed.js';
import { trainLinearProbe } from '../../src/train/linear-probe.js';

before(async () => {
  await initBackend('wasm', { threads: 2 });
});

test('the linear probe separates separable classes, and its folded dense weights give the same logits', () => {
  const rng = new Rng(4);
  const n = 60;
  const dim = 5;
  const x = new Float32Array(n * dim);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % 3;
    // Features on very different scales and offsets: standardization must be folded in correctly.
    for (let d = 0; d < dim; d++) x[i * dim + d] = (d === y[i] ? 3 : 0) * (d + 1) * 10 + 100 * d + rng.normal();
  }
  const f = tf.tensor2d(x, [n, dim]);
  const probe = trainLinearProbe(f, y, 3, { seed: 1 });
  const probs = probe.predictProba(f);
  const pred = Array.from(tf.argMax(probs, 1).dataSync());
  assert.equal(pred.filter((p, i) => p === y[i]).length, n, 'all training points classified right');
  const [kernel, bias] = probe.denseWeights();
  const folded = tf.softmax(tf.add(tf.matMul(f, kernel), bias));
  const diff = tf.max(tf.abs(tf.sub(folded, probs))).dataSync()[0];
  assert.ok(diff < 1e-4, `folded dense layer differs by ${diff}`);
  tf.dispose([f, probs, kernel, bias, folded]);
  probe.dispose();
});
