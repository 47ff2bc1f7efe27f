/** The light models: label propagation against a dense direct solve, the linear model on separable data. */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { UlearnError } from '../../src/errors.js';
import { buildLightGraph, trainLightModel } from '../../src/active/light-model.js';
import { useWasm } from '../ssl/helpers.js';
import { denseReference } from '../semi/dense-reference.js';
import { blobs } from './helpers.js';

before(useWasm);

/** The dense closed form as probabilities: rows of max(0, F*) normalised to sum 1 (uniform where all zero). */
function referencePropagation(x: Float32Array, dim: number, labels: Int32Array, C: number, k: number, alpha: number): number[][] {
  return denseReference(x, dim, labels, C, k, alpha, 3).map((row) => {
    const F = row.map((v) => Math.max(0, v));
    const s = F.reduce((a, b) => a + b, 0);
    return F.map((v) => (s > 0 ? v / s : 1 / C));
  });
}

describe('label propagation', () => {
  const data = blobs([[4, 0, 1], [0, 4, 1], [-3, -3, 1]], 12, 0.8, 9);
  const labels = new Int32Array(36).fill(-1);
  labels[0] = 0;
  labels[1] = 0;
  labels[12] = 1;
  labels[24] = 2;

  test('probabilities equal the dense closed-form solution', () => {
    const m = trainLightModel({ embeddings: data.x, dim: 3, labels, numClasses: 3, kind: 'label-propagation', seed: 0, neighbors: 5, iterations: 100 });
    const ref = referencePropagation(data.x, 3, labels, 3, 5, 0.99);
    for (let i = 0; i < 36; i++) for (let c = 0; c < 3; c++) assert.ok(Math.abs(m.probs[i * 3 + c] - ref[i][c]) < 1e-4, `row ${i} class ${c}: ${m.probs[i * 3 + c]} vs ${ref[i][c]}`);
  });

  test('a prebuilt graph gives the same model, and accuracyOn counts matches', () => {
    const graph = buildLightGraph(data.x, 3, 5);
    const a = trainLightModel({ embeddings: data.x, dim: 3, labels, numClasses: 3, kind: 'label-propagation', seed: 0, neighbors: 5 });
    const b = trainLightModel({ embeddings: data.x, dim: 3, labels, numClasses: 3, kind: 'label-propagation', seed: 0, graph });
    assert.deepEqual(a.probs, b.probs);
    // Well-separated blobs: every row gets its blob's class.
    assert.deepEqual(Array.from(a.predictions), Array.from(data.blob));
    assert.equal(a.accuracyOn([0, 13, 30, 31], [0, 1, 2, 0]), 3 / 4);
  });
});

describe('linear', () => {
  const data = blobs([[3, 0], [0, 3], [-3, -3]], 40, 0.7, 2);
  const labels = new Int32Array(120).fill(-1);
  for (const i of [0, 40, 80, 81]) labels[i] = data.blob[i];

  test('classifies separable blobs from one or two labels each, probabilities summing to 1', () => {
    const m = trainLightModel({ embeddings: data.x, dim: 2, labels, numClasses: 3, kind: 'linear', seed: 0 });
    const all = Array.from({ length: 120 }, (_, i) => i);
    assert.equal(m.accuracyOn(all, data.blob), 1);
    for (let i = 0; i < 120; i++) {
      const s = m.probs[i * 3] + m.probs[i * 3 + 1] + m.probs[i * 3 + 2];
      assert.ok(Math.abs(s - 1) < 1e-5);
    }
    // Points deep inside a blob are more certain than ones between blobs.
    const mid = trainLightModel({ embeddings: Float32Array.from([...data.x, 1.5, 1.5, 6, 0]), dim: 2, labels: Int32Array.from([...labels, -1, -1]), numClasses: 3, kind: 'linear', seed: 0 });
    assert.ok(mid.probs[121 * 3] > mid.probs[120 * 3] && mid.probs[121 * 3] > 0.9);
  });

  test('deterministic: the seed does not change a convex fit started from zero', () => {
    const a = trainLightModel({ embeddings: data.x, dim: 2, labels, numClasses: 3, kind: 'linear', seed: 0 });
    const b = trainLightModel({ embeddings: data.x, dim: 2, labels, numClasses: 3, kind: 'linear', seed: 5 });
    assert.deepEqual(a.probs, b.probs);
  });
});

describe('bad input', () => {
  const x = new Float32Array(8);
  const base = { embeddings: x, dim: 2, numClasses: 2, seed: 0 } as const;
  test('says what is wrong', () => {
    const isErr = (re: RegExp) => (e: unknown) => e instanceof UlearnError && re.test(e.message);
    assert.throws(() => trainLightModel({ ...base, labels: Int32Array.from([-1, -1, -1, -1]), kind: 'linear' }), isErr(/no labeled rows/));
    assert.throws(() => trainLightModel({ ...base, labels: Int32Array.from([0, -1, -1]), kind: 'linear' }), isErr(/4 embedding rows but 3 labels/));
    assert.throws(() => trainLightModel({ ...base, labels: Int32Array.from([0, 2, -1, -1]), kind: 'linear' }), isErr(/label of row 1 is 2/));
    assert.throws(() => trainLightModel({ ...base, labels: Int32Array.from([0, 1, -1, -1]), kind: 'svm' as 'linear' }), isErr(/unknown kind 'svm'/));
    const m = trainLightModel({ ...base, embeddings: Float32Array.from([1, 0, 0, 1, 1, 0.1, 0.1, 1]), labels: Int32Array.from([0, 1, -1, -1]), kind: 'linear' });
    assert.throws(() => m.accuracyOn([0, 9], [0, 0]), isErr(/index 9 \(position 1\)/));
    assert.throws(() => m.accuracyOn([0], [0, 1]), isErr(/1 indices but 2 true labels/));
  });
});
