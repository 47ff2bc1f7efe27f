/** The method classes without training: registry, heads, views, masks, validation. */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { Rng } from '../../src/engine/seed.js';
import { UlearnError } from '../../src/errors.js';
import { pixelDecoder, upsamplingSteps } from '../../src/ssl/heads.js';
import { randomPatchMask } from '../../src/ssl/masked-pixels.js';
import { SSL_METHODS, createSSLMethod, createSSLViews, isSSLMethodName } from '../../src/ssl/registry.js';
import { noiseAugment, tinyEncoder, useWasm } from './helpers.js';

before(useWasm);

const small = { inputShape: [8, 8, 1] as [number, number, number], augment: noiseAugment, projHidden: 16, projOut: 8, decoderChannels: 8 };

describe('registry', () => {
  test('every name builds its method with a head over the encoder', () => {
    assert.deepEqual(SSL_METHODS, ['simclr', 'vicreg', 'barlow-twins', 'masked-pixels', 'masked-spectrogram']);
    // masked-spectrogram takes audio features [frames, 1, bins]: test/ssl/masked-spectrogram.test.ts.
    for (const name of SSL_METHODS.filter((n) => n !== 'masked-spectrogram')) {
      const encoder = tinyEncoder();
      const m = createSSLMethod(name, { ...small, encoder });
      assert.equal(m.name, name);
      assert.equal(m.featureDim, 16);
      assert.ok(m.head);
      assert.equal(m.trainableWeights.length, encoder.trainableWeights.length + m.head.trainableWeights.length);
      assert.ok(m.trainableWeights.every((v) => v instanceof tf.Variable && v.trainable));
      m.dispose();
    }
  });

  test('unknown names and non-[N, D] encoders are errors a user can act on', () => {
    assert.equal(isSSLMethodName('simclr'), true);
    assert.equal(isSSLMethodName('toString'), false);
    assert.throws(() => createSSLMethod('byol', { ...small, encoder: tinyEncoder() }), (e: unknown) => e instanceof UlearnError && /simclr, vicreg/.test(e.hint ?? ''));
    const spatial = tfl.sequential({ layers: [tfl.layers.conv2d({ inputShape: [8, 8, 1], filters: 2, kernelSize: 3 })] });
    assert.throws(() => createSSLMethod('simclr', { ...small, encoder: spatial }), /outputs \[,6,6,2\]/);
    assert.throws(() => createSSLMethod('simclr', { ...small, inputShape: [9, 8, 1], encoder: tinyEncoder() }), UlearnError);
  });

  test('options reach the method; a two-view method without an augment says so; views of the wrong shape are refused', () => {
    const m = createSSLMethod('simclr', { ...small, encoder: tinyEncoder(), temperature: 0.5 });
    assert.equal((m as unknown as { temperature: number }).temperature, 0.5);
    assert.throws(() => createSSLViews('vicreg', { ...small, augment: undefined }), /vicreg needs an augment/);
    assert.throws(() => createSSLViews('byol', small), /unknown self-supervised method 'byol'/);
    const bad = tf.zeros([4, 8, 7, 1]);
    assert.throws(() => m.trainStep([bad, bad]), /expected \[N, 8,8,1\]/);
    tf.dispose(bad);
    m.dispose();
  });
});

describe('MaskedPixels', () => {
  test('randomPatchMask masks exactly round(ratio × cells) squares per image, clipped at edges', () => {
    const m = randomPatchMask(3, 8, 8, 2, 0.5, new Rng(1));
    for (let s = 0; s < 3; s++) assert.equal(m.subarray(s * 64, (s + 1) * 64).reduce((a, b) => a + b, 0), 8 * 4);
    // 7 × 5 with patch 3: a 3 × 2 grid, all 6 cells masked covers every pixel.
    assert.ok(randomPatchMask(1, 7, 5, 3, 1, new Rng(2)).every((v) => v === 1));
    // Small ratios still mask one square; ratio 0 masks nothing.
    assert.equal(randomPatchMask(1, 8, 8, 4, 0.01, new Rng(3)).reduce((a, b) => a + b, 0), 16);
    assert.equal(randomPatchMask(1, 8, 8, 4, 0, new Rng(3)).reduce((a, b) => a + b, 0), 0);
    assert.throws(() => randomPatchMask(1, 8, 8, 0, 0.5, new Rng(3)), UlearnError);
    assert.throws(() => randomPatchMask(1, 8, 8, 2, 1.5, new Rng(3)), UlearnError);
  });

  test('views: masked pixels hold the fill, the rest the target', () => {
    const views = createSSLViews('masked-pixels', { ...small, augment: undefined, fill: -1 });
    const x = tf.randomUniform([2, 8, 8, 1], 0, 1, 'float32', 1) as tf.Tensor4D;
    const [corrupted, target, mask] = views(x, new Rng(4));
    assert.deepEqual(mask.shape, [2, 8, 8, 1]);
    const c = corrupted.dataSync();
    const t = target.dataSync();
    const k = mask.dataSync();
    assert.deepEqual(Array.from(t), Array.from(x.dataSync()));
    for (let i = 0; i < c.length; i++) assert.equal(c[i], k[i] ? -1 : t[i]);
    tf.dispose([x, corrupted, target, mask]);
  });

  test('the decoder reconstructs the input shape, upsampling only where sizes divide', () => {
    assert.equal(upsamplingSteps(28, 28, 2), 2);
    assert.equal(upsamplingSteps(12, 6, 3), 1);
    assert.equal(upsamplingSteps(7, 5, 2), 0);
    for (const shape of [[8, 8, 1], [28, 28, 1], [7, 5, 3], [32, 32, 3]] as [number, number, number][]) {
      const dec = pixelDecoder({ inputDim: 16, outShape: shape, channels: 8 });
      assert.deepEqual(dec.outputs[0].shape, [null, ...shape]);
      dec.dispose();
    }
  });
});
