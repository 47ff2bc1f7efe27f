import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/backend.js';
import { initProject } from '../../src/label/init.js';
import { buildEncoder } from '../../src/models/architecture.js';
import { buildResNetEncoder } from '../../src/models/resnet.js';
import { saveCheckpoint } from '../../src/runs/checkpoint.js';
import { RunDir } from '../../src/runs/run-dir.js';
import { makeImageFolder, tempDir } from './fixtures.js';

test('--encoder: embeddings are the pretrained encoder features of each image', async () => {
  await initBackend('cpu');
  const root = tempDir('encoder');
  const folder = await makeImageFolder(root, 6);
  // A duplicate image must get exactly the same embedding as its original.
  copyFileSync(join(folder, 's002.png'), join(folder, 's002-copy.png'));
  // A tiny "pretrained" run: config + encoder checkpoint, as `ulearn pretrain` leaves them.
  const widths = [4, 8];
  const run = await RunDir.create(join(root, 'runs'), { data: folder, encoder: { widths, blocksPerStage: 1 } }, { id: 'r1' });
  const encoder = buildResNetEncoder({ inputShape: [32, 32, 3], widths, blocksPerStage: 1, seed: 7 });
  await saveCheckpoint(run.path('checkpoints', 'pretrain-encoder'), encoder);
  mkdirSync(join(root, 'p'), { recursive: true });
  const store = await initProject(join(root, 'p', 'proj'), { data: folder, classes: ['dark', 'light'], encoder: run.dir, log: () => undefined });
  try {
    const ref = store.embeddings()!;
    assert.equal(ref.dim, 8);
    assert.equal(ref.source, `encoder:${run.dir}`);
    const emb = new Float32Array(new Uint8Array(readFileSync(ref.path)).buffer);
    assert.equal(emb.length, 7 * 8);
    const row = (file: string) => {
      const i = store.sampleByFile(file)!.id - 1;
      return [...emb.subarray(i * 8, (i + 1) * 8)];
    };
    assert.deepEqual(row('s002-copy.png'), row('s002.png'));
    // Independent reference for one image: the flat gray value (22) through the saved encoder directly.
    const x = tf.fill([1, 32, 32, 3], 22 / 255);
    const want = (await (encoder.apply(x, { training: false }) as tf.Tensor).data()) as Float32Array;
    tf.dispose(x);
    row('s002.png').forEach((v, j) => assert.ok(Math.abs(v - want[j]) < 1e-4, `feature ${j}: ${v} vs ${want[j]}`));
    assert.notDeepEqual(row('s001.png'), row('s002.png'));
  } finally {
    store.close();
    encoder.dispose();
  }
});

test('--encoder: a 32×32×3 encoder of a run on a dataset named mnist is used at 32×32×3 (its checkpoint says so)', async () => {
  await initBackend('cpu');
  const root = tempDir('encoder-mnist');
  const folder = await makeImageFolder(root, 3);
  // The name used to decide the input (28×28×1 for mnist); the checkpoint's recorded architecture now does.
  const run = await RunDir.create(join(root, 'runs'), { data: 'mnist', encoder: { widths: [4, 8], blocksPerStage: 1 } }, { id: 'r1' });
  const encoder = buildEncoder({ family: 'resnet', modality: 'image', inputShape: [32, 32, 3], widths: [4, 8], blocksPerStage: 1 }, 7);
  await saveCheckpoint(run.path('checkpoints', 'pretrain-encoder'), encoder);
  mkdirSync(join(root, 'p'), { recursive: true });
  const store = await initProject(join(root, 'p', 'proj'), { data: folder, classes: ['dark', 'light'], encoder: run.dir, log: () => undefined });
  try {
    const ref = store.embeddings()!;
    assert.equal(ref.dim, 8);
    const emb = new Float32Array(new Uint8Array(readFileSync(ref.path)).buffer);
    const i = store.sampleByFile('s002.png')!.id - 1;
    const x = tf.fill([1, 32, 32, 3], 22 / 255);
    const want = (await (encoder.apply(x, { training: false }) as tf.Tensor).data()) as Float32Array;
    tf.dispose(x);
    emb.subarray(i * 8, (i + 1) * 8).forEach((v, j) => assert.ok(Math.abs(v - want[j]) < 1e-4, `feature ${j}: ${v} vs ${want[j]}`));
  } finally {
    store.close();
    encoder.dispose();
  }
});
