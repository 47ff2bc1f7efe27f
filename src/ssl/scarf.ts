/**
 * SCARF (Bahri et al. 2022, "Self-supervised contrastive learning using random feature corruption"): for each
 * row, a random subset of its features (rate `corruptionRate`, 0.6 in the paper) is replaced by the same
 * features of other random rows, i.e. draws from each feature's empirical marginal; the encoder + projector
 * map the row and its corrupted copy close together and away from the other rows of the batch (NT-Xent).
 *
 * Corruption works on input columns, not output features: a one-hot block (and its missing indicator) is
 * replaced as a whole from the same donor row, so the corrupted row is still a row the data could contain.
 * `groups` gives where each column's block starts in the feature vector (`columnGroups(preprocessor)`).
 *
 * Tables are [N, D], not images, so SCARF does not extend the image `SSLMethod` (whose steps take NHWC
 * batches); it has the same surface (encoder, head, trainStep, dispose) and its own registry entry.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Rng } from '../engine/seed.js';
import { UlearnError } from '../errors.js';
import { mlpHead } from './heads.js';
import { ntXentLoss } from './losses.js';
import { encoderDim } from './method.js';

export interface ScarfOptions {
  /** Maps [N, inputDim] to [N, D]. Trained in place. */
  encoder: tfl.LayersModel;
  inputDim: number;
  /** Start offset of each column's block of features (ascending, first 0); default: every feature alone. */
  groups?: number[];
  /** Share of columns replaced per row. Default 0.6 (the paper's). */
  corruptionRate?: number;
  /** NT-Xent temperature. Default 1 (the paper's). */
  temperature?: number;
  projHidden?: number;
  projOut?: number;
  lr?: number;
  seed?: number;
}

export class Scarf {
  readonly name = 'scarf';
  readonly encoder: tfl.LayersModel;
  readonly head: tfl.LayersModel;
  readonly optimizer: tf.Optimizer;
  readonly inputDim: number;
  readonly corruptionRate: number;
  readonly temperature: number;
  private readonly groupStart: Int32Array;
  private readonly groupEnd: Int32Array;

  constructor(o: ScarfOptions) {
    this.encoder = o.encoder;
    this.inputDim = o.inputDim;
    const inDim = o.encoder.inputs[0].shape[1];
    if (o.encoder.inputs[0].shape.length !== 2 || inDim !== o.inputDim) {
      throw new UlearnError(`scarf: encoder takes [${o.encoder.inputs[0].shape.slice(1)}] but the rows have ${o.inputDim} features`, { code: 'E_MODEL' });
    }
    this.corruptionRate = o.corruptionRate ?? 0.6;
    if (!(this.corruptionRate > 0 && this.corruptionRate < 1)) throw new UlearnError(`scarf: corruptionRate must be in (0, 1), got ${this.corruptionRate}`, { code: 'E_CONFIG' });
    this.temperature = o.temperature ?? 1;
    const groups = o.groups ?? Array.from({ length: o.inputDim }, (_, i) => i);
    if (groups[0] !== 0 || groups.some((g, i) => i > 0 && g <= groups[i - 1]) || groups[groups.length - 1] >= o.inputDim) {
      throw new UlearnError(`scarf: groups must be ascending offsets starting at 0 and below ${o.inputDim}`, { code: 'E_CONFIG' });
    }
    this.groupStart = Int32Array.from(groups);
    this.groupEnd = Int32Array.from(groups, (_, i) => (i + 1 < groups.length ? groups[i + 1] : o.inputDim));
    const d = encoderDim(o.encoder);
    this.head = mlpHead({ inputDim: d, hidden: o.projHidden ?? 256, out: o.projOut ?? 128, seed: o.seed ?? 0 });
    this.optimizer = tf.train.adam(o.lr ?? 1e-3);
  }

  /**
   * A corrupted copy of rows `batch` ([m, D]): each column of each row is, with probability corruptionRate,
   * copied from a uniformly drawn row of `pool` ([n, D], the training rows: the empirical marginals).
   */
  corrupt(batch: Float32Array, pool: Float32Array, rng: Rng): Float32Array {
    const dim = this.inputDim;
    const m = batch.length / dim;
    const n = pool.length / dim;
    const out = batch.slice();
    for (let r = 0; r < m; r++) {
      for (let g = 0; g < this.groupStart.length; g++) {
        if (rng.random() >= this.corruptionRate) continue;
        const donor = rng.int(n) * dim;
        for (let k = this.groupStart[g]; k < this.groupEnd[g]; k++) out[r * dim + k] = pool[donor + k];
      }
    }
    return out;
  }

  get trainableWeights(): tf.Variable[] {
    return [...this.encoder.trainableWeights, ...this.head.trainableWeights].map((v) => v.read() as tf.Variable);
  }

  loss(anchor: tf.Tensor2D, corrupted: tf.Tensor2D): tf.Scalar {
    return tf.tidy(() => {
      const z = (x: tf.Tensor2D) => this.head.apply(this.encoder.apply(x, { training: true }), { training: true }) as tf.Tensor2D;
      return ntXentLoss(z(anchor), z(corrupted), this.temperature);
    });
  }

  /** One step on rows `batch` ([m, D], m ≥ 2) with marginals from `pool`; returns the loss before the update. */
  trainStep(batch: Float32Array, pool: Float32Array, rng: Rng): number {
    const m = batch.length / this.inputDim;
    if (!Number.isInteger(m) || m < 2) throw new UlearnError(`scarf: a batch needs at least 2 whole rows of ${this.inputDim} features`, { code: 'E_SHAPE' });
    const corrupted = this.corrupt(batch, pool, rng);
    const cost = tf.tidy(() => {
      const a = tf.tensor2d(batch, [m, this.inputDim]);
      const c = tf.tensor2d(corrupted, [m, this.inputDim]);
      return this.optimizer.minimize(() => this.loss(a, c), true, this.trainableWeights) as tf.Scalar;
    });
    const value = cost.dataSync()[0];
    cost.dispose();
    if (!Number.isFinite(value)) throw new UlearnError(`scarf: loss became ${value}`, { code: 'E_DIVERGED', hint: 'lower the learning rate' });
    return value;
  }

  dispose(): void {
    this.head.dispose();
    this.optimizer.dispose();
  }
}
