/**
 * Linear probe: multinomial logistic regression on frozen features (the standard SSL evaluation, and the
 * cheapest way to turn an encoder plus a few labels into a classifier). Features are standardized with
 * statistics of the labeled rows; full-batch Adam with L2 weight decay, which is stable for 10..10,000 rows.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { UlearnError } from '../errors.js';
import { tfSeed } from '../engine/seed.js';

export interface LinearProbeOptions {
  epochs?: number;
  lr?: number;
  weightDecay?: number;
  seed?: number;
}

export interface LinearProbe {
  /** Class probabilities [n, nClasses] for features [n, dim]. */
  predictProba(features: tf.Tensor2D): tf.Tensor2D;
  /**
   * The same classifier as one dense layer on unstandardized features (standardization folded in):
   * kernel = W * invStd (per input row), bias = b - (mean * invStd) @ W. Used to start fine-tuning from the
   * probe (LP-FT, Kumar et al. 2022) instead of a random head, so early gradients do not wreck the features.
   */
  denseWeights(): [tf.Tensor2D, tf.Tensor1D];
  dispose(): void;
}

export function trainLinearProbe(features: tf.Tensor2D, labels: Int32Array, nClasses: number, opts: LinearProbeOptions = {}): LinearProbe {
  const [n, dim] = features.shape;
  if (labels.length !== n) throw new UlearnError(`linear probe: ${n} feature rows but ${labels.length} labels`);
  if (labels.some((l) => l < 0 || l >= nClasses)) throw new UlearnError('linear probe: labels must be in [0, nClasses)');
  const epochs = opts.epochs ?? 300;
  const wd = opts.weightDecay ?? 1e-3;
  const { mean, invStd } = tf.tidy(() => {
    const m = tf.moments(features, 0);
    return { mean: tf.keep(m.mean), invStd: tf.keep(tf.div(1, tf.sqrt(tf.add(m.variance, 1e-6)))) };
  });
  const W = tf.variable(tf.randomNormal([dim, nClasses], 0, 0.01, 'float32', tfSeed(opts.seed ?? 0)));
  const b = tf.variable(tf.zeros([nClasses]));
  const optimizer = tf.train.adam(opts.lr ?? 0.01);
  const onehot = tf.oneHot(tf.tensor1d(labels, 'int32'), nClasses);
  const xs = tf.tidy(() => tf.mul(tf.sub(features, mean), invStd));
  for (let e = 0; e < epochs; e++) {
    tf.tidy(() => {
      optimizer.minimize(() => {
        const logits = tf.add(tf.matMul(xs, W), b);
        return tf.add(tf.losses.softmaxCrossEntropy(onehot, logits), tf.mul(wd, tf.sum(tf.square(W)))) as tf.Scalar;
      }, false, [W, b]);
    });
  }
  tf.dispose([onehot, xs]);
  optimizer.dispose();
  return {
    predictProba: (f) => tf.tidy(() => tf.softmax(tf.add(tf.matMul(tf.mul(tf.sub(f, mean), invStd), W), b)) as tf.Tensor2D),
    denseWeights: () =>
      tf.tidy(() => {
        const kernel = tf.mul(W, tf.reshape(invStd, [-1, 1])) as tf.Tensor2D;
        const bias = tf.sub(b, tf.reshape(tf.matMul(tf.reshape(tf.mul(mean, invStd), [1, -1]), W), [-1])) as tf.Tensor1D;
        return [kernel, bias] as [tf.Tensor2D, tf.Tensor1D];
      }),
    dispose: () => tf.dispose([W, b, mean, invStd]),
  };
}

/**
 * LP-FT's head (Kumar et al. 2022): `head`, a single dense layer on the raw features, takes the probe's
 * classifier (`denseWeights`), so fine-tuning starts from the probe instead of a random head and the first
 * gradients into a pretrained encoder carry signal rather than noise. Returns `head`.
 */
export function headFromProbe(head: tfl.LayersModel, probe: LinearProbe): tfl.LayersModel {
  const dense = head.layers.filter((l) => l.countParams() > 0);
  if (head.layers.length !== 1 || dense.length !== 1) throw new UlearnError(`LP-FT: the head must be one dense layer, '${head.name}' has ${head.layers.length} layers`, { code: 'E_MODEL' });
  const w = probe.denseWeights();
  head.layers[0].setWeights(w);
  tf.dispose(w);
  return head;
}
