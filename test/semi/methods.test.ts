/**
 * FixMatch / pseudo-labeling pieces against plain-loop references: the masked pseudo-label loss, the EMA
 * arithmetic, the class-balance bookkeeping, and one optimizer step's gradient against finite differences of
 * the loss written out by hand; then a short FixMatch run on bars must learn from 2 labels + unlabeled data.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { Rng } from '../../src/engine/seed.js';
import { UlearnError } from '../../src/errors.js';
import { WeightEma } from '../../src/semi/ema.js';
import { FixMatch } from '../../src/semi/fixmatch.js';
import { maskedPseudoLabelLoss } from '../../src/semi/method.js';
import { PseudoLabel } from '../../src/semi/pseudo-label.js';
import { trainSemi } from '../../src/semi/train.js';
import { barsData, noiseAugment, tinyEncoder, useWasm } from '../ssl/helpers.js';

before(useWasm);

const identityAug = { apply: (b: tf.Tensor4D) => tf.clone(b) };

function logSoftmaxRow(r: number[]): number[] {
  const m = Math.max(...r);
  const lse = m + Math.log(r.reduce((s, v) => s + Math.exp(v - m), 0));
  return r.map((v) => v - lse);
}

function linearHead(dim: number, k: number, seed = 3): tfl.LayersModel {
  return tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [dim], units: k, kernelInitializer: tfl.initializers.glorotUniform({ seed }) })] });
}

describe('masked pseudo-label loss', () => {
  test('equals mean over samples of mask * w * CE(argmax(softmax(source)), logits)', () => {
    const rng = new Rng(5);
    const src = Array.from({ length: 6 }, () => Array.from({ length: 3 }, () => rng.normal() * 3));
    const lg = Array.from({ length: 6 }, () => Array.from({ length: 3 }, () => rng.normal()));
    const w = [1, 2, 0.5, 1, 3, 1];
    const threshold = 0.7;
    let expected = 0;
    const expectedMask: number[] = [];
    for (let i = 0; i < 6; i++) {
      const p = logSoftmaxRow(src[i]).map(Math.exp);
      const best = p.indexOf(Math.max(...p));
      const m = p[best] >= threshold ? 1 : 0;
      expectedMask.push(m);
      expected += (m * w[i] * -logSoftmaxRow(lg[i])[best]) / 6;
    }
    assert.ok(expectedMask.some((m) => m === 0) && expectedMask.some((m) => m === 1), 'fixture exercises both sides of the threshold');
    const { loss, mask } = maskedPseudoLabelLoss(tf.tensor2d(src), tf.tensor2d(lg), threshold, tf.tensor1d(w));
    assert.ok(Math.abs(loss.dataSync()[0] - expected) < 1e-5, `${loss.dataSync()[0]} vs ${expected}`);
    assert.deepEqual(Array.from(mask.dataSync()), expectedMask);
  });
});

describe('WeightEma', () => {
  test('shadow follows min(decay, (1+t)/(10+t)) averaging; swap exchanges and restores', () => {
    const model = linearHead(2, 1);
    const v = model.weights[0].read() as tf.Variable;
    const w0 = Array.from(v.dataSync());
    const ema = new WeightEma([model], 0.5);
    let shadow = w0.slice();
    const values = [[1, 2], [3, -1], [0, 0]];
    values.forEach((vals, t) => {
      v.assign(tf.tensor2d(vals, [2, 1]));
      ema.update();
      const d = Math.min(0.5, (1 + t) / (10 + t));
      shadow = shadow.map((s, i) => d * s + (1 - d) * vals[i]);
    });
    ema.swap();
    assert.ok(Array.from(v.dataSync()).every((x, i) => Math.abs(x - shadow[i]) < 1e-6));
    ema.swap();
    assert.deepEqual(Array.from(v.dataSync()), [0, 0]);
    ema.dispose();
    model.dispose();
  });
});

describe('SemiMethod step', () => {
  test('FixMatch threshold outside (0, 1] is an error before training', () => {
    for (const threshold of [0, -0.1, 1.5, NaN]) {
      assert.throws(
        () => new FixMatch({ encoder: tinyEncoder(), head: linearHead(16, 2), inputShape: [8, 8, 1], nClasses: 2, weak: identityAug, strong: identityAug, threshold }),
        (e: unknown) => e instanceof UlearnError && /threshold must be in \(0, 1\]/.test(e.message),
      );
    }
  });

  test('the update equals Adam on the hand-written loss: CE(labeled) + lambda * masked CE(unlabeled)', () => {
    // Identity augments, no weight decay, head only (encoder frozen via encoderLrScale 0): after one Adam step
    // from zero moments, each weight moves by -lr * sign(grad) (Adam's first step), so the sign of every
    // gradient component can be checked against central differences of the loss written with plain loops.
    const encoder = tinyEncoder(2);
    const head = linearHead(16, 2, 4);
    const { x, y } = barsData(8, 1);
    const lr = 1e-3;
    const m = new FixMatch({ encoder, head, inputShape: [8, 8, 1], nClasses: 2, weak: identityAug, strong: identityAug, threshold: 0.5, lambdaU: 0.7, lr, encoderLrScale: 0, weightDecay: 0, emaDecay: 0 });
    const xl = tf.tensor4d(x.slice(0, 2 * 64), [2, 8, 8, 1]);
    const xu = tf.tensor4d(x.slice(2 * 64), [6, 8, 8, 1]);
    const feats = (encoder.predict(tf.concat([xl, xu])) as tf.Tensor2D).arraySync();
    const [W0, b0] = head.getWeights().map((t) => Array.from(t.dataSync()));
    const lossOf = (W: number[], b: number[]) => {
      const logits = feats.map((f) => [0, 1].map((c) => b[c] + f.reduce((s, v, j) => s + v * W[j * 2 + c], 0)));
      let lx = 0;
      for (let i = 0; i < 2; i++) lx -= logSoftmaxRow(logits[i])[y[i]] / 2;
      let lu = 0;
      for (let i = 2; i < 8; i++) {
        const p = logSoftmaxRow(logits[i]).map(Math.exp);
        const best = p[1] > p[0] ? 1 : 0;
        if (p[best] >= 0.5) lu -= logSoftmaxRow(logits[i])[best] / 6;
      }
      return lx + 0.7 * lu;
    };
    const stats = m.trainStep(xl, y.slice(0, 2), xu, new Rng(0));
    assert.ok(Math.abs(stats.loss - lossOf(W0, b0)) < 1e-4, `loss ${stats.loss} vs ${lossOf(W0, b0)}`);
    const [W1, b1] = head.getWeights().map((t) => Array.from(t.dataSync()));
    const h = 1e-3;
    let checked = 0;
    for (const [params, after, which] of [[W0, W1, 'W'], [b0, b1, 'b']] as const) {
      params.forEach((p0, j) => {
        const plus = params.slice();
        const minus = params.slice();
        plus[j] = p0 + h;
        minus[j] = p0 - h;
        const g = which === 'W' ? (lossOf(plus, b0) - lossOf(minus, b0)) / (2 * h) : (lossOf(W0, plus) - lossOf(W0, minus)) / (2 * h);
        if (Math.abs(g) < 1e-4) return;
        assert.ok(Math.abs(after[j] - (p0 - lr * Math.sign(g))) < 2e-5, `${which}[${j}]: moved ${after[j] - p0}, grad ${g}`);
        checked++;
      });
    }
    assert.ok(checked > 10, `checked ${checked} components`);
    tf.dispose([xl, xu]);
    m.dispose();
  });

  test('pseudo-label class frequencies follow the momentum average and weights are (1/K)/p clipped', () => {
    const m = new PseudoLabel({ encoder: tinyEncoder(), head: linearHead(16, 2), inputShape: [8, 8, 1], nClasses: 2, weak: identityAug, threshold: 0.6, balanceMomentum: 0.9, emaDecay: 0 });
    (m as unknown as { afterStep(p: Int32Array, mask: Float32Array): void }).afterStep(Int32Array.from([0, 0, 0, 1, 1]), Float32Array.from([1, 1, 1, 0, 1]));
    // confident: three 0s, one 1 -> shares 0.75 / 0.25
    assert.ok(Math.abs(m.classFrequency[0] - (0.9 * 0.5 + 0.1 * 0.75)) < 1e-12);
    assert.ok(Math.abs(m.classFrequency[1] - (0.9 * 0.5 + 0.1 * 0.25)) < 1e-12);
    const w = m.classWeights();
    assert.ok(Math.abs(w[0] - 1 / (2 * m.classFrequency[0])) < 1e-6);
    m.dispose();
  });

  test('class-balanced pseudo-label loss weights each sample by its predicted class, and a training step runs', () => {
    const m = new PseudoLabel({ encoder: tinyEncoder(), head: linearHead(16, 3), inputShape: [8, 8, 1], nClasses: 3, weak: identityAug, threshold: 0.5, emaDecay: 0 });
    m.classFrequency.set([0.5, 0.3, 0.2]);
    const w = m.classWeights();
    const rows = [[3, 0, 0], [0, 4, 0], [0, 0, 5], [1, 1.1, 0.9], [0, 0.2, 6]];
    const logits = tf.tensor2d(rows);
    const got = m.unlabeledLoss([logits]);
    // By hand: the weight of each row is that of its argmax class.
    const hand = maskedPseudoLabelLoss(logits, logits, 0.5, tf.tensor1d(rows.map((r) => w[r.indexOf(Math.max(...r))])));
    assert.ok(Math.abs(got.loss.dataSync()[0] - hand.loss.dataSync()[0]) < 1e-6);
    // The weights reach the gradient tape through the model's own logits: one optimizer step must work (a
    // tf.gather on the argmax made tfjs refuse the int32 indices in backprop).
    const { x, y } = barsData(8, 1);
    const xl = tf.tensor4d(x.slice(0, 2 * 64), [2, 8, 8, 1]);
    const xu = tf.tensor4d(x.slice(2 * 64), [6, 8, 8, 1]);
    const stats = m.trainStep(xl, y.slice(0, 2), xu, new Rng(0));
    assert.ok(Number.isFinite(stats.loss));
    tf.dispose([logits, got.loss, got.mask, hand.loss, hand.mask, xl, xu]);
    m.dispose();
  });

  test('FixMatch from 8 labels learns bars, and trainSemi obeys steps, batch size and mu', () => {
    const { x, y } = barsData(160, 3);
    const test = barsData(100, 4);
    const visible = new Int32Array(160).fill(-1);
    for (let i = 0; i < 8; i++) visible[i] = y[i];
    const labeled = [0, 1, 2, 3, 4, 5, 6, 7];
    const unlabeled = Array.from({ length: 152 }, (_, i) => i + 8);
    const encoder = tinyEncoder(5);
    const head = linearHead(16, 2, 6);
    const m = new FixMatch({ encoder, head, inputShape: [8, 8, 1], nClasses: 2, weak: noiseAugment, strong: noiseAugment, threshold: 0.8, lr: 1e-2, emaDecay: 0.9 });
    let unlabeledSeen = 0;
    const orig = m.trainStep.bind(m);
    m.trainStep = (xl, yl, xu, rng) => {
      unlabeledSeen = xu.shape[0];
      assert.equal(xl.shape[0], 4);
      return orig(xl, yl, xu, rng);
    };
    const r = trainSemi({ method: m, x, y: visible, labeled, unlabeled, batchSize: 4, mu: 4, steps: 60, seed: 1 });
    assert.equal(r.steps, 60);
    assert.equal(unlabeledSeen, 16);
    const probs = tf.tidy(() => tf.argMax(m.logits(tf.tensor4d(test.x, [100, 8, 8, 1]), false), 1).dataSync());
    const acc = Array.from(probs).reduce((s, p, i) => s + (p === test.y[i] ? 1 : 0), 0) / 100;
    assert.ok(acc >= 0.85, `accuracy ${acc}`);
    assert.ok(r.last!.maskRate > 0.5, `mask rate ${r.last!.maskRate}`);
    m.dispose();
  });
});
