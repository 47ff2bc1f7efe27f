/**
 * A class-conditional prior over the latent z, estimated from the labelled samples: with few labels a
 * conditional VAE's (or M2's) decoder learns to read the class from z, which must carry it for the unlabelled
 * majority, so z ~ N(0, I) with a class's one-hot gives samples of any class. Drawing z from a Gaussian per class,
 * fitted to that class's labelled posteriors q(z|x, y) (mean of their μ; variance of μ plus their mean σ²),
 * keeps the samples in the class asked for. Plain float64 JS over the encoder's outputs.
 */
import * as tf from '@tensorflow/tfjs-core';

export interface ClassPrior {
  mean: number[][];
  std: number[][];
}

export function fitClassPrior(
  encode: (x: tf.Tensor, y: Int32Array) => { mu: tf.Tensor; logvar: tf.Tensor },
  x: Float32Array,
  y: Int32Array,
  shape: number[],
  latent: number,
  classes: number,
): ClassPrior {
  const idx: number[] = [];
  y.forEach((v, i) => v >= 0 && idx.push(i));
  const per = shape.reduce((a, b) => a * b, 1);
  const D = latent;
  const sum = Array.from({ length: classes }, () => new Float64Array(D));
  const sq = Array.from({ length: classes }, () => new Float64Array(D));
  const post = Array.from({ length: classes }, () => new Float64Array(D));
  const count = new Array<number>(classes).fill(0);
  for (let s = 0; s < idx.length; s += 256) {
    const part = idx.slice(s, s + 256);
    const xs = new Float32Array(part.length * per);
    part.forEach((i, k) => xs.set(x.subarray(i * per, (i + 1) * per), k * per));
    const ys = Int32Array.from(part, (i) => y[i]);
    const [mu, v] = tf.tidy(() => {
      const e = encode(tf.tensor(xs, [part.length, ...shape]), ys);
      return [e.mu.dataSync(), tf.exp(e.logvar).dataSync()];
    });
    part.forEach((_, k) => {
      const c = ys[k];
      count[c]++;
      for (let d = 0; d < D; d++) {
        sum[c][d] += mu[k * D + d];
        sq[c][d] += mu[k * D + d] ** 2;
        post[c][d] += v[k * D + d];
      }
    });
  }
  // A class without labelled samples keeps N(0, I).
  const mean = sum.map((v, c) => Array.from(v, (t) => (count[c] ? t / count[c] : 0)));
  const std = sq.map((v, c) => Array.from(v, (t, d) => (count[c] ? Math.sqrt(Math.max(0, t / count[c] - mean[c][d] ** 2) + post[c][d] / count[c]) : 1)));
  return { mean, std };
}

/** z for each label: from the class's Gaussian when a prior is given, else N(0, I). */
export function priorSample(labels: Int32Array, latent: number, seed: number, prior?: ClassPrior): tf.Tensor2D {
  return tf.tidy(() => {
    const e = tf.randomNormal([labels.length, latent], 0, 1, 'float32', seed) as tf.Tensor2D;
    if (!prior) return e;
    const m = tf.tensor2d(Array.from(labels, (l) => prior.mean[l]));
    const sd = tf.tensor2d(Array.from(labels, (l) => prior.std[l]));
    return tf.add(m, tf.mul(sd, e)) as tf.Tensor2D;
  });
}
