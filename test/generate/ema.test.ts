/**
 * The weight EMA against float64 sums by hand: the warm-up decay, the average after each update, the swap, and
 * the trainer's use of it (the model and the checkpoint after training hold the average of the steps' weights).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../../src/engine/index.js';
import { WeightEma } from '../../src/generate/ema.js';
import { Diffusion, DEFAULT_DIFFUSION } from '../../src/generate/diffusion.js';
import { trainGenerator } from '../../src/generate/trainer.js';
import { loadGenerator } from '../../src/generate/checkpoint.js';
import { maxAbsDiff } from '../engine/helpers.js';

await initBackend('cpu');

const flat = (m: tfl.LayersModel): number[] => m.trainableWeights.flatMap((w) => Array.from(w.read().dataSync()));

function close(actual: number[], expected: number[], tol: number, what: string): void {
  const d = maxAbsDiff(actual, expected);
  assert.ok(d <= tol, `${what}: max abs diff ${d}`);
}

test('EMA: warm-up decay min(d, (1+t)/(10+t)), averages by hand, swap and swap back', () => {
  const model = tfl.sequential({ layers: [tfl.layers.dense({ units: 2, inputShape: [3] })] });
  const set = (k: number) => model.setWeights([tf.tensor2d(Array.from({ length: 6 }, (_, i) => k * (i + 1) - 1), [3, 2]), tf.tensor1d([k, -k])]);
  set(0);
  const ema = new WeightEma(model, 0.9);
  let expected = flat(model);
  const decays: number[] = [];
  for (let t = 0; t < 100; t++) {
    set(Math.sin(t + 1) * 3);
    const raw = flat(model);
    const d = ema.currentDecay();
    decays.push(d);
    expected = expected.map((s, i) => d * s + (1 - d) * raw[i]);
    ema.update();
  }
  assert.equal(decays[0], 1 / 10);
  assert.equal(decays[1], 2 / 11);
  assert.equal(decays[99], 0.9); // (1 + t) / (10 + t) passes 0.9 at t = 80
  const last = flat(model);
  ema.swap();
  close(flat(model), expected, 1e-5, 'averaged weights');
  ema.swap();
  close(flat(model), last, 0, 'raw weights back');
  ema.dispose();
  model.dispose();
  assert.throws(() => new WeightEma(model, 1), RangeError);
});

test('trainer with ema: the model and the checkpoint after training hold the average of the steps\' weights', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ulearn-ema-'));
  try {
    const shape = [4, 4, 1];
    const gen = new Diffusion({ ...DEFAULT_DIFFUSION, widths: [2, 4], hidden: 8, timesteps: 20, shape, classes: 2, seed: 1 });
    const x = Float32Array.from({ length: 6 * 16 }, (_, i) => ((i * 5) % 7) / 7);
    const y = Int32Array.from([0, 1, -1, -1, 0, 1]);
    let avg = flat(gen.model);
    let t = 0;
    const ckpt = join(dir, 'checkpoint');
    // onStep runs after the update with the raw weights in the model: the same average, computed in float64.
    await trainGenerator(gen, { x, y, shape, classes: ['a', 'b'] }, {
      steps: 12, batchSize: 6, seed: 2, quiet: true, ema: 0.5, checkpoint: ckpt, checkpointEvery: 5,
      onStep: () => {
        const d = Math.min(0.5, (1 + t) / (10 + t));
        t++;
        const raw = flat(gen.model);
        avg = avg.map((s, i) => d * s + (1 - d) * raw[i]);
      },
    });
    close(flat(gen.model), avg, 1e-5, 'model after training');
    const { generator, state } = await loadGenerator(ckpt, 'diffusion');
    assert.equal(state.step, 12);
    close(flat(generator.model), flat(gen.model), 0, 'checkpoint');
    generator.dispose();
    gen.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
