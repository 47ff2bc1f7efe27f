/**
 * Supervised training of encoder + head on labeled table rows ([N, D] features, no augmentation): the
 * fine-tuning of a SCARF encoder (encoder learning rate below the head's) and the supervised-only MLP baseline
 * (fresh encoder, equal rates) are the same call, so the two arms differ only in their starting weights.
 * The image trainer (`fitClassifier`) builds NHWC batches; rows need none of that.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { Rng } from '../engine/seed.js';
import { UlearnError } from '../errors.js';
import type { Budget } from '../util/budget.js';
import { EncoderHeadStep } from './step.js';

export interface FitTabularOptions {
  encoder: tfl.LayersModel;
  head: tfl.LayersModel;
  /** All rows, [n * dim]. */
  x: Float32Array;
  dim: number;
  /** Label per row (only `indices` are used). */
  y: Int32Array;
  indices: ArrayLike<number>;
  nClasses: number;
  /** Optimizer steps (epochs vary too much with 20 vs 2,000 labeled rows for a fixed epoch count). */
  steps: number;
  batchSize?: number;
  lrHead?: number;
  /** Default lrHead; 0 freezes the encoder. */
  lrEncoder?: number;
  weightDecay?: number;
  seed?: number;
  budget?: Budget;
}

export interface FitTabularResult {
  steps: number;
  /** Mean loss over the last 10% of steps. */
  finalLoss: number;
  stoppedByBudget: boolean;
}

export function fitTabular(o: FitTabularOptions): FitTabularResult {
  const n = o.indices.length;
  if (n === 0) throw new UlearnError('fitTabular: no labeled rows to train on', { code: 'E_DATA' });
  for (let k = 0; k < n; k++) {
    const c = o.y[o.indices[k]];
    if (!(c >= 0 && c < o.nClasses)) throw new UlearnError(`fitTabular: row ${o.indices[k]} has label ${c}, expected 0..${o.nClasses - 1}`, { code: 'E_DATA' });
  }
  const rng = new Rng(o.seed ?? 0);
  const bs = Math.min(o.batchSize ?? 64, n);
  const lrHead = o.lrHead ?? 1e-3;
  const lrEnc = o.lrEncoder ?? lrHead;
  const update = new EncoderHeadStep({ encoder: o.encoder, head: o.head, lrHead, lrEncoder: lrEnc, weightDecay: o.weightDecay ?? 1e-4 });
  const order = Array.from(o.indices);
  const losses: number[] = [];
  let pos = order.length;
  let stoppedByBudget = false;
  const xb = new Float32Array(bs * o.dim);
  const yb = new Int32Array(bs);
  try {
    for (let step = 0; step < o.steps; step++) {
      if (o.budget?.exceeded()) {
        stoppedByBudget = true;
        break;
      }
      for (let k = 0; k < bs; k++) {
        // Reshuffle after each pass over the labeled rows (epochs without a partial last batch).
        if (pos >= order.length) {
          rng.shuffle(order);
          pos = 0;
        }
        const i = order[pos++];
        xb.set(o.x.subarray(i * o.dim, (i + 1) * o.dim), k * o.dim);
        yb[k] = o.y[i];
      }
      const loss = tf.tidy(() => {
        const input = tf.tensor2d(xb, [bs, o.dim]);
        const target = tf.oneHot(tf.tensor1d(yb, 'int32'), o.nClasses);
        return update.step(() => {
          const logits = o.head.apply(o.encoder.apply(input, { training: true }), { training: true }) as tf.Tensor2D;
          return tf.losses.softmaxCrossEntropy(target, logits) as tf.Scalar;
        });
      });
      losses.push(loss.dataSync()[0]);
      loss.dispose();
      if (!Number.isFinite(losses[losses.length - 1])) throw new UlearnError('fitTabular: loss became NaN', { code: 'E_DIVERGED', hint: 'lower the learning rate' });
    }
  } finally {
    update.dispose();
  }
  const tail = losses.slice(-Math.max(1, Math.ceil(losses.length / 10)));
  return { steps: losses.length, finalLoss: tail.reduce((a, b) => a + b, 0) / tail.length, stoppedByBudget };
}

/** Class probabilities [n * nClasses] for all rows, in batches (inference mode). */
export function predictTabular(encoder: tfl.LayersModel, head: tfl.LayersModel, x: Float32Array, dim: number, batchSize = 1024): Float32Array {
  const n = x.length / dim;
  let out: Float32Array | undefined;
  for (let s = 0; s < n; s += batchSize) {
    const m = Math.min(batchSize, n - s);
    const p = tf.tidy(() => tf.softmax(head.apply(encoder.apply(tf.tensor2d(x.subarray(s * dim, (s + m) * dim), [m, dim]), { training: false }), { training: false }) as tf.Tensor2D));
    const v = p.dataSync() as Float32Array;
    out ??= new Float32Array(n * p.shape[1]);
    out.set(v, s * p.shape[1]);
    p.dispose();
  }
  return out ?? new Float32Array(0);
}
