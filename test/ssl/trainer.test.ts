/**
 * trainSSL, the one self-supervised loop: on tiny data it gives, step for step, the losses of the loops it
 * replaced (the image pipeline's and SCARF's, numbers printed by those loops at commit 04361c3 with the same
 * seeds), calls the method's epoch hooks around each pass, stops at the step cap or the budget (a fake clock:
 * no wall time), checkpoints on schedule, resumes from a step, and leaks no tensors. One wasm thread, so every
 * number is exact run to run.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/backend.js';
import { Rng } from '../../src/engine/seed.js';
import { mlpEncoder } from '../../src/models/mlp.js';
import type { SSLMethod } from '../../src/ssl/method.js';
import { createSSLMethod, createSSLViews, createTabularSSLMethod, createTabularSSLViews, type SSLMethodName } from '../../src/ssl/registry.js';
import { trainSSL, type SSLCheckpoint } from '../../src/ssl/trainer.js';
import { Budget } from '../../src/util/budget.js';
import { barsData, noiseAugment, tinyEncoder } from './helpers.js';

before(async () => {
  await initBackend('wasm', { threads: 1 });
});

const close = (got: number[], want: number[], what: string) => {
  assert.equal(got.length, want.length, `${what}: ${got.length} losses`);
  got.forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-5, `${what} step ${i}: ${v} vs ${want[i]}`));
};

/** Records each loss and the hooks' calls, in order. */
function recording(method: SSLMethod): { losses: number[]; events: string[] } {
  const log = { losses: [] as number[], events: [] as string[] };
  const step = method.trainStep.bind(method);
  method.trainStep = (views) => {
    const l = step(views);
    log.losses.push(l);
    return l;
  };
  method.onEpochStart = (e) => log.events.push(`start ${e}`);
  method.onEpochEnd = (e, mean) => log.events.push(`end ${e} ${mean.toFixed(4)}`);
  return log;
}

const imageConfig = { inputShape: [8, 8, 1] as [number, number, number], augment: noiseAugment, seed: 3, lr: 3e-3, projHidden: 32, projOut: 16, decoderChannels: 8 };

const OLD_IMAGE_LOSSES: Record<string, number[]> = {
  simclr: [2.6554794311523438, 2.37526273727417, 2.3932080268859863, 2.5067834854125977, 2.3396644592285156],
  'masked-pixels': [0.17803683876991272, 0.15782921016216278, 0.1449495255947113, 0.16896197199821472, 0.14861664175987244],
};

for (const name of ['simclr', 'masked-pixels'] as SSLMethodName[]) {
  test(`${name}: the pipeline's old loop's losses, step for step; hooks around each pass of 2 batches`, async () => {
    const data = barsData(80, 1);
    const encoder = tinyEncoder(2);
    const cfg = { ...imageConfig, encoder };
    const method = createSSLMethod(name, cfg);
    const rec = recording(method);
    const r = await trainSSL({ method, views: createSSLViews(name, cfg), x: data.x, batchSize: 32, epochs: 100, maxSteps: 5, rng: new Rng(7).fork('pretrain-0') });
    close(rec.losses, OLD_IMAGE_LOSSES[name], name);
    // 80 samples, batch 32: 2 steps a pass (the last 16 dropped).
    const mean = (a: number[]) => (a.reduce((s, v) => s + v, 0) / a.length).toFixed(4);
    const l = rec.losses;
    assert.deepEqual(rec.events, ['start 0', `end 0 ${mean(l.slice(0, 2))}`, 'start 1', `end 1 ${mean(l.slice(2, 4))}`, 'start 2']);
    assert.deepEqual({ steps: r.steps, target: r.targetSteps, budget: r.stoppedByBudget, epochs: r.epochLosses.length }, { steps: 5, target: 5, budget: false, epochs: 2 });
    method.dispose();
    encoder.dispose();
  });
}

test("scarf: the tabular pipeline's old loop's losses, step for step, through the same trainer", async () => {
  const rng0 = new Rng(1);
  const dim = 6;
  const n = 40;
  const x = Float32Array.from({ length: n * dim }, () => rng0.normal());
  const encoder = mlpEncoder({ inputDim: dim, widths: [16], seed: 2 });
  const method = createTabularSSLMethod('scarf', { encoder, inputDim: dim, temperature: 0.5, lr: 3e-3, projHidden: 16, projOut: 8, seed: 2 });
  const rec = recording(method);
  const views = createTabularSSLViews('scarf', { pool: x, inputDim: dim, groups: [0, 1, 4], corruptionRate: 0.5 });
  const r = await trainSSL({ method, views, x, batchSize: 16, epochs: 3, rng: new Rng(2).fork('scarf') });
  close(rec.losses, [2.95088267326355, 3.2923126220703125, 3.229128360748291, 3.22336483001709, 2.912706136703491, 2.9736032485961914], 'scarf');
  assert.equal(r.epochLosses.length, 3);
  assert.ok(Math.abs(r.epochLosses[2] - (rec.losses[4] + rec.losses[5]) / 2) < 1e-9);
  method.dispose();
  encoder.dispose();
});

test('the budget stops the run after the step that exhausts it; checkpoints every k steps and once at the end; no tensors leak', async () => {
  const data = barsData(64, 2);
  const encoder = tinyEncoder(3);
  const cfg = { ...imageConfig, encoder };
  const method = createSSLMethod('vicreg', cfg);
  let now = 0;
  const budget = new Budget(70, () => now);
  const views = createSSLViews('vicreg', cfg);
  // Every step "takes" 10 ms of the fake clock.
  const timed = (b: tf.Tensor, r: Rng) => ((now += 10), views(b, r));
  const seen: SSLCheckpoint[] = [];
  let tensors = -1;
  const r = await trainSSL({
    method,
    views: timed,
    x: data.x,
    batchSize: 16,
    epochs: 1000,
    budget,
    rng: new Rng(4),
    every: 3,
    monitor: { evaluate: () => ({ accuracy: 0.5, featureStd: 0.1, normalizedStd: 0.4, collapsed: false, dim: 16, k: 5 }) },
    onCheckpoint: (c) => {
      seen.push(c);
      // Adam's moments exist after the first step; from the first checkpoint on the count must not move.
      if (tensors < 0) tensors = tf.memory().numTensors;
      else assert.equal(tf.memory().numTensors, tensors, `tensors at step ${c.step}`);
    },
  });
  assert.equal(r.steps, 7);
  assert.equal(r.stoppedByBudget, true);
  assert.deepEqual(seen.map((c) => c.step), [3, 6, 7]);
  assert.deepEqual(seen.map((c) => c.epoch), [0.75, 1.5, 1.75]);
  assert.ok(seen.every((c) => c.knn?.accuracy === 0.5 && Number.isFinite(c.meanLoss)));
  method.dispose();
  encoder.dispose();
});

test('a resumed run counts on from startStep toward the same cap and names its epochs from there', async () => {
  const data = barsData(64, 3);
  const encoder = tinyEncoder(4);
  const cfg = { ...imageConfig, encoder };
  const method = createSSLMethod('simclr', cfg);
  const rec = recording(method);
  const r = await trainSSL({ method, views: createSSLViews('simclr', cfg), x: data.x, batchSize: 32, epochs: 3, startStep: 4, rng: new Rng(5) });
  assert.equal(rec.losses.length, 2);
  assert.equal(r.steps, 6);
  assert.deepEqual(rec.events.map((e) => e.split(' ').slice(0, 2).join(' ')), ['start 2', 'end 2']);
  // Nothing left to do: no step, and no checkpoint a resumed run already has.
  let calls = 0;
  const done = await trainSSL({ method, views: createSSLViews('simclr', cfg), x: data.x, batchSize: 32, epochs: 3, startStep: 6, rng: new Rng(5), onCheckpoint: () => void calls++ });
  assert.deepEqual({ steps: done.steps, calls }, { steps: 6, calls: 0 });
  method.dispose();
  encoder.dispose();
});
