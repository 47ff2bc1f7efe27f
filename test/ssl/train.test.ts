/**
 * Short training runs on the wasm backend: on 8x8 horizontal-vs-vertical bars with a tiny conv encoder, each
 * method's loss falls over 30 steps and no tensors leak across steps. Methods come from the registry with one
 * shared config, so the loop over names is also the "swap SimCLR for VICReg is one word" check.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../../src/engine/seed.js';
import { KnnMonitor } from '../../src/ssl/knn-monitor.js';
import { createSSLMethod, createSSLViews, type SSLMethodName } from '../../src/ssl/registry.js';
import { barsData, noiseAugment, tinyEncoder, useWasm } from './helpers.js';

before(useWasm);

const STEPS = 30;
const BATCH = 32;
const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;

const config = { inputShape: [8, 8, 1] as [number, number, number], augment: noiseAugment, seed: 3, lr: 3e-3, projHidden: 32, projOut: 16, decoderChannels: 8 };

for (const name of ['simclr', 'vicreg', 'barlow-twins', 'masked-pixels'] as SSLMethodName[]) {
  test(`${name}: loss falls over ${STEPS} steps, no tensors leak`, () => {
    const data = barsData(256, 1);
    const encoder = tinyEncoder(2);
    const method = createSSLMethod(name, { ...config, encoder });
    const views = createSSLViews(name, config);
    const rng = new Rng(5);
    const before = encoder.getWeights()[0].dataSync().slice();
    const losses: number[] = [];
    let tensorsAfterWarmup = -1;
    for (let step = 0; step < STEPS; step++) {
      const start = ((step * BATCH) % 256) * 64;
      const batch = tf.tensor4d(data.x.subarray(start, start + BATCH * 64), [BATCH, 8, 8, 1]);
      const v = views(batch, rng);
      losses.push(method.trainStep(v));
      tf.dispose([batch, ...v]);
      // Adam's moment variables appear on the first step; from then on the count must not move.
      if (step === 1) tensorsAfterWarmup = tf.memory().numTensors;
      if (step > 1) assert.equal(tf.memory().numTensors, tensorsAfterWarmup, `tensors grew at step ${step}`);
    }
    const first = mean(losses.slice(0, 5));
    const last = mean(losses.slice(-5));
    assert.ok(last < first, `${name}: first-5 mean ${first.toFixed(4)}, last-5 mean ${last.toFixed(4)}`);
    // The encoder itself was trained (not only the head).
    assert.notDeepEqual(Array.from(encoder.getWeights()[0].dataSync()), Array.from(before));
    method.dispose();
    encoder.dispose();
  });
}

// Bars are separable by a random conv encoder already, so this checks the monitor on a trained encoder (no
// collapse, classes still apart), not that pretraining improved kNN accuracy.
test('kNN monitor on a SimCLR-trained encoder: not collapsed, bars still separated', () => {
  const data = barsData(256, 1);
  const encoder = tinyEncoder(2);
  const method = createSSLMethod('simclr', { ...config, encoder });
  const views = createSSLViews('simclr', config);
  const rng = new Rng(6);
  for (let step = 0; step < STEPS; step++) {
    const start = ((step * BATCH) % 256) * 64;
    const batch = tf.tensor4d(data.x.subarray(start, start + BATCH * 64), [BATCH, 8, 8, 1]);
    const v = views(batch, rng);
    method.trainStep(v);
    tf.dispose([batch, ...v]);
  }
  const held = barsData(64, 2);
  const mon = new KnnMonitor({ x: data.x, y: data.y }, held, [8, 8, 1]);
  const r = mon.evaluate(encoder);
  assert.equal(r.collapsed, false);
  assert.ok(r.accuracy > 0.8, `kNN accuracy ${r.accuracy}`);
  mon.dispose();
  method.dispose();
  encoder.dispose();
});
