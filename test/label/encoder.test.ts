import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { initBackend } from '../../src/engine/backend.js';
import { initProject } from '../../src/label/init.js';
import { buildEncoder } from '../../src/models/architecture.js';
import { buildResNetEncoder } from '../../src/models/resnet.js';
import { saveCheckpoint } from '../../src/runs/checkpoint.js';
import { RunDir } from '../../src/runs/run-dir.js';
import { makeImageFolder, tempDir } from './fixtures.js';

const WIDTHS = [4, 8];

/**
 * A tiny "pretrained" run (config + encoder checkpoint, as `ulearn pretrain` leaves them) on a run config
 * naming `data`, and a labeling project over `folder` made with `--encoder <run>`; `row(file)` reads the
 * project's stored embedding of one image.
 */
async function projectWithEncoder(root: string, folder: string, data: string, encoder: LayersModel) {
  const run = await RunDir.create(join(root, 'runs'), { data, encoder: { widths: WIDTHS, blocksPerStage: 1 } }, { id: 'r1' });
  await saveCheckpoint(run.path('checkpoints', 'pretrain-encoder'), encoder);
  mkdirSync(join(root, 'p'), { recursive: true });
  const store = await initProject(join(root, 'p', 'proj'), { data: folder, classes: ['dark', 'light'], encoder: run.dir, log: () => undefined });
  const ref = (await store.embeddings())!;
  const emb = new Float32Array(new Uint8Array(readFileSync(ref.path)).buffer);
  const ids = new Map((await store.listSamples(0, Number.MAX_SAFE_INTEGER)).map((s) => [s.file, s.id]));
  const row = (file: string) => {
    const i = ids.get(file)! - 1;
    return [...emb.subarray(i * ref.dim, (i + 1) * ref.dim)];
  };
  return { run, store, ref, emb, row };
}

/** Independent reference: a flat gray 32×32×3 image of pixel value `v` through the encoder directly. */
async function grayFeatures(encoder: LayersModel, v: number): Promise<Float32Array> {
  const x = tf.fill([1, 32, 32, 3], v / 255);
  const y = encoder.apply(x, { training: false }) as tf.Tensor;
  const want = (await y.data()) as Float32Array;
  tf.dispose([x, y]);
  return want;
}

function assertClose(got: number[], want: Float32Array): void {
  got.forEach((v, j) => assert.ok(Math.abs(v - want[j]) < 1e-4, `feature ${j}: ${v} vs ${want[j]}`));
}

test('--encoder: embeddings are the pretrained encoder features of each image', async () => {
  await initBackend('cpu');
  const root = tempDir('encoder');
  const folder = await makeImageFolder(root, 6);
  // A duplicate image must get exactly the same embedding as its original.
  copyFileSync(join(folder, 's002.png'), join(folder, 's002-copy.png'));
  const encoder = buildResNetEncoder({ inputShape: [32, 32, 3], widths: WIDTHS, blocksPerStage: 1, seed: 7 });
  const { run, store, ref, emb, row } = await projectWithEncoder(root, folder, folder, encoder);
  try {
    assert.equal(ref.dim, 8);
    assert.equal(ref.source, `encoder:${run.dir}`);
    assert.equal(emb.length, 7 * 8);
    assert.deepEqual(row('s002-copy.png'), row('s002.png'));
    // s002.png is flat gray 22 (makeImageFolder).
    assertClose(row('s002.png'), await grayFeatures(encoder, 22));
    assert.notDeepEqual(row('s001.png'), row('s002.png'));
  } finally {
    await store.close();
    encoder.dispose();
  }
});

test('--encoder: a 32×32×3 encoder of a run on a dataset named mnist is used at 32×32×3 (its checkpoint says so)', async () => {
  await initBackend('cpu');
  const root = tempDir('encoder-mnist');
  const folder = await makeImageFolder(root, 3);
  // The name used to decide the input (28×28×1 for mnist); the checkpoint's recorded architecture now does.
  const encoder = buildEncoder({ family: 'resnet', modality: 'image', inputShape: [32, 32, 3], widths: WIDTHS, blocksPerStage: 1 }, 7);
  const { store, ref, row } = await projectWithEncoder(root, folder, 'mnist', encoder);
  try {
    assert.equal(ref.dim, 8);
    assertClose(row('s002.png'), await grayFeatures(encoder, 22));
  } finally {
    await store.close();
    encoder.dispose();
  }
});
