/** The self-training selection, checked by hand on a small table of probabilities. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UlearnError } from '../../src/errors.js';
import { choosePseudoLabels } from '../../src/semi/self-training.js';

test('confident rows only, at most perClass per predicted class, the most confident first, labeled rows never candidates', () => {
  // 7 rows x 2 classes. Row 0 is labeled (not a candidate) although it is the most confident.
  const probs = Float32Array.from([
    0.99, 0.01, // 0
    0.95, 0.05, // 1: class 0
    0.97, 0.03, // 2: class 0, more confident than 1
    0.6, 0.4, //   3: not confident
    0.1, 0.9, //   4: class 1
    0.08, 0.92, // 5: class 1
    0.91, 0.09, // 6: class 0, least confident of the three
  ]);
  const r = choosePseudoLabels(probs, 2, [1, 2, 3, 4, 5, 6], 0.85, 2);
  // class 0 candidates 2 (0.97), 1 (0.95), 6 (0.91): the cap of 2 keeps 2 and 1; class 1 keeps 5 and 4.
  assert.deepEqual(Array.from(r.indices), [1, 2, 4, 5]);
  assert.deepEqual(Array.from(r.labels), [0, 0, 1, 1]);
  // A stricter threshold leaves only the rows above 0.94 (0.95 and 0.97; thresholds stay off float32 values).
  assert.deepEqual(Array.from(choosePseudoLabels(probs, 2, [1, 2, 3, 4, 5, 6], 0.94, 5).indices), [1, 2]);
  assert.equal(choosePseudoLabels(probs, 2, [1, 2], 0.9, 0).indices.length, 0);
});

test('a threshold outside (0, 1] or a negative cap is refused', () => {
  const p = Float32Array.from([0.5, 0.5]);
  for (const t of [0, -0.1, 1.5, NaN]) assert.throws(() => choosePseudoLabels(p, 2, [0], t, 1), (e: unknown) => e instanceof UlearnError && /threshold must be in \(0, 1\]/.test(e.message));
  assert.throws(() => choosePseudoLabels(p, 2, [0], 0.9, -1), /perClass must be a non-negative integer/);
});
