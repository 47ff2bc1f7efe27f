/**
 * Each generator lowers its loss on a fixed batch in a few seeded steps (tiny models, cpu backend), and samples
 * of the right shape and range come out; a diverging run stops with E_NAN and keeps its last good checkpoint.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/index.js';
import { Vae, DEFAULT_VAE } from '../../src/generate/vae.js';
import { Ssvae, DEFAULT_SSVAE } from '../../src/generate/ssvae.js';
import { Diffusion, DEFAULT_DIFFUSION } from '../../src/generate/diffusion.js';
import { trainGenerator } from '../../src/generate/trainer.js';
import { loadGenerator } from '../../src/generate/checkpoint.js';
import { inspectCheckpoint } from '../../src/runs/checkpoint.js';
import { UlearnError } from '../../src/errors.js';
import type { Generator } from '../../src/generate/types.js';

await initBackend('wasm', { threads: 1 });

const shape = [8, 8, 1];
const K = 3;
/** 12 samples: class k lights row band k; half of them unlabelled. */
function data(): { x: Float32Array; y: Int32Array } {
  const n = 12;
  const x = new Float32Array(n * 64);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const k = i % K;
    for (let r = 0; r < 8; r++) for (let c = 0; c < 8; c++) x[i * 64 + r * 8 + c] = Math.floor(r / 3) === k ? 0.9 : 0.1;
    y[i] = i < 6 ? k : -1;
  }
  return { x, y };
}

const small = { widths: [4, 8] as [number, number], hidden: 16 };
const makers: Record<string, () => Generator> = {
  vae: () => new Vae({ ...DEFAULT_VAE, ...small, latent: 4, shape, classes: K, seed: 1 }),
  ssvae: () => new Ssvae({ ...DEFAULT_SSVAE, ...small, latent: 4, shape, classes: K, alpha: 5, seed: 1 }),
  diffusion: () => new Diffusion({ ...DEFAULT_DIFFUSION, ...small, timesteps: 50, shape, classes: K, seed: 1 }),
};

for (const [kind, make] of Object.entries(makers)) {
  test(`${kind}: 40 steps on a fixed batch lower the loss; samples have the data's shape and range`, async () => {
    const gen = make();
    const { x, y } = data();
    // A fixed batch: batch size = data size, labelled share = half, so every step sees the same 12 samples.
    const r = await trainGenerator(gen, { x, y, shape, classes: ['a', 'b', 'c'] }, { steps: 40, batchSize: 12, labeledShare: 0.5, lr: kind === 'vae' ? 1e-2 : 3e-3, seed: 3, quiet: true });
    const first = r.losses.slice(0, 5).reduce((a, b) => a + b) / 5;
    const last = r.losses.slice(-5).reduce((a, b) => a + b) / 5;
    assert.ok(last < first * 0.9, `${kind}: loss ${first} → ${last}`);
    // Memory stays flat: a second run of steps and a sampling pass leave no tensor behind.
    const before = tf.memory().numTensors;
    await trainGenerator(gen, { x, y, shape, classes: ['a', 'b', 'c'] }, { steps: 2, batchSize: 12, seed: 4, quiet: true });
    tf.dispose(gen.sample(Int32Array.from([0, 1]), 6, { steps: 2 }));
    assert.equal(tf.memory().numTensors, before, `${kind}: tensors leaked`);
    const s = gen.sample(Int32Array.from([0, 1, 2]), 5, { steps: 5 });
    assert.deepEqual(s.shape, [3, ...shape]);
    const v = await s.data();
    assert.ok(v.every((p) => p >= 0 && p <= 1));
    s.dispose();
    gen.dispose();
  });
}

test('a diverging run stops with E_NAN and keeps the last good checkpoint', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ulearn-gen-nan-'));
  try {
    const gen = makers.vae();
    const { x, y } = data();
    const ckpt = join(dir, 'checkpoint');
    // Good steps first (a checkpoint at step 2), then NaN samples make every later loss NaN.
    const err = await trainGenerator(gen, { x, y, shape, classes: ['a', 'b', 'c'] }, {
      steps: 6, batchSize: 12, seed: 3, quiet: true, checkpoint: ckpt, checkpointEvery: 2,
      onStep: (step) => { if (step === 3) x.fill(Number.NaN); },
    }).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof UlearnError, String(err));
    assert.equal(err.code, 'E_NAN');
    assert.match(err.message, /loss became NaN at step 4.*last good checkpoint \(step 2\)/);
    const info = await inspectCheckpoint(ckpt);
    assert.equal(info?.state.step, 2);
    const { generator } = await loadGenerator(ckpt, 'vae');
    generator.dispose();
    gen.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('log-mel shaped samples [frames, 1, bins]: every model takes them (MLP bodies) and samples that shape', async () => {
  const fshape = [6, 1, 5];
  const n = 8;
  const x = Float32Array.from({ length: n * 30 }, (_, i) => ((i * 7) % 11) / 11);
  const y = Int32Array.from({ length: n }, (_, i) => (i < 4 ? i % 2 : -1));
  const gens: Generator[] = [
    new Vae({ ...DEFAULT_VAE, ...small, latent: 3, shape: fshape, classes: 2, likelihood: 'gaussian', seed: 2 }),
    new Ssvae({ ...DEFAULT_SSVAE, ...small, latent: 3, shape: fshape, classes: 2, likelihood: 'gaussian', alpha: 1, seed: 2 }),
    new Diffusion({ ...DEFAULT_DIFFUSION, ...small, timesteps: 20, shape: fshape, classes: 2, seed: 2 }),
  ];
  for (const gen of gens) {
    const r = await trainGenerator(gen, { x, y, shape: fshape, classes: ['a', 'b'] }, { steps: 3, batchSize: 8, seed: 1, quiet: true });
    assert.ok(r.losses.every(Number.isFinite), gen.kind);
    const s = gen.sample(Int32Array.from([1, 0]), 3, { steps: 2 });
    assert.deepEqual(s.shape, [2, ...fshape], gen.kind);
    s.dispose();
    gen.dispose();
  }
});
