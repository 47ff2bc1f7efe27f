/** fitClassifier obeys its budget within one step, not one epoch (an epoch over 60k labels takes minutes). */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { fitClassifier } from '../../src/train/fit-classifier.js';
import { Budget } from '../../src/util/budget.js';
import { useWasm } from '../ssl/helpers.js';

before(useWasm);

test('a budget that runs out mid-epoch stops training after that step', () => {
  let now = 0;
  const budget = new Budget(10, () => now);
  let steps = 0;
  // Every training step passes through augment once; each "takes" 4 ms of the fake clock.
  const augment = { apply: (b: tf.Tensor4D) => (steps++, (now += 4), tf.clone(b)) };
  const encoder = tfl.sequential({ layers: [tfl.layers.flatten({ inputShape: [2, 2, 1] })] });
  const head = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [4], units: 2 })] });
  const n = 20;
  const x = Float32Array.from({ length: n * 4 }, (_, i) => (i % 7) / 7);
  const y = Int32Array.from({ length: n }, (_, i) => i % 2);
  const res = fitClassifier({ encoder, head, x, inputShape: [2, 2, 1], y, indices: Int32Array.from({ length: n }, (_, i) => i), nClasses: 2, epochs: 5, batchSize: 2, augment, budget });
  // 10 steps an epoch; the budget (10 ms) is gone after the 3rd step (12 ms).
  assert.equal(steps, 3);
  assert.equal(res.stoppedByBudget, true);
  assert.equal(res.epochs, 1);
  encoder.dispose();
  head.dispose();
});
