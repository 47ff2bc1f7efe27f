/**
 * Architecture of the model builders: output shapes, parameter counts worked out by hand, and the residual
 * block's shortcut path (identity vs 1x1 conv + BN when the shape changes). Runs on the `cpu` backend: no
 * training here, only shapes and one small forward pass checked against a hand computation.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../../src/engine/backend.js';
import { buildReferenceCnn } from '../../src/models/reference-cnn.js';
import { attachHead, basicBlock, buildResNetEncoder, classifierHead, featureDim, needsProjectionShortcut } from '../../src/models/resnet.js';
import { mlpHead } from '../../src/ssl/heads.js';

before(async () => {
  await initBackend('cpu');
});

/** Parameters of a conv without bias, and of a BN layer (gamma, beta, moving mean, moving variance). */
const conv = (k: number, cin: number, cout: number) => k * k * cin * cout;
const bn = (c: number) => 4 * c;

describe('buildResNetEncoder', () => {
  test('28x28x1, widths [8, 16], 1 block per stage: shape and parameter count', () => {
    const enc = buildResNetEncoder({ inputShape: [28, 28, 1], widths: [8, 16], blocksPerStage: 1, seed: 1 });
    assert.deepEqual(enc.outputs[0].shape, [null, 16]);
    assert.equal(featureDim(enc), 16);
    const stem = conv(3, 1, 8) + bn(8); // 72 + 32
    const stage0 = conv(3, 8, 8) + bn(8) + conv(3, 8, 8) + bn(8); // same shape: identity shortcut
    const stage1 = conv(3, 8, 16) + bn(16) + conv(3, 16, 16) + bn(16) + conv(1, 8, 16) + bn(16); // + 1x1 shortcut
    assert.equal(stem + stage0 + stage1, 104 + 1216 + 3776);
    assert.equal(enc.countParams(), 5096);
    // Trainable: everything but the BN moving statistics (2 per channel per BN layer).
    const movingStats = 2 * (8 + 8 + 8 + 16 + 16 + 16);
    const trainable = enc.trainableWeights.reduce((a, w) => a + w.shape.reduce((p: number, d) => p * (d ?? 1), 1), 0);
    assert.equal(trainable, 5096 - movingStats);

    const y = enc.predict(tf.zeros([3, 28, 28, 1])) as tf.Tensor;
    assert.deepEqual(y.shape, [3, 16]);
    tf.dispose(y);
  });

  test('32x32x3, widths [32, 64, 128], 1 block per stage (the benchmark encoder)', () => {
    const enc = buildResNetEncoder({ inputShape: [32, 32, 3], widths: [32, 64, 128], blocksPerStage: 1 });
    const stem = conv(3, 3, 32) + bn(32);
    const s0 = 2 * (conv(3, 32, 32) + bn(32));
    const s1 = conv(3, 32, 64) + bn(64) + conv(3, 64, 64) + bn(64) + conv(1, 32, 64) + bn(64);
    const s2 = conv(3, 64, 128) + bn(128) + conv(3, 128, 128) + bn(128) + conv(1, 64, 128) + bn(128);
    assert.equal(enc.countParams(), stem + s0 + s1 + s2);
    assert.equal(enc.countParams(), 308704);
    assert.deepEqual(enc.outputs[0].shape, [null, 128]);
  });

  test('2 blocks per stage: only the first block of a stage changes shape', () => {
    const enc = buildResNetEncoder({ inputShape: [32, 32, 3], widths: [16, 32], blocksPerStage: 2, name: 'r' });
    const names = enc.layers.map((l) => l.name);
    assert.deepEqual(
      names.filter((n) => n.endsWith('_shortcut_conv')),
      ['r_s1b0_shortcut_conv'],
    );
    const stem = conv(3, 3, 16) + bn(16);
    const s0 = 2 * 2 * (conv(3, 16, 16) + bn(16));
    const s1 = conv(3, 16, 32) + bn(32) + conv(3, 32, 32) + bn(32) + conv(1, 16, 32) + bn(32) + 2 * (conv(3, 32, 32) + bn(32));
    assert.equal(enc.countParams(), stem + s0 + s1);
    // Resolution halves once: 32 -> 16.
    assert.deepEqual(enc.getLayer('r_s1b1_out').outputShape, [null, 16, 16, 32]);
    assert.deepEqual(enc.getLayer('r_s0b1_out').outputShape, [null, 32, 32, 16]);
  });

  test('same seed, same weights; other seed, other weights', () => {
    const cfg = { inputShape: [8, 8, 1] as [number, number, number], widths: [4], blocksPerStage: 1 };
    const a = buildResNetEncoder({ ...cfg, seed: 3 }).getWeights()[0].dataSync();
    const b = buildResNetEncoder({ ...cfg, seed: 3 }).getWeights()[0].dataSync();
    const c = buildResNetEncoder({ ...cfg, seed: 4 }).getWeights()[0].dataSync();
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
  });

  test('rejects empty widths and non-positive depth', () => {
    assert.throws(() => buildResNetEncoder({ inputShape: [8, 8, 1], widths: [], blocksPerStage: 1 }), /widths/);
    assert.throws(() => buildResNetEncoder({ inputShape: [8, 8, 1], widths: [4], blocksPerStage: 0 }), /blocksPerStage/);
  });
});

describe('basicBlock shortcut', () => {
  test('needsProjectionShortcut: only when stride or channels change', () => {
    assert.equal(needsProjectionShortcut(8, 8, 1), false);
    assert.equal(needsProjectionShortcut(8, 16, 1), true);
    assert.equal(needsProjectionShortcut(8, 8, 2), true);
  });

  test('shape change: 1x1 stride-2 conv + BN shortcut; with the main path zeroed, out = relu(BN(conv1x1(x)))', () => {
    const input = tfl.input({ shape: [8, 8, 3] });
    const out = basicBlock(input, { filters: 5, stride: 2, name: 'b', seed: 7, zeroInitResidual: true });
    const m = tfl.model({ inputs: input, outputs: out });
    assert.deepEqual(out.shape, [null, 4, 4, 5]);
    const sc = m.getLayer('b_shortcut_conv');
    const kernel = sc.getWeights()[0];
    assert.deepEqual(kernel.shape, [1, 1, 3, 5]);
    assert.deepEqual((sc.getConfig() as { strides: number[] }).strides, [2, 2]);
    assert.ok(m.getLayer('b_shortcut_bn'));

    // Inference mode: BN uses moving mean 0 / variance 1, so BN(z) = z / sqrt(1 + eps). The last BN of the
    // main path starts at gamma = 0 (zeroInitResidual), so the main path contributes beta = 0.
    const xv = Float32Array.from({ length: 8 * 8 * 3 }, (_, i) => Math.sin(i * 0.37) * 2);
    const y = (m.predict(tf.tensor4d(xv, [1, 8, 8, 3])) as tf.Tensor).dataSync();
    const w = kernel.dataSync();
    const scale = 1 / Math.sqrt(1 + 1e-5);
    let worst = 0;
    for (let i = 0; i < 4; i++) {
      for (let j = 0; j < 4; j++) {
        for (let o = 0; o < 5; o++) {
          // 'same' padding with a 1x1 kernel and stride 2 on 8 pixels adds no padding: output (i, j) sees (2i, 2j).
          let z = 0;
          for (let c = 0; c < 3; c++) z += xv[((2 * i) * 8 + 2 * j) * 3 + c] * w[c * 5 + o];
          worst = Math.max(worst, Math.abs(y[(i * 4 + j) * 5 + o] - Math.max(0, z * scale)));
        }
      }
    }
    assert.ok(worst < 1e-5, `block output differs from relu(BN(conv1x1 stride 2)) by ${worst}`);
  });

  test('same shape: identity shortcut (no conv), with the main path zeroed, out = relu(x)', () => {
    const input = tfl.input({ shape: [4, 4, 6] });
    const out = basicBlock(input, { filters: 6, name: 'id', zeroInitResidual: true });
    const m = tfl.model({ inputs: input, outputs: out });
    assert.ok(!m.layers.some((l) => l.name.includes('shortcut')));
    // The add layer takes the block input itself as its second operand.
    const add = m.getLayer('id_add');
    const inbound = add.inboundNodes[0].inputTensors;
    assert.equal(inbound[1], input);
    const x = tf.randomNormal([2, 4, 4, 6], 0, 1, 'float32', 1);
    const y = m.predict(x) as tf.Tensor;
    const diff = tf.max(tf.abs(tf.sub(y, tf.relu(x)))).dataSync()[0];
    assert.ok(diff < 1e-6, `identity block output differs from relu(x) by ${diff}`);
  });
});

describe('heads and the reference CNN', () => {
  test('classifierHead, and attachHead with it and with an SSL projection head', () => {
    const enc = buildResNetEncoder({ inputShape: [16, 16, 1], widths: [4, 8], blocksPerStage: 1 });
    const proj = mlpHead({ inputDim: 8, hidden: 32, out: 16 });
    // dense 8x32 (no bias) + BN(32) + dense 32x16 + bias 16.
    assert.equal(proj.countParams(), 8 * 32 + 4 * 32 + 32 * 16 + 16);
    const cls = classifierHead(8, 10);
    assert.equal(cls.countParams(), 8 * 10 + 10);
    const model = attachHead(enc, cls);
    assert.equal(model.countParams(), enc.countParams() + cls.countParams());
    const y = model.predict(tf.zeros([2, 16, 16, 1])) as tf.Tensor;
    assert.deepEqual(y.shape, [2, 10]);
    const z = attachHead(enc, proj, 'ssl').predict(tf.zeros([2, 16, 16, 1])) as tf.Tensor;
    assert.deepEqual(z.shape, [2, 16]);
  });

  test('reference CNN: 32x32x3 -> 10 logits, parameter count', () => {
    const m = buildReferenceCnn();
    // conv 3x3x3x32 + 32, conv 3x3x32x64 + 64, dense (8*8*64)x10 + 10.
    assert.equal(m.countParams(), 3 * 3 * 3 * 32 + 32 + (3 * 3 * 32 * 64 + 64) + (8 * 8 * 64 * 10 + 10));
    assert.equal(m.countParams(), 60362);
    assert.deepEqual(m.outputs[0].shape, [null, 10]);
  });

  test('reference CNN: configurable input shape and classes', () => {
    const m = buildReferenceCnn({ inputShape: [28, 28, 1], classes: 4 });
    assert.equal(m.countParams(), 9 * 32 + 32 + (9 * 32 * 64 + 64) + (7 * 7 * 64 * 4 + 4));
    const y = m.predict(tf.zeros([1, 28, 28, 1])) as tf.Tensor;
    assert.deepEqual(y.shape, [1, 4]);
    assert.throws(() => buildReferenceCnn({ inputShape: [3, 3, 1] }), /too small/);
  });
});
