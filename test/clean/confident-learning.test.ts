/** Confident learning on a hand-worked example. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { confidentLearning } from '../../src/clean/confident-learning.js';

test('thresholds are per-class mean self-confidence; off-diagonal confident entries are issues', () => {
  // 2 classes. Labeled 0: p0 = 0.9, 0.8, 0.2 -> t0 = (0.9 + 0.8 + 0.2) / 3 = 0.6333
  // Labeled 1: p1 = 0.7, 0.5, 0.9  -> t1 = 0.7
  const probs = Float32Array.from([0.9, 0.1, 0.8, 0.2, 0.2, 0.8, 0.3, 0.7, 0.5, 0.5, 0.1, 0.9, 0.5, 0.5]);
  const labels = Int32Array.from([0, 0, 0, 1, 1, 1, -1]);
  const r = confidentLearning(probs, labels, 2);
  assert.ok(Math.abs(r.thresholds[0] - 1.9 / 3) < 1e-6);
  assert.ok(Math.abs(r.thresholds[1] - 0.7) < 1e-6);
  // Sample 2 (labeled 0, p1 = 0.8 >= 0.7): confidently class 1 -> issue.
  // Sample 4 (labeled 1, p = 0.5/0.5): reaches neither threshold -> not counted, not an issue.
  assert.deepEqual(Array.from(r.issues), [0, 0, 1, 0, 0, 0, 0]);
  assert.deepEqual(Array.from(r.suggested), [0, 0, 1, 1, -1, 1, -1]);
  assert.deepEqual(r.joint, [
    [2, 1],
    [0, 2],
  ]);
  assert.ok(Number.isNaN(r.selfConfidence[6]));
  assert.ok(Math.abs(r.selfConfidence[2] - 0.2) < 1e-6);
});
