/** saveModel / loadModel: a round trip keeps the predictions, and saving again leaves one weights file. */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/backend.js';
import { UlearnError } from '../../src/errors.js';
import { loadModel, saveModel } from '../../src/models/io.js';
import { attachHead, buildResNetEncoder, classifierHead, featureDim } from '../../src/models/resnet.js';

before(async () => {
  await initBackend('cpu');
});

test('ResNet + classifier: save, load, same predictions; re-saving replaces the weights file', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ulearn-models-io-'));
  try {
    const enc = buildResNetEncoder({ inputShape: [12, 12, 1], widths: [4, 8], blocksPerStage: 1, seed: 3 });
    const model = attachHead(enc, classifierHead(featureDim(enc), 5, { seed: 3 }));
    const x = tf.randomNormal([2, 12, 12, 1], 0, 1, 'float32', 7);
    await saveModel(model, dir);
    const loaded = await loadModel(dir);
    assert.equal(loaded.countParams(), model.countParams());
    const a = (model.predict(x) as tf.Tensor).dataSync();
    const b = (loaded.predict(x) as tf.Tensor).dataSync();
    assert.deepEqual(b, a);

    // Change the weights and save again: model.json now names the new weights file, the old one is gone.
    model.setWeights(model.getWeights().map((w) => tf.mul(w, 0.5)));
    await saveModel(model, dir);
    const files = fs.readdirSync(dir).sort();
    assert.equal(files.length, 2, `files: ${files}`);
    assert.ok(files.includes('model.json') && files.some((f) => /^weights-[0-9a-f]{16}\.bin$/.test(f)));
    const again = await loadModel(dir);
    assert.deepEqual((again.predict(x) as tf.Tensor).dataSync(), (model.predict(x) as tf.Tensor).dataSync());
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('loading from a directory without a model is a UlearnError', async () => {
  await assert.rejects(loadModel(path.join(os.tmpdir(), 'ulearn-no-such-model-dir')), (e: unknown) => e instanceof UlearnError && /cannot read a model/.test(e.message));
});
