/**
 * An exponential moving average of a model's trainable weights, the weights a diffusion model samples with
 * (Ho et al. 2020 used decay 0.9999; Nichol & Dhariwal 2021 0.9999 too). Averaging over the last ~1/(1 − decay)
 * steps removes the step-to-step noise of Adam on small batches, which sampling through 25 denoiser calls would
 * otherwise compound. Short runs use TensorFlow's warm-up, decay_t = min(decay, (1 + t) / (10 + t)), so the
 * average does not remember the random initialisation for thousands of steps.
 *
 * The shadow weights live beside the model's; `swap()` exchanges them in place (for a checkpoint written with
 * the averaged weights, then swapped back to keep training), `dispose()` frees them.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

export class WeightEma {
  private readonly shadows: tf.Variable[];
  private readonly targets: tf.Variable[];
  private updates = 0;

  constructor(
    model: tfl.LayersModel,
    readonly decay: number,
  ) {
    if (!(decay > 0 && decay < 1)) throw new RangeError(`EMA decay must be in (0, 1), got ${decay}`);
    this.targets = model.trainableWeights.map((w) => w.read() as tf.Variable);
    this.shadows = this.targets.map((v) => tf.variable(v.clone(), false));
  }

  /** The decay the next update uses (warm-up for the first steps). */
  currentDecay(): number {
    return Math.min(this.decay, (1 + this.updates) / (10 + this.updates));
  }

  /** shadow ← d·shadow + (1 − d)·weight, after an optimizer step. */
  update(): void {
    const d = this.currentDecay();
    this.updates++;
    tf.tidy(() => {
      for (let i = 0; i < this.shadows.length; i++) this.shadows[i].assign(tf.add(tf.mul(this.shadows[i], d), tf.mul(this.targets[i], 1 - d)));
    });
  }

  /** Exchanges the model's weights and the averages (twice restores both). */
  swap(): void {
    for (let i = 0; i < this.shadows.length; i++) {
      const keep = this.targets[i].clone();
      this.targets[i].assign(this.shadows[i]);
      this.shadows[i].assign(keep);
      keep.dispose();
    }
  }

  dispose(): void {
    for (const s of this.shadows) s.dispose();
  }
}
