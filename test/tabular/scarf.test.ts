import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/backend.js';
import { Rng } from '../../src/engine/seed.js';
import { mlpEncoder } from '../../src/models/mlp.js';
import { createTabularSSLMethod } from '../../src/ssl/registry.js';
import { Scarf } from '../../src/ssl/scarf.js';

before(async () => {
  await initBackend('wasm', { threads: 2 });
});

test('corruption replaces whole column blocks from one donor row, at the configured rate', () => {
  const dim = 6;
  // Columns: [0], [1, 2, 3] (a one-hot block), [4, 5] (a number and its missing indicator).
  const groups = [0, 1, 4];
  const encoder = mlpEncoder({ inputDim: dim, widths: [8] });
  const scarf = new Scarf({ encoder, inputDim: dim, groups, corruptionRate: 0.6 });
  const n = 50;
  // Pool rows carry their row number in every feature (+ a block offset), so a copied block names its donor.
  const pool = Float32Array.from({ length: n * dim }, (_, i) => 1000 + Math.floor(i / dim) + 0.01 * (i % dim));
  const m = 400;
  const batch = Float32Array.from({ length: m * dim }, (_, i) => -(i % dim) - 1);
  const out = scarf.corrupt(batch, pool, new Rng(3));
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
  scarf.dispose();
  encoder.dispose();
});

test('SCARF training lowers its loss on clustered rows and leaks no tensors', () => {
  const rng = new Rng(1);
  const dim = 8;
  const n = 128;
  // Four clusters: SCARF's positives (a row and its corruption) are easier to tell from other rows' than chance.
  const centers = Array.from({ length: 4 }, () => Array.from({ length: dim }, () => rng.normal() * 3));
  const x = Float32Array.from({ length: n * dim }, (_, i) => centers[Math.floor(i / dim) % 4][i % dim] + rng.normal() * 0.3);
  const encoder = mlpEncoder({ inputDim: dim, widths: [32, 32], seed: 2 });
  const scarf = createTabularSSLMethod('scarf', { encoder, inputDim: dim, corruptionRate: 0.3, temperature: 0.5, lr: 3e-3, projHidden: 32, projOut: 16, seed: 2 });
  const evalLoss = () => {
    // Same corruption draw each time, so the two numbers compare the model, not the noise.
    const c = scarf.corrupt(x, x, new Rng(99));
    return tf.tidy(() => scarf.loss(tf.tensor2d(x, [n, dim]), tf.tensor2d(c, [n, dim])).dataSync()[0]);
  };
  const before0 = evalLoss();
  const trainRng = new Rng(5);
  // The first step creates Adam's moment variables; count tensors after it.
  scarf.trainStep(x.subarray(0, 64 * dim), x, trainRng);
  const tensors = tf.memory().numTensors;
  for (let s = 0; s < 59; s++) scarf.trainStep(x.subarray(0, 64 * dim), x, trainRng);
  assert.equal(tf.memory().numTensors, tensors, 'trainStep leaves no tensors behind');
  const after = evalLoss();
  assert.ok(after < before0 - 0.2, `loss ${before0.toFixed(3)} → ${after.toFixed(3)}`);
  assert.throws(
    () => createTabularSSLMethod('vime', { encoder, inputDim: dim }),
    (e: Error & { hint?: string }) => /unknown self-supervised method for tables 'vime'/.test(e.message) && /scarf/.test(e.hint ?? ''),
  );
  assert.throws(() => new Scarf({ encoder, inputDim: dim + 1 }), /rows have 9 features/);
  scarf.dispose();
  encoder.dispose();
});
