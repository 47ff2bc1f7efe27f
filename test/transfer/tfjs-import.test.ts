/**
 * tfjs layers models from elsewhere, as tensorflowjs_converter writes them (model.json + group1-shardNofM.bin
 * shards, standard Keras layer classes): loaded with the same outputs, cut before the classifier (or at a
 * named layer), trainable (every encoder weight gets a gradient, a step changes the features), and usable by
 * ulearn's `encode`. Graph models, missing shards and bad files are clear errors.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../../src/engine/backend.js';
import { encode } from '../../src/models/encode.js';
import { importTfjsLayers } from '../../src/transfer/tfjs-import.js';
import { randomInput, randomizeWeights } from './helpers.js';

let work: string;
before(async () => {
  await initBackend('cpu');
  work = await mkdtemp(path.join(tmpdir(), 'ulearn-tfjs-import-'));
});

/** A Keras-style CNN with the stock layer classes (Conv2D with bias, BatchNormalization, softmax output). */
function kerasCnn(): tfl.Sequential {
  return tfl.sequential({
    name: 'keras_cnn',
    layers: [
      tfl.layers.conv2d({ inputShape: [10, 10, 3], filters: 6, kernelSize: 3, activation: 'relu', name: 'conv_a' }),
      tfl.layers.batchNormalization({ name: 'bn_a' }),
      tfl.layers.maxPooling2d({ poolSize: 2, name: 'pool_a' }),
      tfl.layers.flatten({ name: 'flat' }),
      tfl.layers.dense({ units: 12, activation: 'relu', name: 'fc' }),
      tfl.layers.dropout({ rate: 0.2, name: 'drop' }),
      tfl.layers.dense({ units: 4, name: 'logits' }),
      tfl.layers.activation({ activation: 'softmax', name: 'probs' }),
    ],
  });
}

/** Writes `model` as tensorflowjs_converter does: model.json + two weight shards. */
async function writeConverterStyle(model: tfl.LayersModel, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler(async (a) => ((artifacts = a), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } })));
  const data = new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts!.weightData!));
  const half = Math.floor(data.length / 2);
  await writeFile(path.join(dir, 'group1-shard1of2.bin'), data.subarray(0, half));
  await writeFile(path.join(dir, 'group1-shard2of2.bin'), data.subarray(half));
  const json = {
    format: 'layers-model',
    generatedBy: 'keras v2.15.0',
    convertedBy: 'TensorFlow.js Converter v4.22.0',
    modelTopology: artifacts!.modelTopology,
    weightsManifest: [{ paths: ['group1-shard1of2.bin', 'group1-shard2of2.bin'], weights: artifacts!.weightSpecs }],
  };
  await writeFile(path.join(dir, 'model.json'), JSON.stringify(json));
}

test('a converter-style layers model: same outputs, cut before the classifier, trainable, encodes', async () => {
  const source = kerasCnn();
  randomizeWeights(source, 5);
  const dir = path.join(work, 'keras');
  await writeConverterStyle(source, dir);
  const x = tf.tensor(randomInput(1, 3 * 300, 0.5, 0.5), [3, 10, 10, 3]);
  const expected = (source.predict(x) as tf.Tensor).dataSync();

  const imported = await importTfjsLayers(path.join(dir, 'model.json'));
  assert.deepEqual([...(imported.model.predict(x) as tf.Tensor).dataSync()], [...expected]);
  // Cut before 'logits' (skipping the softmax after it): the features are the dropout's output, [N, 12].
  assert.equal(imported.cutAt, 'drop');
  assert.deepEqual(imported.architecture, { family: 'tfjs-layers', modality: 'image', inputShape: [10, 10, 3], widths: [12], method: 'imported' });
  const fc = tfl.model({ inputs: source.inputs, outputs: source.getLayer('fc').output as tfl.SymbolicTensor });
  const feats = (imported.encoder.predict(x) as tf.Tensor).dataSync();
  assert.deepEqual([...feats], [...(fc.predict(x) as tf.Tensor).dataSync()]);
  // ulearn's batched forward pass takes it like any encoder.
  const viaEncode = encode(imported.encoder, x.dataSync() as Float32Array, [10, 10, 3]);
  assert.ok(viaEncode.every((v, i) => Math.abs(v - feats[i]) < 1e-5));

  // Trainable: every encoder weight gets a non-zero gradient, and a step changes the features.
  const vars = imported.encoder.trainableWeights.map((w) => w.read() as tf.Variable);
  assert.equal(vars.length, 6, 'conv kernel+bias, bn gamma+beta, fc kernel+bias');
  const { grads } = tf.variableGrads(() => tf.sum(tf.square(imported.encoder.apply(x, { training: true }) as tf.Tensor)) as tf.Scalar, vars);
  for (const v of vars) assert.ok(tf.max(tf.abs(grads[v.name])).dataSync()[0] > 0, `gradient of ${v.name}`);
  tf.train.sgd(0.1).applyGradients(grads);
  const after = (imported.encoder.predict(x) as tf.Tensor).dataSync();
  assert.ok(after.some((v, i) => Math.abs(v - feats[i]) > 1e-4));

  // A named cut.
  const atPool = await importTfjsLayers(dir, { cutAt: 'pool_a' });
  assert.deepEqual(atPool.encoder.outputs[0].shape, [null, 4, 4, 6]);
  assert.equal(atPool.architecture.widths[0], 96);
  await assert.rejects(importTfjsLayers(dir, { cutAt: 'nope' }), /model\.json: no layer named 'nope'[\s\S]*layers: conv_a, bn_a/);
  tf.dispose([x]);
});

test('graph models, missing shards, other files: clear errors naming the file', async () => {
  const graph = path.join(work, 'graph');
  await mkdir(graph);
  await writeFile(path.join(graph, 'model.json'), JSON.stringify({ format: 'graph-model', modelTopology: { node: [{ name: 'x', op: 'Placeholder' }] }, weightsManifest: [] }));
  await assert.rejects(importTfjsLayers(graph), (e: Error & { hint?: string }) => {
    assert.match(e.message, /graph[\\/]model\.json: a TensorFlow\.js graph model \(frozen\): it could only give frozen features, and loading it needs @tensorflow\/tfjs-converter/);
    assert.match(e.hint ?? '', /tfjs_layers_model/);
    return true;
  });

  const dir = path.join(work, 'shardless');
  await writeConverterStyle(kerasCnn(), dir);
  const { rm } = await import('node:fs/promises');
  await rm(path.join(dir, 'group1-shard2of2.bin'));
  await assert.rejects(importTfjsLayers(dir), /group1-shard2of2\.bin: weights file missing/);
  await assert.rejects(importTfjsLayers(path.join(work, 'none')), /none: no such file or folder/);
  await writeFile(path.join(work, 'weights.json'), '{}');
  await assert.rejects(importTfjsLayers(path.join(work, 'weights.json')), /a tfjs model is a folder with model\.json/);
  await mkdir(path.join(work, 'broken'));
  await writeFile(path.join(work, 'broken', 'model.json'), '{"format": "layers-model", ');
  await assert.rejects(importTfjsLayers(path.join(work, 'broken')), /broken[\\/]model\.json: cannot be read as JSON/);
});
