/**
 * BatchNormalization whose training step is one custom-gradient op. tfjs-layers' own layer normalises with
 * moments + FusedBatchNorm and lets autodiff run back through both (a dozen full-size kernels and Tiles per
 * layer); the closed form needs five:
 *   dbeta = sum(dy), dgamma = sum(dy * xhat), dx = gamma * rstd * (dy - dbeta / M - xhat * dgamma / M).
 * Inference, weights, config and moving statistics are the base layer's (a drop-in: same weights, same
 * outputs); only the channels-last training path changes.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { BATCH_NORM_GRAD, BATCH_NORM_TRAIN, nativeKernelsActive } from '../engine/kernels/native.js';

type BatchNormArgs = Parameters<typeof tfl.layers.batchNormalization>[0];
type BatchNormLayer = ReturnType<typeof tfl.layers.batchNormalization>;
interface BatchNormInternals {
  axis: number;
  momentum: number;
  epsilon: number;
  gamma: { read(): tf.Tensor } | null;
  beta: { read(): tf.Tensor } | null;
  movingMean: { read(): tf.Tensor; write(t: tf.Tensor): void };
  movingVariance: { read(): tf.Tensor; write(t: tf.Tensor): void };
}

const BatchNormalization = Object.getPrototypeOf(tfl.layers.batchNormalization({})).constructor as new (
  args?: BatchNormArgs,
) => BatchNormLayer;

/** y = gamma * (x - mean) / sqrt(var + eps) + beta over all axes but the last, with the closed-form gradient. */
export function batchNormTraining(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, epsilon: number): { y: tf.Tensor; mean: tf.Tensor; variance: tf.Tensor } {
  if (nativeKernelsActive() && tf.getBackend() === 'wasm') return nativeBatchNormTraining(x, gamma, beta, epsilon);
  const axes = x.shape.slice(0, -1).map((_, i) => i);
  const m = x.size / x.shape[x.shape.length - 1];
  let mean: tf.Tensor | undefined;
  let variance: tf.Tensor | undefined;
  const op = tf.customGrad(((xi: tf.Tensor, g: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
    const moments = tf.moments(xi, axes);
    mean = tf.keep(moments.mean);
    variance = tf.keep(moments.variance);
    const rstd = tf.rsqrt(tf.add(moments.variance, epsilon));
    const xhat = tf.mul(tf.sub(xi, moments.mean), rstd);
    save([xhat, rstd, g]);
    return {
      value: tf.add(tf.mul(xhat, g), b),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sxhat, srstd, sg] = saved;
        const dbeta = tf.sum(dy, axes);
        const dgamma = tf.sum(tf.mul(dy, sxhat), axes);
        const centred = tf.sub(tf.sub(dy, tf.div(dbeta, m)), tf.mul(sxhat, tf.div(dgamma, m)));
        return [tf.mul(tf.mul(sg, srstd), centred), dgamma, dbeta];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  const y = op(x, gamma, beta);
  return { y, mean: mean!, variance: variance! };
}

/** The same op as two oneDNN primitives (the native engine): one pass forward, one pass back. */
function nativeBatchNormTraining(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, epsilon: number): { y: tf.Tensor; mean: tf.Tensor; variance: tf.Tensor } {
  let mean: tf.Tensor | undefined;
  let variance: tf.Tensor | undefined;
  const op = tf.customGrad(((xi: tf.Tensor, g: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
    const [y, m, v] = tf.engine().runKernel(BATCH_NORM_TRAIN, { x: xi, gamma: g, beta: b }, { epsilon }) as tf.Tensor[];
    mean = tf.keep(m);
    variance = tf.keep(v);
    save([xi, m, v, g]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sm, sv, sg] = saved;
        return tf.engine().runKernel(BATCH_NORM_GRAD, { x: sx, mean: sm, variance: sv, gamma: sg, dy }, { epsilon }) as tf.Tensor[];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  const y = op(x, gamma, beta);
  return { y, mean: mean!, variance: variance! };
}

export class FastBatchNormalization extends BatchNormalization {
  static className = 'UlearnFastBatchNormalization';

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[] {
    const self = this as unknown as BatchNormInternals;
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    const axis = self.axis < 0 ? self.axis + x.rank : self.axis;
    if (!kwargs['training'] || axis !== x.rank - 1 || !self.gamma || !self.beta) return super.call(inputs, kwargs);
    return tf.tidy(() => {
      const { y, mean, variance } = batchNormTraining(x, self.gamma!.read(), self.beta!.read(), self.epsilon);
      // Keras convention: moving = moving - (moving - batch) * (1 - momentum).
      for (const [variable, value] of [
        [self.movingMean, mean],
        [self.movingVariance, variance],
      ] as const) {
        const old = variable.read();
        variable.write(tf.sub(old, tf.mul(tf.sub(old, value), 1 - self.momentum)));
      }
      tf.dispose([mean, variance]);
      return y;
    });
  }
}
tf.serialization.registerClass(FastBatchNormalization as unknown as tf.serialization.SerializableConstructor<tf.serialization.Serializable>);

export function fastBatchNormalization(args: BatchNormArgs): tfl.layers.Layer {
  return new FastBatchNormalization(args) as unknown as tfl.layers.Layer;
}
