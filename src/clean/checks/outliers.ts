/**
 * Outliers: samples far from everything else in embedding space. Score = mean cosine distance to the k nearest
 * neighbours (the classic kNN outlier score); flagged above the far-out fence Q3 + 3 * IQR of all scores, a
 * threshold that adapts to how spread the dataset is and flags nothing in a tight one. Reported, not excluded:
 * a rare but valid sample is exactly what a model needs to see.
 */
import type { NeighbourGraph } from '../neighbours.js';
import type { Check, CheckResult } from '../types.js';

export const outlierCheck: Check = {
  name: 'outlier',
  run: async (ctx) => outlierResult(await ctx.neighbours()),
};

/** The outlier result over a neighbour graph (images and audio alike). */
export function outlierResult(g: NeighbourGraph): CheckResult {
  const n = g.usable.length;
  const scores = new Float32Array(n).fill(NaN);
  const values: number[] = [];
  for (let i = 0; i < n; i++) {
    if (!g.usable[i]) continue;
    let sum = 0;
    let m = 0;
    for (let j = 0; j < g.k; j++) {
      const d = g.distances[i * g.k + j];
      if (!Number.isFinite(d)) continue;
      sum += d;
      m++;
    }
    if (m === 0) continue;
    scores[i] = sum / m;
    values.push(scores[i]);
  }
  values.sort((a, b) => a - b);
  const q1 = quantile(values, 0.25);
  const q3 = quantile(values, 0.75);
  const fence = q3 + 3 * (q3 - q1);
  const flags = new Uint8Array(n);
  let flagged = 0;
  for (let i = 0; i < n; i++) {
    if (scores[i] > fence) {
      flags[i] = 1;
      flagged++;
    }
  }
  return {
    name: 'outlier',
    description: `mean cosine distance to the ${g.k} nearest neighbours above the far-out fence Q3 + 3 IQR`,
    scores,
    flags,
    action: 'none',
    reason: (i) => `outlier: mean neighbour distance ${scores[i].toFixed(3)} > ${fence.toFixed(3)}`,
    summary: { flagged, fence, q1, q3, k: g.k, embedding_dim: g.dim, exact_search: g.exact },
  };
}

/** Linear-interpolated quantile of sorted values (NaN if empty). */
export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}
