/**
 * A small class-conditional denoising diffusion model: DDPM training with ε-prediction (Ho et al. 2020),
 * few-step deterministic DDIM sampling (Song et al. 2021) and classifier-free guidance (Ho & Salimans 2021).
 * The class condition is a one-hot over K + 1 slots, slot K being "no class": labelled samples drop their label
 * to it with probability `pUncond` (the guidance's unconditional model), and unlabelled samples always use it,
 * so the whole pool trains the unconditional model and the few labels the conditional one.
 * Data in [0, 1] is mapped to [−1, 1] for the chain and back for the samples.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { mulberry32 } from '../engine/seed.js';
import { epsMse } from './losses.js';
import { bundle, denoiserNet, Inits, run } from './nets.js';
import { ddimStep, ddimTimesteps, noiseSchedule, qSample, type NoiseSchedule, type ScheduleKind } from './schedule.js';
import type { GenBatch, Generator } from './types.js';
import { conditionOneHot } from './vae.js';

export interface DiffusionConfig {
  shape: number[];
  classes: number;
  /** Training chain length T. */
  timesteps: number;
  schedule: ScheduleKind;
  widths: [number, number];
  hidden: number;
  /** Probability that a labelled sample trains the unconditional model instead. */
  pUncond: number;
  seed: number;
}

export const DEFAULT_DIFFUSION: Omit<DiffusionConfig, 'shape' | 'classes' | 'seed'> = { timesteps: 1000, schedule: 'cosine', widths: [16, 32], hidden: 128, pUncond: 0.1 };

const TIME_DIM = 32;

/** Sinusoidal embedding of timestep indices (Vaswani et al. 2017, as DDPM), [N, TIME_DIM]. */
export function timeEmbedding(t: ArrayLike<number>): tf.Tensor2D {
  const half = TIME_DIM / 2;
  const out = new Float32Array(t.length * TIME_DIM);
  for (let i = 0; i < t.length; i++) {
    for (let k = 0; k < half; k++) {
      const a = t[i] * Math.exp((-Math.log(10000) * k) / half);
      out[i * TIME_DIM + k] = Math.sin(a);
      out[i * TIME_DIM + half + k] = Math.cos(a);
    }
  }
  return tf.tensor2d(out, [t.length, TIME_DIM]);
}

export class Diffusion implements Generator<DiffusionConfig> {
  readonly kind = 'diffusion' as const;
  readonly denoiser: tfl.LayersModel;
  readonly model: tfl.LayersModel;
  readonly schedule: NoiseSchedule;

  constructor(readonly config: DiffusionConfig) {
    this.schedule = noiseSchedule(config.schedule, config.timesteps);
    this.denoiser = denoiserNet(config.shape, TIME_DIM + config.classes + 1, { widths: config.widths, hidden: config.hidden, init: new Inits(config.seed) });
    this.model = bundle([this.denoiser], 'diffusion');
  }

  /** ε_θ(x_t, t, y) with y < 0 meaning "no class". */
  predictEps(xt: tf.Tensor, t: ArrayLike<number>, y: Int32Array): tf.Tensor {
    return tf.tidy(() => run(this.denoiser, xt, tf.concat([timeEmbedding(t), conditionOneHot(y, this.config.classes)], 1)));
  }

  loss(batch: GenBatch, seed: number): tf.Scalar {
    const rand = mulberry32(seed);
    const n = batch.y.length;
    const t = Int32Array.from({ length: n }, () => Math.floor(rand() * this.config.timesteps));
    const y = Int32Array.from(batch.y, (v) => (v >= 0 && rand() < this.config.pUncond ? -1 : v));
    return tf.tidy(() => {
      const x0 = tf.sub(tf.mul(batch.x, 2), 1);
      const eps = tf.randomNormal(x0.shape, 0, 1, 'float32', seed);
      const xt = qSample(x0, eps, Array.from(t, (i) => this.schedule.alphaBars[i]));
      return epsMse(eps, this.predictEps(xt, t, y));
    });
  }

  /**
   * DDIM with `steps` denoiser calls (default 25), guided: ε̃ = ε_u + w·(ε_c − ε_u), w = `guidance` (default 2;
   * 1 is the plain conditional model). Both predictions come from one batched call.
   */
  sample(labels: Int32Array, seed: number, opts: { steps?: number; guidance?: number } = {}): tf.Tensor {
    const w = opts.guidance ?? 2;
    const ts = ddimTimesteps(this.config.timesteps, opts.steps ?? 25);
    const n = labels.length;
    let x = tf.randomNormal([n, ...this.config.shape], 0, 1, 'float32', seed);
    const both = Int32Array.from({ length: 2 * n }, (_, i) => (i < n ? labels[i] : -1));
    for (let i = 0; i < ts.length; i++) {
      const t = ts[i];
      const abT = this.schedule.alphaBars[t];
      const abPrev = i + 1 < ts.length ? this.schedule.alphaBars[ts[i + 1]] : 1;
      const next = tf.tidy(() => {
        const e = this.denoiser.apply([tf.concat([x, x]), tf.concat([timeEmbedding(new Array(2 * n).fill(t)), conditionOneHot(both, this.config.classes)], 1)]) as tf.Tensor;
        const [ec, eu] = tf.split(e, 2, 0);
        return ddimStep(x, tf.add(eu, tf.mul(tf.sub(ec, eu), w)), abT, abPrev);
      });
      x.dispose();
      x = next;
    }
    const out = tf.tidy(() => tf.clipByValue(tf.div(tf.add(x, 1), 2), 0, 1));
    x.dispose();
    return out;
  }

  dispose(): void {
    this.model.dispose();
  }
}
