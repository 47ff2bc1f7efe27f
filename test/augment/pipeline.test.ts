/** Combinators, presets and the properties every op shares: shape, range, determinism, no leaks. */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../../src/engine/seed.js';
import { UlearnError } from '../../src/errors.js';
import {
  autoContrast,
  brightness,
  compose,
  contrast,
  cutout,
  gaussianBlur,
  gaussianNoise,
  horizontalFlip,
  identity,
  posterize,
  randomAffine,
  randomApply,
  randomErasing,
  randomGrayscale,
  randomResizedCrop,
  randomSubset,
  randomTranslate,
  saturation,
  sharpness,
  simclrAugment,
  solarize,
  strongAugment,
  verticalFlip,
  views,
  weakAugment,
  type Augment,
} from '../../src/augment/index.js';
import { assertClose, assertInUnitRange, assertNoLeak, onCpu, randomBatch, run, useWasm } from './helpers.js';

before(useWasm);

const gray: [number, number, number] = [28, 28, 1];
const rgb: [number, number, number] = [16, 16, 3];

function allOps(): Augment[] {
  return [
    randomResizedCrop(),
    horizontalFlip(),
    verticalFlip(),
    randomTranslate({ fill: 'reflect' }),
    randomAffine({ rotate: [-30, 30], shearX: [-0.3, 0.3], scale: [0.9, 1.1], translateY: [-0.1, 0.1] }),
    brightness(),
    contrast(),
    saturation(),
    randomGrayscale({ p: 0.5 }),
    solarize(),
    posterize(),
    autoContrast(),
    sharpness(),
    gaussianNoise(),
    gaussianBlur(),
    randomErasing(),
    cutout(),
    identity(),
    simclrAugment(gray),
    weakAugment(gray),
    strongAugment(gray),
  ];
}

describe('every op and preset', () => {
  it('keeps shape and [0, 1] range, leaves its input alone, leaks nothing', () => {
    for (const shape of [gray, rgb]) {
      const x = randomBatch(11, [8, ...shape]);
      const before = x.dataSync().slice();
      for (const op of allOps()) {
        assertNoLeak(() => assertInUnitRange(run(op, x, 3), op.name), op.name);
        assert.ok(!x.isDisposed, `${op.name} disposed its input`);
        assert.deepEqual(x.dataSync(), before, `${op.name} changed its input`);
      }
      x.dispose();
    }
  });
  it('same seed gives identical output; different seeds differ', () => {
    const x = randomBatch(12, [16, ...gray]);
    for (const op of allOps()) {
      // Parameter-free at p = 1, or no-ops on one channel: nothing to randomise.
      if (['identity', 'autoContrast', 'saturation', 'randomGrayscale'].includes(op.name)) continue;
      assert.deepEqual(run(op, x, 5), run(op, x, 5), `${op.name} is not deterministic`);
      assert.notDeepEqual(run(op, x, 5), run(op, x, 6), `${op.name} ignores the seed`);
    }
    x.dispose();
  });
  it('rejects bad input and bad options with a UlearnError', () => {
    const ints = tf.zeros([2, 4, 4, 1], 'int32') as tf.Tensor4D;
    assert.throws(() => brightness().apply(ints, new Rng(1)), UlearnError);
    ints.dispose();
    assert.throws(() => brightness({ p: 1.5 }), UlearnError);
    assert.throws(() => contrast({ factor: [1.4, 0.6] }), UlearnError);
    assert.throws(() => randomResizedCrop({ scale: [0.2, 1.5] }), UlearnError);
    assert.throws(() => gaussianBlur({ sigmas: [] }), UlearnError);
    assert.throws(() => randomSubset([identity()], 2), UlearnError);
    assert.throws(() => simclrAugment([28, 28] as unknown as [number, number, number]), UlearnError);
  });
  it('runs the same on the cpu backend (reference) as on wasm', async () => {
    const ops = [simclrAugment(gray), weakAugment(gray), strongAugment(gray)];
    const onWasm = ops.map((op) => {
      const x = randomBatch(13, [6, ...gray]);
      const v = run(op, x, 9);
      x.dispose();
      return v;
    });
    const onCpuVals = await onCpu(() =>
      ops.map((op) => {
        const x = randomBatch(13, [6, ...gray]);
        const v = run(op, x, 9);
        x.dispose();
        return v;
      }),
    );
    ops.forEach((op, i) => assertClose(onWasm[i], onCpuVals[i], 1e-4, op.name));
  });
});

describe('combinators', () => {
  const half = () => brightness({ factor: [0.5, 0.5] });
  it('compose runs ops in order', () => {
    const x = tf.fill([2, 3, 3, 1], 0.8) as tf.Tensor4D;
    assertClose(run(compose(half(), half()), x), new Float32Array(18).fill(0.2));
    assertClose(run(compose(), x), new Float32Array(18).fill(0.8));
    x.dispose();
  });
  it('randomApply: p = 0 is the identity, p = 1 the op, p = 0.5 about half the samples', () => {
    const x = tf.fill([200, 2, 2, 1], 0.8) as tf.Tensor4D;
    assertClose(run(randomApply(half(), 0), x), new Float32Array(800).fill(0.8));
    assertClose(run(randomApply(half(), 1), x), new Float32Array(800).fill(0.4));
    const v = run(randomApply(half(), 0.5), x);
    const hit = Array.from({ length: 200 }, (_, i) => v[i * 4]).filter((a) => Math.abs(a - 0.4) < 1e-6).length;
    assert.ok(hit > 70 && hit < 130, `${hit} of 200`);
    x.dispose();
  });
  it('randomSubset gives every sample exactly n ops', () => {
    const x = tf.fill([50, 2, 2, 1], 0.8) as tf.Tensor4D;
    // Three halvings, two per sample: every pixel is 0.8 / 4.
    assertClose(run(randomSubset([half(), half(), half()], 2), x), new Float32Array(200).fill(0.2));
    assertClose(run(randomSubset([half(), half()], 0), x), new Float32Array(200).fill(0.8));
    // One of {identity, black}: about half the samples go black.
    const v = run(randomSubset([identity(), brightness({ factor: [0, 0] })], 1), x);
    const black = Array.from({ length: 50 }, (_, i) => v[i * 4]).filter((a) => a === 0).length;
    assert.ok(black > 12 && black < 38, `${black} of 50`);
    x.dispose();
  });
  it('views returns independent views, deterministically, without leaks', () => {
    const x = randomBatch(14, [8, ...gray]);
    const aug = simclrAugment(gray);
    assertNoLeak(() => {
      const [a, b] = views(aug, x, new Rng(1));
      const [c, d] = views(aug, x, new Rng(1));
      assert.deepEqual(a.shape, x.shape);
      assert.deepEqual(a.dataSync(), c.dataSync());
      assert.deepEqual(b.dataSync(), d.dataSync());
      assert.notDeepEqual(a.dataSync(), b.dataSync());
      tf.dispose([a, b, c, d]);
    }, 'views');
    const three = views(aug, x, new Rng(1), 3);
    assert.equal(three.length, 3);
    tf.dispose(three);
    x.dispose();
  });
});

describe('presets', () => {
  it('weak views only flip and shift: pixel values are copied or zero', () => {
    const x = randomBatch(15, [16, ...gray]);
    const xs = new Set(x.dataSync());
    for (const a of run(weakAugment(gray), x)) assert.ok(a === 0 || xs.has(a));
    x.dispose();
  });
  it('strong views differ from weak views of the same batch', () => {
    const x = randomBatch(16, [16, ...gray]);
    assert.notDeepEqual(run(strongAugment(gray), x), run(weakAugment(gray), x));
    x.dispose();
  });
});
