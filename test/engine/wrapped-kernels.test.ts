/**
 * The kernels we put in front of tfjs-backend-wasm's own (transposed BatchMatMul, per-channel Sum/Mean,
 * broadcast Tile, Identity and same-dtype Cast sharing data) against the cpu backend, including the shapes they
 * hand back to the built-ins.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../../src/engine/seed.js';
import { maxAbs, maxAbsDiff, onCpu, randomArray, useEngine, ENGINES } from './helpers.js';


async function sameOnBoth(label: string, f: () => tf.Tensor, tol = 1e-4): Promise<void> {
  const run = () => tf.tidy(() => f().dataSync() as Float32Array);
  const ref = await onCpu(run);
  const got = run();
  assert.ok(maxAbs(ref) > 0, `${label}: reference is all zeros`);
  assert.ok(maxAbsDiff(got, ref) <= tol * Math.max(1, maxAbs(ref)), `${label}: max diff ${maxAbsDiff(got, ref)}`);
}

for (const engine of ENGINES) {
  describe(engine, () => {
    before(() => useEngine(engine));

    test('Identity and a same-dtype Cast share the data (no copy), stay valid when the source goes, free it last', () => {
      const rng = new Rng(9);
      const v = randomArray(rng, 3 * 4);
      const backend = tf.backend() as unknown as { numDataIds(): number };
      const ids0 = backend.numDataIds();
      const x = tf.tensor(v, [3, 4]);
      const c = tf.clone(x);
      const f = tf.cast(x, 'float32');
      assert.equal(backend.numDataIds(), ids0 + 1, 'the clone and the cast share the source data');
      x.dispose();
      assert.deepEqual(Array.from(c.dataSync()), Array.from(v));
      assert.deepEqual(Array.from(f.dataSync()), Array.from(v));
      c.dispose();
      assert.deepEqual(Array.from(f.dataSync()), Array.from(v));
      f.dispose();
      assert.equal(backend.numDataIds(), ids0, 'the data is freed with its last reference');
      // A real cast still converts (and copies).
      const i = tf.tidy(() => tf.cast(tf.tensor([1.7, -2.2, 3]), 'int32'));
      assert.deepEqual(Array.from(i.dataSync()), [1, -2, 3]);
      i.dispose();
    });

    test('BatchMatMul with transposed operands matches the cpu backend', async () => {
      const rng = new Rng(1);
      const a = randomArray(rng, 2 * 5 * 7);
      const b = randomArray(rng, 2 * 7 * 3);
      for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]]) {
        const aShape = ta ? [2, 7, 5] : [2, 5, 7];
        const bShape = tb ? [2, 3, 7] : [2, 7, 3];
        await sameOnBoth(`matMul ta=${ta} tb=${tb}`, () => tf.matMul(tf.tensor(a, aShape), tf.tensor(b, bShape), ta, tb));
      }
      // Rank 2 with broadcasting batch of one side.
      await sameOnBoth('matMul 2d^T', () => tf.matMul(tf.tensor(a.subarray(0, 35), [7, 5]), tf.tensor(b.subarray(0, 21), [7, 3]), true, false));
    });

    test('Sum and Mean over all but the last axis match the cpu backend; other reductions too', async () => {
      const rng = new Rng(2);
      const x = randomArray(rng, 4 * 5 * 6 * 3);
      const t = () => tf.tensor(x, [4, 5, 6, 3]);
      await sameOnBoth('sum [0,1,2]', () => tf.sum(t(), [0, 1, 2]));
      await sameOnBoth('sum [2,0,1] keepDims', () => tf.sum(t(), [2, 0, 1], true));
      await sameOnBoth('mean [0,1,2]', () => tf.mean(t(), [0, 1, 2]));
      await sameOnBoth('sum 2d axis 0', () => tf.sum(tf.tensor(x, [120, 3]), 0));
      await sameOnBoth('sum [1,2] (built-in)', () => tf.sum(t(), [1, 2]));
      await sameOnBoth('mean all (built-in)', () => tf.reshape(tf.mean(t()), [1]));
      const shapes = tf.tidy(() => [tf.sum(t(), [0, 1, 2], true).shape, tf.mean(t(), [0, 1, 2]).shape]);
      assert.deepEqual(shapes, [[1, 1, 1, 3], [3]]);
    });

    test('Tile matches the cpu backend for broadcasts and real repeats', async () => {
      const rng = new Rng(3);
      const c = randomArray(rng, 6);
      await sameOnBoth('broadcast tile', () => tf.tile(tf.tensor(c, [1, 1, 1, 6]), [2, 3, 4, 1]));
      await sameOnBoth('repeat tile (built-in)', () => tf.tile(tf.tensor(c, [2, 3]), [2, 2]));
    });
  });
}
