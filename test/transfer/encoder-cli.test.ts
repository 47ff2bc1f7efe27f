/**
 * An imported model wherever an encoder is accepted (issue 14, item 5): `ulearn train` and `ulearn label init`
 * with `--encoder model.onnx` (the PyTorch-trained Fashion-MNIST CNN fixture, 28×28 gray, features cut before
 * its classifier: 32 values), the declared input preprocessing (resize, gray↔RGB, mean/std) checked against
 * the same steps done by hand, the shape-mismatch error, and an imported encoder saved after training (model
 * folder and checkpoint) loading back with the same features; pretraining that continues from an imported model. Tiny data: 8 images.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { encoderEmbedding } from '../../src/clean/encoder-embedding.js';
import type { ImageSamples } from '../../src/clean/types.js';
import { initBackend } from '../../src/engine/backend.js';
import { UlearnError } from '../../src/errors.js';
import { openStore } from '../../src/label/store.js';
import { encode } from '../../src/models/encode.js';
import { loadEncoder } from '../../src/models/load-encoder.js';
import { saveCheckpoint } from '../../src/runs/checkpoint.js';
import { pipelineConfig } from '../../src/pipeline/config.js';
import { runPipeline } from '../../src/pipeline/run-pipeline.js';
import { importOnnx } from '../../src/transfer/onnx/import.js';
import { runUlearn } from '../cli/run-cli.js';

const ONNX = path.resolve('test/fixtures/transfer/fmnist-cnn.onnx');
const root = mkdtempSync(path.join(tmpdir(), 'ulearn-encoder-cli-'));

/** `n` images per class ('dark', 'light') of size×size×channels with a per-image pattern; returns the folder. */
async function imageFolder(name: string, size: number, channels: 1 | 3, n = 4): Promise<string> {
  const dir = path.join(root, name);
  for (const [c, base] of [['dark', 40], ['light', 200]] as const) {
    mkdirSync(path.join(dir, c), { recursive: true });
    for (let i = 0; i < n; i++) {
      const px = Buffer.alloc(size * size * channels);
      for (let k = 0; k < px.length; k++) px[k] = (base + ((k * (i + 3)) % 41)) & 255;
      await writeFile(path.join(dir, c, `${i}.png`), await sharp(px, { raw: { width: size, height: size, channels } }).png().toBuffer());
    }
  }
  return dir;
}

/** The images of `folder` (sorted, as read back from the PNGs) as [n, 28, 28, 1] values in [0, 1]. */
async function pixels(files: string[]): Promise<Float32Array> {
  const x = new Float32Array(files.length * 784);
  for (let i = 0; i < files.length; i++) {
    const raw = await sharp(files[i]).extractChannel(0).raw().toBuffer();
    for (let k = 0; k < 784; k++) x[i * 784 + k] = raw[k] / 255;
  }
  return x;
}

/** The imported model itself, run directly (no preprocessing, no encode): the reference features. */
async function reference(x: Float32Array, n: number): Promise<Float32Array> {
  const imp = await importOnnx(ONNX);
  try {
    return tf.tidy(() => (imp.model.predict(tf.tensor4d(x, [n, 28, 28, 1])) as tf.Tensor).dataSync() as Float32Array);
  } finally {
    imp.model.dispose();
  }
}

function assertClose(got: Float32Array, want: Float32Array, tol: number, what: string) {
  assert.equal(got.length, want.length, `${what}: length`);
  let max = 0;
  for (let i = 0; i < got.length; i++) max = Math.max(max, Math.abs(got[i] - want[i]));
  assert.ok(max <= tol, `${what}: max abs diff ${max} > ${tol}`);
}

let gray28: string;
before(async () => {
  await initBackend('cpu');
  gray28 = await imageFolder('gray28', 28, 1);
});

test('ulearn train --encoder model.onnx: fine-tunes the imported CNN, saves it, and the model folder loads back as family imported', () => {
  const out = path.join(root, 'model-ft');
  const r = runUlearn(['train', gray28, '--method', 'finetune', '--encoder', ONNX, '--epochs', '1', '--batch-size', '4', '--out', out, '--backend', 'cpu']);
  assert.equal(r.code, 0, r.err);
  assert.ok(existsSync(path.join(out, 'model.json')));
  return (async () => {
    const { encoder, architecture } = await loadEncoder(out);
    try {
      assert.equal(architecture.family, 'imported');
      assert.equal(architecture.imported?.source, ONNX);
      assert.deepEqual(architecture.inputShape, [28, 28, 1]);
      const files = ['dark', 'light'].flatMap((c) => [0, 1, 2, 3].map((i) => path.join(gray28, c, `${i}.png`)));
      const x = await pixels(files);
      const tuned = encode(encoder, x, [28, 28, 1]);
      const orig = await reference(x, files.length);
      assert.equal(tuned.length, 8 * 32);
      assert.ok(tuned.every(Number.isFinite));
      // Fine-tuning moved the imported weights (the saved encoder is the trained one, not the file's).
      assert.ok(tuned.some((v, i) => Math.abs(v - orig[i]) > 1e-4), 'the saved encoder equals the untrained import');
    } finally {
      encoder.dispose();
    }
  })();
});

test('ulearn label init --encoder model.onnx: the stored embeddings are the imported features of each image', async () => {
  const proj = path.join(root, 'proj');
  const r = runUlearn(['label', 'init', proj, '--data', gray28, '--classes', 'dark,light', '--encoder', ONNX]);
  assert.equal(r.code, 0, r.err);
  const store = await openStore(proj);
  try {
    const ref = (await store.embeddings())!;
    assert.equal(ref.dim, 32);
    assert.equal(ref.count, 8);
    const emb = new Float32Array(new Uint8Array(readFileSync(ref.path)).buffer);
    const files = ['dark/0.png', 'light/3.png'];
    const want = await reference(await pixels(files.map((f) => path.join(gray28, f))), files.length);
    for (const [k, f] of files.entries()) {
      const i = (await store.sampleByFile(f))!.id - 1;
      assertClose(emb.subarray(i * 32, (i + 1) * 32), want.subarray(k * 32, (k + 1) * 32), 1e-4, f);
    }
  } finally {
    await store.close();
  }
});

test('data that does not fit the model: a clear error naming both shapes, nothing written; declared preprocessing makes it fit', async () => {
  const rgb32 = await imageFolder('rgb32', 32, 3, 2);
  const out = path.join(root, 'model-bad');
  const r = runUlearn(['train', rgb32, '--method', 'linear', '--encoder', ONNX, '--out', out, '--backend', 'cpu']);
  assert.notEqual(r.code, 0);
  assert.match(r.err, /fmnist-cnn\.onnx: the model reads \[28, 28, 1\] samples \(H, W, C\); the data are \[32, 32, 3\]/);
  assert.match(r.err, /--input-size 28x28 --channels gray/);
  assert.ok(!existsSync(out));
  // Declared only half (the size): still refused, and it says what was declared.
  await assert.rejects(loadEncoder(ONNX, { inputShape: [32, 32, 3], preprocessing: { size: [28, 28] } }), (e: unknown) => e instanceof UlearnError && e.code === 'E_ENCODER_INPUT' && /declared: --input-size 28x28/.test(e.message));
  // A declared size that is not the model's.
  await assert.rejects(loadEncoder(ONNX, { inputShape: [32, 32, 3], preprocessing: { size: [30, 30], channels: 1 } }), /does not match the model's input \[28, 28, 1\]/);
});

test('declared preprocessing = resize, RGB → gray (luma) and (x - mean) / std in front of the model, as done by hand', async () => {
  const mean = 0.2, std = 0.5;
  const { encoder, architecture } = await loadEncoder(ONNX, { inputShape: [32, 32, 3], preprocessing: { size: [28, 28], channels: 1, mean: [mean], std: [std] } });
  try {
    assert.deepEqual(architecture.inputShape, [32, 32, 3]);
    assert.deepEqual(architecture.imported?.preprocessing, { size: [28, 28], channels: 1, mean: [mean], std: [std] });
    const n = 3;
    const x = new Float32Array(n * 32 * 32 * 3).map((_, i) => ((i * 37) % 101) / 100);
    const got = encode(encoder, x, [32, 32, 3]);
    // By hand, float64 for the colour conversion and normalisation, tf's bilinear resize (half-pixel centres).
    const resized = tf.tidy(() => tf.image.resizeBilinear(tf.tensor4d(x, [n, 32, 32, 3]), [28, 28], false, true).dataSync() as Float32Array);
    const gray = new Float32Array(n * 784);
    for (let p = 0; p < n * 784; p++) gray[p] = (0.299 * resized[p * 3] + 0.587 * resized[p * 3 + 1] + 0.114 * resized[p * 3 + 2] - mean) / std;
    assertClose(got, await reference(gray, n), 1e-4, 'adapted encoder vs by hand');
  } finally {
    encoder.dispose();
  }
});

test('an imported encoder saved as a checkpoint (pretrain) loads back into a fresh import of its source, with the saved weights', async () => {
  const { encoder } = await loadEncoder(ONNX, { preprocessing: { mean: [0.1], std: [0.9] } });
  const dir = path.join(root, 'ckpt');
  try {
    // Change a weight, as training would, so the checkpoint's weights (not the file's) must come back.
    const conv = encoder.layers.find((l) => l.getClassName() === 'Model')!;
    const w = conv.getWeights()[0];
    conv.setWeights([tf.mul(w, 1.5), ...conv.getWeights().slice(1)]);
    await saveCheckpoint(dir, encoder);
    const x = new Float32Array(2 * 784).map((_, i) => (i % 13) / 13);
    const want = encode(encoder, x, [28, 28, 1]);
    const back = await loadEncoder(dir);
    try {
      assert.equal(back.architecture.family, 'imported');
      assertClose(encode(back.encoder, x, [28, 28, 1]), want, 1e-6, 'checkpoint round trip');
    } finally {
      back.encoder.dispose();
    }
  } finally {
    encoder.dispose();
  }
});

test('pretrain from an imported model (domain-adaptive): SSL continues from its weights, and the probe stage loads the result back', async () => {
  const lines: string[] = [];
  const cfg = pipelineConfig({
    data: gray28,
    testData: gray28,
    totalLabels: 4,
    seed: 0,
    budget: 'none',
    backend: 'cpu',
    encoder: { from: ONNX },
    pretrain: { method: 'simclr', batchSize: 8, epochs: 1, maxSteps: 2, monitorEvery: 1 },
  });
  const res = await runPipeline(cfg, { runsRoot: path.join(root, 'runs'), stages: ['pretrain', 'probe'], log: (l) => lines.push(l) });
  assert.ok(res.methods.some((m) => m.name === 'SSL + linear probe'), lines.join('\n'));
  const { encoder, architecture } = await loadEncoder(res.runDir);
  try {
    assert.equal(architecture.family, 'imported');
    assert.equal(architecture.method, 'simclr');
    assert.equal(architecture.imported?.source, ONNX);
    const x = await pixels([path.join(gray28, 'dark', '0.png')]);
    const after = encode(encoder, x, [28, 28, 1]);
    const before = await reference(x, 1);
    assert.ok(after.some((v, i) => Math.abs(v - before[i]) > 1e-5), 'pretraining did not change the imported weights');
  } finally {
    encoder.dispose();
  }
});

test("clean's --encoder model.onnx embedding: L2-normalised imported features; 32×32 RGB samples refused, then fitted by the declared preprocessing", async () => {
  const s = { ids: ['a', 'b'], height: 28, width: 28, channels: 1, pixels: new Uint8Array(2 * 784).map((_, i) => (i * 7) % 256) } as unknown as ImageSamples;
  const { vectors, dim } = await encoderEmbedding(ONNX, 'cpu')(s);
  assert.equal(dim, 32);
  const want = await reference(Float32Array.from(s.pixels, (v) => v / 255), 2);
  for (let r = 0; r < 2; r++) {
    const row = want.subarray(r * 32, (r + 1) * 32);
    const norm = Math.hypot(...row);
    assertClose(vectors.subarray(r * 32, (r + 1) * 32), row.map((v) => v / norm), 1e-5, `row ${r}`);
  }
  // 32×32 RGB samples: refused without a declared preprocessing, fine with one.
  const rgb = { ...s, height: 32, width: 32, channels: 3, pixels: new Uint8Array(2 * 32 * 32 * 3).fill(100) } as unknown as ImageSamples;
  await assert.rejects(encoderEmbedding(ONNX, 'cpu')(rgb), /cannot use its encoder for 32x32x3 images .*reads \[28, 28, 1\]/);
  const ok = await encoderEmbedding(ONNX, 'cpu', { preprocessing: { size: [28, 28], channels: 1 } })(rgb);
  assert.equal(ok.dim, 32);
});

test('loadEncoder reads a foreign tfjs layers model (its model.json, or its folder) as an imported encoder cut before the classifier, not as a ulearn model folder', async () => {
  const model = tfl.sequential({
    layers: [
      tfl.layers.conv2d({ inputShape: [9, 9, 3], filters: 4, kernelSize: 3, activation: 'relu', name: 'conv' }),
      tfl.layers.globalAveragePooling2d({ name: 'gap' }),
      tfl.layers.dense({ units: 6, activation: 'relu', name: 'fc' }),
      tfl.layers.dense({ units: 3, activation: 'softmax', name: 'classifier' }),
    ],
  });
  const dir = path.join(root, 'keras');
  mkdirSync(dir, { recursive: true });
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler(async (a) => ((artifacts = a), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } })));
  await writeFile(path.join(dir, 'group1-shard1of1.bin'), new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts!.weightData!)));
  await writeFile(path.join(dir, 'model.json'), JSON.stringify({ format: 'layers-model', convertedBy: 'TensorFlow.js Converter v4.22.0', modelTopology: artifacts!.modelTopology, weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: artifacts!.weightSpecs }] }));
  const x = new Float32Array(2 * 243).map((_, i) => (i % 17) / 17);
  const want = tf.tidy(() => (tfl.model({ inputs: model.inputs, outputs: model.getLayer('fc').output as tfl.SymbolicTensor }).predict(tf.tensor4d(x, [2, 9, 9, 3])) as tf.Tensor).dataSync() as Float32Array);
  for (const source of [path.join(dir, 'model.json'), dir]) {
    const { encoder, architecture } = await loadEncoder(source, { inputShape: [9, 9, 3] });
    try {
      assert.equal(architecture.family, 'imported');
      assert.equal(architecture.imported?.format, 'tfjs-layers');
      assertClose(encode(encoder, x, [9, 9, 3]), want, 1e-5, source);
    } finally {
      encoder.dispose();
    }
  }
  model.dispose();
});

test("an ONNX export's preprocessing.json declares its input: data of another size are resized to it; without the sidecar they are refused", async () => {
  const { buildEncoder } = await import('../../src/models/architecture.js');
  const { exportModel } = await import('../../src/transfer/export.js');
  const enc = buildEncoder({ family: 'resnet', modality: 'image', inputShape: [8, 8, 1], widths: [4], blocksPerStage: 1 }, 3);
  const dir = path.join(root, 'export');
  await exportModel(enc, dir, { format: 'onnx', log: () => undefined });
  enc.dispose();
  const { encoder, architecture } = await loadEncoder(path.join(dir, 'model.onnx'), { inputShape: [12, 12, 1] });
  try {
    assert.deepEqual(architecture.imported?.preprocessing?.size, [8, 8]);
    assert.deepEqual(encoder.inputs[0].shape, [null, 12, 12, 1]);
  } finally {
    encoder.dispose();
  }
  const alone = path.join(root, 'alone');
  mkdirSync(alone);
  copyFileSync(path.join(dir, 'model.onnx'), path.join(alone, 'model.onnx'));
  await assert.rejects(loadEncoder(path.join(alone, 'model.onnx'), { inputShape: [12, 12, 1] }), /reads \[8, 8, 1\] samples .* the data are \[12, 12, 1\]/);
});
