/**
 * Exact duplicates (identical pixels), near duplicates (the same picture after noise, re-encoding, a
 * brightness or contrast change) and leakage (either kind across the train/test split).
 *
 * Near duplicates: candidates come from two searches, the embedding kNN graph and a dHash multi-index (the
 * hash catches pairs that a crowded neighbourhood pushes out of the top k); each candidate pair is then
 * confirmed on full-resolution pixels by Pearson correlation >= `threshold` (invariant to brightness and
 * contrast, 1 = same picture). The default 0.99 keeps 99% of copies with pixel noise (sigma 5/255), JPEG q90
 * re-encoding or a +-15% contrast / +-20 brightness change, while only ~0.9% of Fashion-MNIST's images have a
 * natural partner that close (measured; many of those are the same product photographed twice). Each group
 * keeps one sample (a test sample if it has one, so the test set stays whole, else the first) and flags the
 * rest with `related` = the kept one.
 */
import { contentHash, dHash, hammingPairs } from '../hash.js';
import { SPLIT_NAMES, type Check, type CheckContext, type CheckResult, type ImageSamples } from '../types.js';

export interface NearDuplicateOptions {
  /** Pixel correlation at or above which two samples are near duplicates (default 0.99). */
  threshold?: number;
  /** dHash Hamming distance for candidates (<= 3, default 3). */
  hashBits?: number;
  /** Embedding cosine distance up to which a kNN neighbour is a candidate (default 0.05). */
  candidateDistance?: number;
  /** dHash buckets larger than this are not searched pairwise (default 200). */
  maxBucket?: number;
}

export const exactDuplicateCheck: Check = {
  name: 'exact_duplicate',
  always: true,
  run({ samples: s }): CheckResult {
    const n = s.ids.length;
    const per = s.height * s.width * s.channels;
    const buckets = new Map<number, number[]>();
    for (let i = 0; i < n; i++) {
      if (!s.readable[i] || s.nonFinite[i]) continue;
      const h = contentHash(s.pixels.subarray(i * per, (i + 1) * per));
      const list = buckets.get(h);
      if (list) list.push(i);
      else buckets.set(h, [i]);
    }
    const groups: number[][] = [];
    for (const list of buckets.values()) {
      if (list.length < 2) continue;
      // Split a bucket into groups of truly identical samples (a hash collision is not a duplicate).
      const reps: number[][] = [];
      for (const i of list) {
        const g = reps.find((r) => samePixels(s, r[0], i, per));
        if (g) g.push(i);
        else reps.push([i]);
      }
      groups.push(...reps.filter((r) => r.length > 1));
    }
    const res = groupResult(s, groups, 'exact_duplicate', 'identical pixels to another sample (kept: the related one)', 1);
    let labelConflicts = 0;
    for (const g of groups) if (new Set(g.map((i) => s.y[i]).filter((y) => y >= 0)).size > 1) labelConflicts++;
    res.summary.groups_with_conflicting_labels = labelConflicts;
    return res;
  },
};

export function nearDuplicateCheck(opts: NearDuplicateOptions = {}): Check {
  const threshold = opts.threshold ?? 0.99;
  const hashBits = opts.hashBits ?? 3;
  const candidateDistance = opts.candidateDistance ?? 0.05;
  const maxBucket = opts.maxBucket ?? 200;
  return {
    name: 'near_duplicate',
    async run(ctx: CheckContext): Promise<CheckResult> {
      const s = ctx.samples;
      const n = s.ids.length;
      const per = s.height * s.width * s.channels;
      const graph = await ctx.neighbours();
      const exact = ctx.results.get('exact_duplicate');
      // Samples already flagged as exact duplicates are excluded anyway; their kept copy stands for them.
      const include = Uint8Array.from(graph.usable, (u, i) => (u && !exact?.flags[i] ? 1 : 0));
      const { mean, norm } = pixelMoments(s, per);
      const best = new Float32Array(n).fill(NaN);
      const pairs: number[] = [];
      let candidates = 0;
      const consider = (i: number, j: number) => {
        candidates++;
        const r = correlation(s.pixels, i, j, per, mean, norm);
        if (!(best[i] >= r)) best[i] = r;
        if (!(best[j] >= r)) best[j] = r;
        if (r >= threshold) pairs.push(i, j);
      };
      for (let i = 0; i < n; i++) {
        if (!include[i]) continue;
        for (let j = 0; j < graph.k; j++) {
          const nb = graph.indices[i * graph.k + j];
          if (nb < 0 || !include[nb] || graph.distances[i * graph.k + j] > candidateDistance) continue;
          if (nb > i || !isNeighbour(graph, nb, i)) consider(Math.min(i, nb), Math.max(i, nb));
        }
      }
      const hi = new Uint32Array(n);
      const lo = new Uint32Array(n);
      for (let i = 0; i < n; i++) {
        if (!include[i]) continue;
        [hi[i], lo[i]] = dHash(s.pixels.subarray(i * per, (i + 1) * per), s.height, s.width, s.channels);
      }
      const hashed = hammingPairs(hi, lo, include, hashBits, maxBucket);
      for (let p = 0; p < hashed.a.length; p++) consider(hashed.a[p], hashed.b[p]);

      // Greedy, not transitive: walking samples in keep-priority order (test first), a sample is flagged only
      // if a confirmed partner is already kept. Joining pairs into connected groups would chain thousands of
      // merely similar items (plain trousers) into one group through intermediate steps.
      const adjacency = new Map<number, number[]>();
      for (let p = 0; p < pairs.length; p += 2) {
        for (const [a, b] of [[pairs[p], pairs[p + 1]], [pairs[p + 1], pairs[p]]]) {
          const list = adjacency.get(a);
          if (list) list.push(b);
          else adjacency.set(a, [b]);
        }
      }
      const order = [...adjacency.keys()].sort((a, b) => s.split[b] - s.split[a] || a - b);
      const kept = new Uint8Array(n);
      const groups = new Map<number, number[]>();
      for (const i of order) {
        let keeper = -1;
        let bestR = -Infinity;
        for (const j of adjacency.get(i)!) {
          if (!kept[j]) continue;
          const r = correlation(s.pixels, i, j, per, mean, norm);
          if (r > bestR) [keeper, bestR] = [j, r];
        }
        if (keeper < 0) {
          kept[i] = 1;
          groups.set(i, [i]);
        } else {
          groups.get(keeper)!.push(i);
        }
      }
      const res = groupResult(s, [...groups.values()].filter((g) => g.length > 1), 'near_duplicate', `pixel correlation >= ${threshold} with another sample (kept: the related one)`, NaN);
      Object.assign(res.summary, { threshold, candidate_pairs: candidates, confirmed_pairs: pairs.length / 2, hash_buckets_skipped: hashed.skippedBuckets });
      res.scores = best;
      res.details = (i) => ({ correlation: Math.round(correlation(s.pixels, i, res.related![i], per, mean, norm) * 1e4) / 1e4 });
      return res;
    },
  };
}

/** Train samples whose exact or near duplicate is in the test split (they would inflate test accuracy). */
export const leakageCheck: Check = {
  name: 'leakage',
  always: true,
  run: (ctx) => leakageResult(ctx.samples, ctx.results),
};

/** The leakage result from the duplicate checks' results (images and audio alike). */
export function leakageResult(s: Pick<ImageSamples, 'ids' | 'split'>, results: Map<string, CheckResult>): CheckResult {
  const n = s.ids.length;
  const flags = new Uint8Array(n);
  const related = new Int32Array(n).fill(-1);
  const scores = new Float32Array(n);
  let count = 0;
  for (const name of ['exact_duplicate', 'near_duplicate']) {
    const r = results.get(name);
    if (!r?.related) continue;
    for (let i = 0; i < n; i++) {
      const j = r.related[i];
      if (!r.flags[i] || j < 0 || s.split[i] === s.split[j] || flags[i]) continue;
      flags[i] = 1;
      scores[i] = 1;
      related[i] = j;
      count++;
    }
  }
  return {
    name: 'leakage',
    description: 'an exact or near duplicate of this sample is in the other split',
    scores,
    flags,
    related,
    action: 'exclude',
    reason: (i) => `leakage: duplicate of ${SPLIT_NAMES[s.split[related[i]]]}/${s.ids[related[i]]}`,
    summary: { flagged: count, splits: [...new Set(s.split)].map((k) => SPLIT_NAMES[k]) },
  };
}

/**
 * Flags all but one member of each group; the kept one is a test sample if there is one, else the first.
 * Shared by the image and audio duplicate checks (it reads only ids and splits).
 */
export function groupResult(s: Pick<ImageSamples, 'ids' | 'split'>, groups: number[][], name: string, description: string, score: number): CheckResult {
  const n = s.ids.length;
  const flags = new Uint8Array(n);
  const scores = new Float32Array(n);
  const related = new Int32Array(n).fill(-1);
  let flagged = 0;
  let crossSplit = 0;
  let largest = 0;
  for (const g of groups) {
    const keep = g.find((i) => s.split[i] === 1) ?? g[0];
    if (new Set(g.map((i) => s.split[i])).size > 1) crossSplit++;
    largest = Math.max(largest, g.length);
    for (const i of g) {
      scores[i] = score;
      if (i === keep) continue;
      flags[i] = 1;
      related[i] = keep;
      flagged++;
    }
  }
  return {
    name,
    description,
    scores,
    flags,
    related,
    action: 'exclude',
    reason: (i) => `${name} of ${SPLIT_NAMES[s.split[related[i]]]}/${s.ids[related[i]]}`,
    summary: { flagged, groups: groups.length, largest_group: largest, groups_across_splits: crossSplit },
  };
}

function samePixels(s: ImageSamples, a: number, b: number, per: number): boolean {
  for (let j = 0; j < per; j++) if (s.pixels[a * per + j] !== s.pixels[b * per + j]) return false;
  return true;
}

export function pixelMoments(s: ImageSamples, per: number): { mean: Float64Array; norm: Float64Array } {
  const n = s.ids.length;
  const mean = new Float64Array(n);
  const norm = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let sum = 0;
    let sq = 0;
    for (let j = i * per; j < (i + 1) * per; j++) {
      sum += s.pixels[j];
      sq += s.pixels[j] * s.pixels[j];
    }
    mean[i] = sum / per;
    norm[i] = Math.sqrt(Math.max(0, sq - sum * mean[i]));
  }
  return { mean, norm };
}

/** Pearson correlation of two samples' pixels (0 if either is constant). */
export function correlation(px: Uint8Array, i: number, j: number, per: number, mean: Float64Array, norm: Float64Array): number {
  if (norm[i] === 0 || norm[j] === 0) return 0;
  let dot = 0;
  const a = i * per;
  const b = j * per;
  for (let k = 0; k < per; k++) dot += px[a + k] * px[b + k];
  return (dot - per * mean[i] * mean[j]) / (norm[i] * norm[j]);
}

function isNeighbour(g: { k: number; indices: Int32Array }, i: number, j: number): boolean {
  for (let t = 0; t < g.k; t++) if (g.indices[i * g.k + t] === j) return true;
  return false;
}
