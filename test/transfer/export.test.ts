/**
 * ONNX export against onnxruntime-node (an independent implementation): every architecture family ulearn has
 * (ResNet encoder and classifier, the reference CNN, TC-ResNet on audio features, the tabular MLP with its
 * nested encoder and head), with random weights everywhere (BN statistics too), on random inputs and on real
 * ones (synthetic shape images, log-mel frames of real clips, rows of a preprocessed CSV): max abs difference
 * ≤ 1e-4 in both input layouts. Then `exportModel` from folders (classifier, encoder only, checkpoint, tabular
 * run model, tfjs format), its sidecar, and its errors: nothing is written on failure.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../../src/engine/backend.js';
import { buildEncoder } from '../../src/models/architecture.js';
import { buildReferenceCnn } from '../../src/models/reference-cnn.js';
import { attachHead, classifierHead } from '../../src/models/resnet.js';
import { linearHead } from '../../src/models/mlp.js';
import { loadModel, saveModel } from '../../src/models/io.js';
import { loadEncoder } from '../../src/models/load-encoder.js';
import { saveCheckpoint } from '../../src/runs/checkpoint.js';
import { saveClassifier } from '../../src/predict/image-model.js';
import { loadShapes } from '../../src/data/shapes.js';
import { loadTableDataset } from '../../src/data/table-dataset.js';
import { savePreprocessor } from '../../src/data/preprocess/index.js';
import { toOnnx } from '../../src/transfer/export-onnx.js';
import { ResizeImages } from '../../src/transfer/resize-layer.js';
import { checkOnnxExport, runOnnx, runTfjs } from '../../src/transfer/onnx-check.js';
import { exportModel } from '../../src/transfer/export.js';
import type { ExportSidecar } from '../../src/transfer/sidecar.js';
import { randomInput, randomizeWeights } from './helpers.js';
import { maxAbsDiff } from '../engine/helpers.js';

const FIXTURES = path.join(import.meta.dirname, '..', 'fixtures', 'audio');
let work: string;
let shapes: Awaited<ReturnType<typeof loadShapes>>;

before(async () => {
  await initBackend('cpu');
  work = await mkdtemp(path.join(tmpdir(), 'ulearn-export-'));
  shapes = await loadShapes({ perClass: 1, testPerClass: 1, dir: path.join(work, 'shapes') });
});

/** Both layouts, the given inputs: each within 1e-4 of tfjs. */
async function assertMatches(model: tfl.LayersModel, x: Float32Array, shape: number[], what: string): Promise<void> {
  for (const layout of ['nchw', 'nhwc'] as const) {
    const { bytes } = toOnnx(model, { inputLayout: layout });
    const r = await checkOnnxExport(model, bytes, x, shape, { layout, what });
    assert.ok(r.maxAbsDiff <= 1e-4, `${model.name} ${layout} ${what}: ${r.maxAbsDiff}`);
    // Outputs of a sensible size: the check is not passing on all-zero outputs.
    assert.ok(r.maxAbs > 0.05, `${model.name}: outputs too small to tell anything (${r.maxAbs})`);
  }
}

function resnetClassifier(inputShape: [number, number, number], classes: number): { encoder: tfl.LayersModel; head: tfl.LayersModel; model: tfl.LayersModel } {
  const encoder = buildEncoder({ family: 'resnet', modality: 'image', inputShape, widths: [8, 16], blocksPerStage: 1, stemWidth: 6 });
  const head = classifierHead(16, classes);
  const model = attachHead(encoder, head, 'classifier_model');
  randomizeWeights(model, 11);
  return { encoder, head, model };
}

test('ResNet encoder and classifier (images): onnxruntime = tfjs on random and real images', async () => {
  const [h, w, c] = shapes.train.inputShape;
  const { encoder, model } = resnetClassifier([h, w, c], 10);
  const n = 4;
  const real = shapes.train.x.subarray(0, n * h * w * c);
  await assertMatches(model, real, [n, h, w, c], 'shape images');
  await assertMatches(encoder, real, [n, h, w, c], 'shape images');
  await assertMatches(model, randomInput(1, n * h * w * c, 0.5, 0.5), [n, h, w, c], 'random images');
  // Odd sizes: TF's 'same' padding with stride 2 puts the extra row at the end; the exported pads must too.
  const odd = buildEncoder({ family: 'resnet', modality: 'image', inputShape: [9, 7, 3], widths: [4, 8, 8], blocksPerStage: 2 });
  randomizeWeights(odd, 3);
  await assertMatches(odd, randomInput(2, 3 * 9 * 7 * 3), [3, 9, 7, 3], 'random 9x7 images');
  model.dispose();
  odd.dispose();
});

test('reference CNN (conv, max-pool, flatten, dense): flatten order survives the layout change', async () => {
  const [h, w, c] = shapes.train.inputShape;
  const cnn = buildReferenceCnn({ inputShape: [h, w, c], classes: 10 });
  randomizeWeights(cnn, 5);
  await assertMatches(cnn, shapes.train.x.subarray(0, 3 * h * w * c), [3, h, w, c], 'shape images');
  await assertMatches(cnn, randomInput(6, 2 * h * w * c), [2, h, w, c], 'random images');
  cnn.dispose();
});

test('TC-ResNet (audio features [frames, 1, bins]): real log-mel frames of clips and random features', async () => {
  const bins = 40;
  const clips = ['clip-burst', 'clip-chirp', 'clip-voiced'].map((name) => {
    const b = readFileSync(path.join(FIXTURES, `${name}.mel40.logmel.f32`));
    return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  });
  // The clips differ in length (31 to 101 frames): each is cut to the shortest, as fixed-length clips are.
  const frames = Math.min(...clips.map((f) => f.length / bins));
  assert.equal(frames, 31);
  // Standardised per bin as the audio preprocessor does (mean/std over the frames of these clips).
  const x = new Float32Array(clips.length * frames * bins);
  clips.forEach((f, i) => x.set(f.subarray(0, frames * bins), i * frames * bins));
  for (let b = 0; b < bins; b++) {
    let s = 0;
    let q = 0;
    for (let i = b; i < x.length; i += bins) {
      s += x[i];
      q += x[i] * x[i];
    }
    const m = s / (x.length / bins);
    const sd = Math.sqrt(Math.max(q / (x.length / bins) - m * m, 1e-12));
    for (let i = b; i < x.length; i += bins) x[i] = (x[i] - m) / sd;
  }
  const encoder = buildEncoder({ family: 'tcresnet', modality: 'audio', inputShape: [frames, 1, bins], widths: [12, 16, 24], stemWidth: 8 });
  const model = attachHead(encoder, classifierHead(24, 12), 'audio_classifier');
  randomizeWeights(model, 7);
  await assertMatches(model, x, [clips.length, frames, 1, bins], 'log-mel frames of 3 clips');
  await assertMatches(encoder, randomInput(8, 2 * frames * bins), [2, frames, 1, bins], 'random features');
  model.dispose();
});

async function tableFolder(): Promise<{ dir: string; rows: Float32Array; width: number; model: tfl.LayersModel }> {
  const lines = ['size,colour,weight,label'];
  const colours = ['red', 'green', 'blue'];
  for (let i = 0; i < 40; i++) lines.push(`${(i * 7) % 13},${colours[i % 3]},${(i * 0.37).toFixed(2)},${i % 4 < 2 ? 'yes' : 'no'}`);
  const csv = path.join(work, 'rows.csv');
  await writeFile(csv, lines.join('\n') + '\n');
  const data = await loadTableDataset(csv, { labelColumn: 'label', testFraction: 0 });
  const width = data.train.inputShape[0];
  const encoder = buildEncoder({ family: 'mlp', modality: 'table', inputShape: [width], widths: [16, 8], dropout: 0.1 });
  const head = linearHead(8, 2, 1);
  // As the tabular pipeline saves it: encoder and head nested in one model.
  const input = tfl.input({ shape: [width] });
  const model = tfl.model({ inputs: input, outputs: head.apply(encoder.apply(input)) as tfl.SymbolicTensor, name: 'tabular_classifier' });
  randomizeWeights(model, 9);
  const dir = path.join(work, 'tabular-model');
  await saveModel(model, dir);
  await savePreprocessor(dir, data.preprocessor);
  await writeFile(path.join(dir, 'classes.json'), JSON.stringify({ labelColumn: 'label', classes: data.train.classes }));
  return { dir, rows: data.train.x, width, model };
}

test('tabular MLP (nested encoder and head, dropout): real preprocessed rows and random rows', async () => {
  const { rows, width, model } = await tableFolder();
  await assertMatches(model, rows.subarray(0, 10 * width), [10, width], 'rows of a CSV');
  await assertMatches(model, randomInput(4, 5 * width), [5, width], 'random rows');
});

test('unsupported layers: one error listing each with its class, before any work', () => {
  const input = tfl.input({ shape: [8, 8, 2] });
  const up = tfl.layers.upSampling2d({ size: [2, 2], name: 'up' }).apply(input) as tfl.SymbolicTensor;
  const deconv = tfl.layers.conv2dTranspose({ filters: 2, kernelSize: 3, name: 'deconv' }).apply(up) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: input, outputs: deconv });
  assert.throws(() => toOnnx(model), /no mapping for layers 'up' \(UpSampling2D\), 'deconv' \(Conv2DTranspose\)/);
  model.dispose();
});

function sidecarOf(dir: string): ExportSidecar {
  return JSON.parse(readFileSync(path.join(dir, 'preprocessing.json'), 'utf8')) as ExportSidecar;
}

test('exportModel from a classifier folder: ONNX + sidecar, tfjs format, encoder only; the files match tfjs', async () => {
  const [h, w, c] = shapes.train.inputShape;
  const { encoder, head, model } = resnetClassifier([h, w, c], shapes.train.classes.length);
  const folder = path.join(work, 'image-model');
  await saveClassifier(folder, encoder, head, { classes: shapes.train.classes, preprocessing: { inputShape: [h, w, c], resize: 'crop', scale: '1/255' }, method: 'supervised', training: {} });
  const x = shapes.test!.x.subarray(0, 3 * h * w * c);
  const expected = runTfjs(model, x, [3, h, w, c]);

  const out = path.join(work, 'export-onnx');
  const r = await exportModel(folder, out, { format: 'onnx' });
  assert.deepEqual(r.files, ['model.onnx', 'preprocessing.json']);
  const side = sidecarOf(out);
  assert.equal(side.model.kind, 'classifier');
  assert.equal(side.model.opset, 13);
  assert.deepEqual(side.input, { name: 'input', shape: [null, c, h, w], layout: 'NCHW', dtype: 'float32' });
  assert.equal(side.output.meaning, 'logits');
  assert.deepEqual(side.labels, shapes.train.classes);
  assert.equal(side.preprocessing.kind, 'image');
  assert.deepEqual(side.preprocessing.kind === 'image' && [side.preprocessing.channelOrder, side.preprocessing.mean, side.preprocessing.std], ['RGB', [0, 0, 0], [1, 1, 1]]);
  assert.equal(side.model.architecture?.family, 'resnet');
  assert.ok(side.check && side.check.maxAbsDiff <= 1e-4);
  assert.match(side.ulearnVersion, /^\d+\.\d+\.\d+/);
  const got = await runOnnx(readFileSync(path.join(out, 'model.onnx')), x, [3, h, w, c], 'nchw');
  assert.ok(maxAbsDiff(got.data, expected) <= 1e-4);

  // tfjs layers format: loads back bit for bit, and ulearn reads it as an encoder source (architecture kept).
  const outTfjs = path.join(work, 'export-tfjs');
  await exportModel(folder, outTfjs, { format: 'tfjs' });
  assert.equal(sidecarOf(outTfjs).model.file, 'model.json');
  const back = await loadModel(outTfjs);
  assert.deepEqual(runTfjs(back, x, [3, h, w, c]), expected);
  const asEncoder = await loadEncoder(outTfjs);
  assert.equal(asEncoder.architecture.family, 'resnet');
  back.dispose();

  // Encoder only: features out, sidecar says so.
  const outEnc = path.join(work, 'export-encoder');
  await exportModel(folder, outEnc, { format: 'onnx', encoderOnly: true, inputLayout: 'nhwc' });
  const es = sidecarOf(outEnc);
  assert.equal(es.model.kind, 'encoder');
  assert.equal(es.output.meaning, 'features');
  assert.deepEqual(es.input.shape, [null, h, w, c]);
  const feats = await runOnnx(readFileSync(path.join(outEnc, 'model.onnx')), x, [3, h, w, c], 'nhwc');
  assert.deepEqual(feats.dims, [3, 16]);
  assert.ok(maxAbsDiff(feats.data, runTfjs(encoder, x, [3, h, w, c])) <= 1e-4);
  model.dispose();
});

test('exportModel from a checkpoint and from a tabular model folder', async () => {
  const enc = buildEncoder({ family: 'resnet', modality: 'image', inputShape: [12, 12, 1], widths: [8], blocksPerStage: 1 });
  randomizeWeights(enc, 2);
  const ckpt = path.join(work, 'run', 'checkpoints', 'pretrain-encoder');
  await mkdir(path.dirname(ckpt), { recursive: true });
  await saveCheckpoint(ckpt, enc);
  const out = path.join(work, 'export-ckpt');
  await exportModel(path.join(work, 'run'), out, { format: 'onnx' });
  const s = sidecarOf(out);
  assert.deepEqual([s.model.kind, s.modality, s.input.shape], ['encoder', 'image', [null, 1, 12, 12]]);
  enc.dispose();

  const { dir } = await tableFolder();
  const outTab = path.join(work, 'export-tab');
  await exportModel(dir, outTab, { format: 'onnx' });
  const t = sidecarOf(outTab);
  assert.deepEqual([t.modality, t.input.layout, t.labels], ['table', 'NF', ['no', 'yes']]);
  assert.ok(t.preprocessing.kind === 'table' && t.preprocessing.preprocessor?.kind === 'tabular');
  // Its encoder alone (the nested MLP): features, and still the table's preprocessing.
  const outTabEnc = path.join(work, 'export-tab-encoder');
  await exportModel(dir, outTabEnc, { format: 'onnx', encoderOnly: true });
  const te = sidecarOf(outTabEnc);
  assert.deepEqual([te.model.kind, te.output.meaning, te.output.shape, te.labels], ['encoder', 'features', [null, 8], null]);
});

test('exportModel errors: nothing written on failure, a foreign folder is never overwritten', async () => {
  await assert.rejects(exportModel(path.join(work, 'nope'), path.join(work, 'o1'), { format: 'onnx' }), /nope: no such folder/);
  const empty = path.join(work, 'empty-dir');
  await mkdir(empty);
  await assert.rejects(exportModel(empty, path.join(work, 'o2'), { format: 'onnx' }), /nothing to export here/);
  assert.ok(!existsSync(path.join(work, 'o1')) && !existsSync(path.join(work, 'o2')));

  const input = tfl.input({ shape: [4, 4, 1] });
  const bad = tfl.model({ inputs: input, outputs: tfl.layers.upSampling2d({ name: 'grow' }).apply(input) as tfl.SymbolicTensor });
  await assert.rejects(exportModel(bad, path.join(work, 'o3'), { format: 'onnx' }), /'grow' \(UpSampling2D\)/);
  assert.ok(!existsSync(path.join(work, 'o3')));
  const leftovers = (await readdir(work)).filter((f) => f.startsWith('.'));
  assert.deepEqual(leftovers, [], 'no temporary folders left behind');

  const foreign = path.join(work, 'foreign');
  await mkdir(foreign);
  await writeFile(path.join(foreign, 'notes.txt'), 'mine');
  const m = buildReferenceCnn({ inputShape: [8, 8, 1], classes: 2 });
  await assert.rejects(exportModel(m, foreign, { format: 'onnx' }), /not empty and not an earlier export/);
  assert.deepEqual(await readdir(foreign), ['notes.txt']);
  // An earlier export is replaced whole.
  const again = path.join(work, 'again');
  await exportModel(m, again, { format: 'tfjs' });
  await exportModel(m, again, { format: 'onnx' });
  assert.deepEqual((await readdir(again)).sort(), ['model.onnx', 'preprocessing.json']);
  m.dispose();
  bad.dispose();
});

test('every other supported layer (as Keras models use them): onnxruntime = tfjs in both layouts', async () => {
  const L = tfl.layers;
  const on = (layer: tfl.layers.Layer, x: tfl.SymbolicTensor | tfl.SymbolicTensor[]) => layer.apply(x) as tfl.SymbolicTensor;
  const input = tfl.input({ shape: [9, 8, 3] });
  const a = on(L.conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', name: 'conv_bias_relu' }), input);
  const b = on(L.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'same', strides: 2, name: 'depthwise' }), input);
  const bn = on(L.batchNormalization({ name: 'stock_bn', epsilon: 1e-3 }), on(L.concatenate({ name: 'concat' }), [a, b]));
  const act = on(L.leakyReLU({ alpha: 0.2, name: 'leaky' }), on(L.zeroPadding2d({ padding: [[1, 0], [0, 2]], name: 'pad' }), bn));
  const pooled = on(L.averagePooling2d({ poolSize: 3, strides: 2, padding: 'same', name: 'avg' }), act);
  const six = on(L.reLU({ maxValue: 6, name: 'relu6' }), on(L.conv2d({ filters: 5, kernelSize: 1, activation: 'sigmoid', name: 'pointwise' }), pooled));
  const mixed = on(L.multiply({ name: 'mul' }), [six, on(L.activation({ activation: 'tanh', name: 'tanh' }), six)]);
  const gmax = on(L.globalMaxPooling2d({ name: 'gmax' }), mixed);
  const gavg = on(L.globalAveragePooling2d({ name: 'gavg' }), on(L.maximum({ name: 'max' }), [mixed, six]));
  const merged = on(L.batchNormalization({ name: 'bn_rank2' }), on(L.average({ name: 'avg_merge' }), [gmax, gavg]));
  const seq = on(L.reshape({ targetShape: [5, 1], name: 'to_seq' }), merged);
  const c1 = on(L.conv1d({ filters: 3, kernelSize: 2, padding: 'same', activation: 'elu', name: 'conv1d' }), seq);
  const feats = on(L.globalAveragePooling1d({ name: 'gap1d' }), c1);
  const out = on(L.dense({ units: 3, activation: 'softmax', name: 'probs' }), on(L.add({ name: 'sum' }), [feats, on(L.dense({ units: 3, activation: 'swish', name: 'swish' }), merged)]));
  const model = tfl.model({ inputs: input, outputs: out, name: 'zoo' });
  randomizeWeights(model, 13);
  await assertMatches(model, randomInput(14, 4 * 9 * 8 * 3), [4, 9, 8, 3], 'random inputs');
  model.dispose();
});

test("ulearn's bilinear resize in front of a model (up and down, as --input-size adds it): onnxruntime = tfjs in both layouts", async () => {
  const input = tfl.input({ shape: [9, 8, 3] });
  const up = new ResizeImages({ height: 13, width: 16, name: 'resize_up' }).apply(tfl.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', name: 'conv_a' }).apply(input) as tfl.SymbolicTensor) as tfl.SymbolicTensor;
  const down = new ResizeImages({ height: 5, width: 7, name: 'resize_down' }).apply(up) as tfl.SymbolicTensor;
  const out = tfl.layers.globalAveragePooling2d({ name: 'gap' }).apply(tfl.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', name: 'conv_b' }).apply(down) as tfl.SymbolicTensor) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: input, outputs: [out], name: 'resized' });
  randomizeWeights(model, 17);
  await assertMatches(model, randomInput(18, 3 * 9 * 8 * 3), [3, 9, 8, 3], 'random inputs');
  model.dispose();
});

test('exportModel of an audio classifier folder: the sidecar carries the front-end (features, per-bin mean/std)', async () => {
  const { AudioPreprocessor, audioFeatureConfig, audioFeatureShape } = await import('../../src/data/preprocess/index.js');
  const features = audioFeatureConfig({ nMels: 16 });
  const [frames, bins] = audioFeatureShape(features, 4000);
  const pre = AudioPreprocessor.fromJSON({ format: 'ulearn-preprocessor', version: 1, kind: 'audio', features, clipSamples: 4000, mean: Array.from({ length: bins }, (_, i) => i / 10), std: new Array(bins).fill(2) });
  const encoder = buildEncoder({ family: 'tcresnet', modality: 'audio', inputShape: [frames, 1, bins], widths: [8] });
  const folder = path.join(work, 'audio-model');
  await saveClassifier(folder, encoder, classifierHead(8, 2), { classes: ['yes', 'no'], preprocessing: { inputShape: [frames, 1, bins], resize: 'crop', scale: '1/255', modality: 'audio' }, method: 'supervised', training: {} });
  await savePreprocessor(folder, pre);
  const out = path.join(work, 'export-audio');
  await exportModel(folder, out, { format: 'onnx' });
  const s = sidecarOf(out);
  assert.equal(s.modality, 'audio');
  assert.deepEqual(s.input.shape, [null, bins, frames, 1]);
  assert.ok(s.preprocessing.kind === 'audio');
  assert.deepEqual(s.preprocessing.preprocessor, pre.toJSON());
  // The tfjs export keeps preprocessor.json and ulearn-model.json beside model.json, for `ulearn predict`.
  const outTfjs = path.join(work, 'export-audio-tfjs');
  await exportModel(folder, outTfjs, { format: 'tfjs' });
  const files = await readdir(outTfjs);
  for (const f of ['model.json', 'preprocessor.json', 'ulearn-model.json', 'preprocessing.json']) assert.ok(files.includes(f), f);
  encoder.dispose();
});
