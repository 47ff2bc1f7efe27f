import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/backend.js';
import { Rng } from '../../src/engine/seed.js';
import { mlpEncoder } from '../../src/models/mlp.js';
import { createTabularSSLMethod, createTabularSSLViews } from '../../src/ssl/registry.js';
import { Scarf, scarfViews } from '../../src/ssl/scarf.js';

before(async () => {
  await initBackend('wasm', { threads: 2 });
});

test('corruption replaces whole column blocks from one donor row, at the configured rate', () => {
  const dim = 6;
  // Columns: [0], [1, 2, 3] (a one-hot block), [4, 5] (a number and its missing indicator).
  const groups = [0, 1, 4];
  const n = 50;
  // Pool rows carry their row number in every feature (+ a block offset), so a copied block names its donor.
  const pool = Float32Array.from({ length: n * dim }, (_, i) => 1000 + Math.floor(i / dim) + 0.01 * (i % dim));
  const m = 400;
  const batch = Float32Array.from({ length: m * dim }, (_, i) => -(i % dim) - 1);
  const views = scarfViews({ pool, inputDim: dim, groups, corruptionRate: 0.6 });
  const b = tf.tensor2d(batch, [m, dim]);
  const [same, corrupted] = views(b, new Rng(3));
  assert.deepEqual(Array.from(same.dataSync()), Array.from(batch));
  const out = corrupted.dataSync();
  tf.dispose([b, same, corrupted]);
  let replaced = 0;
  for (let r = 0; r < m; r++) {
    groups.forEach((start, g) => {
      const end = g + 1 < groups.length ? groups[g + 1] : dim;
      const block = Array.from(out.subarray(r * dim + start, r * dim + end));
      const original = Array.from(batch.subarray(r * dim + start, r * dim + end));
      if (block.every((v, k) => v === original[k])) return;
      replaced++;
      const donor = Math.round(block[0] - 1000 - 0.01 * start);
      assert.ok(donor >= 0 && donor < n, `donor ${donor}`);
      assert.deepEqual(block, Array.from(pool.subarray(donor * dim + start, donor * dim + end)), `row ${r} block ${g} is one donor's block`);
    });
  }
  // 1200 Bernoulli(0.6) draws: mean 720, sd ~17; a 5-sd window.
  assert.ok(replaced > 720 - 85 && replaced < 720 + 85, `replaced ${replaced} of 1200 blocks`);
  assert.throws(() => scarfViews({ pool, inputDim: dim, groups: [0, 4, 1] }), /groups must be ascending/);
  assert.throws(() => scarfViews({ pool, inputDim: dim, corruptionRate: 1 }), /corruptionRate must be in \(0, 1\)/);
});

test('SCARF training lowers its loss on clustered rows and leaks no tensors', () => {
  const rng = new Rng(1);
  const dim = 8;
  const n = 128;
  // Four clusters: SCARF's positives (a row and its corruption) are easier to tell from other rows' than chance.
  const centers = Array.from({ length: 4 }, () => Array.from({ length: dim }, () => rng.normal() * 3));
  const x = Float32Array.from({ length: n * dim }, (_, i) => centers[Math.floor(i / dim) % 4][i % dim] + rng.normal() * 0.3);
  const encoder = mlpEncoder({ inputDim: dim, widths: [32, 32], seed: 2 });
  const scarf = createTabularSSLMethod('scarf', { encoder, inputDim: dim, temperature: 0.5, lr: 3e-3, projHidden: 32, projOut: 16, seed: 2 });
  const views = createTabularSSLViews('scarf', { pool: x, inputDim: dim, corruptionRate: 0.3 });
  const all = tf.tensor2d(x, [n, dim]);
  const evalLoss = () => {
    // Same corruption draw each time, so the two numbers compare the model, not the noise.
    const v = views(all, new Rng(99));
    const l = tf.tidy(() => scarf.loss(v).dataSync()[0]);
    tf.dispose(v);
    return l;
  };
  const before0 = evalLoss();
  const trainRng = new Rng(5);
  const batch = tf.tensor2d(x.subarray(0, 64 * dim), [64, dim]);
  const step = () => {
    const v = views(batch, trainRng);
    scarf.trainStep(v);
    tf.dispose(v);
  };
  // The first step creates Adam's moment variables; count tensors after it.
  step();
  const tensors = tf.memory().numTensors;
  for (let s = 0; s < 59; s++) step();
  assert.equal(tf.memory().numTensors, tensors, 'trainStep leaves no tensors behind');
  const after = evalLoss();
  tf.dispose([all, batch]);
  assert.ok(after < before0 - 0.2, `loss ${before0.toFixed(3)} → ${after.toFixed(3)}`);
  assert.throws(
    () => createTabularSSLMethod('vime', { encoder, inputDim: dim }),
    (e: Error & { hint?: string }) => /unknown self-supervised method for tables 'vime'/.test(e.message) && /scarf/.test(e.hint ?? ''),
  );
  assert.throws(() => new Scarf({ encoder, inputDim: dim + 1 }), /takes \[8\] but the samples are \[9\]/);
  scarf.dispose();
  encoder.dispose();
});
