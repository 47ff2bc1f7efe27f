/** Masked-spectrogram SSL: the patch masks, the views, and a loss that counts hidden cells only and trains. */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../../src/engine/seed.js';
import { buildEncoder } from '../../src/models/architecture.js';
import { createSSLMethod, createSSLViews, SSL_METHODS } from '../../src/ssl/registry.js';
import { spectrogramPatchMask } from '../../src/ssl/masked-spectrogram.js';
import { useWasm } from './helpers.js';

before(useWasm);

const shape: [number, number, number] = [24, 1, 8];

test('masks hide exactly round(ratio × cells) whole rectangles per clip', () => {
  // 24 frames / 10 → 3 rows (the last 4 frames), 8 bins / 4 → 2 columns: 6 cells, half of them hidden.
  const m = spectrogramPatchMask(5, 24, 8, 10, 4, 0.5, new Rng(1));
  for (let s = 0; s < 5; s++) {
    const clip = m.subarray(s * 24 * 8, (s + 1) * 24 * 8);
    let cells = 0;
    for (const [t0, t1] of [[0, 10], [10, 20], [20, 24]]) {
      for (const b0 of [0, 4]) {
        const vals: number[] = [];
        for (let t = t0; t < t1; t++) for (let b = b0; b < b0 + 4; b++) vals.push(clip[t * 8 + b]);
        assert.ok(vals.every((v) => v === vals[0]), 'a rectangle is hidden whole or not at all');
        cells += vals[0];
      }
    }
    assert.equal(cells, 3);
  }
  assert.throws(() => spectrogramPatchMask(1, 24, 8, 0, 4, 0.5, new Rng(1)), /positive integers/);
});

test('registered; its views are [masked, target, mask]; the loss trains down and ignores visible cells', () => {
  assert.ok(SSL_METHODS.includes('masked-spectrogram'));
  const encoder = buildEncoder({ family: 'tcresnet', modality: 'audio', inputShape: shape, widths: [8, 8], stemWidth: 8 }, 3);
  const method = createSSLMethod('masked-spectrogram', { encoder, inputShape: shape, seed: 1, lr: 3e-3, decoderUnits: 32 });
  const views = createSSLViews('masked-spectrogram', { inputShape: shape } as never);
  const r = new Rng(2);
  const x = tf.tensor4d(Float32Array.from({ length: 16 * 24 * 8 }, (_, i) => Math.sin(i / 7) + 0.1 * r.normal()), [16, ...shape]);
  const [masked, target, mask] = views(x, new Rng(3));
  assert.deepEqual(masked.shape, [16, ...shape]);
  assert.deepEqual(mask.shape, [16, ...shape]);
  const mv = masked.dataSync();
  const tv = target.dataSync();
  const kv = mask.dataSync();
  for (let i = 0; i < mv.length; i++) assert.ok(mv[i] === (kv[i] ? 0 : tv[i]), `cell ${i}`); // -0 === 0: a hidden negative cell times 0
  // Changing visible cells of the target leaves the loss as it is (only hidden cells count).
  const l0 = tf.tidy(() => method.loss([masked, target, mask]).dataSync()[0]);
  const shifted = tf.tidy(() => tf.add(target, tf.mul(tf.sub(1, mask), 5)));
  const l1 = tf.tidy(() => method.loss([masked, shifted, mask]).dataSync()[0]);
  assert.ok(Math.abs(l0 - l1) < 1e-5 * Math.max(1, l0), `${l0} vs ${l1}`);
  const first = method.trainStep([masked, target, mask]);
  let last = first;
  for (let i = 0; i < 30; i++) last = method.trainStep([masked, target, mask]);
  assert.ok(Number.isFinite(first) && last < first * 0.8, `loss ${first} → ${last}`);
  for (const t of [x, masked, target, mask, shifted]) t.dispose();
  method.dispose();
  encoder.dispose();
});
