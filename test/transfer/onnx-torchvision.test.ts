/**
 * The three torchvision exports (ResNet-18, MobileNetV2, EfficientNet-B0; random weights, made by
 * scripts/fixtures/transfer.py with PyTorch's own exporter): each imports, matches onnxruntime within 1e-4 on
 * a random batch, cuts before its classifier by default, and fine-tunes: one step of ulearn's EncoderHeadStep
 * on a fixed small batch changes the imported weights and lowers the loss.
 *
 * The files are big and not committed; scripts/setup.sh builds them (or scripts/fixtures/transfer.sh
 * --torchvision). Only their absence skips these tests.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { importOnnx } from '../../src/transfer/onnx/import.js';
import { EncoderHeadStep } from '../../src/train/step.js';
import { maxAbsDiff, useWasm } from '../engine/helpers.js';
import { runImported, runOrt, seeded } from './onnx-helpers.js';

const DIR = 'test/fixtures/transfer/torchvision';
const ARCHS = ['resnet18', 'mobilenet_v2', 'efficientnet_b0'];

before(async () => {
  await useWasm();
});

for (const arch of ARCHS) {
  const file = `${DIR}/${arch}.onnx`;
  const skip = existsSync(file) ? false : `${file} is missing: build it with scripts/fixtures/transfer.sh --torchvision (scripts/setup.sh does)`;

  test(`${arch}: imports and matches onnxruntime within 1e-4`, { skip }, async () => {
    const { model, cut } = await importOnnx(file, { cutAt: 'output' });
    try {
      assert.equal(cut.how, 'output');
      const x = seeded(2 * 3 * 64 * 64, 11);
      const ref = await runOrt(file, x, [2, 3, 64, 64]);
      const got = runImported(model, x, [2, 3, 64, 64]);
      assert.deepEqual(got.dims, [2, 1000]);
      const diff = maxAbsDiff(got.data, ref.data);
      assert.ok(diff <= 1e-4, `max abs diff ${diff}`);
    } finally {
      model.dispose();
    }
  });

  test(`${arch}: features cut before the classifier fine-tune (one step lowers the loss and moves the weights)`, { skip }, async () => {
    // Small images keep the step cheap: every net here pools globally before its classifier.
    const { model: encoder, cut } = await importOnnx(file, { inputShape: [32, 32, 3] });
    const width = arch === 'resnet18' ? 512 : 1280;
    assert.equal(cut.how, 'default');
    assert.match(cut.node!, /Gemm/);
    assert.deepEqual(encoder.outputs[0].shape, [null, width]);
    const head = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [width], units: 3, kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }) })] });
    const step = new EncoderHeadStep({ encoder, head, lrHead: 1e-4, lrEncoder: 1e-5, weightDecay: 0 });
    const x = tf.tensor4d(seeded(4 * 32 * 32 * 3, 12), [4, 32, 32, 3]);
    const y = tf.oneHot(tf.tensor1d([0, 1, 2, 1], 'int32'), 3);
    const loss = () => tf.losses.softmaxCrossEntropy(y, head.apply(encoder.apply(x, { training: true }) as tf.Tensor, { training: true }) as tf.Tensor) as tf.Scalar;
    const kernel = encoder.trainableWeights.find((w) => w.shape.length === 4)!;
    const w0 = kernel.read().dataSync().slice();
    try {
      const before = tf.tidy(() => loss().dataSync()[0]);
      tf.dispose(step.step(loss));
      const after = tf.tidy(() => loss().dataSync()[0]);
      assert.ok(after < before, `loss ${before} → ${after}`);
      assert.ok(maxAbsDiff(kernel.read().dataSync(), w0) > 0, 'the first conv kernel did not move');
    } finally {
      step.dispose();
      tf.dispose([x, y]);
      encoder.dispose();
      head.dispose();
    }
  });
}
