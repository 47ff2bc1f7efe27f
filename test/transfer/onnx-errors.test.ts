/**
 * Bad ONNX input: each case is one clear UlearnError (code E_ONNX) naming the file and the offending tensor or
 * node, thrown before any weights are converted, and nothing is written (`saveTo` stays absent). Also the
 * good side of external data: weights kept in a file beside the model import and match onnxruntime.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { UlearnError } from '../../src/errors.js';
import { importOnnx } from '../../src/transfer/onnx/import.js';
import { MAX_OPSET } from '../../src/transfer/onnx/read.js';
import { maxAbsDiff, useWasm } from '../engine/helpers.js';
import { floatTensor, modelBytes, node, runImported, runOrt, seeded, valueInfo, type GraphSpec } from './onnx-helpers.js';

let dir: string;
before(async () => {
  await useWasm();
  dir = await mkdtemp(path.join(tmpdir(), 'ulearn-onnx-bad-'));
});

const conv = (opset = 13, w = floatTensor('w', [4, 3, 3, 3], seeded(108, 1))): GraphSpec => ({
  nodes: [node('Conv', ['x', 'w'], ['c'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, 'conv1'), node('Relu', ['c'], ['y'], {}, 'relu1')],
  inputs: [valueInfo('x', ['N', 3, 6, 6])],
  outputs: [valueInfo('y', ['N', 4, 6, 6])],
  initializers: [w],
  opset,
});

/** Imports `bytes` from a fresh folder with saveTo set; returns the error, and checks nothing was written. */
async function failure(name: string, bytes: Uint8Array | string, extra: Record<string, Uint8Array> = {}): Promise<UlearnError> {
  const folder = await mkdtemp(path.join(dir, `${name}-`));
  const file = path.join(folder, `${name}.onnx`);
  await writeFile(file, bytes);
  for (const [f, b] of Object.entries(extra)) await writeFile(path.join(folder, f), b);
  const before = (await readdir(folder)).sort();
  const saveTo = path.join(folder, 'imported');
  const err = await importOnnx(file, { saveTo, cutAt: 'y' }).then(
    () => assert.fail('import should have failed'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof UlearnError, `not a UlearnError: ${String(err)}`);
  assert.equal(err.code, 'E_ONNX');
  assert.ok(err.message.includes(file), `the message names the file: ${err.message}`);
  assert.equal(existsSync(saveTo), false, 'nothing is written on failure');
  assert.deepEqual((await readdir(folder)).sort(), before);
  return err;
}

test('a truncated file: a clear error saying so', async () => {
  const whole = await readFile('test/fixtures/transfer/fmnist-cnn.onnx');
  const err = await failure('truncated', whole.subarray(0, Math.floor(whole.length / 2)));
  assert.match(err.message, /truncated/);
});

test('files that are not ONNX: text, an image header, an empty file', async () => {
  const text = await failure('text', 'just some text, not a model\n');
  assert.match(text.message, /not (a readable )?ONNX/);
  await failure('png', new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]));
  const empty = await failure('empty', new Uint8Array(0));
  assert.match(empty.message, /not an ONNX model/);
});

test('an opset newer than the importer maps: the error says which are supported', async () => {
  const err = await failure('newer', modelBytes(conv(MAX_OPSET + 3)));
  assert.match(err.message, new RegExp(`opset ${MAX_OPSET + 3} is newer`));
  assert.match(err.message, new RegExp(`7 to ${MAX_OPSET}`));
});

const external = (location: string, length = 108 * 4): GraphSpec =>
  conv(13, {
    name: 'w',
    dims: [4, 3, 3, 3],
    dataType: 1,
    dataLocation: 1,
    externalData: [
      { key: 'location', value: location },
      { key: 'offset', value: '16' },
      { key: 'length', value: String(length) },
    ],
  });

test('external data: a missing data file names the file and the tensor; a short one says how short', async () => {
  const missing = await failure('external', modelBytes(external('weights.bin')));
  assert.match(missing.message, /tensor 'w': its external data file .*weights\.bin is missing/);
  const short = await failure('short', modelBytes(external('weights.bin')), { 'weights.bin': new Uint8Array(100) });
  assert.match(short.message, /tensor 'w': .*weights\.bin holds 100 bytes/);
  const escape = await failure('escape', modelBytes(external('../weights.bin')));
  assert.match(escape.message, /not a file name beside the model/);
});

test('external data that is present imports and matches onnxruntime', async () => {
  const folder = await mkdtemp(path.join(dir, 'ext-ok-'));
  const w = seeded(108, 1);
  const data = new Uint8Array(16 + 108 * 4);
  new Float32Array(data.buffer, 16, 108).set(w);
  await writeFile(path.join(folder, 'weights.bin'), data);
  const file = path.join(folder, 'm.onnx');
  await writeFile(file, modelBytes(external('weights.bin')));
  const x = seeded(2 * 3 * 36, 2);
  const ref = await runOrt(file, x, [2, 3, 6, 6]);
  const { model, outputNhwc } = await importOnnx(file, { cutAt: 'y' });
  const got = runImported(model, x, [2, 3, 6, 6], outputNhwc);
  model.dispose();
  assert.ok(maxAbsDiff(got.data, ref.data) <= 1e-4);
});

test('unsupported ops: one error listing each with its node name, before any weights are read', async () => {
  const g: GraphSpec = {
    nodes: [
      node('Conv', ['x', 'w'], ['c'], { kernel_shape: [3, 3, 3] }, 'conv_3d'),
      node('Einsum', ['c'], ['e'], { equation: 'nchw->nchw' }, 'my_einsum'),
      node('LSTM', ['e'], ['l'], {}, 'rnn_1'),
      node('AveragePool', ['l'], ['y'], { kernel_shape: [2, 2], ceil_mode: 1 }, 'pool_ceil'),
    ],
    inputs: [valueInfo('x', ['N', 4, 6, 6])],
    outputs: [valueInfo('y', ['N', 4, 2, 2])],
    // A weight whose data does not fit its shape too: every problem is in the one error.
    initializers: [floatTensor('w', [4, 2, 3, 3], seeded(10, 1))],
  };
  const err = await failure('unsupported', modelBytes(g));
  for (const expected of [/Einsum \(node 'my_einsum'\)/, /LSTM \(node 'rnn_1'\)/, /Conv \(node 'conv_3d'\): Conv over 3 spatial dimensions/, /AveragePool \(node 'pool_ceil'\): ceil_mode=1/, /tensor 'w': shape \[4, 2, 3, 3\] needs 72 values, the file holds 10/]) {
    assert.match(err.message, expected);
  }
  assert.match(err.hint ?? '', /supported ops: .*Conv/);
});

test('weights whose shapes do not fit the graph: the tensor and node are named', async () => {
  // Declared as a graph input with another shape (older exporters list initializers as inputs).
  const g = conv();
  g.inputs.push(valueInfo('w', [4, 3, 5, 5]));
  const declared = await failure('declared', modelBytes(g));
  assert.match(declared.message, /tensor 'w': the graph declares shape \[4, 3, 5, 5\], the initializer has \[4, 3, 3, 3\]/);
  // A conv kernel reading 2 channels from a 3-channel input (found while building: the layers made so far are freed).
  const tensors = tf.memory().numTensors;
  const wrong = await failure('channels', modelBytes(conv(13, floatTensor('w', [4, 2, 3, 3], seeded(72, 1)))));
  assert.match(wrong.message, /Conv \(node 'conv1'\): weight 'w' \[4, 2, 3, 3\] with group=1 reads 2 channels, its input has 3/);
  assert.equal(tf.memory().numTensors, tensors);
});

test('a missing file and an unknown cutAt are clear errors too', async () => {
  await assert.rejects(importOnnx(path.join(dir, 'nope.onnx')), /nope\.onnx: no such file/);
  const file = path.join(dir, 'ok.onnx');
  await writeFile(file, modelBytes(conv()));
  await assert.rejects(importOnnx(file, { cutAt: 'no_such_node' }), (e: UlearnError) => /no node or tensor named 'no_such_node'/.test(e.message) && /'relu1'/.test(e.hint ?? ''));
});
