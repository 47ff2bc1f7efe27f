/**
 * Several whole training steps of a small ResNet on native (oneDNN convs, BatchNorm and fused Adam) against the
 * same steps on plain wasm, from identical weights, one thread each: the per-step losses, every trained weight
 * and the BatchNorm moving statistics must agree, through a partial last batch (a batch size the primitive
 * caches have not seen) and back. The kernel tests compare one call at a time; this catches what only shows
 * over steps: state kept between calls, moving statistics, Adam's bias correction over iterations.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../../src/engine/seed.js';
import { buildResNetEncoder, classifierHead } from '../../src/models/resnet.js';
import { EncoderHeadStep } from '../../src/train/step.js';
import { fusedAdamSteps } from '../../src/engine/kernels/fused-adam.js';
import { maxAbs, maxAbsDiff, NATIVE_SKIP, useEngine } from './helpers.js';

const skip = NATIVE_SKIP ? `native add-on unavailable: ${NATIVE_SKIP}` : false;

// Full batches of 6, partial ones of 2 (as an epoch's last batch): the partial batch changes every shape.
const BATCHES = [6, 6, 2, 6, 2, 6];
const SHAPE: [number, number, number] = [12, 12, 1];

interface Trace {
  losses: number[];
  /** By position: tfjs uniquifies the names of a second model's variables. */
  names: string[];
  weights: Float32Array[];
  fused: number;
}

function train(initial: Float32Array[] | undefined): { trace: Trace; initial: Float32Array[] } {
  const encoder = buildResNetEncoder({ inputShape: SHAPE, widths: [4, 8], blocksPerStage: 1, seed: 0 });
  const head = classifierHead(8, 3);
  const all = () => [...encoder.weights, ...head.weights];
  all().forEach((w, i) => {
    if (!initial) return;
    const t = tf.tensor(initial[i], w.shape as number[]);
    w.write(t);
    t.dispose(); // the variable now owns the data alone, as a freshly built one does (fused Adam needs that)
  });
  const start = all().map((w) => w.read().dataSync().slice() as Float32Array);
  const step = new EncoderHeadStep({ encoder, head, lrHead: 1e-3, lrEncoder: 1e-3, weightDecay: 5e-4 });
  const rng = new Rng(41);
  const fusedBefore = fusedAdamSteps;
  const losses = BATCHES.map((n) => {
    // Smooth images (a ramp plus a little noise) keep ReLU inputs away from 0, so rounding cannot flip a mask.
    const x = Float32Array.from({ length: n * 144 }, (_, i) => ((i % 144) / 144) * (1 + (Math.floor(i / 144) % 3)) + 0.05 * rng.normal());
    const y = Int32Array.from({ length: n }, (_, i) => i % 3);
    const loss = tf.tidy(() =>
      step.step(() => {
        const logits = head.apply(encoder.apply(tf.tensor4d(x, [n, ...SHAPE]), { training: true }), { training: true }) as tf.Tensor2D;
        return tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d(y, 'int32'), 3), logits) as tf.Scalar;
      }),
    );
    const v = loss.dataSync()[0];
    loss.dispose();
    return v;
  });
  const trace = { losses, names: all().map((w) => w.name), weights: all().map((w) => w.read().dataSync().slice() as Float32Array), fused: fusedAdamSteps - fusedBefore };
  step.dispose();
  encoder.dispose();
  head.dispose();
  return { trace, initial: start };
}

test('native training steps match wasm: losses, weights and BatchNorm moving statistics, through a partial batch', { skip }, async () => {
  await useEngine('wasm');
  const wasm = train(undefined);
  await useEngine('native');
  const native = train(wasm.initial).trace;
  assert.equal(wasm.trace.fused, 0, 'plain wasm runs tfjs Adam');
  assert.equal(native.fused, 2 * BATCHES.length, 'native runs the fused Adam (head and encoder optimizers) every step');
  native.losses.forEach((l, i) => assert.ok(Math.abs(l - wasm.trace.losses[i]) <= 1e-4 * Math.abs(wasm.trace.losses[i]), `step ${i}: loss ${l} vs ${wasm.trace.losses[i]}`));
  let stats = 0;
  wasm.trace.weights.forEach((want, i) => {
    const name = wasm.trace.names[i];
    const got = native.weights[i];
    const start = wasm.initial[i];
    // Each weight must have moved (else the comparison proves nothing) and moved the same way.
    assert.ok(maxAbsDiff(want, start) > 1e-4, `${name} did not change in training`);
    assert.ok(maxAbsDiff(got, want) <= 1e-4 * Math.max(1, maxAbs(want)), `${name}: max diff ${maxAbsDiff(got, want)}`);
    if (/moving_(mean|variance)/.test(name)) stats++;
  });
  assert.ok(stats >= 8, `moving statistics compared: ${stats}`);
});
