/**
 * A model folder is input like any other (issue 17 #4): corrupted or truncated weights, a class list that does
 * not match the output width, a weights path that leaves the folder, and weights that produce NaN are each
 * refused with a UlearnError naming the file, never loaded or turned into predictions with exit 0.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import sharp from 'sharp';
import { initBackend } from '../../src/engine/backend.js';
import { UlearnError } from '../../src/errors.js';
import { saveModel } from '../../src/models/io.js';
import { buildResNetEncoder, classifierHead, featureDim } from '../../src/models/resnet.js';
import { loadClassifier, META_FILE, predictFiles, saveClassifier } from '../../src/predict/image-model.js';

let root: string;
let good: string;
let image: string;

before(async () => {
  await initBackend('cpu');
  root = mkdtempSync(join(tmpdir(), 'ulearn-model-trust-'));
  good = join(root, 'good');
  const enc = buildResNetEncoder({ inputShape: [8, 8, 1], widths: [4], blocksPerStage: 1, seed: 1 });
  const head = classifierHead(featureDim(enc), 3, { seed: 1 });
  await saveClassifier(good, enc, head, { classes: ['a', 'b', 'c'], preprocessing: { inputShape: [8, 8, 1], resize: 'crop', scale: '1/255' }, method: 'supervised', training: {} });
  image = join(root, 'x.png');
  await sharp(Buffer.alloc(64, 120), { raw: { width: 8, height: 8, channels: 1 } }).png().toFile(image);
});

after(() => rmSync(root, { recursive: true, force: true }));

function copy(name: string): { dir: string; weights: string } {
  const dir = join(root, name);
  cpSync(good, dir, { recursive: true });
  const w = readdirSync(dir).find((f) => f.startsWith('weights-'))!;
  return { dir, weights: join(dir, w) };
}

const refused = (re: RegExp) => (e: unknown) => {
  assert.ok(e instanceof UlearnError, `expected a UlearnError, got ${(e as Error)?.stack ?? String(e)}`);
  assert.match(e.message, re);
  return true;
};

test('the intact folder loads and predicts', async () => {
  const { model, meta } = await loadClassifier(good);
  const preds = await predictFiles(model, meta, [image]);
  assert.equal(preds.length, 1);
  assert.ok(preds[0].probs.every(Number.isFinite));
});

test('corrupted weights (one flipped byte) fail the hash the file name carries', async () => {
  const { dir, weights } = copy('flipped');
  const bytes = readFileSync(weights);
  bytes[bytes.length >> 1] ^= 0xff;
  writeFileSync(weights, bytes);
  await assert.rejects(loadClassifier(dir), refused(/weights-[0-9a-f]{16}\.bin.*(hash|SHA-256)/i));
});

test('a truncated or missing weights file is a UlearnError naming it', async () => {
  const t = copy('truncated');
  writeFileSync(t.weights, readFileSync(t.weights).subarray(0, 100));
  await assert.rejects(loadClassifier(t.dir), refused(/weights-[0-9a-f]{16}\.bin/));
  const m = copy('missing');
  rmSync(m.weights);
  await assert.rejects(loadClassifier(m.dir), refused(/weights-[0-9a-f]{16}\.bin.*(missing|not found)/));
});

test('a weightsManifest path outside the folder is refused before it is read', async () => {
  const { dir, weights } = copy('escape');
  // The outside file holds exactly the right bytes under a hash-shaped name, so only the path check can stop it.
  const outsideName = weights.slice(weights.lastIndexOf('weights-'));
  cpSync(weights, join(root, outsideName));
  const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
  json.weightsManifest[0].paths = [`../${outsideName}`];
  writeFileSync(join(dir, 'model.json'), JSON.stringify(json));
  await assert.rejects(loadClassifier(dir), refused(/outside|plain file name/));
});

test('a class list that does not match the output width is refused', async () => {
  const { dir } = copy('classes');
  const meta = JSON.parse(readFileSync(join(dir, META_FILE), 'utf8'));
  meta.classes = ['a', 'b'];
  writeFileSync(join(dir, META_FILE), JSON.stringify(meta));
  await assert.rejects(loadClassifier(dir), refused(/2 classes.*3 outputs|3 outputs.*2 classes/));
});

test('an input shape that does not match the model is refused at load', async () => {
  const { dir } = copy('shape');
  const meta = JSON.parse(readFileSync(join(dir, META_FILE), 'utf8'));
  meta.preprocessing.inputShape = [9, 9, 1];
  writeFileSync(join(dir, META_FILE), JSON.stringify(meta));
  await assert.rejects(loadClassifier(dir), refused(/input/));
});

test('weights that give NaN outputs (hash intact) are refused at prediction', async () => {
  const { dir } = copy('nan');
  const { model } = await loadClassifier(dir);
  model.setWeights(model.getWeights().map((w) => tf.fill(w.shape, NaN)));
  await saveModel(model, dir); // a consistent folder: name and hash agree, the values are NaN
  const loaded = await loadClassifier(dir);
  await assert.rejects(predictFiles(loaded.model, loaded.meta, [image]), refused(/NaN|not finite/));
});
