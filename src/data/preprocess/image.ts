/**
 * Per-channel normalization for images: mean and standard deviation of each channel, fitted on the training
 * split only (statistics from test images would leak into training), then applied as (x - mean) / std to any
 * split. Serializes to JSON so the same numbers are used at prediction time.
 */
import { UlearnError } from '../../errors.js';
import type { Dataset } from '../dataset.js';

export interface ChannelNormalizerJSON {
  format: 'ulearn-preprocessor';
  version: 1;
  kind: 'channel-normalize';
  mean: number[];
  std: number[];
}

export class ChannelNormalizer {
  constructor(
    readonly mean: number[],
    readonly std: number[],
  ) {}

  /** Fits on `ds` (NHWC, last axis = channels); `indices` restricts the fit to some samples (e.g. a train split). */
  static fit(ds: Pick<Dataset, 'x' | 'inputShape' | 'size' | 'name'>, indices?: ArrayLike<number>): ChannelNormalizer {
    const c = ds.inputShape[ds.inputShape.length - 1];
    const per = ds.inputShape.reduce((a, b) => a * b, 1);
    const n = indices ? indices.length : ds.size;
    if (n === 0) throw new UlearnError(`${ds.name}: cannot fit channel normalization on zero samples`, { code: 'E_DATA' });
    // Sums in float64: millions of float32 pixels summed in float32 lose digits.
    const sum = new Float64Array(c);
    const sumSq = new Float64Array(c);
    for (let r = 0; r < n; r++) {
      const base = (indices ? indices[r] : r) * per;
      for (let k = 0; k < per; k++) {
        const v = ds.x[base + k];
        sum[k % c] += v;
        sumSq[k % c] += v * v;
      }
    }
    const count = n * (per / c);
    const mean = Array.from(sum, (s) => s / count);
    // A constant channel would divide by zero; leave it unscaled instead.
    const std = Array.from(sumSq, (s, i) => Math.sqrt(Math.max(0, s / count - mean[i] * mean[i])) || 1);
    return new ChannelNormalizer(mean, std);
  }

  /** (x - mean) / std per channel, into a new array. */
  apply(x: Float32Array, channels = this.mean.length): Float32Array {
    if (channels !== this.mean.length) throw new UlearnError(`channel normalization was fitted on ${this.mean.length} channels, got ${channels}`, { code: 'E_DATA' });
    const out = new Float32Array(x.length);
    for (let k = 0; k < x.length; k++) out[k] = (x[k] - this.mean[k % channels]) / this.std[k % channels];
    return out;
  }

  /** The dataset with normalized samples (a copy; the input is untouched). */
  transform(ds: Dataset): Dataset {
    return { ...ds, x: this.apply(ds.x, ds.inputShape[ds.inputShape.length - 1]) };
  }

  toJSON(): ChannelNormalizerJSON {
    return { format: 'ulearn-preprocessor', version: 1, kind: 'channel-normalize', mean: this.mean, std: this.std };
  }

  static fromJSON(value: unknown, source = 'preprocessor.json'): ChannelNormalizer {
    const j = value as Partial<ChannelNormalizerJSON> | null;
    const ok = (a: unknown): a is number[] => Array.isArray(a) && a.every((v) => typeof v === 'number' && Number.isFinite(v));
    if (!j || j.kind !== 'channel-normalize' || !ok(j.mean) || !ok(j.std) || j.mean.length !== j.std.length || j.std.some((s) => s <= 0)) {
      throw new UlearnError(`${source}: not a channel normalization (expected kind 'channel-normalize', mean and positive std per channel)`, { code: 'E_MODEL_IO' });
    }
    return new ChannelNormalizer(j.mean, j.std);
  }
}
