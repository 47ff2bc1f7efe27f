/**
 * The small CNN PyTorch trained on Fashion-MNIST classes 0-4 (test/fixtures/transfer/fmnist-cnn.onnx, made by
 * scripts/fixtures/transfer.py, which recorded its PyTorch test accuracy in fmnist-cnn.json): imported whole,
 * it keeps that accuracy on the 5000 test images of classes 0-4 within ±0.1 point. Its flatten is
 * `x.view(x.size(0), -1)` (Shape/Gather/Unsqueeze/Concat/Reshape in the file), so this also checks the folded
 * shape chain and the channel-first flatten order on trained weights.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { loadDataset } from '../../src/data/load.js';
import { importOnnx } from '../../src/transfer/onnx/import.js';
import { useWasm } from '../engine/helpers.js';

const FILE = 'test/fixtures/transfer/fmnist-cnn.onnx';
const INFO = JSON.parse(readFileSync('test/fixtures/transfer/fmnist-cnn.json', 'utf8')) as { test_accuracy: number; test_count: number };
const skip = existsSync('/usr/share/datasets/fashion-mnist') ? false : 'Fashion-MNIST is not installed (Debian package dataset-fashion-mnist; scripts/setup.sh installs it)';

before(async () => {
  await useWasm();
});

test('the PyTorch-trained Fashion-MNIST CNN keeps its test accuracy on classes 0-4 after import', { skip }, async () => {
  const { test: testSplit } = await loadDataset('fashion-mnist');
  const ds = testSplit!;
  const keep: number[] = [];
  for (let i = 0; i < ds.size; i++) if (ds.y[i] < 5) keep.push(i);
  assert.equal(keep.length, INFO.test_count);
  const imp = await importOnnx(FILE, { cutAt: 'output' });
  const { model } = imp;
  assert.deepEqual(imp.inputShape, [28, 28, 1]);
  let correct = 0;
  try {
    for (let start = 0; start < keep.length; start += 500) {
      const idx = keep.slice(start, start + 500);
      const x = new Float32Array(idx.length * 784);
      idx.forEach((i, k) => x.set(ds.x.subarray(i * 784, (i + 1) * 784), k * 784));
      const pred = tf.tidy(() => tf.argMax(model.predict(tf.tensor4d(x, [idx.length, 28, 28, 1])) as tf.Tensor, 1).dataSync());
      idx.forEach((i, k) => {
        if (pred[k] === ds.y[i]) correct++;
      });
    }
  } finally {
    model.dispose();
  }
  const acc = (100 * correct) / keep.length;
  assert.ok(Math.abs(acc - INFO.test_accuracy) <= 0.1, `imported ${acc.toFixed(2)}% vs PyTorch ${INFO.test_accuracy}%`);
});
