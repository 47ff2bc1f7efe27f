import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UlearnError } from '../../src/errors.js';
import { accuracy, argmaxRows, confusionMatrix, meanStd, perClassAccuracy } from '../../src/eval/metrics.js';

// Hand-worked example: sample 4 is unlabeled (-1) and its out-of-range prediction 7 must simply be skipped.
//   i:     0  1  2  3  4  5  6
const yTrue = Int32Array.from([0, 1, 2, 2, -1, 1, 0]);
const yPred = Int32Array.from([0, 2, 2, 1, 7, 1, 1]);

test('accuracy counts only labeled samples', () => {
  // Labeled: 0,1,2,3,5,6; correct: 0,2,5 → 3/6.
  assert.equal(accuracy(yTrue, yPred), 0.5);
  assert.equal(accuracy(Int32Array.from([1, 1, 0]), Int32Array.from([1, 1, 0])), 1);
});

test('accuracy rejects mismatched lengths and all-unlabeled input', () => {
  assert.throws(() => accuracy(Int32Array.from([0, 1]), Int32Array.from([0])), UlearnError);
  assert.throws(() => accuracy(Int32Array.from([-1, -1]), Int32Array.from([0, 1])), /zero labeled samples/);
});

test('confusionMatrix: rows are true classes, columns predictions, unlabeled skipped', () => {
  assert.deepEqual(confusionMatrix(yTrue, yPred, 4), [
    [1, 1, 0, 0], // true 0: i0 → 0, i6 → 1
    [0, 1, 1, 0], // true 1: i1 → 2, i5 → 1
    [0, 1, 1, 0], // true 2: i2 → 2, i3 → 1
    [0, 0, 0, 0], // class 3 never occurs
  ]);
});

test('confusionMatrix rejects labels or predictions outside the classes', () => {
  assert.throws(() => confusionMatrix(Int32Array.from([0, 3]), Int32Array.from([0, 0]), 3), /label 3/);
  assert.throws(() => confusionMatrix(Int32Array.from([0, 1]), Int32Array.from([0, -1]), 3), /prediction -1/);
  assert.throws(() => confusionMatrix(Int32Array.from([0]), Int32Array.from([0]), 0), /positive integer/);
});

test('perClassAccuracy is recall per class, null for a class with no samples', () => {
  assert.deepEqual(perClassAccuracy(yTrue, yPred, 4), [0.5, 0.5, 0.5, null]);
  assert.deepEqual(perClassAccuracy(Int32Array.from([0, 0, 0, 1]), Int32Array.from([0, 0, 1, 1]), 2), [2 / 3, 1]);
  // NaN-free even when nothing at all is labeled.
  assert.deepEqual(perClassAccuracy(Int32Array.from([-1]), Int32Array.from([0]), 2), [null, null]);
});

test('argmaxRows: first index wins ties, NaN never wins', () => {
  const probs = Float32Array.from([0.1, 0.7, 0.2, 0.5, 0.5, 0, NaN, 0.2, 0.1, -1, -2, -0.5]);
  assert.deepEqual([...argmaxRows(probs, 3)], [1, 0, 1, 2]);
  assert.deepEqual([...argmaxRows(new Float32Array(0), 3)], []);
  assert.throws(() => argmaxRows(new Float32Array(5), 3), /rows of 3/);
});

test('meanStd uses the sample (n-1) standard deviation', () => {
  const { mean, std } = meanStd([1, 2, 3, 4]);
  assert.equal(mean, 2.5);
  // Squared deviations 2.25 + 0.25 + 0.25 + 2.25 = 5, over n-1 = 3.
  assert.ok(Math.abs(std - Math.sqrt(5 / 3)) < 1e-12);
  assert.deepEqual(meanStd([0.8]), { mean: 0.8, std: 0 });
  assert.deepEqual(meanStd([2, 2]), { mean: 2, std: 0 });
  assert.throws(() => meanStd([]), UlearnError);
});
