/**
 * Whole training steps on wasm and on native (oneDNN) against the cpu backend: the gradients of a small conv net with BatchNorm,
 * max pooling and a strided conv (everything our kernels replace) must agree.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../../src/engine/seed.js';
import { maxAbs, maxAbsDiff, onCpu, randomArray, runKernel, useEngine, ENGINES } from './helpers.js';

for (const engine of ENGINES) {
  describe(engine, () => {
    before(() => useEngine(engine));

    test('MaxPoolGrad matches the cpu backend, and splits ties without changing the window total', async () => {
      const rng = new Rng(4);
      const shape: [number, number, number, number] = [2, 8, 6, 3];
      const xv = randomArray(rng, 2 * 8 * 6 * 3);
      const dyv = randomArray(rng, 2 * 4 * 3 * 3);
      const compute = (xs: Float32Array) =>
        tf.tidy(() => {
          const x = tf.tensor4d(xs, shape);
          const y = tf.maxPool(x, 2, 2, 'valid');
          return runKernel('MaxPoolGrad', { dy: tf.tensor(dyv, y.shape), input: x, output: y }, { filterSize: 2, strides: 2, pad: 'valid' });
        });
      const ref = await onCpu(() => compute(xv));
      assert.ok(maxAbsDiff(compute(xv), ref) < 1e-6);
      // All-equal windows (ReLU zeros): wasm gives each of the 4 positions a quarter, oneDNN all to one; both
      // are subgradients, and the window total is dy either way.
      const zeros = compute(new Float32Array(xv.length));
      const window = [zeros[0], zeros[3], zeros[18], zeros[21]];
      if (engine === 'wasm') assert.ok(Math.abs(zeros[0] - dyv[0] / 4) < 1e-6);
      else assert.equal(window.filter((v) => v !== 0).length, 1);
      assert.ok(Math.abs(zeros[0] + zeros[3] + zeros[18] + zeros[21] - dyv[0]) < 1e-5);
      // Overlapping windows go to the built-in kernel and still match.
      const overlap = (xs: Float32Array) =>
        tf.tidy(() => {
          const x = tf.tensor4d(xs, shape);
          const y = tf.maxPool(x, 3, 1, 'same');
          return runKernel('MaxPoolGrad', { dy: tf.onesLike(y), input: x, output: y }, { filterSize: 3, strides: 1, pad: 'same' });
        });
      assert.ok(maxAbsDiff(overlap(xv), await onCpu(() => overlap(xv))) < 1e-6);
    });

    test('gradients of a conv net with BatchNorm, pooling and strided convs match the cpu backend', async () => {
      const rng = new Rng(12);
      const shapes = { w1: [3, 3, 3, 8], w2: [3, 3, 8, 16], w3: [1, 1, 8, 16], w4: [16, 5] } as Record<string, number[]>;
      const values = Object.fromEntries(Object.entries(shapes).map(([k, s]) => [k, randomArray(rng, s.reduce((a, b) => a * b)).map((v) => v * 0.3)]));
      const xv = randomArray(rng, 4 * 12 * 12 * 3);
      const labels = [0, 3, 1, 4];
      const grads = () =>
        tf.tidy(() => {
          const vars = Object.fromEntries(Object.entries(shapes).map(([k, s]) => [k, tf.tensor(values[k], s)])) as Record<string, tf.Tensor>;
          const x = tf.tensor4d(xv, [4, 12, 12, 3]);
          const f = (w1: tf.Tensor, w2: tf.Tensor, w3: tf.Tensor, w4: tf.Tensor) => {
            let h = tf.relu(tf.conv2d(x, w1 as tf.Tensor4D, 1, 'same'));
            h = tf.maxPool(h as tf.Tensor4D, 2, 2, 'valid');
            const mv = tf.moments(h, [0, 1, 2]);
            h = tf.batchNorm(h, mv.mean, mv.variance, tf.zeros([8]), tf.ones([8]), 1e-3) as tf.Tensor4D;
            const main = tf.conv2d(h as tf.Tensor4D, w2 as tf.Tensor4D, 2, 'same');
            const short = tf.conv2d(h as tf.Tensor4D, w3 as tf.Tensor4D, 2, 'same');
            const pooled = tf.mean(tf.relu(tf.add(main, short)), [1, 2]);
            return tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d(labels, 'int32'), 5), tf.matMul(pooled, w4));
          };
          const g = tf.grads(f)([vars.w1, vars.w2, vars.w3, vars.w4]);
          return g.map((t) => t.dataSync() as Float32Array);
        });
      const ref = await onCpu(grads);
      const got = grads();
      ref.forEach((r, i) => {
        assert.ok(maxAbs(r) > 1e-4, `reference gradient ${i} is not trivially zero`);
        assert.ok(maxAbsDiff(got[i], r) < 1e-3 * Math.max(1, maxAbs(r)), `gradient ${i} differs: ${maxAbsDiff(got[i], r)}`);
      });
    });
  });
}
