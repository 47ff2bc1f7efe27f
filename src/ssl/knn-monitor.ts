/**
 * Online kNN monitor (as solo-learn logs during pretraining): how well the current features classify a
 * held-out slice by weighted kNN against a labeled bank, plus a collapse check. Cheap enough to run every
 * epoch, and it needs no training of its own, so it tracks representation quality without a linear probe.
 *
 * Weighted kNN (Wu et al. 2018, InstDisc): cosine similarities to the k nearest bank samples vote for their
 * classes with weight exp(sim / T); the class with the largest total wins.
 *
 * Collapse: for L2-normalized features spread evenly over the sphere each dim has std ≈ 1/√D, and a fully
 * collapsed encoder (every input → one vector) has std 0. So the monitor reports `featureStd` (mean over
 * dims of the per-dim std of normalized held-out features), `normalizedStd` = featureStd·√D (≈1 healthy,
 * 0 collapsed, independent of D), and `collapsed` when normalizedStd < collapseThreshold (default 0.01, i.e.
 * featureStd < 0.01/√D): low enough that a merely anisotropic fresh encoder does not trip it.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { UlearnError } from '../errors.js';
import { encodeTensor } from '../models/encode.js';

export interface KnnSlice {
  /** Samples, row-major, prod(inputShape) values each. */
  x: Float32Array;
  /** A class index ≥ 0 per sample. */
  y: ArrayLike<number>;
}

export interface KnnMonitorOptions {
  /** Neighbours that vote; default 20 (capped at the bank size). */
  k?: number;
  /** Vote weight exp(sim / temperature); default 0.07. */
  temperature?: number;
  /** Samples embedded (and queries scored) per batch; default 256. */
  batchSize?: number;
  /** `collapsed` when featureStd·√D falls below this; default 0.01. */
  collapseThreshold?: number;
}

export interface KnnReport {
  /** Weighted-kNN accuracy on the held-out slice, in [0, 1]. */
  accuracy: number;
  /** Mean over dims of the per-dim std of the L2-normalized held-out features. */
  featureStd: number;
  /** featureStd·√D: ≈1 for features spread over the sphere, 0 for a collapsed encoder. */
  normalizedStd: number;
  collapsed: boolean;
  /** Feature size D. */
  dim: number;
  /** The k actually used. */
  k: number;
}

function countOf(s: KnnSlice, size: number, what: string): number {
  const n = s.x.length / size;
  if (!Number.isInteger(n) || n !== s.y.length || n === 0) {
    throw new UlearnError(`kNN monitor: ${what} has ${s.x.length} values and ${s.y.length} labels for samples of ${size} values`, { code: 'E_SHAPE' });
  }
  for (let i = 0; i < n; i++) {
    if (!(Number.isInteger(s.y[i]) && s.y[i] >= 0)) {
      throw new UlearnError(`kNN monitor: ${what} label ${i} is ${s.y[i]}; every sample needs a class`, { code: 'E_LABELS' });
    }
  }
  return n;
}

/** Predicted classes of `query` rows by weighted kNN against `bank` rows (all L2-normalized). */
export function weightedKnnPredict(
  bank: tf.Tensor2D,
  bankLabels: tf.Tensor1D,
  query: tf.Tensor2D,
  numClasses: number,
  k: number,
  temperature: number,
): tf.Tensor1D {
  return tf.tidy(() => {
    const sim = tf.matMul(query, bank, false, true);
    const { values, indices } = tf.topk(sim, Math.min(k, bank.shape[0]));
    const weights = tf.exp(tf.div(values, temperature));
    const votes = tf.oneHot(tf.gather(bankLabels, indices), numClasses); // [B, k, C]
    const scores = tf.sum(tf.mul(votes, tf.expandDims(weights, 2)), 1);
    return tf.argMax(scores, 1) as tf.Tensor1D;
  });
}

/** Mean over dims of the per-dim (population) std of the rows. */
function meanStd(f: tf.Tensor2D): number {
  return tf.tidy(() => tf.mean(tf.sqrt(tf.moments(f, 0).variance)).dataSync()[0]);
}

export class KnnMonitor {
  private readonly bankLabels: tf.Tensor1D;
  private readonly numClasses: number;
  private readonly nQuery: number;

  constructor(
    readonly bank: KnnSlice,
    readonly heldOut: KnnSlice,
    readonly inputShape: number[],
    readonly opts: KnnMonitorOptions = {},
  ) {
    const size = inputShape.reduce((a, b) => a * b, 1);
    countOf(bank, size, 'bank');
    this.nQuery = countOf(heldOut, size, 'held-out slice');
    let maxLabel = 0;
    for (const ys of [bank.y, heldOut.y]) for (let i = 0; i < ys.length; i++) maxLabel = Math.max(maxLabel, ys[i]);
    this.numClasses = maxLabel + 1;
    this.bankLabels = tf.tensor1d(Int32Array.from(bank.y), 'int32');
  }

  /** Embeds bank and held-out slice with the encoder as it is now and scores it. */
  evaluate(encoder: tfl.LayersModel): KnnReport {
    const { k = 20, temperature = 0.07, batchSize = 256, collapseThreshold = 0.01 } = this.opts;
    const bankF = encodeTensor(encoder, this.bank.x, this.inputShape, { batchSize, normalize: true });
    const queryF = encodeTensor(encoder, this.heldOut.x, this.inputShape, { batchSize, normalize: true });
    try {
      const dim = queryF.shape[1];
      let correct = 0;
      // Queries in batches: the [B, bank] similarity matrix is the memory peak.
      for (let s = 0; s < this.nQuery; s += batchSize) {
        const m = Math.min(batchSize, this.nQuery - s);
        const pred = tf.tidy(() => weightedKnnPredict(bankF, this.bankLabels, tf.slice(queryF, [s, 0], [m, dim]), this.numClasses, k, temperature));
        const p = pred.dataSync();
        pred.dispose();
        for (let i = 0; i < m; i++) if (p[i] === this.heldOut.y[s + i]) correct++;
      }
      const featureStd = meanStd(queryF);
      const normalizedStd = featureStd * Math.sqrt(dim);
      return {
        accuracy: correct / this.nQuery,
        featureStd,
        normalizedStd,
        collapsed: normalizedStd < collapseThreshold,
        dim,
        k: Math.min(k, bankF.shape[0]),
      };
    } finally {
      bankF.dispose();
      queryF.dispose();
    }
  }

  dispose(): void {
    this.bankLabels.dispose();
  }
}
