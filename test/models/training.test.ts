/**
 * Training the models on ulearn's wasm engine: a few optimizer steps on a tiny fixed batch reduce the loss,
 * and the ResNet's gradients (BN in training mode, stride-2 blocks with 1x1 shortcuts: all of our wasm
 * gradient kernels) match the pure-JS `cpu` backend's for the same weights and input.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../../src/engine/backend.js';
import { buildReferenceCnn } from '../../src/models/reference-cnn.js';
import { attachHead, buildResNetEncoder, classifierHead, featureDim } from '../../src/models/resnet.js';

before(async () => {
  await initBackend('wasm', { threads: 2 });
});

function smallResNet(seed = 1): tfl.LayersModel {
  const enc = buildResNetEncoder({ inputShape: [12, 12, 2], widths: [4, 8], blocksPerStage: 1, seed });
  return attachHead(enc, classifierHead(featureDim(enc), 3, { seed }));
}

function fixedBatch(n: number, shape: number[], classes: number): { x: tf.Tensor; y: tf.Tensor } {
  const x = tf.randomNormal([n, ...shape], 0, 1, 'float32', 11);
  const labels = tf.tensor1d(Array.from({ length: n }, (_, i) => i % classes), 'int32');
  const y = tf.oneHot(labels, classes);
  labels.dispose();
  return { x, y };
}

function lossOf(model: tfl.LayersModel, x: tf.Tensor, y: tf.Tensor): tf.Scalar {
  return tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar;
}

/** Runs `steps` Adam steps; returns the loss before each. */
function train(model: tfl.LayersModel, x: tf.Tensor, y: tf.Tensor, steps: number): number[] {
  const opt = tf.train.adam(0.01);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) {
    const cost = opt.minimize(() => lossOf(model, x, y), true, vars)!;
    losses.push(cost.dataSync()[0]);
    cost.dispose();
  }
  opt.dispose();
  return losses;
}

describe('training on wasm', () => {
  test('20 steps on a tiny fixed batch reduce the ResNet loss', () => {
    assert.equal(tf.getBackend(), 'wasm');
    const model = smallResNet();
    const { x, y } = fixedBatch(8, [12, 12, 2], 3);
    const before = tf.memory().numTensors;
    const losses = train(model, x, y, 20);
    const last = tf.tidy(() => lossOf(model, x, y).dataSync()[0]);
    assert.ok(losses.every(Number.isFinite), `non-finite loss: ${losses}`);
    assert.ok(last < 0.5 * losses[0], `loss went ${losses[0].toFixed(4)} -> ${last.toFixed(4)} in 20 steps`);
    // Steps leave no tensors behind (Adam's slots are made on the first step and freed with the optimizer).
    assert.equal(tf.memory().numTensors, before);
    tf.dispose([x, y]);
    model.dispose();
  });

  test('20 steps on a tiny fixed batch reduce the reference CNN loss', () => {
    const model = buildReferenceCnn({ inputShape: [16, 16, 3], classes: 4, seed: 2 });
    const { x, y } = fixedBatch(8, [16, 16, 3], 4);
    const losses = train(model, x, y, 20);
    const last = tf.tidy(() => lossOf(model, x, y).dataSync()[0]);
    assert.ok(last < 0.5 * losses[0], `loss went ${losses[0].toFixed(4)} -> ${last.toFixed(4)} in 20 steps`);
    tf.dispose([x, y]);
    model.dispose();
  });
});

describe('ResNet gradients: wasm vs cpu', () => {
  /** Loss and gradient of every trainable weight, in model.trainableWeights order. */
  function lossAndGrads(model: tfl.LayersModel, xv: Float32Array, yv: Float32Array, n: number): { loss: number; grads: Float32Array[]; names: string[] } {
    const x = tf.tensor4d(xv, [n, 12, 12, 2]);
    const y = tf.tensor2d(yv, [n, 3]);
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const { value, grads } = tf.variableGrads(() => lossOf(model, x, y), vars);
    const out = {
      loss: value.dataSync()[0],
      grads: vars.map((v) => grads[v.name].dataSync() as Float32Array),
      names: model.trainableWeights.map((w) => w.originalName),
    };
    tf.dispose([x, y, value, ...Object.values(grads)]);
    return out;
  }

  test('same weights, same batch: loss and every gradient agree', async () => {
    const n = 6;
    const { x, y } = fixedBatch(n, [12, 12, 2], 3);
    const xv = x.dataSync() as Float32Array;
    const yv = y.dataSync() as Float32Array;
    tf.dispose([x, y]);

    const onWasm = smallResNet(5);
    // Move the weights away from their initial values so BN's gamma/beta are not 1/0.
    const { x: x2, y: y2 } = fixedBatch(n, [12, 12, 2], 3);
    train(onWasm, x2, y2, 3);
    tf.dispose([x2, y2]);
    const weights = onWasm.getWeights().map((w) => ({ shape: w.shape, values: w.dataSync().slice() as Float32Array }));
    const w = lossAndGrads(onWasm, xv, yv, n);

    await tf.setBackend('cpu');
    let c: ReturnType<typeof lossAndGrads>;
    try {
      const onCpu = smallResNet(99); // different init, then the wasm model's weights copied in
      onCpu.setWeights(weights.map((t) => tf.tensor(t.values, t.shape)));
      c = lossAndGrads(onCpu, xv, yv, n);
      onCpu.dispose();
    } finally {
      await tf.setBackend('wasm');
    }
    onWasm.dispose();

    assert.ok(Math.abs(w.loss - c.loss) <= 1e-5 * Math.max(1, Math.abs(c.loss)), `loss wasm ${w.loss} vs cpu ${c.loss}`);
    assert.equal(w.grads.length, c.grads.length);
    assert.ok(w.names.some((s) => s.includes('shortcut_conv')), 'the model has a 1x1 shortcut conv');
    for (let i = 0; i < w.grads.length; i++) {
      const a = w.grads[i];
      const b = c.grads[i];
      let scale = 0;
      let diff = 0;
      for (let j = 0; j < b.length; j++) {
        scale = Math.max(scale, Math.abs(b[j]));
        diff = Math.max(diff, Math.abs(a[j] - b[j]));
      }
      assert.ok(diff <= 1e-6 + 2e-4 * scale, `${w.names[i]}: max |wasm - cpu| = ${diff.toExponential(2)} (max |grad| ${scale.toExponential(2)})`);
    }
  });
});
