/**
 * The audio checks of `ulearn clean`, in run order: corrupt files, silent and clipped recordings, exact and
 * near duplicates, leakage across train/test, outliers, likely label errors, class imbalance. Level, clipping
 * and the exact-duplicate hash are measured on each file's decoded samples at its own rate (AudioSamples);
 * near duplicates, outliers and label errors use the shared 80-d pooled log-mel embedding and its kNN graph.
 * Duplicates, leakage, outliers, label errors and imbalance share their result code with the image checks.
 */
import { groupResult, leakageResult } from './duplicates.js';
import { corruptResult, imbalanceResult } from './integrity.js';
import { labelErrorResult } from './label-errors.js';
import { outlierResult } from './outliers.js';
import type { CheckOptions } from '../registry.js';
import type { AudioCheck, AudioCheckContext, AudioSamples, CheckResult } from '../types.js';

/** RMS level below which a recording is silent: −60 dBFS (full scale = 1), about the noise floor of a quiet room recorded at normal gain. */
export const SILENCE_DBFS = -60;
/** A sample at or above this magnitude is at full scale (a 16-bit file's largest values are 32767/32768 ≈ 0.99997). */
export const CLIP_LEVEL = 0.999;
/** Share of samples at full scale above which a recording is clipped: 1 % (a few isolated full-scale peaks are normal in loud, unclipped audio). */
export const CLIPPED_SHARE = 0.01;
/**
 * Embedding cosine similarity at or above which two clips are near duplicates. Measured: on speech-digits
 * (4,400 synthetic clips, no copies planted) pairs run without a gap from 0.99 up to 0.9976, and include
 * different words and different voices (three ~ two across the train/test split): at 0.99 it flagged 65
 * clips and 7 "leaks", all distinct renders. A copy at 0.7× gain, re-encoded with faint added noise, scores
 * 0.9992 with its original (test/clean/audio.test.ts). So 0.998: above what distinct words reach.
 */
export const AUDIO_NEAR_THRESHOLD = 0.998;

/** dB below full scale of an RMS level (Infinity for digital silence). */
export function dbfs(rms: number): number {
  return 20 * Math.log10(rms);
}

/** Clips the embedding graph leaves out: unreadable or silent (a silent clip's log-mel is flat: no direction to compare). */
export function audioUsable(s: AudioSamples): Uint8Array {
  return Uint8Array.from(s.readable, (r, i) => (r && dbfs(s.rms[i]) >= SILENCE_DBFS ? 1 : 0));
}

/** A per-file score and flag over the readable files (unreadable ones: score NaN, not flagged: `corrupt` has them). */
function perFile(s: AudioSamples, score: (i: number) => number, flag: (i: number) => boolean): { scores: Float32Array; flags: Uint8Array; flagged: number } {
  const n = s.ids.length;
  const scores = new Float32Array(n).fill(NaN);
  const flags = new Uint8Array(n);
  let flagged = 0;
  for (let i = 0; i < n; i++) {
    if (!s.readable[i]) continue;
    scores[i] = score(i);
    if (flag(i)) {
      flags[i] = 1;
      flagged++;
    }
  }
  return { scores, flags, flagged };
}

const corrupt: AudioCheck = {
  name: 'corrupt',
  modality: 'audio',
  always: true,
  run: ({ samples: s }) => corruptResult(s, 'the file cannot be decoded (truncated header or data, no samples, unsupported codec, NaN or infinite samples, not WAV)'),
};

const silent: AudioCheck = {
  name: 'silent',
  modality: 'audio',
  always: true,
  run({ samples: s }): CheckResult {
    // Score: dB below full scale (higher = quieter); digital silence is capped at 200 so issues.json stays finite.
    const { scores, flags, flagged } = perFile(s, (i) => Math.min(200, -dbfs(s.rms[i])), (i) => dbfs(s.rms[i]) < SILENCE_DBFS);
    return {
      name: 'silent',
      description: `RMS level below ${SILENCE_DBFS} dBFS over the whole file (nothing to hear: an empty or failed recording)`,
      scores,
      flags,
      action: 'exclude',
      reason: (i) => (s.rms[i] === 0 ? 'silent: digital silence (every sample is 0)' : `silent: RMS ${dbfs(s.rms[i]).toFixed(1)} dBFS < ${SILENCE_DBFS} dBFS`),
      details: (i) => ({ rms_dbfs: s.rms[i] === 0 ? null : round(dbfs(s.rms[i])) }),
      summary: { flagged, threshold_dbfs: SILENCE_DBFS },
    };
  },
};

const clipped: AudioCheck = {
  name: 'clipped',
  modality: 'audio',
  always: true,
  run({ samples: s }): CheckResult {
    const { scores, flags, flagged } = perFile(s, (i) => s.clippedShare[i], (i) => s.clippedShare[i] > CLIPPED_SHARE);
    return {
      name: 'clipped',
      description: `more than ${CLIPPED_SHARE * 100} % of the samples at full scale (|x| >= ${CLIP_LEVEL}): the recording was too loud and its peaks are cut off. Reported only: clipped speech is often still usable; listen before you drop it`,
      scores,
      flags,
      action: 'none',
      reason: (i) => `clipped: ${(100 * s.clippedShare[i]).toFixed(1)} % of samples at full scale`,
      details: (i) => ({ clipped_share: round(s.clippedShare[i]) }),
      summary: { flagged, clip_level: CLIP_LEVEL, threshold: CLIPPED_SHARE },
    };
  },
};

const exactDuplicate: AudioCheck = {
  name: 'exact_duplicate',
  modality: 'audio',
  always: true,
  run({ samples: s }): CheckResult {
    const buckets = new Map<string, number[]>();
    for (let i = 0; i < s.ids.length; i++) {
      if (!s.readable[i]) continue;
      const list = buckets.get(s.contentHash[i]);
      if (list) list.push(i);
      else buckets.set(s.contentHash[i], [i]);
    }
    // sha-256 of the samples and rate: equal hashes are equal sounds (no collision check needed).
    const groups = [...buckets.values()].filter((g) => g.length > 1);
    const res = groupResult(s, groups, 'exact_duplicate', 'the same decoded samples at the same rate as another file, whatever the file format (kept: the related one)', 1);
    res.summary.groups_with_conflicting_labels = groups.filter((g) => new Set(g.map((i) => s.y[i]).filter((y) => y >= 0)).size > 1).length;
    return res;
  },
};

function nearDuplicate(opts: CheckOptions): AudioCheck {
  const threshold = opts.audioNear?.threshold ?? AUDIO_NEAR_THRESHOLD;
  return {
    name: 'near_duplicate',
    modality: 'audio',
    async run(ctx: AudioCheckContext): Promise<CheckResult> {
      const s = ctx.samples;
      const n = s.ids.length;
      const g = await ctx.neighbours();
      const exact = ctx.results.get('exact_duplicate');
      const include = Uint8Array.from(g.usable, (u, i) => (u && !exact?.flags[i] ? 1 : 0));
      const best = new Float32Array(n).fill(NaN);
      const partners = new Map<number, { j: number; sim: number }[]>();
      let pairs = 0;
      for (let i = 0; i < n; i++) {
        if (!include[i]) continue;
        for (let t = 0; t < g.k; t++) {
          const j = g.indices[i * g.k + t];
          if (j < 0 || !include[j]) continue;
          const sim = 1 - g.distances[i * g.k + t];
          if (!(best[i] >= sim)) best[i] = sim;
          if (sim < threshold) continue;
          pairs++;
          for (const [a, b] of [[i, j], [j, i]]) {
            const list = partners.get(a) ?? [];
            if (!list.some((p) => p.j === b)) list.push({ j: b, sim });
            partners.set(a, list);
          }
        }
      }
      // Greedy as for images: in keep-priority order (test first, then path order), a clip is flagged only if a
      // partner is already kept, so a chain of merely similar clips is not merged into one group.
      const order = [...partners.keys()].sort((a, b) => s.split[b] - s.split[a] || a - b);
      const kept = new Uint8Array(n);
      const groups = new Map<number, number[]>();
      const simTo = new Float32Array(n).fill(NaN);
      for (const i of order) {
        let keeper = -1;
        let bestSim = -Infinity;
        for (const p of partners.get(i)!) if (kept[p.j] && p.sim > bestSim) [keeper, bestSim] = [p.j, p.sim];
        if (keeper < 0) {
          kept[i] = 1;
          groups.set(i, [i]);
        } else {
          groups.get(keeper)!.push(i);
          simTo[i] = bestSim;
        }
      }
      const res = groupResult(s, [...groups.values()].filter((gr) => gr.length > 1), 'near_duplicate', `embedding cosine similarity >= ${threshold} with another clip (pooled 40-band log-mel; kept: the related one)`, NaN);
      Object.assign(res.summary, { threshold, pairs: pairs / 2, embedding_dim: g.dim });
      res.scores = best;
      res.details = (i) => ({ cosine: round(simTo[i]) });
      return res;
    },
  };
}

const leakage: AudioCheck = { name: 'leakage', modality: 'audio', always: true, run: (ctx) => leakageResult(ctx.samples, ctx.results) };
const outlier: AudioCheck = {
  name: 'outlier',
  modality: 'audio',
  async run(ctx) {
    const r = outlierResult(await ctx.neighbours());
    r.description = `${r.description} (embedding: pooled 40-band log-mel). Reported only: a rare sound may be a real case`;
    return r;
  },
};
/**
 * Report only, unlike images: on speech-digits (labels known right) a 10-NN vote over the pooled log-mel is
 * right 65 % of the time and confident learning flagged 1,013 of 4,400 clips; the embedding does not see the
 * order of sounds in a word, so its votes cannot be trusted to remove labels.
 */
const labelError: AudioCheck = {
  name: 'label_error',
  modality: 'audio',
  async run(ctx) {
    const r = await labelErrorResult(ctx.samples, ctx.neighbours);
    r.action = 'none';
    if (!r.skipped) r.description = `${r.description}, over the pooled log-mel embedding. Reported only: listen before you relabel`;
    return r;
  },
};
const imbalance: AudioCheck = { name: 'class_imbalance', modality: 'audio', always: true, run: ({ samples }) => imbalanceResult(samples) };

/** The built-in audio checks, in run order (registry.ts registers them). */
export const audioChecks = [corrupt, silent, clipped, exactDuplicate, { name: 'near_duplicate', modality: 'audio' as const, create: nearDuplicate }, leakage, outlier, labelError, imbalance];

const round = (v: number) => (Number.isFinite(v) ? Math.round(v * 1e4) / 1e4 : null);
