/**
 * A cheap, fixed embedding of audio clips that needs no trained model: per clip, the mean and the standard
 * deviation over time of each band of the 40-band log-mel spectrogram (audio-features.ts), 80 values. The
 * means say what the clip's spectrum is (a tone, a hiss, a voice's formants), the deviations how much it
 * changes (a word against a steady hum). `ulearn clean` finds near duplicates and outliers and votes on labels
 * with it, and the labeling app gives it to its light model and active learning, for audio samples just as
 * downscaled pixels serve images.
 *
 * `standardizeEmbedding` then centres it on the clips it is given and scales its two halves alike: log-mel
 * means of all natural sounds sit in the same range, so uncentred every pair of clips is nearly parallel and
 * cosine distances say little.
 */
import { audioFeatureConfig, audioFeatureShape, audioFeatures } from './audio-features.js';

export const AUDIO_EMBEDDING_BANDS = 40;
export const AUDIO_EMBEDDING_DIM = 2 * AUDIO_EMBEDDING_BANDS;
/** Clips featurized at a time: bounds the memory of one log-mel batch (64 one-second clips: 1 MB). */
const BATCH = 64;
/** Just above the log-mel of a frame of zeros, ln(0 + 1e-6) (audio-features.ts' offset). */
const SILENT_LOG = Math.log(1e-6) + 1e-3;

/**
 * The raw 80-d embedding of each clip in `x` (`clipSamples` values each, 16 kHz): [mean of band 0..39 minus
 * their average, std of band 0..39] per row. `progress` is told the clips done after each batch.
 */
export function pooledLogMel(x: Float32Array, clipSamples: number, progress?: (done: number) => void): Float32Array {
  const cfg = audioFeatureConfig({ kind: 'logmel', nMels: AUDIO_EMBEDDING_BANDS });
  const [frames, bins] = audioFeatureShape(cfg, clipSamples);
  const n = x.length / clipSamples;
  const out = new Float32Array(n * AUDIO_EMBEDDING_DIM);
  for (let b0 = 0; b0 < n; b0 += BATCH) {
    const b1 = Math.min(n, b0 + BATCH);
    const feats = audioFeatures(x.subarray(b0 * clipSamples, b1 * clipSamples), clipSamples, cfg);
    for (let c = b0; c < b1; c++) {
      const f = feats.subarray((c - b0) * frames * bins, (c - b0 + 1) * frames * bins);
      const row = out.subarray(c * AUDIO_EMBEDDING_DIM, (c + 1) * AUDIO_EMBEDDING_DIM);
      // Frames of digital silence (the zero padding that fits a short clip to the clip length: every band at
      // the log floor) are left out, so padding does not count as sound and a gain stays a pure shift.
      const live: number[] = [];
      for (let t = 0; t < frames; t++) {
        for (let m = 0; m < bins; m++) {
          if (f[t * bins + m] > SILENT_LOG) {
            live.push(t);
            break;
          }
        }
      }
      const used = live.length > 0 ? live : Array.from({ length: frames }, (_, t) => t);
      for (let m = 0; m < bins; m++) {
        let sum = 0;
        let sq = 0;
        for (const t of used) {
          const v = f[t * bins + m];
          sum += v;
          sq += v * v;
        }
        const mean = sum / used.length;
        row[m] = mean;
        row[bins + m] = Math.sqrt(Math.max(0, sq / used.length - mean * mean));
      }
      // Level-free: a gain is a constant added to every log-mel value, so removing the clip's average band
      // mean makes a louder or quieter copy of a clip the same point (the silent check judges level).
      let level = 0;
      for (let m = 0; m < bins; m++) level += row[m];
      level /= bins;
      for (let m = 0; m < bins; m++) row[m] -= level;
    }
    progress?.(b1);
  }
  return out;
}

/**
 * Normalises the embedding in place over the rows `use` marks (all rows without it): each dimension minus its
 * mean, then each half (the 40 band means, the 40 band deviations) divided by that half's root-mean-square
 * spread, so both halves weigh alike. Not per dimension: a band where every clip holds the same faint noise
 * varies little, and dividing by its tiny spread would let that noise decide every distance. Rows not marked
 * are set to zero, so a cosine search leaves them out. Returns the statistics, to apply them to new rows.
 */
export function standardizeEmbedding(v: Float32Array, dim: number, use?: Uint8Array): { mean: Float64Array; scale: Float64Array } {
  const n = v.length / dim;
  const mean = new Float64Array(dim);
  const sq = new Float64Array(dim);
  let m = 0;
  for (let i = 0; i < n; i++) {
    if (use && !use[i]) continue;
    m++;
    for (let d = 0; d < dim; d++) {
      const x = v[i * dim + d];
      mean[d] += x;
      sq[d] += x * x;
    }
  }
  const half = dim / 2;
  const spread = [0, 0];
  for (let d = 0; d < dim; d++) {
    mean[d] = m > 0 ? mean[d] / m : 0;
    spread[d < half ? 0 : 1] += m > 0 ? Math.max(0, sq[d] / m - mean[d] * mean[d]) : 0;
  }
  const scale = new Float64Array(dim);
  for (let d = 0; d < dim; d++) {
    const rms = Math.sqrt(spread[d < half ? 0 : 1] / half);
    scale[d] = rms > 1e-9 ? rms : 1;
  }
  for (let i = 0; i < n; i++) {
    for (let d = 0; d < dim; d++) v[i * dim + d] = use && !use[i] ? 0 : (v[i * dim + d] - mean[d]) / scale[d];
  }
  return { mean, scale };
}
