/**
 * Augmentations of speech, applied to normalised log-mel features ([frames, 1, bins] samples, see
 * src/data/preprocess/audio.ts) rather than to waveforms, so a view costs a pass over 4,040 numbers instead of
 * an STFT of 16,000 samples. Each waveform change has a feature-domain counterpart:
 *
 *   speed    time-stretch of the frames by a factor (linear interpolation, about the clip's centre); a
 *            faster clip is a shorter word. Pitch is kept, as in torchaudio's speed + resample recipe with
 *            a pitch correction.
 *   pitch    a shift along the mel axis by a fraction of bands. Harmonics move by a constant factor, which
 *            on the mel scale is a near-constant shift above ~700 Hz: an approximation, not a resynthesis.
 *   shift    the word moved in time by whole frames (10 ms); frames moved in repeat the clip's edge frame
 *            (the silence around a centred word).
 *   gain     ±G dB: log-mel is ln(power), so a gain adds g·ln(10)/10 to every band before normalisation.
 *   noise    noise mixed in at an SNR drawn in [lo, hi] dB: power adds (noise is uncorrelated with the
 *            speech), so each band's power gets the noise's power, with a spectrum that falls 3 dB an octave
 *            (pink) and a per-frame fluctuation. Done in the power domain, on un-normalised features.
 *   masks    SpecAugment (Park et al. 2019): bands of frames and of mel bins set to the mean (0 after
 *            normalisation).
 *
 * gain, noise and pitch need the features' normalisation (mean and std per band) to get back to ln(power);
 * they are skipped for MFCCs, whose coefficients mix the bands. Everything runs in JS on the whole batch with
 * per-sample draws from `rng`, so the same seed gives the same views on every backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../engine/seed.js';
import { UlearnError } from '../errors.js';
import { assertBatch, type Augment, type Range } from './augment.js';

/** Normalisation of the features the augment sees (FeatureStats of src/data/preprocess/audio.ts). */
export interface AudioFeatureStats {
  features: { kind: 'logmel' | 'mfcc' };
  mean: number[];
  std: number[];
}

export interface AudioAugmentOptions {
  /** Speed factor range and probability; e.g. [0.85, 1.15]. */
  speed?: { range: Range; p: number };
  /** Mel-band shift range (fractional bands) and probability. */
  pitch?: { range: Range; p: number };
  /** Largest time shift in frames (uniform in ±frames), applied to every sample. */
  shift?: number;
  /** Gain range in dB and probability. */
  gain?: { range: Range; p: number };
  /** Mixed-in noise: SNR range in dB and probability. */
  noise?: { snr: Range; p: number };
  /** SpecAugment time masks: count, and each mask's width drawn in [0, maxWidth] frames. */
  timeMasks?: { count: number; maxWidth: number };
  /** SpecAugment frequency masks: count, each of [0, maxWidth] mel bins. */
  freqMasks?: { count: number; maxWidth: number };
  /** The features' normalisation; gain, noise and pitch are skipped without it (and for MFCCs). */
  stats?: AudioFeatureStats;
}

const LN10_OVER_10 = Math.log(10) / 10;
/** log-mel's offset inside the log (audio-features.ts: ln(mel + 1e-6)). */
const LOG_OFFSET = 1e-6;

function checkShape(shape: readonly number[]): [number, number] {
  if (shape.length !== 3 || shape[1] !== 1 || !(shape[0] >= 2) || !(shape[2] >= 1)) {
    throw new UlearnError(`audio augment: samples must be audio features [frames, 1, bins], got [${shape.join(', ')}]`, { code: 'E_AUGMENT' });
  }
  return [shape[0], shape[2]];
}

function checkRange(r: Range | undefined, what: string): void {
  if (r && !(Array.isArray(r) && r.length === 2 && Number.isFinite(r[0]) && Number.isFinite(r[1]) && r[0] <= r[1])) {
    throw new UlearnError(`audio augment: ${what} must be a range [lo, hi], got ${JSON.stringify(r)}`, { code: 'E_AUGMENT' });
  }
}

const draw = (rng: Rng, r: Range) => r[0] + (r[1] - r[0]) * rng.random();

/** An Augment over batches of audio features [n, frames, 1, bins]; see the file's comment for each op. */
export function audioAugment(inputShape: readonly number[], o: AudioAugmentOptions, name = 'audio'): Augment {
  const [T, F] = checkShape(inputShape);
  checkRange(o.speed?.range, 'speed');
  checkRange(o.pitch?.range, 'pitch');
  checkRange(o.gain?.range, 'gain');
  checkRange(o.noise?.snr, 'noise snr');
  if (o.stats && (o.stats.mean.length !== F || o.stats.std.length !== F)) {
    throw new UlearnError(`audio augment: stats have ${o.stats.mean.length} bands, the features ${F}`, { code: 'E_AUGMENT' });
  }
  const power = o.stats && o.stats.features.kind === 'logmel' ? o.stats : undefined;
  // Pink noise's share per band: power ∝ 1/f, over bands numbered from low to high (mel bands widen with f,
  // which offsets part of the fall; the shape matters little next to the SNR drawn).
  const pink = Float64Array.from({ length: F }, (_, b) => 1 / (1 + b));
  const pinkSum = pink.reduce((a, b) => a + b, 0);

  const one = (src: Float32Array, dst: Float32Array, rng: Rng): void => {
    // `rng` is this sample's own stream (see run), so which ops apply never shifts another sample's draws.
    const speed = o.speed && rng.random() < o.speed.p ? draw(rng, o.speed.range) : 1;
    const pitch = o.pitch && power && rng.random() < o.pitch.p ? draw(rng, o.pitch.range) : 0;
    const shift = o.shift ? Math.round((rng.random() * 2 - 1) * o.shift) : 0;
    const gainDb = o.gain && power && rng.random() < o.gain.p ? draw(rng, o.gain.range) : 0;
    const snr = o.noise && power && rng.random() < o.noise.p ? draw(rng, o.noise.snr) : NaN;
    // Time: out frame t reads frame c + (t − shift − c)·speed, clamped to the clip (edge frames repeat).
    const c = (T - 1) / 2;
    for (let t = 0; t < T; t++) {
      const srcT = Math.min(T - 1, Math.max(0, c + (t - shift - c) * speed));
      const t0 = Math.floor(srcT);
      const t1 = Math.min(T - 1, t0 + 1);
      const wt = srcT - t0;
      for (let b = 0; b < F; b++) {
        const srcB = Math.min(F - 1, Math.max(0, b - pitch));
        const b0 = Math.floor(srcB);
        const b1 = Math.min(F - 1, b0 + 1);
        const wb = srcB - b0;
        const v0 = src[t0 * F + b0] * (1 - wb) + src[t0 * F + b1] * wb;
        const v1 = src[t1 * F + b0] * (1 - wb) + src[t1 * F + b1] * wb;
        dst[t * F + b] = v0 * (1 - wt) + v1 * wt;
      }
    }
    if (power && (gainDb !== 0 || !Number.isNaN(snr))) {
      const { mean, std } = power;
      // ln(power) per cell, then linear power; the clip's mean power sets the noise level.
      let total = 0;
      for (let i = 0; i < T * F; i++) {
        const b = i % F;
        const p = Math.exp(dst[i] * std[b] + mean[b] + gainDb * LN10_OVER_10);
        dst[i] = p;
        total += p;
      }
      const level = Number.isNaN(snr) ? 0 : (total / T) * 10 ** (-snr / 10); // noise power per frame, all bands
      for (let t = 0; t < T; t++) {
        // Per-frame fluctuation of the noise's power (a log-normal, about ±2 dB).
        const frame = level * Math.exp(0.5 * rng.normal());
        for (let b = 0; b < F; b++) {
          const i = t * F + b;
          const p = dst[i] + (frame * pink[b]) / pinkSum;
          dst[i] = (Math.log(Math.max(p, LOG_OFFSET)) - mean[b]) / std[b];
        }
      }
    }
    for (let m = 0; m < (o.timeMasks?.count ?? 0); m++) {
      const w = Math.floor(rng.random() * (o.timeMasks!.maxWidth + 1));
      const t0 = Math.floor(rng.random() * Math.max(1, T - w + 1));
      dst.fill(0, t0 * F, Math.min(T, t0 + w) * F);
    }
    for (let m = 0; m < (o.freqMasks?.count ?? 0); m++) {
      const w = Math.floor(rng.random() * (o.freqMasks!.maxWidth + 1));
      const b0 = Math.floor(rng.random() * Math.max(1, F - w + 1));
      for (let t = 0; t < T; t++) dst.fill(0, t * F + b0, t * F + Math.min(F, b0 + w));
    }
  };

  const run = (x: tf.Tensor4D, rng: Rng, active: readonly boolean[]): tf.Tensor4D => {
    assertBatch(x, name);
    const [n, h, w, ch] = x.shape;
    if (h !== T || w !== 1 || ch !== F) throw new UlearnError(`${name}: batch of [${x.shape.slice(1)}], built for [${T}, 1, ${F}]`, { code: 'E_AUGMENT' });
    const src = x.dataSync() as Float32Array;
    const out = new Float32Array(src.length);
    for (let s = 0; s < n; s++) {
      const a = src.subarray(s * T * F, (s + 1) * T * F);
      const d = out.subarray(s * T * F, (s + 1) * T * F);
      // A seed drawn for every sample, active or not, so masking one sample out leaves the others' views unchanged.
      const r = new Rng(rng.seedInt());
      if (active[s]) one(a, d, r);
      else d.set(a);
    }
    return tf.tensor4d(out, [n, h, w, ch]);
  };
  return { name, apply: (x, rng) => run(x, rng, new Array<boolean>(x.shape[0]).fill(true)), applyWhere: run };
}

/**
 * What the SSL views and FixMatch's strong view share: speaker-like changes (speed, pitch) and SpecAugment
 * masks over time and frequency. They differ only in shift, gain and noise.
 */
const VOICE_AND_MASKS = {
  speed: { range: [0.85, 1.15] as Range, p: 0.5 },
  pitch: { range: [-2, 2] as Range, p: 0.5 },
  timeMasks: { count: 2, maxWidth: 15 },
  freqMasks: { count: 2, maxWidth: 6 },
};

/**
 * The two views of self-supervised pretraining: every change at once, strong enough that two views of a word
 * differ in speaker-like ways (speed, pitch, loudness, noise, position) and in what is hidden (masks).
 */
export function audioSSLAugment(inputShape: readonly number[], stats?: AudioFeatureStats): Augment {
  return audioAugment(inputShape, { ...VOICE_AND_MASKS, shift: 15, gain: { range: [-6, 6], p: 0.8 }, noise: { snr: [0, 25], p: 0.5 }, stats }, 'audio-ssl');
}

/** FixMatch's weak view, and the augmentation of supervised training and fine-tuning: shift and gain. */
export function audioWeakAugment(inputShape: readonly number[], stats?: AudioFeatureStats): Augment {
  return audioAugment(inputShape, { shift: 10, gain: { range: [-3, 3], p: 0.5 }, stats }, 'audio-weak');
}

/** FixMatch's strong view: the weak one plus speed, pitch, noise and SpecAugment masks. */
export function audioStrongAugment(inputShape: readonly number[], stats?: AudioFeatureStats): Augment {
  return audioAugment(inputShape, { ...VOICE_AND_MASKS, shift: 10, gain: { range: [-6, 6], p: 0.5 }, noise: { snr: [5, 25], p: 0.5 }, stats }, 'audio-strong');
}
