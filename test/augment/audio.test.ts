/** Audio augmentations on normalised log-mel features: shapes, determinism, and each op against float64 JS. */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { audioAugment, audioSSLAugment, audioStrongAugment, audioWeakAugment } from '../../src/augment/audio.js';
import { Rng } from '../../src/engine/seed.js';
import { UlearnError } from '../../src/errors.js';
import { useWasm } from '../ssl/helpers.js';

before(useWasm);

const T = 20;
const F = 6;
const shape = [T, 1, F];
const stats = { features: { kind: 'logmel' as const }, mean: [-3, -2, -1, 0, 1, 2], std: [1, 2, 0.5, 1, 3, 1] };

function batch(n: number, seed = 1): Float32Array {
  const r = new Rng(seed);
  return Float32Array.from({ length: n * T * F }, () => r.normal());
}

function run(aug: ReturnType<typeof audioAugment>, x: Float32Array, n: number, seed: number, active?: boolean[]): Float32Array {
  const input = tf.tensor4d(x, [n, T, 1, F]);
  const out = active ? aug.applyWhere!(input, new Rng(seed), active) : aug.apply(input, new Rng(seed));
  const v = out.dataSync() as Float32Array;
  const copy = Float32Array.from(v);
  input.dispose();
  out.dispose();
  return copy;
}

test('presets keep the shape, are deterministic for a seed and differ between seeds; nothing leaks', () => {
  const x = batch(4);
  for (const make of [audioSSLAugment, audioWeakAugment, audioStrongAugment]) {
    const aug = make(shape, stats);
    const before = tf.memory().numTensors;
    const a = run(aug, x, 4, 7);
    const b = run(aug, x, 4, 7);
    const c = run(aug, x, 4, 8);
    assert.equal(tf.memory().numTensors, before, `${aug.name} leaks tensors`);
    assert.equal(a.length, x.length);
    assert.deepEqual(a, b, `${aug.name}: same seed, same views`);
    assert.notDeepEqual(a, c, `${aug.name}: another seed, other views`);
    assert.ok(a.every(Number.isFinite));
  }
});

test('no ops configured is the identity; inactive samples pass through unchanged', () => {
  const x = batch(3);
  assert.deepEqual(run(audioAugment(shape, {}), x, 3, 1), x);
  const strong = audioStrongAugment(shape, stats);
  const out = run(strong, x, 3, 1, [true, false, true]);
  assert.deepEqual(out.subarray(T * F, 2 * T * F), x.subarray(T * F, 2 * T * F));
  assert.notDeepEqual(out.subarray(0, T * F), x.subarray(0, T * F));
});

test('gain adds g·ln(10)/10 to ln(power) in every band, i.e. that over std in normalised units', () => {
  const x = batch(2);
  const out = run(audioAugment(shape, { gain: { range: [6, 6], p: 1 }, stats }), x, 2, 3);
  for (let i = 0; i < x.length; i++) {
    const b = i % F;
    const want = x[i] + (6 * Math.log(10)) / 10 / stats.std[b];
    assert.ok(Math.abs(out[i] - want) < 1e-4, `cell ${i}: ${out[i]} vs ${want}`);
  }
});

test('time shift moves frames and repeats the edge frame; masks set whole frames or bands to the mean (0)', () => {
  const x = batch(1);
  // shift: 1 frame at most; a seed that draws a non-zero shift, found by trying (deterministic).
  const shiftAug = audioAugment(shape, { shift: 1 });
  let found = false;
  for (let seed = 0; seed < 20 && !found; seed++) {
    const out = run(shiftAug, x, 1, seed);
    const right = out.subarray(F, 2 * F).every((v, b) => Math.abs(v - x[b]) < 1e-6) && out.subarray(0, F).every((v, b) => Math.abs(v - x[b]) < 1e-6);
    const left = out.subarray(0, F).every((v, b) => Math.abs(v - x[F + b]) < 1e-6) && out.subarray((T - 1) * F).every((v, b) => Math.abs(v - x[(T - 1) * F + b]) < 1e-6);
    if (right || left) found = true;
  }
  assert.ok(found, 'some seed shifts by one frame, edge frame repeated');
  const masked = run(audioAugment(shape, { timeMasks: { count: 1, maxWidth: T }, freqMasks: { count: 1, maxWidth: F } }), x, 1, 5);
  const zeros = masked.filter((v) => v === 0).length;
  assert.ok(zeros > 0, 'masks set cells to 0');
  // Every zero lies in a fully zeroed frame or a fully zeroed band.
  for (let i = 0; i < masked.length; i++) {
    if (masked[i] !== 0) continue;
    const t = Math.floor(i / F);
    const b = i % F;
    const frame = masked.subarray(t * F, (t + 1) * F).every((v) => v === 0);
    const band = Array.from({ length: T }, (_, k) => masked[k * F + b]).every((v) => v === 0);
    assert.ok(frame || band, `cell ${i}`);
  }
});

test('mixed-in noise only ever adds power; a very low SNR lifts quiet cells the most', () => {
  const x = batch(2);
  const out = run(audioAugment(shape, { noise: { snr: [-10, -10], p: 1 }, stats }), x, 2, 4);
  for (let i = 0; i < x.length; i++) assert.ok(out[i] >= x[i] - 1e-5, `cell ${i} lost power: ${x[i]} → ${out[i]}`);
});

test('bad shapes and ranges are clear errors', () => {
  assert.throws(() => audioAugment([28, 28, 1], {}), (e: unknown) => e instanceof UlearnError && /frames, 1, bins/.test(e.message));
  assert.throws(() => audioAugment(shape, { speed: { range: [1.2, 0.8], p: 1 } }), /speed/);
  assert.throws(() => audioAugment(shape, { stats: { ...stats, mean: [0] } }), /bands/);
});
