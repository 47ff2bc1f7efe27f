/**
 * inferencePlan (BN folded into the convs before it, the ReLU after it fused) against the unfolded model on the
 * cpu backend: same outputs within float rounding, the chains it must fold folded and the ones it must not
 * left alone, and `encode` (which runs through it) on every engine equal to the unfolded model, leaving no
 * tensors behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { Rng } from '../../src/engine/seed.js';
import { buildResNetEncoder } from '../../src/models/resnet.js';
import { fastBatchNormalization } from '../../src/models/fast-batch-norm.js';
import { inferencePlan } from '../../src/models/inference.js';
import { encode } from '../../src/models/encode.js';
import { mlpEncoder } from '../../src/models/mlp.js';
import { ENGINES, maxAbs, maxAbsDiff, onCpu, randomArray, useEngine } from '../engine/helpers.js';

/** Non-trivial BN parameters and statistics everywhere (fresh layers have gamma 1, beta 0, mean 0, var 1). */
function randomizeBatchNorms(model: tfl.LayersModel, rng: Rng): void {
  for (const layer of model.layers) {
    if (!/BatchNormalization/.test(layer.getClassName())) continue;
    layer.setWeights(
      layer.getWeights().map((w, i, all) => {
        const v = randomArray(rng, w.size);
        // The last weight is the moving variance: positive, spread over a decade.
        return tf.tensor(i === all.length - 1 ? v.map((e) => 0.2 + Math.abs(e)) : v, w.shape);
      }),
    );
  }
}

async function compareOnCpu(model: tfl.LayersModel, x: Float32Array, shape: number[]): Promise<{ folded: number; diff: number; scale: number }> {
  return onCpu(() => {
    const xt = tf.tensor(x, shape);
    const ref = tf.tidy(() => (model.apply(xt, { training: false }) as tf.Tensor).dataSync());
    const plan = inferencePlan(model);
    const got = tf.tidy(() => plan.apply(xt).dataSync());
    plan.dispose();
    xt.dispose();
    return { folded: plan.folded, diff: maxAbsDiff(got, ref), scale: Math.max(1, maxAbs(ref)) };
  });
}

test('a ResNet encoder folds every conv into its BN (and the ReLU after it) and computes the same features', async () => {
  await useEngine('wasm');
  const rng = new Rng(41);
  const model = buildResNetEncoder({ inputShape: [12, 12, 2], widths: [8, 16], blocksPerStage: 1, seed: 3 });
  randomizeBatchNorms(model, rng);
  const x = randomArray(rng, 5 * 12 * 12 * 2);
  const { folded, diff, scale } = await compareOnCpu(model, x, [5, 12, 12, 2]);
  // stem, s0b0 conv1 + conv2, s1b0 conv1 + conv2 + shortcut conv.
  assert.equal(folded, 6);
  assert.ok(scale > 1e-3, 'features are not trivially zero');
  assert.ok(diff <= 1e-4 * scale, `folded features differ by ${diff} (scale ${scale})`);
  model.dispose();
});

test('chains that must not fold run layer by layer: conv read twice, conv with its own activation, BN without center/scale', async () => {
  await useEngine('wasm');
  const rng = new Rng(42);
  const input = tfl.input({ shape: [9, 9, 3] });
  // Conv with a bias, its output read by a BN and by the Add: not folded (the Add needs the conv's own output).
  const shared = tfl.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', useBias: true }).apply(input) as tfl.SymbolicTensor;
  const bnShared = fastBatchNormalization({ epsilon: 1e-3 }).apply(shared) as tfl.SymbolicTensor;
  const sum = tfl.layers.add().apply([shared, bnShared]) as tfl.SymbolicTensor;
  // Conv with a relu of its own: BN after a ReLU is not an affine map of the conv.
  const reluConv = tfl.layers.conv2d({ filters: 4, kernelSize: 3, activation: 'relu', padding: 'valid' }).apply(sum) as tfl.SymbolicTensor;
  const bnAfterRelu = tfl.layers.batchNormalization({}).apply(reluConv) as tfl.SymbolicTensor;
  // Folded: a biased strided conv into tfjs-layers' own BN without gamma/beta, then an Activation('relu').
  const conv3 = tfl.layers.conv2d({ filters: 5, kernelSize: 3, strides: 2, padding: 'same', useBias: true }).apply(bnAfterRelu) as tfl.SymbolicTensor;
  const bn3 = tfl.layers.batchNormalization({ center: false, scale: false, epsilon: 1e-2 }).apply(conv3) as tfl.SymbolicTensor;
  const act = tfl.layers.activation({ activation: 'relu' }).apply(bn3) as tfl.SymbolicTensor;
  const out = tfl.layers.globalAveragePooling2d({}).apply(act) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: input, outputs: out });
  randomizeBatchNorms(model, rng);
  for (const layer of model.layers) {
    if (layer.getClassName() === 'Conv2D') layer.setWeights(layer.getWeights().map((w) => tf.tensor(randomArray(rng, w.size), w.shape)));
  }
  const { folded, diff, scale } = await compareOnCpu(model, randomArray(rng, 4 * 9 * 9 * 3), [4, 9, 9, 3]);
  assert.equal(folded, 1, 'only conv3 -> bn3 -> relu folds');
  assert.ok(diff <= 1e-4 * scale, `outputs differ by ${diff} (scale ${scale})`);
  model.dispose();
});

test('a model without convs runs unchanged (nothing folded)', async () => {
  await useEngine('wasm');
  const rng = new Rng(43);
  const model = mlpEncoder({ inputDim: 6, widths: [5, 4], seed: 1 });
  const { folded, diff, scale } = await compareOnCpu(model, randomArray(rng, 3 * 6), [3, 6]);
  assert.equal(folded, 0);
  assert.ok(diff <= 1e-5 * scale, `outputs differ by ${diff}`);
  model.dispose();
});

test('Sequential models: conv -> BN folds; one without a conv (a bare flatten, as the kNN monitor tests use) runs its own pass', async () => {
  await useEngine('wasm');
  const rng = new Rng(45);
  const convBn = tfl.sequential({
    layers: [tfl.layers.conv2d({ inputShape: [6, 6, 2], filters: 3, kernelSize: 3, useBias: false }), tfl.layers.batchNormalization({}), tfl.layers.flatten()],
  });
  randomizeBatchNorms(convBn, rng);
  const a = await compareOnCpu(convBn, randomArray(rng, 2 * 6 * 6 * 2), [2, 6, 6, 2]);
  assert.equal(a.folded, 1);
  assert.ok(a.diff <= 1e-4 * a.scale, `conv -> BN: outputs differ by ${a.diff}`);
  const flatten = tfl.sequential({ layers: [tfl.layers.flatten({ inputShape: [3, 3, 1] })] });
  const b = await compareOnCpu(flatten, randomArray(rng, 2 * 9), [2, 3, 3, 1]);
  assert.equal(b.folded, 0);
  assert.equal(b.diff, 0);
  convBn.dispose();
  flatten.dispose();
});

for (const engine of ENGINES) {
  test(`${engine}: encode (folded) equals the unfolded encoder on the cpu backend, and leaves no tensors`, async () => {
    await useEngine(engine);
    const rng = new Rng(44);
    const model = buildResNetEncoder({ inputShape: [14, 14, 1], widths: [8, 16], blocksPerStage: 1, seed: 5 });
    randomizeBatchNorms(model, rng);
    const n = 7;
    const x = randomArray(rng, n * 14 * 14);
    const ref = await onCpu(() => tf.tidy(() => (model.apply(tf.tensor(x, [n, 14, 14, 1]), { training: false }) as tf.Tensor).dataSync() as Float32Array));
    const before = tf.memory().numTensors;
    const got = encode(model, x, [14, 14, 1], { batchSize: 3 });
    assert.equal(tf.memory().numTensors, before, 'encode left tensors behind');
    const scale = Math.max(1, maxAbs(ref));
    assert.ok(maxAbs(ref) > 1e-3, 'features are not trivially zero');
    assert.ok(maxAbsDiff(got, ref) <= 1e-4 * scale, `${engine}: encode differs from the unfolded model by ${maxAbsDiff(got, ref)} (scale ${scale})`);
    model.dispose();
  });
}
