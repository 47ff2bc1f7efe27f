/**
 * Exponential moving average of a model's weights (FixMatch evaluates with it; USB keeps it for every
 * method): shadow = decay * shadow + (1 - decay) * live after each step. All weights are averaged, batch-norm
 * moving statistics included, so the averaged model is self-consistent. `swap()` exchanges live and shadow
 * values in place, so evaluating or saving "the EMA model" needs no second copy of the architecture.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { UlearnError } from '../errors.js';

export class WeightEma {
  private readonly live: tf.Variable[];
  private readonly shadow: tf.Variable[];
  private updates = 0;

  constructor(
    models: tfl.LayersModel[],
    readonly decay: number,
  ) {
    if (!(decay >= 0 && decay < 1)) throw new UlearnError(`EMA decay must be in [0, 1), got ${decay}`, { code: 'E_CONFIG' });
    this.live = models.flatMap((m) => m.weights.map((w) => w.read() as tf.Variable));
    this.shadow = this.live.map((v) => tf.variable(v.clone() as tf.Tensor, false));
  }

  /**
   * One averaging step. The effective decay ramps up as min(decay, (1 + t) / (10 + t)) (TensorFlow's
   * ExponentialMovingAverage with num_updates): a CPU run of a few hundred steps would otherwise still be
   * mostly the random initialisation at 0.999.
   */
  update(): void {
    const d = Math.min(this.decay, (1 + this.updates) / (10 + this.updates));
    this.updates++;
    tf.tidy(() => {
      this.live.forEach((v, i) => this.shadow[i].assign(tf.add(tf.mul(this.shadow[i], d), tf.mul(v, 1 - d))));
    });
  }

  /** Exchanges live and averaged weights (call again to undo). */
  swap(): void {
    tf.tidy(() => {
      this.live.forEach((v, i) => {
        const keep = tf.clone(v);
        v.assign(this.shadow[i]);
        this.shadow[i].assign(keep);
      });
    });
  }

  dispose(): void {
    tf.dispose(this.shadow);
  }
}
