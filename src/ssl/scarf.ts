/**
 * SCARF (Bahri et al. 2022, "Self-supervised contrastive learning using random feature corruption"): for each
 * row, a random subset of its features (rate `corruptionRate`, 0.6 in the paper) is replaced by the same
 * features of other random rows, i.e. draws from each feature's empirical marginal; the encoder + projector
 * map the row and its corrupted copy close together and away from the other rows of the batch (NT-Xent).
 *
 * The method is SimCLR's objective over an MLP projector on the `SSLMethod` base; what makes it SCARF is its
 * views (`scarfViews`), so it trains in the same loop as the image methods (`trainSSL`).
 *
 * Corruption works on input columns, not output features: a one-hot block (and its missing indicator) is
 * replaced as a whole from the same donor row, so the corrupted row is still a row the data could contain.
 * `groups` gives where each column's block starts in the feature vector (`columnGroups(preprocessor)`).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../engine/seed.js';
import { UlearnError } from '../errors.js';
import { mlpHead } from './heads.js';
import { ntXentLoss } from './losses.js';
import { SSLMethod, type SSLMethodOptions } from './method.js';
import type { ViewTransform } from './views.js';

export interface ScarfOptions extends Omit<SSLMethodOptions, 'inputShape'> {
  /** Features per row. */
  inputDim: number;
  /** NT-Xent temperature. Default 1 (the paper's). */
  temperature?: number;
  projHidden?: number;
  projOut?: number;
}

export interface ScarfViewsOptions {
  /** The training rows, [n * inputDim]: the empirical marginals donors are drawn from. */
  pool: Float32Array;
  inputDim: number;
  /** Start offset of each column's block of features (ascending, first 0); default: every feature alone. */
  groups?: number[];
  /** Share of columns replaced per row. Default 0.6 (the paper's). */
  corruptionRate?: number;
}

export class Scarf extends SSLMethod {
  readonly name = 'scarf';
  readonly temperature: number;

  constructor(o: ScarfOptions) {
    super({ ...o, inputShape: [o.inputDim] }, (d, seed) => mlpHead({ inputDim: d, hidden: o.projHidden ?? 256, out: o.projOut ?? 128, seed }));
    this.temperature = o.temperature ?? 1;
  }

  loss(views: tf.Tensor[]): tf.Scalar {
    if (views[0].shape[0] < 2) throw new UlearnError(`scarf: a batch needs at least 2 rows`, { code: 'E_SHAPE' });
    return tf.tidy(() => ntXentLoss(this.forward(views[0]) as tf.Tensor2D, this.forward(views[1]) as tf.Tensor2D, this.temperature));
  }
}

/**
 * A corrupted copy of rows `batch` ([m, D]): each column block of each row is, with probability `rate`, copied
 * from a uniformly drawn row of `pool` ([n, D], the training rows: the empirical marginals).
 */
export function corruptRows(batch: Float32Array, pool: Float32Array, groupStart: Int32Array, groupEnd: Int32Array, dim: number, rate: number, rng: Rng): Float32Array {
  const m = batch.length / dim;
  const n = pool.length / dim;
  const out = batch.slice();
  for (let r = 0; r < m; r++) {
    for (let g = 0; g < groupStart.length; g++) {
      if (rng.random() >= rate) continue;
      const donor = rng.int(n) * dim;
      for (let k = groupStart[g]; k < groupEnd[g]; k++) out[r * dim + k] = pool[donor + k];
    }
  }
  return out;
}

/** SCARF's views of a batch of rows: [the rows, their corrupted copies]. */
export function scarfViews(o: ScarfViewsOptions): ViewTransform {
  const dim = o.inputDim;
  const rate = o.corruptionRate ?? 0.6;
  if (!(rate > 0 && rate < 1)) throw new UlearnError(`scarf: corruptionRate must be in (0, 1), got ${rate}`, { code: 'E_CONFIG' });
  const groups = o.groups ?? Array.from({ length: dim }, (_, i) => i);
  if (groups[0] !== 0 || groups.some((g, i) => i > 0 && g <= groups[i - 1]) || groups[groups.length - 1] >= dim) {
    throw new UlearnError(`scarf: groups must be ascending offsets starting at 0 and below ${dim}`, { code: 'E_CONFIG' });
  }
  if (o.pool.length === 0 || o.pool.length % dim !== 0) throw new UlearnError(`scarf: the pool must hold whole rows of ${dim} features`, { code: 'E_SHAPE' });
  const start = Int32Array.from(groups);
  const end = Int32Array.from(groups, (_, i) => (i + 1 < groups.length ? groups[i + 1] : dim));
  return (batch, rng) => {
    if (batch.rank !== 2 || batch.shape[1] !== dim) throw new UlearnError(`scarf: batch is [${batch.shape}], expected [N, ${dim}]`, { code: 'E_SHAPE' });
    const corrupted = corruptRows(batch.dataSync() as Float32Array, o.pool, start, end, dim, rate, rng);
    return [batch.clone(), tf.tensor2d(corrupted, batch.shape as [number, number])];
  };
}
