/**
 * Band-limited resampling between integer sample rates: torchaudio's `functional.resample` with its defaults
 * (`sinc_interp_hann`, lowpass_filter_width 6, rolloff 0.99), computed the same way so its outputs are the
 * reference in test/data/resample.test.ts.
 *
 * The rates are divided by their gcd (44100 → 16000 is 441 → 160). Output sample n = i·new + j (phase j) is a
 * dot product of the input around input time n·orig/new with one of `new` kernels: an ideal low-pass (a sinc)
 * cut at `rolloff` × the lower of the two Nyquist frequencies, so content above the new Nyquist is removed
 * before it can alias, tapered by a Hann window to 6 zero crossings on each side. Outside the clip the input is
 * zero (torchaudio pads with zeros), and the output has ceil(length · new / orig) samples.
 * Unlike torchaudio, each phase keeps only its nonzero taps (about 2·6·orig/cutoff of them) instead of a dense
 * [new, 2·width + orig] kernel, and the kernels are computed in float64 and accumulated in float64.
 */
import { UlearnError } from '../errors.js';

/** The rate every audio dataset is brought to (speech models and features here assume it). */
export const SAMPLE_RATE = 16000;

const LOWPASS_WIDTH = 6;
const ROLLOFF = 0.99;
/** Rates outside this range are refused (a WAV header can claim any 32-bit rate; real audio is 8 to 384 kHz). */
export const MIN_RATE = 1000;
export const MAX_RATE = 768_000;
/**
 * Kernels kept for reuse: a dataset has a few rates, whose kernels are small (44.1 kHz: 160 phases of ~34 taps).
 * A coprime pair (44101 → 16000: 16000 phases, 12 · 44101 taps in all) is recomputed per file rather than kept.
 */
const CACHED_KERNELS = 4;
const CACHED_TAPS = 4_000_000;

interface Kernels {
  /** Per phase j: the input offset of its first tap, relative to input sample i·orig (may be negative). */
  first: Int32Array;
  /** Per phase j: its taps. */
  taps: Float64Array[];
  orig: number;
  next: number;
}

const cache = new Map<string, Kernels>();

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

function kernels(from: number, to: number): Kernels {
  const key = `${from}/${to}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const g = gcd(from, to);
  const orig = from / g;
  const next = to / g;
  const base = Math.min(orig, next) * ROLLOFF;
  const first = new Int32Array(next);
  const taps: Float64Array[] = [];
  for (let j = 0; j < next; j++) {
    // Input offsets d (input index minus i·orig) whose kernel time t = (d/orig − j/next)·base is inside the
    // window, |t| < 6; everywhere else the Hann window is zero.
    const lo = Math.ceil(orig * (j / next - LOWPASS_WIDTH / base)) - 1;
    const hi = Math.floor(orig * (j / next + LOWPASS_WIDTH / base)) + 1;
    const values: number[] = [];
    let start = 0;
    for (let d = lo; d <= hi; d++) {
      const t = (d / orig - j / next) * base;
      if (Math.abs(t) >= LOWPASS_WIDTH) continue;
      if (values.length === 0) start = d;
      const window = Math.cos((t * Math.PI) / LOWPASS_WIDTH / 2) ** 2;
      const x = t * Math.PI;
      values.push((x === 0 ? 1 : Math.sin(x) / x) * window * (base / orig));
    }
    first[j] = start;
    taps.push(Float64Array.from(values));
  }
  const k = { first, taps, orig, next };
  if (taps.reduce((n, t) => n + t.length, 0) <= CACHED_TAPS) {
    if (cache.size >= CACHED_KERNELS) cache.delete(cache.keys().next().value!);
    cache.set(key, k);
  }
  return k;
}

/** `x` (sampled at `from` Hz) at `to` Hz. Equal rates give `x` itself. */
export function resample(x: Float32Array, from: number, to: number = SAMPLE_RATE): Float32Array {
  for (const [name, rate] of [['from', from], ['to', to]] as const) {
    if (!Number.isInteger(rate) || rate <= 0) throw new UlearnError(`resample: ${name} rate must be a positive integer, got ${rate}`, { code: 'E_CONFIG' });
    if (rate < MIN_RATE || rate > MAX_RATE) throw new UlearnError(`sample rate ${rate} Hz is outside what resampling takes (${MIN_RATE} to ${MAX_RATE} Hz)`, { code: 'E_DATA' });
  }
  if (from === to) return x;
  const { orig, next, first, taps } = kernels(from, to);
  const n = Math.ceil((next * x.length) / orig);
  const out = new Float32Array(n);
  for (let o = 0; o < n; o++) {
    const j = o % next;
    const at = ((o - j) / next) * orig + first[j];
    const w = taps[j];
    // Taps falling before or after the clip meet zeros: leave them out.
    const lo = Math.max(0, -at);
    const hi = Math.min(w.length, x.length - at);
    let sum = 0;
    for (let k = lo; k < hi; k++) sum += w[k] * x[at + k];
    out[o] = sum;
  }
  return out;
}
