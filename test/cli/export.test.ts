/**
 * `ulearn export` as a user runs it: a model folder from `ulearn train` to ONNX (files and sidecar written,
 * exit 0), and bad input answered with one clear message, exit 2, no stack trace, nothing written.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { initBackend } from '../../src/engine/backend.js';
import { buildEncoder } from '../../src/models/architecture.js';
import { classifierHead } from '../../src/models/resnet.js';
import { saveClassifier } from '../../src/predict/image-model.js';
import { ulearn } from './run-cli.js';

test('ulearn export: a model folder to ONNX (tfjs: test/transfer/export.test.ts); bad input is a clear error and writes nothing', async () => {
  await initBackend('cpu');
  const work = await mkdtemp(path.join(tmpdir(), 'ulearn-cli-export-'));
  const model = path.join(work, 'model');
  const encoder = buildEncoder({ family: 'resnet', modality: 'image', inputShape: [10, 10, 1], widths: [4, 8], blocksPerStage: 1 });
  await saveClassifier(model, encoder, classifierHead(8, 3), { classes: ['a', 'b', 'c'], preprocessing: { inputShape: [10, 10, 1], resize: 'crop', scale: '1/255' }, method: 'supervised', training: {} });

  const out = path.join(work, 'onnx');
  const r = ulearn('export', model, '--format', 'onnx', '--out', out, '--backend', 'cpu');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /classifier → .*model\.onnx \(onnx, opset 13\)/);
  assert.match(r.out, /input 'input' \[N, 1, 10, 10\] NCHW; output 'output' \(logits\)/);
  assert.match(r.err, /onnxruntime matches tfjs on 4 random inputs/);
  assert.deepEqual((await readdir(out)).sort(), ['model.onnx', 'preprocessing.json']);
  assert.deepEqual(JSON.parse(readFileSync(path.join(out, 'preprocessing.json'), 'utf8')).labels, ['a', 'b', 'c']);

  const missing = ulearn('export', path.join(work, 'nope'), '--out', path.join(work, 'x'), '--backend', 'cpu');
  assert.equal(missing.code, 2);
  assert.match(missing.err, /nope: no such folder\n\s+hint: give a model folder/);
  assert.doesNotMatch(missing.err, /\n\s+at /);
  assert.ok(!existsSync(path.join(work, 'x')));

  const fmt = ulearn('export', model, '--format', 'pt', '--out', path.join(work, 'y'));
  assert.notEqual(fmt.code, 0);
  assert.match(fmt.err, /'pt' is invalid.*onnx, tfjs/s);
  const noOut = ulearn('export', model);
  assert.notEqual(noOut.code, 0);
  assert.match(noOut.err, /required option '--out <dir>'/);
  assert.ok(!existsSync(path.join(work, 'y')));
});
