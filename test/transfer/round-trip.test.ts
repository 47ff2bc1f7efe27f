/**
 * ulearn → ONNX → ulearn: a model exported by `toOnnx` and imported back by `importOnnx` (whole, `cutAt` the
 * graph's output) computes what the original did, within 1e-5, in both export layouts: the ResNet encoder and
 * classifier (also behind ulearn's bilinear resize), the reference CNN and the Fashion-MNIST CNN that PyTorch
 * trained (imported, exported by ulearn, imported again), which also keeps its test accuracy on classes 0-4 (within ±0.1 point of PyTorch's).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../../src/engine/backend.js';
import { loadDataset } from '../../src/data/load.js';
import { buildEncoder } from '../../src/models/architecture.js';
import { buildReferenceCnn } from '../../src/models/reference-cnn.js';
import { attachHead, classifierHead } from '../../src/models/resnet.js';
import { toOnnx, type InputLayout } from '../../src/transfer/export-onnx.js';
import { runTfjs } from '../../src/transfer/onnx-check.js';
import { ResizeImages } from '../../src/transfer/resize-layer.js';
import { importOnnx } from '../../src/transfer/onnx/import.js';
import { randomInput, randomizeWeights } from './helpers.js';
import { maxAbsDiff } from '../engine/helpers.js';

let work: string;
before(async () => {
  await initBackend('cpu');
  work = await mkdtemp(path.join(tmpdir(), 'ulearn-roundtrip-'));
});
after(() => rm(work, { recursive: true, force: true }));

/** The model through ONNX and back, in `layout`; the caller disposes it. */
async function roundTrip(model: tfl.LayersModel, layout: InputLayout, name: string): Promise<tfl.LayersModel> {
  const file = path.join(work, `${name}-${layout}.onnx`);
  await writeFile(file, toOnnx(model, { inputLayout: layout }).bytes);
  const imp = await importOnnx(file, { cutAt: toOnnx(model, { inputLayout: layout }).outputs[0].name });
  assert.equal(imp.cut.how, 'output');
  assert.deepEqual(imp.inputShape, model.inputs[0].shape.slice(1));
  return imp.model;
}


async function assertRoundTrip(model: tfl.LayersModel, x: Float32Array, shape: number[], name: string): Promise<void> {
  const want = runTfjs(model, x, shape);
  assert.ok(want.some((v) => Math.abs(v) > 0.05), `${name}: outputs too small to tell anything`);
  for (const layout of ['nchw', 'nhwc'] as const) {
    const back = await roundTrip(model, layout, name);
    try {
      const got = runTfjs(back, x, shape);
      assert.equal(got.length, want.length);
      const d = maxAbsDiff(got, want);
      assert.ok(d <= 1e-5, `${name} (${layout}): max abs diff ${d}`);
    } finally {
      back.dispose();
    }
  }
}

test('ResNet encoder and classifier, and the reference CNN: exported and imported back within 1e-5', async () => {
  const encoder = buildEncoder({ family: 'resnet', modality: 'image', inputShape: [12, 12, 3], widths: [8, 16], blocksPerStage: 1, stemWidth: 6 });
  const model = attachHead(encoder, classifierHead(16, 5), 'classifier_model');
  randomizeWeights(model, 21);
  const x = randomInput(3, 4 * 12 * 12 * 3, 0.5, 0.5);
  await assertRoundTrip(encoder, x, [4, 12, 12, 3], 'resnet-encoder');
  await assertRoundTrip(model, x, [4, 12, 12, 3], 'resnet-classifier');
  // Behind a resize, as --input-size puts one in front of a model that reads another size (transfer/adapt.ts).
  const small = tfl.input({ shape: [9, 10, 3] });
  const resized = tfl.model({ inputs: small, outputs: model.apply(new ResizeImages({ height: 12, width: 12 }).apply(small)) as tfl.SymbolicTensor, name: 'resized_classifier' });
  await assertRoundTrip(resized, randomInput(5, 4 * 9 * 10 * 3, 0.5, 0.5), [4, 9, 10, 3], 'resized-classifier');
  model.dispose();
  const cnn = buildReferenceCnn({ inputShape: [16, 16, 1], classes: 4 });
  randomizeWeights(cnn, 22);
  await assertRoundTrip(cnn, randomInput(4, 3 * 16 * 16, 0.5, 0.5), [3, 16, 16, 1], 'reference-cnn');
  cnn.dispose();
});

const FMNIST = 'test/fixtures/transfer/fmnist-cnn.onnx';
const INFO = JSON.parse(readFileSync('test/fixtures/transfer/fmnist-cnn.json', 'utf8')) as { test_accuracy: number; test_count: number };
const skip = existsSync('/usr/share/datasets/fashion-mnist') ? false : 'Fashion-MNIST is not installed (scripts/setup.sh installs it)';

test('the PyTorch-trained CNN, imported, exported by ulearn and imported again, keeps its accuracy on classes 0-4', { skip }, async () => {
  const { model: first } = await importOnnx(FMNIST, { cutAt: 'output' });
  const second = await roundTrip(first, 'nchw', 'fmnist');
  const { test: t } = await loadDataset('fashion-mnist');
  const ds = t!;
  const keep: number[] = [];
  for (let i = 0; i < ds.size; i++) if (ds.y[i] < 5) keep.push(i);
  assert.equal(keep.length, INFO.test_count);
  let correct = 0;
  let worst = 0;
  try {
    for (let start = 0; start < keep.length; start += 500) {
      const idx = keep.slice(start, start + 500);
      const x = new Float32Array(idx.length * 784);
      idx.forEach((i, k) => x.set(ds.x.subarray(i * 784, (i + 1) * 784), k * 784));
      const a = runTfjs(first, x, [idx.length, 28, 28, 1]);
      const b = runTfjs(second, x, [idx.length, 28, 28, 1]);
      worst = Math.max(worst, maxAbsDiff(a, b));
      const pred = tf.tidy(() => tf.argMax(tf.tensor2d(b, [idx.length, b.length / idx.length]), 1).dataSync());
      idx.forEach((i, k) => {
        if (pred[k] === ds.y[i]) correct++;
      });
    }
  } finally {
    first.dispose();
    second.dispose();
  }
  assert.ok(worst <= 1e-5, `round trip moved the logits by ${worst}`);
  const acc = (100 * correct) / keep.length;
  assert.ok(Math.abs(acc - INFO.test_accuracy) <= 0.1, `after the round trip ${acc.toFixed(2)}% vs PyTorch ${INFO.test_accuracy}%`);
});
