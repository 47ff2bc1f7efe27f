/**
 * EncoderHeadStep, the one gradient step of fitClassifier, fitTabular and SemiMethod: its loss and gradients
 * against a float64 forward pass written out by hand and differentiated by central differences (L2 on kernels
 * only), its update against Adam's first step (each group moves by its own rate), and the three trainers'
 * losses on tiny data pinned to the numbers their own copies of the step gave before they shared this one.
 * One wasm thread, so every number is exact run to run.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../../src/engine/backend.js';
import { Rng } from '../../src/engine/seed.js';
import { linearHead, mlpEncoder } from '../../src/models/mlp.js';
import { FixMatch } from '../../src/semi/fixmatch.js';
import { fitClassifier } from '../../src/train/fit-classifier.js';
import { fitTabular } from '../../src/train/fit-tabular.js';
import { EncoderHeadStep } from '../../src/train/step.js';
import { barsData, noiseAugment, tinyEncoder } from '../ssl/helpers.js';

before(async () => {
  await initBackend('wasm', { threads: 1 });
});

const X = [
  [0.5, -1.2, 0.3],
  [1.1, 0.4, -0.7],
  [-0.3, 0.8, 1.5],
  [0.9, -0.2, -1.1],
  [-1.4, 0.6, 0.2],
];
const Y = [0, 1, 1, 0, 1];
const WD = 0.05;

function models(seed: number) {
  const encoder = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [3], units: 4, activation: 'tanh', kernelInitializer: tfl.initializers.glorotNormal({ seed }) })] });
  const head = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [4], units: 2, kernelInitializer: tfl.initializers.glorotNormal({ seed: seed + 1 }), biasInitializer: tfl.initializers.constant({ value: 0.1 }) })] });
  return { encoder, head };
}

/** [encoder kernel, encoder bias, head kernel, head bias] as flat float64 arrays. */
function params(encoder: tfl.LayersModel, head: tfl.LayersModel): number[][] {
  return [...encoder.getWeights(), ...head.getWeights()].map((w) => Array.from(w.dataSync()));
}

/** Mean softmax cross-entropy of the 3-4-2 tanh network plus WD · (|We|² + |Wh|²), in float64. */
function lossRef([we, be, wh, bh]: number[][]): number {
  let total = 0;
  X.forEach((x, n) => {
    const h = Array.from({ length: 4 }, (_, j) => Math.tanh(be[j] + x.reduce((s, v, i) => s + v * we[i * 4 + j], 0)));
    const z = [0, 1].map((k) => bh[k] + h.reduce((s, v, j) => s + v * wh[j * 2 + k], 0));
    const m = Math.max(...z);
    const lse = m + Math.log(z.reduce((s, v) => s + Math.exp(v - m), 0));
    total += lse - z[Y[n]];
  });
  const sq = (a: number[]) => a.reduce((s, v) => s + v * v, 0);
  return total / X.length + WD * (sq(we) + sq(wh));
}

function objective(encoder: tfl.LayersModel, head: tfl.LayersModel) {
  return () => {
    const logits = head.apply(encoder.apply(tf.tensor2d(X), { training: true }), { training: true }) as tf.Tensor2D;
    return tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d(Y, 'int32'), 2), logits) as tf.Scalar;
  };
}

/** The step's loss and gradients against a float64 reference `ref` (central differences, h = 1e-6). */
function assertMatchesReference(step: EncoderHeadStep, value: tf.Tensor, grads: Record<string, tf.Tensor>, p: number[][], ref: (q: number[][]) => number): void {
  assert.ok(Math.abs(value.dataSync()[0] - ref(p)) < 1e-5, `loss ${value.dataSync()[0]} vs ${ref(p)}`);
  const h = 1e-6;
  step.vars.forEach((v, vi) => {
    const g = grads[v.name].dataSync();
    p[vi].forEach((_, i) => {
      const plus = p.map((a) => [...a]);
      const minus = p.map((a) => [...a]);
      plus[vi][i] += h;
      minus[vi][i] -= h;
      const fd = (ref(plus) - ref(minus)) / (2 * h);
      assert.ok(Math.abs(g[i] - fd) < 1e-4, `${v.name}[${i}]: ${g[i]} vs ${fd}`);
    });
  });
}

test('loss and gradients match a float64 reference by central differences; biases are not decayed', () => {
  const { encoder, head } = models(3);
  const step = new EncoderHeadStep({ encoder, head, lrHead: 0.01, lrEncoder: 0.001, weightDecay: WD });
  const p = params(encoder, head);
  const { value, grads } = step.gradients(objective(encoder, head));
  assertMatchesReference(step, value, grads, p, lossRef);
  tf.dispose([value, ...Object.values(grads)]);
  step.dispose();
});

test("one step moves the head by its rate and the encoder by its own (Adam's first step: lr · sign(g)); rate 0 freezes the encoder", () => {
  for (const lrEncoder of [0.001, 0]) {
    const { encoder, head } = models(5);
    const step = new EncoderHeadStep({ encoder, head, lrHead: 0.01, lrEncoder, weightDecay: WD });
    const before = params(encoder, head);
    const { value, grads } = step.gradients(objective(encoder, head));
    const g = Object.fromEntries(Object.entries(grads).map(([k, t]) => [k, Array.from(t.dataSync())]));
    tf.dispose([value, ...Object.values(grads)]);
    const names = [...encoder.trainableWeights, ...head.trainableWeights].map((w) => (w.read() as tf.Variable).name);
    tf.dispose(step.step(objective(encoder, head)));
    const after = params(encoder, head);
    before.forEach((b, vi) => {
      const isHead = vi >= 2;
      const lr = isHead ? 0.01 : lrEncoder;
      b.forEach((w, i) => {
        const expected = lr === 0 ? w : w - lr * Math.sign(g[names[vi]][i]);
        assert.ok(Math.abs(after[vi][i] - expected) < 1e-6, `${names[vi]}[${i}] (lrEncoder ${lrEncoder}): ${after[vi][i]} vs ${expected}`);
      });
    });
    assert.equal(step.vars.length, lrEncoder > 0 ? 4 : 2);
    step.dispose();
  }
});

// Numbers printed by each trainer's own step before EncoderHeadStep replaced them (commit 04361c3).
test('fitClassifier, fitTabular and a FixMatch step give the losses they gave before the shared step', () => {
  const close = (a: number[], b: number[], what: string) => a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) < 1e-5, `${what}[${i}]: ${v} vs ${b[i]}`));
  {
    const data = barsData(40, 3);
    const encoder = tinyEncoder(4);
    const head = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [16], units: 2, kernelInitializer: tfl.initializers.glorotUniform({ seed: 5 }) })] });
    const r = fitClassifier({ encoder, head, x: data.x, inputShape: [8, 8, 1], y: data.y, indices: Int32Array.from({ length: 40 }, (_, i) => i), nClasses: 2, augment: noiseAugment, epochs: 3, batchSize: 16, lrHead: 1e-2, lrEncoder: 3e-3, seed: 6 });
    close(r.losses, [0.7338426113128662, 0.7064350247383118, 0.7035255134105682], 'fitClassifier losses');
    close([head.getWeights()[0].dataSync()[0], encoder.getWeights()[0].dataSync()[0]], [-0.277517706155777, -0.3484138548374176], 'fitClassifier weights');
    assert.equal(r.steps, 6);
  }
  {
    const rng = new Rng(9);
    const x = Float32Array.from({ length: 60 * 3 }, () => rng.normal());
    const y = Int32Array.from({ length: 60 }, (_, i) => (x[3 * i] + x[3 * i + 1] > 0 ? 1 : 0));
    const encoder = mlpEncoder({ inputDim: 3, widths: [8], seed: 1 });
    const head = linearHead(8, 2, 1);
    const r = fitTabular({ encoder, head, x, dim: 3, y, indices: Int32Array.from(y.keys()), nClasses: 2, steps: 7, batchSize: 16, lrHead: 1e-2, lrEncoder: 2e-3, weightDecay: 1e-3, seed: 1 });
    close([r.finalLoss, head.getWeights()[0].dataSync()[0], encoder.getWeights()[0].dataSync()[0]], [0.5434098243713379, -0.024858273565769196, 0.3939540684223175], 'fitTabular');
  }
  {
    const data = barsData(48, 5);
    const encoder = tinyEncoder(6);
    const head = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [16], units: 2, kernelInitializer: tfl.initializers.glorotUniform({ seed: 7 }) })] });
    const m = new FixMatch({ encoder, head, inputShape: [8, 8, 1], nClasses: 2, weak: noiseAugment, strong: noiseAugment, threshold: 0.5, lr: 1e-2, encoderLrScale: 0.5, emaDecay: 0 });
    const rng = new Rng(8);
    const got: number[] = [];
    for (let s = 0; s < 4; s++) {
      const xl = tf.tensor4d(data.x.subarray(0, 8 * 64), [8, 8, 8, 1]);
      const xu = tf.tensor4d(data.x.subarray(8 * 64, 40 * 64), [32, 8, 8, 1]);
      const st = m.trainStep(xl, data.y.slice(0, 8), xu, rng);
      got.push(st.loss, st.lossLabeled, st.lossUnlabeled, st.maskRate);
      tf.dispose([xl, xu]);
    }
    close(got, [1.3380708694458008, 0.6939741373062134, 0.6238410472869873, 1, 1.2768055200576782, 0.7100667953491211, 0.5464197397232056, 1, 1.202432632446289, 0.7114689946174622, 0.4705623388290405, 1, 1.1264516115188599, 0.698183000087738, 0.4077562987804413, 1], 'fixmatch');
    m.dispose();
  }
});

/** The same network's loss with L2-SP: WD · Σ (w − anchor)² over both kernels, in float64. */
function lossSpRef(p: number[][], anchors: number[][]): number {
  const sq = (a: number[], b: number[]) => a.reduce((s, v, i) => s + (v - b[i]) ** 2, 0);
  const wd = WD * (p[0].reduce((s, v) => s + v * v, 0) + p[2].reduce((s, v) => s + v * v, 0));
  return lossRef(p) - wd + WD * (sq(p[0], anchors[0]) + sq(p[2], anchors[2]));
}

test('L2-SP: loss and gradients match a float64 reference that pulls kernels toward their starting values, not zero', () => {
  const { encoder, head } = models(7);
  const step = new EncoderHeadStep({ encoder, head, lrHead: 0.01, lrEncoder: 0.001, weightDecay: WD, regularizer: 'l2-sp' });
  const anchors = params(encoder, head);
  // Move away from the anchors, as training would, so the penalty is not zero.
  for (const v of step.vars) v.assign(tf.add(v, tf.randomUniform(v.shape, -0.3, 0.3, 'float32', 11)));
  const p = params(encoder, head);
  const { value, grads } = step.gradients(objective(encoder, head));
  assertMatchesReference(step, value, grads, p, (q) => lossSpRef(q, anchors));
  const terms = step.penaltyTerms();
  const sq = (a: number[], b: number[]) => a.reduce((s, x, i) => s + (x - b[i]) ** 2, 0);
  assert.ok(Math.abs(terms.encoder - WD * sq(p[0], anchors[0])) < 1e-6 && Math.abs(terms.head - WD * sq(p[2], anchors[2])) < 1e-6, JSON.stringify(terms));
  tf.dispose([value, ...Object.values(grads)]);
  step.dispose();
});

test('decoupled decay (AdamW): Adam moves by its rate on the objective alone, then each kernel shrinks by lr · decay; biases do not', () => {
  const decay = 0.5;
  const { encoder, head } = models(9);
  const step = new EncoderHeadStep({ encoder, head, lrHead: 0.01, lrEncoder: 0.002, weightDecay: decay, regularizer: 'decoupled' });
  const before = params(encoder, head);
  // The objective's own gradient: decoupled decay adds nothing to the loss.
  const plain = new EncoderHeadStep({ encoder, head, lrHead: 0.01, lrEncoder: 0.002, weightDecay: 0 });
  const { value, grads } = plain.gradients(objective(encoder, head));
  const { value: v2 } = step.gradients(objective(encoder, head));
  assert.ok(Math.abs(value.dataSync()[0] - v2.dataSync()[0]) < 1e-7, 'decoupled decay is not in the loss');
  const g = Object.fromEntries(Object.entries(grads).map(([k, t]) => [k, Array.from(t.dataSync())]));
  tf.dispose([value, v2, ...Object.values(grads)]);
  plain.dispose();
  const names = step.vars.map((v) => v.name);
  tf.dispose(step.step(objective(encoder, head)));
  const after = params(encoder, head);
  before.forEach((b, vi) => {
    const lr = vi >= 2 ? 0.01 : 0.002;
    const kernel = vi % 2 === 0;
    b.forEach((w, i) => {
      const adam = w - lr * Math.sign(g[names[vi]][i]);
      const expected = kernel ? adam * (1 - lr * decay) : adam;
      assert.ok(Math.abs(after[vi][i] - expected) < 1e-6, `${names[vi]}[${i}]: ${after[vi][i]} vs ${expected}`);
    });
  });
  assert.deepEqual(step.penaltyTerms(), { encoder: 0, head: 0 });
  step.dispose();
});

test('L2-SP keeps a trained encoder near its pretrained weights where coupled L2 pulls them toward zero', () => {
  // 200 steps on an objective that barely cares about the encoder: what is left is the regularizer's pull.
  const distance = (regularizer: 'l2' | 'l2-sp') => {
    const { encoder, head } = models(13);
    const start = encoder.getWeights()[0].dataSync().slice();
    const step = new EncoderHeadStep({ encoder, head, lrHead: 0.01, lrEncoder: 0.01, weightDecay: 0.05, regularizer });
    const faint = objective(encoder, head);
    for (let s = 0; s < 200; s++) tf.dispose(step.step(() => tf.mul(0.01, faint()) as tf.Scalar));
    step.dispose();
    const w = encoder.getWeights()[0].dataSync();
    const norm = (a: ArrayLike<number>) => Math.sqrt(Array.from(a).reduce((t, v) => t + v * v, 0));
    return { moved: norm(Array.from(w, (v, i) => v - start[i])) / norm(start), shrunk: norm(w) / norm(start) };
  };
  const l2 = distance('l2');
  const sp = distance('l2-sp');
  assert.ok(l2.shrunk < 0.7, `coupled L2 shrinks the kernel (norm ratio ${l2.shrunk.toFixed(3)})`);
  assert.ok(sp.moved < 0.5 * l2.moved, `L2-SP moves it less: ${sp.moved.toFixed(3)} vs ${l2.moved.toFixed(3)} (relative distance from the start)`);
  assert.ok(sp.shrunk > 0.85, `L2-SP keeps its scale (norm ratio ${sp.shrunk.toFixed(3)})`);
});

test('a regularizer or decay out of range is refused', () => {
  const { encoder, head } = models(1);
  assert.throws(() => new EncoderHeadStep({ encoder, head, lrHead: 0.01, lrEncoder: 0, weightDecay: -1 }), /weight decay must be ≥ 0/);
  assert.throws(() => new EncoderHeadStep({ encoder, head, lrHead: 0.01, lrEncoder: 0, weightDecay: 0, regularizer: 'l1' as 'l2' }), /unknown regularizer 'l1'/);
});
