/**
 * Log-mel spectrograms and MFCCs of a batch of equal-length clips, with torchaudio's conventions so a model's
 * inputs mean what they mean in every speech paper and tutorial (golden-tested against torchaudio 0.13 in
 * test/data/audio-features.test.ts; docs/audio.md states the tolerances):
 *
 *   sample rate  16 kHz (audio datasets are resampled to it on loading)
 *   STFT         n_fft 400 (25 ms), hop 160 (10 ms), periodic Hann window of n_fft samples, center=true: the
 *                clip is reflect-padded by n_fft/2 on each side, so a clip of L samples has 1 + floor(L/hop)
 *                frames (101 for one second) and frame f is centred on sample f·hop; power |X|² (power 2)
 *   mel          HTK mel scale (2595·log10(1 + f/700)), triangular filters from 0 Hz to 8 kHz without area
 *                normalisation (torchaudio MelSpectrogram's defaults), 40 bands by default
 *   log-mel      ln(mel + 1e-6) (torchaudio MFCC's `log_mels` offset)
 *   MFCC         torchaudio.transforms.MFCC's default: mel power in dB, 10·log10(max(mel, 1e-10)), floored at
 *                80 dB below the clip's loudest bin (top_db = 80), then the orthonormal DCT-II over the mel
 *                bands, keeping `nMfcc` coefficients. The 80 dB floor is per clip: torchaudio applies it per
 *                clip to one waveform but across the whole batch to a [batch, time] tensor, which would make a
 *                clip's features depend on its batch mates.
 *
 * Output: per clip [frames, bins] row-major (time-major, so a frame is a contiguous vector: what a 1-D
 * convolution over time takes, and an image of frames x bins x 1 for a 2-D one). torchaudio returns
 * [bins, frames].
 *
 * Plain float64 JavaScript rather than tensor ops: the work is FFTs of 400 samples, which a tensor backend
 * would run as dense 400 x 402 matrix products (some 25 times the arithmetic), and the result is then the
 * same on every backend.
 */
import { UlearnError } from '../../errors.js';
import { SAMPLE_RATE } from '../resample.js';
import { PowerSpectrum } from './fft.js';

export type AudioFeatureKind = 'logmel' | 'mfcc';

export interface AudioFeatureOptions {
  /** Default 'logmel'. */
  kind?: AudioFeatureKind;
  /** Mel bands; default 40. */
  nMels?: number;
  /** MFCC coefficients kept (kind 'mfcc'), at most nMels; default 40 (torchaudio's default). */
  nMfcc?: number;
}

/** Every setting, as saved with a model (so a saved model computes exactly the features it was trained on). */
export interface AudioFeatureConfig {
  kind: AudioFeatureKind;
  sampleRate: number;
  nFft: number;
  hop: number;
  nMels: number;
  /** 0 for log-mel. */
  nMfcc: number;
}

const LOG_OFFSET = 1e-6;
const DB_AMIN = 1e-10;
const TOP_DB = 80;

export function audioFeatureConfig(o: AudioFeatureOptions = {}): AudioFeatureConfig {
  const kind = o.kind ?? 'logmel';
  if (kind !== 'logmel' && kind !== 'mfcc') throw new UlearnError(`audio features: kind must be 'logmel' or 'mfcc', got ${String(kind)}`, { code: 'E_CONFIG' });
  if (kind === 'logmel' && o.nMfcc !== undefined) throw new UlearnError(`audio features: nMfcc is for kind 'mfcc'; log-mel features have nMels bins`, { code: 'E_CONFIG' });
  const nMels = o.nMels ?? 40;
  const nMfcc = kind === 'mfcc' ? (o.nMfcc ?? 40) : 0;
  const cfg: AudioFeatureConfig = { kind, sampleRate: SAMPLE_RATE, nFft: 400, hop: 160, nMels, nMfcc };
  checkAudioFeatureConfig(cfg, 'audio features');
  return cfg;
}

/** Throws a UlearnError (with `source` in front) when `cfg` cannot be computed; used on configs read from disk too. */
export function checkAudioFeatureConfig(cfg: AudioFeatureConfig, source: string): void {
  const int = (v: unknown, lo: number, hi: number) => typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi;
  const fail = (what: string) => {
    throw new UlearnError(`${source}: ${what}`, { code: 'E_CONFIG' });
  };
  if (cfg.kind !== 'logmel' && cfg.kind !== 'mfcc') fail(`kind must be 'logmel' or 'mfcc', got ${String(cfg.kind)}`);
  if (!int(cfg.sampleRate, 1000, 384_000)) fail(`sampleRate must be an integer in [1000, 384000], got ${String(cfg.sampleRate)}`);
  if (!int(cfg.nFft, 16, 65_536)) fail(`nFft must be an integer in [16, 65536], got ${String(cfg.nFft)}`);
  if (!int(cfg.hop, 1, cfg.nFft)) fail(`hop must be an integer in [1, nFft = ${cfg.nFft}], got ${String(cfg.hop)}`);
  if (!int(cfg.nMels, 1, 512)) fail(`nMels must be an integer in [1, 512], got ${String(cfg.nMels)}`);
  if (cfg.kind === 'mfcc' ? !int(cfg.nMfcc, 1, cfg.nMels) : cfg.nMfcc !== 0) {
    fail(cfg.kind === 'mfcc' ? `nMfcc must be an integer in [1, nMels = ${cfg.nMels}], got ${String(cfg.nMfcc)}` : `nMfcc must be 0 for log-mel features, got ${String(cfg.nMfcc)}`);
  }
  melFilters(cfg); // every band must cover a bin
}

/** [frames, bins] of one clip of `samples` samples. */
export function audioFeatureShape(cfg: AudioFeatureConfig, samples: number): [number, number] {
  const pad = Math.floor(cfg.nFft / 2);
  return [1 + Math.floor((samples + 2 * pad - cfg.nFft) / cfg.hop), cfg.kind === 'mfcc' ? cfg.nMfcc : cfg.nMels];
}

const hzToMel = (f: number) => 2595 * Math.log10(1 + f / 700);
const melToHz = (m: number) => 700 * (10 ** (m / 2595) - 1);

/**
 * Triangular HTK-mel filters over the n_fft/2 + 1 STFT bins, as torchaudio's `melscale_fbanks(n_freqs,
 * f_min = 0, f_max = sr/2, n_mels, sr, norm = None, mel_scale = 'htk')`: band m rises from mel point m to m + 1
 * and falls to m + 2 (n_mels + 2 points evenly spaced in mel). Stored sparse: each band's first bin and weights.
 */
function melFilters(cfg: AudioFeatureConfig): { first: number[]; weights: Float64Array[] } {
  const bins = Math.floor(cfg.nFft / 2) + 1;
  const nyquist = Math.floor(cfg.sampleRate / 2);
  const freqs = Array.from({ length: bins }, (_, k) => (nyquist * k) / (bins - 1));
  const top = hzToMel(nyquist);
  const pts = Array.from({ length: cfg.nMels + 2 }, (_, i) => melToHz((top * i) / (cfg.nMels + 1)));
  const first: number[] = [];
  const weights: Float64Array[] = [];
  for (let m = 0; m < cfg.nMels; m++) {
    const w = freqs.map((f) => Math.max(0, Math.min((f - pts[m]) / (pts[m + 1] - pts[m]), (pts[m + 2] - f) / (pts[m + 2] - pts[m + 1]))));
    const lo = w.findIndex((v) => v > 0);
    if (lo < 0) {
      throw new UlearnError(`audio features: mel band ${m} of ${cfg.nMels} covers no STFT bin (too many mel bands for nFft ${cfg.nFft})`, {
        code: 'E_CONFIG',
        hint: 'use fewer mel bands (40 or 64 suit nFft 400 at 16 kHz)',
      });
    }
    let hi = w.length;
    while (w[hi - 1] === 0) hi--;
    first.push(lo);
    weights.push(Float64Array.from(w.slice(lo, hi)));
  }
  return { first, weights };
}

/** The orthonormal DCT-II as torchaudio's `create_dct(n_mfcc, n_mels, 'ortho')`: row i is coefficient i. */
function dctMatrix(nMfcc: number, nMels: number): Float64Array {
  const out = new Float64Array(nMfcc * nMels);
  for (let i = 0; i < nMfcc; i++) {
    const scale = Math.sqrt(2 / nMels) * (i === 0 ? Math.SQRT1_2 : 1);
    for (let m = 0; m < nMels; m++) out[i * nMels + m] = scale * Math.cos((Math.PI / nMels) * (m + 0.5) * i);
  }
  return out;
}

interface Plan {
  cfg: AudioFeatureConfig;
  window: Float64Array;
  spectrum: PowerSpectrum;
  mel: { first: number[]; weights: Float64Array[] };
  dct?: Float64Array;
}

const plans = new Map<string, Plan>();

function planFor(cfg: AudioFeatureConfig): Plan {
  const key = JSON.stringify([cfg.kind, cfg.sampleRate, cfg.nFft, cfg.hop, cfg.nMels, cfg.nMfcc]);
  let plan = plans.get(key);
  if (!plan) {
    checkAudioFeatureConfig(cfg, 'audio features');
    const window = Float64Array.from({ length: cfg.nFft }, (_, t) => 0.5 - 0.5 * Math.cos((2 * Math.PI * t) / cfg.nFft));
    plan = { cfg, window, spectrum: new PowerSpectrum(cfg.nFft), mel: melFilters(cfg), dct: cfg.kind === 'mfcc' ? dctMatrix(cfg.nMfcc, cfg.nMels) : undefined };
    plans.set(key, plan);
  }
  return plan;
}

/**
 * Features of a batch of clips, `samples` values each, stored one after another in `batch`: a Float32Array of
 * clips · frames · bins (see audioFeatureShape), clip by clip, frame by frame.
 */
export function audioFeatures(batch: Float32Array, samples: number, cfg: AudioFeatureConfig): Float32Array {
  const plan = planFor(cfg);
  const pad = Math.floor(cfg.nFft / 2);
  if (!Number.isInteger(samples) || samples <= pad) {
    throw new UlearnError(`audio features: clips must be longer than nFft/2 = ${pad} samples (the reflect padding), got ${samples}`, { code: 'E_DATA' });
  }
  if (batch.length % samples !== 0) throw new UlearnError(`audio features: the batch has ${batch.length} values, not a whole number of ${samples}-sample clips`, { code: 'E_DATA' });
  const clips = batch.length / samples;
  const [frames, bins] = audioFeatureShape(cfg, samples);
  const out = new Float32Array(clips * frames * bins);
  const padded = new Float64Array(samples + 2 * pad);
  const frame = new Float64Array(cfg.nFft);
  const power = new Float64Array(plan.spectrum.bins);
  const mel = new Float64Array(frames * cfg.nMels);
  for (let c = 0; c < clips; c++) {
    const x = batch.subarray(c * samples, (c + 1) * samples);
    // Reflect padding (the edge sample is not repeated): padded[pad - i] = x[i], padded[pad + L - 1 + i] = x[L - 1 - i].
    for (let i = 0; i < samples; i++) padded[pad + i] = x[i];
    for (let i = 1; i <= pad; i++) {
      padded[pad - i] = x[i];
      padded[pad + samples - 1 + i] = x[samples - 1 - i];
    }
    for (let f = 0; f < frames; f++) {
      const start = f * cfg.hop;
      for (let t = 0; t < cfg.nFft; t++) frame[t] = padded[start + t] * plan.window[t];
      plan.spectrum.power(frame, power);
      for (let m = 0; m < cfg.nMels; m++) {
        const w = plan.mel.weights[m];
        const lo = plan.mel.first[m];
        let sum = 0;
        for (let k = 0; k < w.length; k++) sum += w[k] * power[lo + k];
        mel[f * cfg.nMels + m] = sum;
      }
    }
    const o = c * frames * bins;
    if (cfg.kind === 'logmel') {
      for (let i = 0; i < mel.length; i++) out[o + i] = Math.log(mel[i] + LOG_OFFSET);
      continue;
    }
    let top = -Infinity;
    for (let i = 0; i < mel.length; i++) {
      mel[i] = 10 * Math.log10(Math.max(mel[i], DB_AMIN));
      top = Math.max(top, mel[i]);
    }
    const floor = top - TOP_DB;
    const dct = plan.dct!;
    for (let f = 0; f < frames; f++) {
      for (let i = 0; i < cfg.nMfcc; i++) {
        let sum = 0;
        for (let m = 0; m < cfg.nMels; m++) sum += dct[i * cfg.nMels + m] * Math.max(mel[f * cfg.nMels + m], floor);
        out[o + f * bins + i] = sum;
      }
    }
  }
  return out;
}
