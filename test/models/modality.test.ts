/**
 * Modality as a registry: paths route by it, it picks the encoder family, and a modality is one encoder family
 * plus one registerModality call (a toy re-registration of "audio" here, in this test file's own process) —
 * its encoders then save and load through the same checkpoints and loadEncoder as images and tables.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../../src/engine/backend.js';
import { UlearnError } from '../../src/errors.js';
import { buildEncoder, registerEncoderFamily } from '../../src/models/architecture.js';
import { loadEncoder } from '../../src/models/load-encoder.js';
import { mlpEncoder } from '../../src/models/mlp.js';
import { modality, modalityOfPath, registerModality } from '../../src/modality.js';
import { saveCheckpoint } from '../../src/runs/checkpoint.js';
import { tempDir } from '../data/fixtures.js';

before(async () => {
  await initBackend('cpu');
});

test('paths route to their modality; each modality names its encoder family', () => {
  assert.equal(modalityOfPath('data/train.CSV'), 'table');
  assert.equal(modalityOfPath('weka/iris.arff'), 'table');
  assert.equal(modalityOfPath('img/cat.png'), 'image');
  assert.equal(modalityOfPath('some/folder', true), 'image');
  assert.equal(modalityOfPath('notes.pdf'), undefined);
  assert.equal(modality('image').encoder([28, 28, 1]).family, 'resnet');
  // The image default has four stages (bench/results/encoder-widths.json); given widths win.
  assert.deepEqual(modality('image').encoder([28, 28, 1]).widths, [16, 32, 64, 128]);
  assert.deepEqual(modality('image').encoder([28, 28, 1], { widths: [8, 16] }).widths, [8, 16]);
  assert.deepEqual(modality('table').encoder([12], { widths: [32, 16] }), { family: 'mlp', modality: 'table', inputShape: [12], widths: [32, 16] });
  // Audio trains on features [frames, 1, bins] (TC-ResNet); asking for an encoder of waveforms says to featurize.
  assert.equal(modalityOfPath('clips/yes.wav'), 'audio');
  assert.equal(modality('audio').encoder([101, 1, 40]).family, 'tcresnet');
  assert.throws(() => modality('audio').encoder([16000]), (e: unknown) => e instanceof UlearnError && /featurize/.test(e.message));
});

test('a new modality is a registration: its encoders round-trip through checkpoints and loadEncoder', async () => {
  // A stand-in audio encoder: an MLP over a 64-sample waveform (a real one would be a 1-D CNN).
  registerEncoderFamily('toy-audio', { modality: 'audio', build: (a, seed) => mlpEncoder({ inputDim: a.inputShape[0], widths: a.widths, seed, name: 'toy_audio' }) });
  registerModality({ name: 'audio', extensions: ['.wav'], folders: false, encoder: (inputShape, o = {}) => ({ family: 'toy-audio', modality: 'audio', inputShape, widths: o.widths ?? [8] }) });
  assert.equal(modalityOfPath('clip.WAV'), 'audio');
  const enc = buildEncoder(modality('audio').encoder([64]), 3);
  const dir = join(await tempDir('ulearn-modality-'), 'ckpt');
  await saveCheckpoint(dir, enc);
  const { encoder, architecture } = await loadEncoder(dir);
  assert.equal(architecture.modality, 'audio');
  const x = tf.randomNormal([2, 64], 0, 1, 'float32', 1);
  const [a, b] = [enc, encoder].map((m) => tf.tidy(() => (m.predict(x) as tf.Tensor).dataSync()));
  assert.deepEqual(b, a);
  tf.dispose(x);
  enc.dispose();
  encoder.dispose();
});

test('a tabular model folder (MLP encoder → head, as `ulearn tabular` saves it) gives back its encoder', async () => {
  const { saveModel } = await import('../../src/models/io.js');
  const { linearHead } = await import('../../src/models/mlp.js');
  const enc = buildEncoder(modality('table').encoder([5], { widths: [6, 4] }), 2);
  const head = linearHead(4, 3, 1);
  const input = tfl.input({ shape: [5] });
  const full = tfl.model({ inputs: input, outputs: head.apply(enc.apply(input)) as tfl.SymbolicTensor });
  const dir = join(await tempDir('ulearn-modality-'), 'model');
  await saveModel(full, dir);
  const { encoder, architecture } = await loadEncoder(dir);
  assert.equal(architecture.modality, 'table');
  assert.deepEqual(architecture.inputShape, [5]);
  const x = tf.randomNormal([3, 5], 0, 1, 'float32', 4);
  const [a, b] = [enc, encoder].map((m) => tf.tidy(() => (m.predict(x) as tf.Tensor).dataSync()));
  assert.deepEqual(b, a);
  tf.dispose(x);
  encoder.dispose();
  full.dispose();
});
