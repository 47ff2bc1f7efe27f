/**
 * DDPM noise schedules and the steps built on them, in float64 JS where they are scalars (β_t, ᾱ_t) and tfjs
 * where they touch images. References: Ho, Jain & Abbeel 2020 (linear β, ε-prediction, q(x_t|x_0)); Nichol &
 * Dhariwal 2021 (cosine ᾱ); Song, Meng & Ermon 2021 (DDIM's deterministic few-step sampler).
 */
import * as tf from '@tensorflow/tfjs-core';
import { UlearnError } from '../errors.js';

export const SCHEDULES = ['linear', 'cosine'] as const;
export type ScheduleKind = (typeof SCHEDULES)[number];

export interface NoiseSchedule {
  kind: ScheduleKind;
  /** β_1..β_T at index 0..T−1. */
  betas: Float64Array;
  /** ᾱ_t = Π_{s≤t} (1 − β_s), same indexing. */
  alphaBars: Float64Array;
}

/**
 * `linear`: β from 1e-4 to 0.02 over T = 1000 (Ho et al.), both ends scaled by 1000/T so a short chain still
 * ends near pure noise (Nichol & Dhariwal's rule). `cosine`: ᾱ(t) = f(t)/f(0), f(t) = cos²((t/T + s)/(1 + s)·π/2),
 * s = 0.008, β clipped at 0.999.
 */
export function noiseSchedule(kind: ScheduleKind, T: number): NoiseSchedule {
  if (!Number.isInteger(T) || T < 1) throw new UlearnError(`diffusion steps must be a positive integer, got ${T}`, { code: 'E_CONFIG' });
  const betas = new Float64Array(T);
  if (kind === 'linear') {
    const scale = 1000 / T;
    const lo = scale * 1e-4;
    const hi = Math.min(scale * 0.02, 0.999);
    for (let t = 0; t < T; t++) betas[t] = T === 1 ? lo : lo + ((hi - lo) * t) / (T - 1);
  } else if (kind === 'cosine') {
    const s = 0.008;
    const f = (t: number) => Math.cos((((t / T) + s) / (1 + s)) * (Math.PI / 2)) ** 2;
    for (let t = 0; t < T; t++) betas[t] = Math.min(1 - f(t + 1) / f(t), 0.999);
  } else {
    throw new UlearnError(`unknown noise schedule '${String(kind)}'`, { code: 'E_CONFIG', hint: `choose one of: ${SCHEDULES.join(', ')}` });
  }
  return { kind, betas, alphaBars: alphaBars(betas) };
}

export function alphaBars(betas: Float64Array): Float64Array {
  const out = new Float64Array(betas.length);
  let prod = 1;
  for (let t = 0; t < betas.length; t++) out[t] = prod *= 1 - betas[t];
  return out;
}

/** x_t = √ᾱ_t·x_0 + √(1 − ᾱ_t)·ε, one ᾱ per sample ([N] values). */
export function qSample(x0: tf.Tensor, eps: tf.Tensor, alphaBar: ArrayLike<number>): tf.Tensor {
  return tf.tidy(() => {
    const n = x0.shape[0];
    const bshape = [n, ...x0.shape.slice(1).map(() => 1)];
    const a = tf.tensor(Float32Array.from(alphaBar, Math.sqrt), bshape);
    const b = tf.tensor(Float32Array.from(alphaBar, (v) => Math.sqrt(1 - v)), bshape);
    return tf.add(tf.mul(x0, a), tf.mul(eps, b));
  });
}

/**
 * The DDIM update (η = 0) from ᾱ_t to ᾱ_prev (ᾱ_prev = 1 for the last step): x̂_0 = (x_t − √(1−ᾱ_t)·ε̂)/√ᾱ_t,
 * clipped to `clip` (the data's range) as samplers commonly do, then x_prev = √ᾱ_prev·x̂_0 + √(1−ᾱ_prev)·ε̂,
 * with ε̂ recomputed from the clipped x̂_0 so the two stay consistent.
 */
export function ddimStep(xt: tf.Tensor, epsPred: tf.Tensor, abT: number, abPrev: number, clip: [number, number] | null = [-1, 1]): tf.Tensor {
  return tf.tidy(() => {
    let x0 = tf.div(tf.sub(xt, tf.mul(epsPred, Math.sqrt(1 - abT))), Math.sqrt(abT));
    let eps = epsPred;
    if (clip) {
      x0 = tf.clipByValue(x0, clip[0], clip[1]);
      eps = tf.div(tf.sub(xt, tf.mul(x0, Math.sqrt(abT))), Math.sqrt(1 - abT));
    }
    return tf.add(tf.mul(x0, Math.sqrt(abPrev)), tf.mul(eps, Math.sqrt(1 - abPrev)));
  });
}

/** `steps` timesteps (0-based indices into the schedule) from T−1 down to 0, evenly spaced. */
export function ddimTimesteps(T: number, steps: number): number[] {
  const n = Math.max(1, Math.min(T, Math.floor(steps)));
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(Math.round(((T - 1) * (n - 1 - i)) / Math.max(1, n - 1)));
  return n === 1 ? [T - 1] : [...new Set(out)];
}
