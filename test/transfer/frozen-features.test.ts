/**
 * Fast frozen features (issue 14, item 6): an imported ONNX encoder that is not being trained runs its
 * features in onnxruntime on the file's own graph cut at the import's node (`encodeFrozen`), and they match
 * the tfjs path (`encode`) within 1e-4: the Fashion-MNIST CNN as it is and behind declared preprocessing, and a
 * conv net whose cut is a feature map (pooled in both). Once the weights change (training), the tfjs path is
 * used, and the features follow the new weights.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../../src/engine/backend.js';
import { encode, encodeFrozen, hasFrozenFeatures } from '../../src/models/encode.js';
import { loadEncoder } from '../../src/models/load-encoder.js';
import { toOnnx } from '../../src/transfer/export-onnx.js';
import { randomizeWeights } from './helpers.js';
import { floatTensor, modelBytes, node, seeded, valueInfo } from './onnx-helpers.js';
import { maxAbsDiff } from '../engine/helpers.js';

const ONNX = 'test/fixtures/transfer/fmnist-cnn.onnx';

before(async () => {
  await initBackend('cpu');
});

const inputs = (n: number, size: number) => new Float32Array(n * size).map((_, i) => ((i * 7919) % 1000) / 1000);

test('onnxruntime features of the imported Fashion-MNIST CNN match tfjs within 1e-4 (plain, and behind resize + RGB→gray + mean/std)', async () => {
  const plain = await loadEncoder(ONNX);
  const adapted = await loadEncoder(ONNX, { inputShape: [20, 20, 3], preprocessing: { size: [28, 28], channels: 1, mean: [0.3], std: [0.6] } });
  try {
    for (const [{ encoder }, shape] of [[plain, [28, 28, 1]], [adapted, [20, 20, 3]]] as const) {
      assert.ok(hasFrozenFeatures(encoder));
      const x = inputs(37, shape[0] * shape[1] * shape[2]);
      const viaTfjs = encode(encoder, x, shape, { batchSize: 16 });
      const viaOrt = await encodeFrozen(encoder, x, shape, { batchSize: 16 });
      assert.ok(maxAbsDiff(viaOrt, viaTfjs) <= 1e-4, `max abs diff ${maxAbsDiff(viaOrt, viaTfjs)}`);
      // Still attached: a session that failed would have dropped the fast path for tfjs.
      assert.ok(hasFrozenFeatures(encoder), 'onnxruntime was not used');
      assert.ok(viaTfjs.some((v) => v !== 0));
      // normalize: rows of unit length, as `encode` gives them.
      assert.ok(maxAbsDiff(await encodeFrozen(encoder, x, shape, { normalize: true }), encode(encoder, x, shape, { normalize: true })) <= 1e-5);
    }
  } finally {
    plain.encoder.dispose();
    adapted.encoder.dispose();
  }
});

test('a feature-map cut is pooled the same way in onnxruntime (GlobalAveragePool) as in tfjs; trained weights leave the fast path', async () => {
  // Conv → Relu → Conv (stride 2), NCHW as PyTorch exports it; cut at the second conv: a [N, 5, 4, 4] map.
  const bytes = modelBytes({
    nodes: [node('Conv', ['x', 'w1', 'b1'], ['h1'], { kernel_shape: [3, 3] }, 'conv1'), node('Relu', ['h1'], ['r1'], {}, 'relu1'), node('Conv', ['r1', 'w2'], ['h2'], { kernel_shape: [3, 3], strides: [2, 2] }, 'conv2')],
    inputs: [valueInfo('x', [1, 3, 12, 12])],
    outputs: [valueInfo('h2', [1, 5, 4, 4])],
    initializers: [floatTensor('w1', [6, 3, 3, 3], seeded(162, 1, 0.5)), floatTensor('b1', [6], seeded(6, 2, 0.1)), floatTensor('w2', [5, 6, 3, 3], seeded(270, 3, 0.4))],
  });
  const dir = mkdtempSync(path.join(tmpdir(), 'ulearn-frozen-'));
  const file = path.join(dir, 'maps.onnx');
  writeFileSync(file, bytes);
  const { encoder } = await loadEncoder(file, { cutAt: 'conv2' });
  try {
    assert.deepEqual(encoder.outputs[0].shape, [null, 5]);
    const x = inputs(9, 12 * 12 * 3);
    assert.ok(maxAbsDiff(await encodeFrozen(encoder, x, [12, 12, 3]), encode(encoder, x, [12, 12, 3])) <= 1e-4);
    assert.ok(hasFrozenFeatures(encoder), 'onnxruntime was not used (the fast path fell back to tfjs)');
    // A training step assigns new weight tensors: the file's graph no longer describes the encoder.
    const w = encoder.weights[0];
    w.write(tf.mul(w.read(), 2) as tf.Tensor);
    assert.equal(hasFrozenFeatures(encoder), false);
    assert.ok(maxAbsDiff(await encodeFrozen(encoder, x, [12, 12, 3]), encode(encoder, x, [12, 12, 3])) === 0);
  } finally {
    encoder.dispose();
  }
});

test('a file that reads NHWC itself (a Transpose in front, as tf2onnx writes) gets NHWC from the fast path, not a transposed batch', async () => {
  const inp = tfl.input({ shape: [10, 8, 3] });
  let h = tfl.layers.conv2d({ filters: 6, kernelSize: 3, activation: 'relu', name: 'c1' }).apply(inp) as tfl.SymbolicTensor;
  h = tfl.layers.globalAveragePooling2d({}).apply(h) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: inp, outputs: tfl.layers.dense({ units: 3, name: 'classifier' }).apply(h) as tfl.SymbolicTensor });
  randomizeWeights(model, 5);
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'ulearn-frozen-nhwc-')), 'nhwc.onnx');
  writeFileSync(file, toOnnx(model, { inputLayout: 'nhwc' }).bytes);
  model.dispose();
  const { encoder } = await loadEncoder(file);
  try {
    assert.deepEqual(encoder.inputs[0].shape, [null, 10, 8, 3]);
    const x = inputs(7, 10 * 8 * 3);
    assert.ok(maxAbsDiff(await encodeFrozen(encoder, x, [10, 8, 3]), encode(encoder, x, [10, 8, 3])) <= 1e-4);
    assert.ok(hasFrozenFeatures(encoder), 'onnxruntime was not used');
  } finally {
    encoder.dispose();
  }
});
