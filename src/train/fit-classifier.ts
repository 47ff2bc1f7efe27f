/**
 * Supervised training of encoder + classifier head on the labeled samples, with augmentation. One function
 * serves both fine-tuning a pretrained encoder (encoder learning rate lower than the head's, as in SimCLR's
 * fine-tuning) and the supervised-only baseline (a fresh encoder, both rates equal): the baseline differs from
 * the SSL arm in nothing but the starting weights.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { Rng } from '../engine/seed.js';
import type { Budget } from '../util/budget.js';
import { EncoderHeadStep, type PenaltyTerms, type Regularizer } from './step.js';

export interface AugmentFn {
  apply(batch: tf.Tensor4D, rng: Rng): tf.Tensor4D;
}

export interface FitClassifierOptions {
  encoder: tfl.LayersModel;
  head: tfl.LayersModel;
  /** All samples, [n * prod(inputShape)]. */
  x: Float32Array;
  inputShape: [number, number, number];
  /** Label per sample (only `indices` are used). */
  y: Int32Array;
  indices: Int32Array;
  nClasses: number;
  augment?: AugmentFn;
  epochs: number;
  batchSize?: number;
  lrHead?: number;
  /** Encoder learning rate; default = lrHead. 0 freezes the encoder. */
  lrEncoder?: number;
  /** Default 5e-4. */
  weightDecay?: number;
  /** How kernels are regularised (step.ts): 'l2' (default, from scratch), 'l2-sp' or 'decoupled' (fine-tuning). */
  regularizer?: Regularizer;
  labelSmoothing?: number;
  seed?: number;
  budget?: Budget;
  onEpoch?: (epoch: number, loss: number) => void;
}

export interface FitResult {
  /** Epochs started (the last one may be partial when the budget stopped it). */
  epochs: number;
  /** Optimizer steps taken. */
  steps: number;
  /** Mean regularised loss per epoch. */
  losses: number[];
  /** The penalty part of the loss at each epoch's end (encoder, head): the rest of `losses` is cross-entropy. */
  penalties: PenaltyTerms[];
  stoppedByBudget: boolean;
}

export function fitClassifier(o: FitClassifierOptions): FitResult {
  const rng = new Rng(o.seed ?? 0);
  const size = o.inputShape.reduce((a, b) => a * b, 1);
  const bs = Math.min(o.batchSize ?? 64, o.indices.length);
  const lrHead = o.lrHead ?? 1e-3;
  const lrEnc = o.lrEncoder ?? lrHead;
  const step = new EncoderHeadStep({ encoder: o.encoder, head: o.head, lrHead, lrEncoder: lrEnc, weightDecay: o.weightDecay ?? 5e-4, regularizer: o.regularizer });
  const losses: number[] = [];
  const penalties: PenaltyTerms[] = [];
  let stoppedByBudget = false;
  let steps = 0;
  const order = Array.from(o.indices);
  for (let epoch = 0; epoch < o.epochs; epoch++) {
    if (o.budget?.exceeded()) {
      stoppedByBudget = true;
      break;
    }
    rng.shuffle(order);
    let sum = 0;
    let batches = 0;
    // Drop the last partial batch only if a full one exists, so tiny label sets still train.
    for (let s = 0; s + bs <= order.length || (s === 0 && order.length > 0); s += bs) {
      const idx = order.slice(s, s + bs);
      const xb = new Float32Array(idx.length * size);
      idx.forEach((i, k) => xb.set(o.x.subarray(i * size, (i + 1) * size), k * size));
      const yb = Int32Array.from(idx, (i) => o.y[i]);
      const loss = tf.tidy(() => {
        const raw = tf.tensor4d(xb, [idx.length, ...o.inputShape]);
        const input = o.augment ? o.augment.apply(raw, rng) : raw;
        const target = tf.oneHot(tf.tensor1d(yb, 'int32'), o.nClasses);
        return step.step(() => {
          const logits = o.head.apply(o.encoder.apply(input, { training: true }), { training: true }) as tf.Tensor2D;
          return tf.losses.softmaxCrossEntropy(target, logits, undefined, o.labelSmoothing ?? 0) as tf.Scalar;
        });
      });
      sum += loss.dataSync()[0];
      loss.dispose();
      batches++;
      steps++;
      // Checked every step, not every epoch: one epoch over 60,000 labels takes minutes here, and a budget
      // must stop the run when it runs out, not an epoch later.
      if (o.budget?.exceeded()) {
        stoppedByBudget = true;
        break;
      }
      if (s + bs >= order.length) break;
    }
    losses.push(sum / Math.max(1, batches));
    penalties.push(step.penaltyTerms());
    o.onEpoch?.(epoch, losses[losses.length - 1]);
    if (stoppedByBudget) break;
  }
  step.dispose();
  return { epochs: losses.length, steps, losses, penalties, stoppedByBudget };
}

/** Class probabilities for samples `indices` (or all), in batches, without augmentation. */
export function predictProba(
  encoder: tfl.LayersModel,
  head: tfl.LayersModel,
  x: Float32Array,
  inputShape: [number, number, number],
  batchSize = 512,
): Float32Array {
  const size = inputShape.reduce((a, b) => a * b, 1);
  const n = x.length / size;
  const parts: Float32Array[] = [];
  for (let s = 0; s < n; s += batchSize) {
    const m = Math.min(batchSize, n - s);
    const p = tf.tidy(() => tf.softmax(head.apply(encoder.apply(tf.tensor4d(x.subarray(s * size, (s + m) * size), [m, ...inputShape]), { training: false }), { training: false }) as tf.Tensor2D));
    parts.push(p.dataSync() as Float32Array);
    p.dispose();
  }
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
