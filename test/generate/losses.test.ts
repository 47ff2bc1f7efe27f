/**
 * The generators' loss terms and the diffusion schedule against hand-computed values and float64 JS references:
 * Gaussian KL, Bernoulli and Gaussian log-likelihoods, M2's labelled and unlabelled bounds (with the entropy
 * term) and the α-weighted objective, ᾱ_t of tiny linear and cosine schedules, q(x_t|x_0), the ε-MSE loss and
 * a DDIM step.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/index.js';
import { bernoulliLogLik, crossEntropy, epsMse, gaussianKl, gaussianLogLik, m2LabelledBound, m2Objective, m2UnlabelledBound, reparameterize } from '../../src/generate/losses.js';
import { ddimStep, ddimTimesteps, noiseSchedule, qSample } from '../../src/generate/schedule.js';
import { fitClassPrior, priorSample } from '../../src/generate/latent-prior.js';

await initBackend('cpu');

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-5, what = '') => {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= tol * Math.max(1, Math.abs(b[i])), `${what}[${i}]: ${a[i]} vs ${b[i]}`);
};
const vals = (t: tf.Tensor) => {
  const v = Array.from(t.dataSync());
  t.dispose();
  return v;
};

test('Gaussian KL to N(0, I): ½ Σ (σ² + μ² − 1 − log σ²)', () => {
  // Row 0: μ = (1, 0), log σ² = (0, ln 2) → ½[(1 + 1 − 1 − 0) + (2 + 0 − 1 − ln 2)] = 1 − ln(2)/2.
  // Row 1: the prior itself → 0.
  const kl = gaussianKl(tf.tensor2d([[1, 0], [0, 0]]), tf.tensor2d([[0, Math.LN2], [0, 0]]));
  close(vals(kl), [1 - Math.LN2 / 2, 0]);
});

test('Bernoulli log-likelihood: Σ x·l − log(1 + eˡ), finite at large logits', () => {
  const ll = bernoulliLogLik(tf.tensor2d([[0, 1, 0.5], [1, 1, 0]]), tf.tensor2d([[0, 2, -1], [100, -100, -100]]));
  const r0 = -Math.LN2 + (2 - Math.log(1 + Math.E ** 2)) + (-0.5 - Math.log(1 + Math.exp(-1)));
  // log σ(100) ≈ −e^−100 ≈ 0, log σ(−100) ≈ −100, log(1 − σ(−100)) ≈ 0.
  close(vals(ll), [r0, -100], 1e-5);
});

test('Gaussian log-likelihood, with a per-value and a fixed log-variance', () => {
  const x = tf.tensor2d([[1, 2]]);
  const m = tf.tensor2d([[0, 2]]);
  const fixed = -0.5 * (Math.log(2 * Math.PI) + 1) + -0.5 * Math.log(2 * Math.PI);
  close(vals(gaussianLogLik(x, m, 0)), [fixed]);
  // log σ² = (ln 4, 0): −½(ln 2π + ln 4 + 1/4) − ½ ln 2π.
  close(vals(gaussianLogLik(x, m, tf.tensor2d([[Math.log(4), 0]]))), [-0.5 * (Math.log(2 * Math.PI) + Math.log(4) + 0.25) - 0.5 * Math.log(2 * Math.PI)]);
});

test('reparameterisation: μ + exp(½ log σ²)·ε', () => {
  close(vals(reparameterize(tf.tensor1d([1, -1]), tf.tensor1d([Math.log(4), 0]), tf.tensor1d([0.5, 2]))), [2, 1]);
});

test("M2's labelled bound, unlabelled bound (with the entropy) and α-weighted objective", () => {
  // −L = log p(x|y,z) − KL + log p(y), uniform p(y) = 1/K.
  const lab = m2LabelledBound(tf.tensor1d([-10, -11]), tf.tensor1d([2, 3]), 4);
  const labV = vals(lab.clone());
  close(labV, [-12 - Math.log(4), -14 - Math.log(4)]);
  // q(y|x) = softmax(0, ln 3) = (¼, ¾); Σ q·(−L) = −2.5 − 15; H = −(¼ ln ¼ + ¾ ln ¾).
  const H = -(0.25 * Math.log(0.25) + 0.75 * Math.log(0.75));
  const logits = tf.tensor2d([[0, Math.log(3)]]);
  const unl = m2UnlabelledBound(tf.tensor2d([[-10, -20]]), logits);
  const unlV = vals(unl.clone());
  close(unlV, [-17.5 + H]);
  const ce = crossEntropy(logits, tf.tensor1d([1], 'int32'));
  close(vals(ce.clone()), [-Math.log(0.75)]);
  // J^α per sample = mean L + mean U + α·mean CE.
  const j = m2Objective({ labelled: lab, unlabelled: unl, ce }, 10);
  close(vals(j), [-(labV[0] + labV[1]) / 2 - unlV[0] + 10 * -Math.log(0.75)]);
  // Only labelled samples in the batch: the unlabelled part is skipped.
  close(vals(m2Objective({ labelled: tf.tensor1d([-3]), ce: tf.tensor1d([0.5]) }, 2)), [3 + 1]);
});

test('linear schedule with T = 4: β from 250·1e-4 to min(250·0.02, 0.999), ᾱ its running product', () => {
  const s = noiseSchedule('linear', 4);
  const b = [0.025, 0.025 + 0.974 / 3, 0.025 + (2 * 0.974) / 3, 0.999];
  close(s.betas, b, 1e-12);
  close(s.alphaBars, [0.975, 0.975 * (1 - b[1]), 0.975 * (1 - b[1]) * (1 - b[2]), 0.975 * (1 - b[1]) * (1 - b[2]) * 0.001], 1e-12);
  // T = 1000 is Ho et al.'s schedule exactly.
  const ho = noiseSchedule('linear', 1000);
  close([ho.betas[0], ho.betas[999]], [1e-4, 0.02], 1e-12);
});

test('cosine schedule with T = 2: ᾱ_t = f(t)/f(0), β clipped at 0.999', () => {
  const f = (t: number) => Math.cos(((t / 2 + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
  const s = noiseSchedule('cosine', 2);
  close(s.alphaBars, [f(1) / f(0), (f(1) / f(0)) * 0.001], 1e-12);
  // f(1)/f(0) = cos²(0.50397·π/2)/cos²(0.00794·π/2) ≈ 0.49376 by hand.
  assert.ok(Math.abs(s.alphaBars[0] - 0.49376) < 1e-4, String(s.alphaBars[0]));
  assert.throws(() => noiseSchedule('linear', 0), /positive integer/);
});

test('q(x_t | x_0) sampling and the ε-MSE loss', () => {
  const x0 = [0.5, -1, 0.25, 1];
  const eps = [1, 0.5, -2, 0];
  const ab = [0.9, 0.2];
  const got = vals(qSample(tf.tensor2d(x0, [2, 2]), tf.tensor2d(eps, [2, 2]), ab));
  const want = x0.map((v, i) => Math.sqrt(ab[i >> 1]) * v + Math.sqrt(1 - ab[i >> 1]) * eps[i]);
  close(got, want);
  close(vals(epsMse(tf.tensor1d([1, 2, 3]), tf.tensor1d([1, 0, 4]))), [(0 + 4 + 1) / 3]);
});

test('a DDIM step (η = 0) against a float64 reference, with and without clipping x̂_0', () => {
  const xt = [0.3, -2.5, 1.7, 0.05];
  const e = [0.4, -0.9, 1.1, -0.2];
  const [abT, abPrev] = [0.3, 0.7];
  const ref = (clip: boolean) =>
    xt.map((x, i) => {
      let x0 = (x - Math.sqrt(1 - abT) * e[i]) / Math.sqrt(abT);
      let eps = e[i];
      if (clip) {
        x0 = Math.min(1, Math.max(-1, x0));
        eps = (x - Math.sqrt(abT) * x0) / Math.sqrt(1 - abT);
      }
      return Math.sqrt(abPrev) * x0 + Math.sqrt(1 - abPrev) * eps;
    });
  close(vals(ddimStep(tf.tensor1d(xt), tf.tensor1d(e), abT, abPrev, null)), ref(false));
  close(vals(ddimStep(tf.tensor1d(xt), tf.tensor1d(e), abT, abPrev)), ref(true));
  // The last step (ᾱ_prev = 1) returns x̂_0 itself.
  close(vals(ddimStep(tf.tensor1d(xt), tf.tensor1d(e), abT, 1, null)), xt.map((x, i) => (x - Math.sqrt(1 - abT) * e[i]) / Math.sqrt(abT)));
  assert.deepEqual(ddimTimesteps(1000, 4), [999, 666, 333, 0]);
  assert.deepEqual(ddimTimesteps(3, 10), [2, 1, 0]);
});

test('the class prior over z: per class, mean of μ and variance of μ plus mean σ², from labelled samples only', () => {
  // A stand-in encoder whose posterior is μ = x, σ² = ¼.
  const encode = (x: tf.Tensor) => ({ mu: tf.clone(x), logvar: tf.fill(x.shape, Math.log(0.25)) });
  const x = Float32Array.from([1, 2, 3, 4, 5, -1, 100, 100]);
  const y = Int32Array.from([0, 0, 1, -1]);
  const p = fitClassPrior(encode, x, y, [2], 2, 3);
  close(p.mean.flat(), [2, 3, 5, -1, 0, 0], 1e-6);
  close(p.std.flat(), [Math.sqrt(1.25), Math.sqrt(1.25), 0.5, 0.5, 1, 1], 1e-6);
  const e = vals(tf.randomNormal([2, 2], 0, 1, 'float32', 9));
  close(vals(priorSample(Int32Array.from([1, 0]), 2, 9, p)), [5 + 0.5 * e[0], -1 + 0.5 * e[1], 2 + Math.sqrt(1.25) * e[2], 3 + Math.sqrt(1.25) * e[3]], 1e-5);
});
