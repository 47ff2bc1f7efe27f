/** Each op against a hand-computed expectation on tiny inputs. */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../../src/engine/seed.js';
import {
  addGaussianNoise,
  adjustBrightness,
  adjustContrast,
  affineMatrix,
  affineTransform,
  autoContrastBatch,
  blurWithSigmas,
  boxesToNormalized,
  brightness,
  contrast,
  cropResize,
  cutout,
  eraseBoxes,
  gaussianBlur,
  gaussianKernel1d,
  gaussianNoise,
  horizontalFlip,
  posterizeWith,
  randomErasing,
  randomResizedCrop,
  randomTranslate,
  sampleCropBox,
  sharpenWith,
  solarizeWith,
  translate,
  verticalFlip,
} from '../../src/augment/index.js';
import { assertClose, batch, onCpu, randomBatch, reflect, run, useWasm } from './helpers.js';

before(useWasm);

/** values(t) then dispose. */
function take(t: tf.Tensor): Float32Array {
  const v = t.dataSync() as Float32Array;
  t.dispose();
  return v;
}

describe('flip', () => {
  const img = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]; // 2x3: [[.1 .2 .3], [.4 .5 .6]]
  it('mirrors a known 2x3 image left-right', () => {
    const x = batch(img, [1, 2, 3, 1]);
    assert.deepEqual(Array.from(run(horizontalFlip({ p: 1 }), x)), [0.3, 0.2, 0.1, 0.6, 0.5, 0.4].map(Math.fround));
    assert.deepEqual(Array.from(run(verticalFlip({ p: 1 }), x)), [0.4, 0.5, 0.6, 0.1, 0.2, 0.3].map(Math.fround));
    x.dispose();
  });
  it('p = 0 is the identity; the mask picks samples exactly', () => {
    const x = batch([...img, ...img], [2, 2, 3, 1]);
    assert.deepEqual(run(horizontalFlip({ p: 0 }), x), x.dataSync());
    const y = horizontalFlip({ p: 1 }).applyWhere!(x, new Rng(1), [false, true]);
    assert.deepEqual(Array.from(y.dataSync()), [...img, 0.3, 0.2, 0.1, 0.6, 0.5, 0.4].map(Math.fround));
    y.dispose();
    x.dispose();
  });
  it('flips about half the samples at p = 0.5', () => {
    const x = randomBatch(3, [400, 2, 3, 1]);
    const y = run(horizontalFlip(), x);
    const xv = x.dataSync();
    let flipped = 0;
    for (let i = 0; i < 400; i++) if (y[i * 6] !== xv[i * 6]) flipped++;
    assert.ok(flipped > 160 && flipped < 240, `flipped ${flipped} of 400`);
    x.dispose();
  });
});

describe('brightness / contrast', () => {
  it('multiplies by the per-sample factor exactly, clipping at 1', () => {
    const x = batch([0.2, 0.4, 0.6, 0.8, 0.2, 0.4, 0.6, 0.8], [2, 2, 2, 1]);
    const v = take(adjustBrightness(x, Float32Array.of(0.5, 1.5)));
    const f = Math.fround;
    assert.deepEqual(Array.from(v), [f(f(0.2) * 0.5), f(f(0.4) * 0.5), f(f(0.6) * 0.5), f(f(0.8) * 0.5), f(f(0.2) * 1.5), f(f(0.4) * 1.5), f(f(0.6) * 1.5), 1]);
    assert.deepEqual(Array.from(run(brightness({ factor: [0.5, 0.5] }), x)), Array.from(x.dataSync(), (a) => f(a * 0.5)));
    x.dispose();
  });
  it('scales the distance to the image mean', () => {
    const x = batch([0.4, 0.6, 0.5, 0.5], [1, 2, 2, 1]); // mean 0.5
    assertClose(take(adjustContrast(x, Float32Array.of(2))), [0.3, 0.7, 0.5, 0.5]);
    assertClose(run(contrast({ factor: [0, 0] }), x), [0.5, 0.5, 0.5, 0.5]);
    x.dispose();
  });
});

describe('random erasing / cutout', () => {
  it('sets exactly the box to the value', () => {
    const x = tf.ones([2, 4, 5, 2]) as tf.Tensor4D;
    // Sample 0: rows [1, 3), cols [2, 4); sample 1: empty box.
    const v = take(eraseBoxes(x, Int32Array.of(1, 2, 3, 4, 0, 0, 0, 0), 0.25));
    for (let n = 0; n < 2; n++) {
      for (let i = 0; i < 4; i++) {
        for (let j = 0; j < 5; j++) {
          for (let c = 0; c < 2; c++) {
            const inBox = n === 0 && i >= 1 && i < 3 && j >= 2 && j < 4;
            assert.equal(v[((n * 4 + i) * 5 + j) * 2 + c], inBox ? 0.25 : 1, `n${n} y${i} x${j} c${c}`);
          }
        }
      }
    }
    x.dispose();
  });
  it('random ops erase one axis-aligned rectangle per image', () => {
    const x = tf.ones([64, 12, 10, 1]) as tf.Tensor4D;
    for (const op of [cutout({ value: 0 }), randomErasing({ p: 1 })]) {
      const v = run(op, x, 5);
      let erasedImages = 0;
      for (let n = 0; n < 64; n++) {
        let count = 0;
        let [y0, x0, y1, x1] = [Infinity, Infinity, -1, -1];
        for (let i = 0; i < 12; i++) {
          for (let j = 0; j < 10; j++) {
            if (v[(n * 12 + i) * 10 + j] === 0) {
              count++;
              [y0, x0, y1, x1] = [Math.min(y0, i), Math.min(x0, j), Math.max(y1, i), Math.max(x1, j)];
            }
          }
        }
        if (count > 0) {
          erasedImages++;
          assert.equal(count, (y1 - y0 + 1) * (x1 - x0 + 1), `${op.name}: erased pixels of image ${n} are not a rectangle`);
          if (op.name === 'randomErasing') assert.ok(count >= 0.02 * 120 - 2 && count <= 0.33 * 120 + 8, `area ${count}`);
        }
      }
      assert.ok(erasedImages > 40, `${op.name} erased only ${erasedImages} of 64 images`);
    }
    x.dispose();
  });
});

describe('random resized crop', () => {
  it('the full box is the identity', () => {
    const x = randomBatch(1, [3, 5, 5, 2]);
    assert.deepEqual(run(randomResizedCrop({ scale: [1, 1], ratio: [1, 1] }), x), x.dataSync());
    const box = boxesToNormalized([{ top: 0, left: 0, height: 5, width: 5 }], 5, 5);
    assert.deepEqual(Array.from(box), [0, 0, 1, 1]);
    x.dispose();
  });
  it('crops and resizes a known box bilinearly', () => {
    const x = batch([0, 0.2, 0.4, 0.6, 0.8, 1], [1, 2, 3, 1]);
    // Left two columns (pixels 0..1) stretched back to three columns: samples at x = 0, 0.5, 1.
    const boxes = boxesToNormalized([{ top: 0, left: 0, height: 2, width: 2 }], 2, 3);
    assertClose(take(cropResize(x, boxes, [2, 3])), [0, 0.1, 0.2, 0.6, 0.7, 0.8]);
    x.dispose();
  });
  it('pixel-aligned boxes keep their left edge (wasm CropAndResize memcpy shortcut)', () => {
    const x = batch(Array.from({ length: 64 }, (_, i) => i / 64), [1, 8, 8, 1]);
    // Columns 3..6 (4 pixels wide, as wide as the output), all rows.
    for (const method of ['nearest', 'bilinear'] as const) {
      const v = take(cropResize(x, Float32Array.of(0, 3 / 7, 1, 6 / 7), [8, 4], method));
      assertClose(v, Array.from({ length: 32 }, (_, k) => (Math.floor(k / 4) * 8 + 3 + (k % 4)) / 64), 1e-5, method);
    }
    x.dispose();
  });
  it('boxes respect the scale and ratio ranges', () => {
    const rng = new Rng(9);
    for (let i = 0; i < 500; i++) {
      const b = sampleCropBox(rng, 28, 28, [0.2, 1], [3 / 4, 4 / 3]);
      const area = (b.height * b.width) / 784;
      assert.ok(area >= 0.2 - 1e-9 && area <= 1 + 1e-9, `area ${area}`);
      assert.ok(b.width / b.height >= 3 / 4 - 1e-9 && b.width / b.height <= 4 / 3 + 1e-9, `ratio ${b.width / b.height}`);
      assert.ok(b.top >= 0 && b.left >= 0 && b.top + b.height <= 28 + 1e-9 && b.left + b.width <= 28 + 1e-9);
    }
  });
});

describe('translate', () => {
  const img = Array.from({ length: 12 }, (_, i) => (i + 1) / 12); // 3x4
  it('shifts by whole pixels with zero fill', () => {
    const x = batch(img, [1, 3, 4, 1]);
    const v = take(translate(x, Int32Array.of(1), Int32Array.of(-1), 'zero'));
    const e = (i: number, j: number) => (i - 1 >= 0 && j + 1 < 4 ? img[(i - 1) * 4 + j + 1] : 0);
    assert.deepEqual(Array.from(v), Array.from({ length: 12 }, (_, k) => Math.fround(e(Math.floor(k / 4), k % 4))));
    x.dispose();
  });
  for (const backend of ['wasm', 'cpu']) {
    it(`reflect fill mirrors the border, per sample (${backend})`, async () => {
      const go = () => {
        const x = batch([...img, ...img, ...img], [3, 3, 4, 1]);
        const v = take(translate(x, Int32Array.of(0, -1, 2), Int32Array.of(2, 0, -3), 'reflect'));
        x.dispose();
        return v;
      };
      const e = (dy: number, dx: number) =>
        Array.from({ length: 12 }, (_, k) => Math.fround(img[reflect(Math.floor(k / 4) - dy, 3) * 4 + reflect((k % 4) - dx, 4)]));
      assert.deepEqual(Array.from(backend === 'cpu' ? await onCpu(go) : go()), [...e(0, 2), ...e(-1, 0), ...e(2, -3)]);
    });
  }
  it('random shifts stay within the bound and keep pixel values', () => {
    const x = randomBatch(4, [32, 8, 8, 1]);
    const v = run(randomTranslate({ fraction: 0.25, fill: 'zero' }), x);
    const xs = new Set(x.dataSync());
    for (const a of v) assert.ok(a === 0 || xs.has(a), 'translation must copy pixels, not interpolate');
    x.dispose();
  });
});

describe('affine', () => {
  const img = Array.from({ length: 9 }, (_, i) => i / 8); // 3x3
  const rot180 = affineMatrix({ rotate: 180, shearX: 0, shearY: 0, tx: 0, ty: 0, scale: 1 }, 3, 3);
  const shift = affineMatrix({ rotate: 0, shearX: 0, shearY: 0, tx: 1, ty: 0, scale: 1 }, 3, 3);
  const expected = [...[...img].reverse(), ...[0, 0, 1, 0, 3, 4, 0, 6, 7].map((v) => v / 8)];
  for (const backend of ['wasm', 'cpu']) {
    it(`rotates 180 and shifts per sample (${backend})`, async () => {
      const go = () => {
        const x = batch([...img, ...img], [2, 3, 3, 1]);
        const v = take(affineTransform(x, Float32Array.from([...rot180, ...shift])));
        x.dispose();
        return v;
      };
      assertClose(backend === 'cpu' ? await onCpu(go) : go(), expected, 1e-5);
    });
  }
});

describe('tone', () => {
  it('solarize, posterize and autocontrast match their definitions', () => {
    const x = batch([0.2, 0.6, 0.9, 0.5], [1, 2, 2, 1]);
    assertClose(take(solarizeWith(x, Float32Array.of(0.5))), [0.2, 0.4, 0.1, 0.5]);
    // 1 bit keeps the top bit of the 8-bit value: 0.5 (127.5) is below 128.
    assertClose(take(posterizeWith(x, Float32Array.of(1))), [0, 128 / 255, 128 / 255, 0]);
    assertClose(take(posterizeWith(x, Float32Array.of(8))), [51 / 255, 153 / 255, 229 / 255, 127 / 255], 1e-6);
    assertClose(take(autoContrastBatch(x)), [0, 4 / 7, 1, 3 / 7]);
    const flat = tf.fill([1, 2, 2, 1], 0.3) as tf.Tensor4D;
    assertClose(take(autoContrastBatch(flat)), [0.3, 0.3, 0.3, 0.3]);
    flat.dispose();
    x.dispose();
  });
});

describe('blur / sharpness', () => {
  it('a constant image stays constant', () => {
    const x = tf.fill([3, 6, 6, 2], 0.7) as tf.Tensor4D;
    assertClose(run(gaussianBlur({ sigmas: [0.5, 1, 2], p: 1 }), x), new Float32Array(216).fill(0.7), 1e-6);
    assertClose(take(sharpenWith(x, Float32Array.of(0, 1, 1.9))), new Float32Array(216).fill(0.7), 1e-6);
    x.dispose();
  });
  it('blurs each sample with its own sigma (plain-loop reference with reflect borders)', () => {
    const [h, w, c] = [5, 6, 3];
    const x = randomBatch(2, [2, h, w, c]);
    const xv = x.dataSync();
    const sigmas = [0.5, 1.0];
    const choice = Int32Array.of(1, 0);
    const v = take(blurWithSigmas(x, sigmas, choice));
    for (let n = 0; n < 2; n++) {
      const r = Math.ceil(3 * sigmas[choice[n]]);
      const g = gaussianKernel1d(sigmas[choice[n]], r);
      for (let i = 0; i < h; i++) {
        for (let j = 0; j < w; j++) {
          for (let ch = 0; ch < c; ch++) {
            let s = 0;
            for (let a = -r; a <= r; a++) {
              for (let b = -r; b <= r; b++) s += g[a + r] * g[b + r] * xv[((n * h + reflect(i + a, h)) * w + reflect(j + b, w)) * c + ch];
            }
            const got = v[((n * h + i) * w + j) * c + ch];
            assert.ok(Math.abs(got - s) < 1e-5, `n${n} (${i},${j},${ch}): ${got} vs ${s}`);
          }
        }
      }
    }
    x.dispose();
  });
  it('sharpness factor 1 is the identity', () => {
    const x = randomBatch(3, [2, 4, 4, 1]);
    assertClose(take(sharpenWith(x, Float32Array.of(1, 1))), x.dataSync(), 1e-6);
    x.dispose();
  });
});

describe('gaussian noise', () => {
  it('has the requested standard deviation over many pixels', () => {
    const x = tf.fill([2, 64, 64, 1], 0.5) as tf.Tensor4D;
    const v = run(gaussianNoise({ std: [0.05, 0.05] }), x);
    let sum = 0;
    let sq = 0;
    for (const a of v) sum += a;
    const mean = sum / v.length;
    for (const a of v) sq += (a - mean) ** 2;
    const std = Math.sqrt(sq / v.length);
    assert.ok(Math.abs(mean - 0.5) < 0.003, `mean ${mean}`);
    assert.ok(Math.abs(std - 0.05) < 0.0025, `std ${std}`);
    // Per-sample std: sample 0 untouched, sample 1 noisy.
    const y = take(addGaussianNoise(x, Float32Array.of(0, 0.1), 3));
    assert.ok(y.subarray(0, 4096).every((a) => a === 0.5));
    assert.ok(y.subarray(4096).some((a) => a !== 0.5));
    x.dispose();
  });
});
