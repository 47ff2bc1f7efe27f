/**
 * Self-describing checkpoints and loadEncoder, on the exact `cpu` backend: a save → load round trip through a
 * checkpoint, a run directory and a model folder gives the same features; the recorded architecture wins over
 * the dataset's name; old checkpoints (no architecture) still load; bad input is a UlearnError.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/backend.js';
import { UlearnError } from '../../src/errors.js';
import { architectureOf, buildEncoder, type EncoderArchitecture } from '../../src/models/architecture.js';
import { loadEncoder } from '../../src/models/load-encoder.js';
import { buildResNetEncoder, classifierHead } from '../../src/models/resnet.js';
import { saveClassifier } from '../../src/predict/image-model.js';
import { inspectCheckpoint, saveCheckpoint } from '../../src/runs/checkpoint.js';
import { RunDir } from '../../src/runs/run-dir.js';
import { tempDir } from '../data/fixtures.js';
import type * as tfl from '@tensorflow/tfjs-layers';

before(async () => {
  await initBackend('cpu');
});

const RGB32: EncoderArchitecture = { family: 'resnet', modality: 'image', inputShape: [32, 32, 3], widths: [4, 8], blocksPerStage: 2, method: 'simclr' };

function features(encoder: tfl.LayersModel, shape: number[], seed = 5): Float32Array {
  return tf.tidy(() => (encoder.apply(tf.randomUniform([3, ...shape], 0, 1, 'float32', seed), { training: false }) as tf.Tensor).dataSync() as Float32Array);
}

/** A trained-looking encoder: random init from one seed, then BN statistics and weights nudged by a forward pass in training mode. */
function trainedEncoder(arch: EncoderArchitecture, seed: number): tfl.LayersModel {
  const enc = buildEncoder(arch, seed);
  tf.tidy(() => {
    enc.apply(tf.randomUniform([4, ...arch.inputShape], 0, 1, 'float32', seed), { training: true });
  });
  return enc;
}

test('save → loadEncoder from a checkpoint, a run directory and a model folder gives identical features', async () => {
  const root = await tempDir('ulearn-load-encoder-');
  const enc = trainedEncoder(RGB32, 3);
  const want = features(enc, RGB32.inputShape);
  const run = await RunDir.create(join(root, 'runs'), { data: 'mnist' }, { id: 'r' });
  const ckpt = run.path('checkpoints', 'pretrain-encoder');
  await saveCheckpoint(ckpt, enc);
  assert.deepEqual((await inspectCheckpoint(ckpt))?.architecture, RGB32);

  const model = join(root, 'model');
  const head = classifierHead(8, 3, { seed: 1 });
  await saveClassifier(model, enc, head, { classes: ['a', 'b', 'c'], preprocessing: { inputShape: [32, 32, 3], resize: 'crop', scale: '1/255' }, method: 'finetune', training: {} });
  for (const source of [ckpt, run.dir, model]) {
    const loaded = await loadEncoder(source);
    assert.deepEqual(loaded.architecture.inputShape, [32, 32, 3], source);
    assert.deepEqual(loaded.architecture.widths, [4, 8], source);
    assert.deepEqual(features(loaded.encoder, RGB32.inputShape), want, source);
    assert.deepEqual(architectureOf(loaded.encoder), loaded.architecture);
    loaded.encoder.dispose();
  }
  enc.dispose();
  head.dispose();
});

test('a 32×32×3 encoder of a run whose dataset is named mnist loads at 32×32×3 (not guessed 28×28×1 from the name)', async () => {
  const root = await tempDir('ulearn-load-encoder-');
  const run = await RunDir.create(join(root, 'runs'), { data: 'mnist', encoder: { widths: [4, 8], blocksPerStage: 2 } }, { id: 'r' });
  const enc = trainedEncoder(RGB32, 9);
  await saveCheckpoint(run.path('checkpoints', 'pretrain-encoder'), enc);
  const { encoder, architecture } = await loadEncoder(run.dir);
  assert.deepEqual(encoder.inputs[0].shape, [null, 32, 32, 3]);
  assert.equal(architecture.method, 'simclr');
  assert.deepEqual(features(encoder, [32, 32, 3]), features(enc, [32, 32, 3]));
  // A ResNet pools globally: the same weights read another image size when asked (clean checks at their size).
  const resized = await loadEncoder(run.dir, { inputShape: [20, 20, 3] });
  assert.deepEqual(features(resized.encoder, [20, 20, 3]), features(enc, [20, 20, 3]));
  await assert.rejects(loadEncoder(run.dir, { inputShape: [32, 32, 1] }), (e: unknown) => e instanceof UlearnError && e.code === 'E_CHECKPOINT_MISMATCH' && /channels/.test(e.hint ?? ''));
  for (const m of [encoder, resized.encoder, enc]) m.dispose();
});

test('an old checkpoint (no recorded architecture) loads: widths, depth and channels from its weights, size from the named dataset', async () => {
  const root = await tempDir('ulearn-load-encoder-');
  const run = await RunDir.create(join(root, 'runs'), { data: 'mnist', pretrain: { method: 'vicreg' } }, { id: 'r' });
  // Built without an architecture, as every encoder was before: the checkpoint records none.
  const old = buildResNetEncoder({ inputShape: [28, 28, 3], widths: [4, 6, 8], blocksPerStage: 1, seed: 2 });
  await saveCheckpoint(run.path('checkpoints', 'pretrain-encoder'), old);
  assert.equal((await inspectCheckpoint(run.path('checkpoints', 'pretrain-encoder')))?.architecture, undefined);
  const { encoder, architecture } = await loadEncoder(run.dir);
  assert.deepEqual(architecture, { family: 'resnet', modality: 'image', inputShape: [28, 28, 3], widths: [4, 6, 8], blocksPerStage: 1, method: 'vicreg' });
  assert.deepEqual(features(encoder, [28, 28, 3]), features(old, [28, 28, 3]));
  encoder.dispose();

  // A folder dataset: the image size is in neither the weights nor the config.
  const run2 = await RunDir.create(join(root, 'runs'), { data: '/some/folder' }, { id: 'r2' });
  await saveCheckpoint(run2.path('checkpoints', 'pretrain-encoder'), old);
  await assert.rejects(loadEncoder(run2.dir), (e: unknown) => e instanceof UlearnError && e.code === 'E_CHECKPOINT' && /predates/.test(e.message) && /inputShape/.test(e.hint ?? ''));
  const sized = await loadEncoder(run2.dir, { inputShape: [28, 28, 3] });
  assert.deepEqual(features(sized.encoder, [28, 28, 3]), features(old, [28, 28, 3]));
  sized.encoder.dispose();
  old.dispose();
});

test('a missing path, a folder that holds no encoder, and corrupt checkpoints are UlearnErrors', async () => {
  const root = await tempDir('ulearn-load-encoder-');
  const isCkptError = (re: RegExp) => (e: unknown) => e instanceof UlearnError && e.code === 'E_CHECKPOINT' && re.test(e.message);
  await assert.rejects(loadEncoder(join(root, 'nope')), isCkptError(/no such folder/));
  await mkdir(join(root, 'empty'));
  await assert.rejects(loadEncoder(join(root, 'empty')), isCkptError(/not a checkpoint, a run directory or a model folder/));
  const run = await RunDir.create(join(root, 'runs'), { data: 'mnist' }, { id: 'r' });
  await mkdir(run.path('checkpoints'), { recursive: true });
  await assert.rejects(loadEncoder(run.dir), isCkptError(/no pretrained encoder yet/));

  const enc = trainedEncoder(RGB32, 4);
  const ckpt = join(root, 'ckpt');
  await saveCheckpoint(ckpt, enc);
  const manifest = await readFile(join(ckpt, 'manifest.json'), 'utf8');
  // Truncated weights: the checkpoint is incomplete, so it is not found.
  const bin = await readFile(join(ckpt, 'weights.bin'));
  await writeFile(join(ckpt, 'weights.bin'), bin.subarray(0, 100));
  await assert.rejects(loadEncoder(ckpt), isCkptError(/not a checkpoint/));
  await writeFile(join(ckpt, 'weights.bin'), bin);
  // A manifest that lost its weight list, or whose architecture is garbage.
  const m = JSON.parse(manifest) as Record<string, unknown>;
  await writeFile(join(ckpt, 'manifest.json'), JSON.stringify({ ...m, weights: 'x' }));
  await assert.rejects(loadEncoder(ckpt), isCkptError(/malformed/));
  await writeFile(join(ckpt, 'manifest.json'), JSON.stringify({ ...m, architecture: { family: 'resnet', widths: 'big' } }));
  await assert.rejects(loadEncoder(ckpt), isCkptError(/architecture is malformed/));
  // An architecture that does not fit the weights.
  await writeFile(join(ckpt, 'manifest.json'), JSON.stringify({ ...m, architecture: { ...RGB32, widths: [4, 16] } }));
  await assert.rejects(loadEncoder(ckpt), (e: unknown) => e instanceof UlearnError && e.code === 'E_CHECKPOINT_MISMATCH');
  enc.dispose();
});
