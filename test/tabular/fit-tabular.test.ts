import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/backend.js';
import { Rng } from '../../src/engine/seed.js';
import { linearHead, mlpEncoder } from '../../src/models/mlp.js';
import { fitTabular, predictTabular } from '../../src/train/fit-tabular.js';
import { trainLinearProbe } from '../../src/train/linear-probe.js';

before(async () => {
  await initBackend('wasm', { threads: 2 });
});

function xor(n: number, seed: number) {
  const rng = new Rng(seed);
  const x = new Float32Array(n * 2);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const a = rng.random() < 0.5 ? -1 : 1;
    const b = rng.random() < 0.5 ? -1 : 1;
    x[2 * i] = a + rng.normal() * 0.1;
    x[2 * i + 1] = b + rng.normal() * 0.1;
    y[i] = a * b > 0 ? 1 : 0;
  }
  return { x, y };
}

const acc = (probs: Float32Array, y: Int32Array) => y.filter((c, i) => (probs[2 * i + 1] > probs[2 * i] ? 1 : 0) === c).length / y.length;

test('the MLP learns XOR, which a linear classifier on the same rows cannot', () => {
  const { x, y } = xor(200, 1);
  const encoder = mlpEncoder({ inputDim: 2, widths: [16, 16], seed: 1 });
  const head = linearHead(16, 2, 1);
  const r = fitTabular({ encoder, head, x, dim: 2, y, indices: Int32Array.from(y.keys()), nClasses: 2, steps: 300, batchSize: 32, lrHead: 1e-2, seed: 1 });
  assert.equal(r.steps, 300);
  const test = xor(200, 2);
  assert.ok(acc(predictTabular(encoder, head, test.x, 2), test.y) > 0.95, 'MLP on XOR');
  const xt = tf.tensor2d(x, [200, 2]);
  const probe = trainLinearProbe(xt, y, 2);
  const tt = tf.tensor2d(test.x, [200, 2]);
  const p = probe.predictProba(tt);
  assert.ok(acc(p.dataSync() as Float32Array, test.y) < 0.8, 'a linear model cannot do XOR');
  tf.dispose([xt, tt, p]);
  probe.dispose();
  encoder.dispose();
  head.dispose();
});

test('lrEncoder 0 trains the head only; unlabeled rows are rejected', () => {
  const { x, y } = xor(40, 3);
  const encoder = mlpEncoder({ inputDim: 2, widths: [8], seed: 4 });
  const head = linearHead(8, 2, 4);
  const before0 = encoder.getWeights().map((w) => w.dataSync().slice());
  const headBefore = head.getWeights()[0].dataSync().slice();
  fitTabular({ encoder, head, x, dim: 2, y, indices: [0, 1, 2, 3, 4, 5], nClasses: 2, steps: 20, lrEncoder: 0, seed: 1 });
  encoder.getWeights().forEach((w, i) => assert.deepEqual(w.dataSync(), before0[i], 'encoder unchanged'));
  assert.notDeepEqual(head.getWeights()[0].dataSync(), headBefore, 'head trained');
  const yy = y.slice();
  yy[2] = -1;
  assert.throws(() => fitTabular({ encoder, head, x, dim: 2, y: yy, indices: [1, 2], nClasses: 2, steps: 1 }), /row 2 has label -1/);
  encoder.dispose();
  head.dispose();
});
