/**
 * Core-set selection by k-center greedy (Sener & Savarese, ICLR 2018): each pick is the unlabeled sample
 * farthest (Euclidean, in embedding space) from everything labeled or already picked, so the labeled set
 * covers the pool with the smallest radius. Diversity only; it ignores the model, and in high dimensions it
 * tends to pick outliers, which is why it is a baseline here rather than the default.
 */
import { gatherRows } from '../data/dataset.js';
import { nearestCenters, rowDist2 } from './distances.js';
import { checkContext, labeledIndices } from './pool.js';
import type { SelectContext, Strategy } from './strategy.js';

export function kCenterGreedy(embeddings: Float32Array, dim: number, centers: number[], candidates: Uint8Array, k: number, rng: SelectContext['rng']): number[] {
  const n = embeddings.length / dim;
  const minD = new Float64Array(n).fill(Infinity);
  if (centers.length > 0) {
    const near = nearestCenters(embeddings, gatherRows(embeddings, dim, centers), dim);
    for (let i = 0; i < n; i++) minD[i] = near.dist2[i];
  }
  const picked: number[] = [];
  while (picked.length < k) {
    let best = -1;
    if (centers.length === 0 && picked.length === 0) {
      // Nothing to be far from yet: start anywhere (Sener & Savarese start from a random sample too).
      const pool: number[] = [];
      for (let i = 0; i < n; i++) if (candidates[i]) pool.push(i);
      best = pool[rng.int(pool.length)];
    } else {
      for (let i = 0; i < n; i++) if (candidates[i] && (best < 0 || minD[i] > minD[best])) best = i;
    }
    picked.push(best);
    candidates[best] = 0;
    for (let i = 0; i < n; i++) {
      if (!candidates[i]) continue;
      const d = rowDist2(embeddings, i, embeddings, best, dim);
      if (d < minD[i]) minD[i] = d;
    }
  }
  return picked;
}

export function coresetStrategy(): Strategy {
  return {
    name: 'coreset',
    select(ctx: SelectContext, k: number): number[] {
      const n = checkContext(ctx, k, 'coreset');
      const candidates = new Uint8Array(n);
      for (let i = 0; i < n; i++) candidates[i] = ctx.labels[i] === -1 ? 1 : 0;
      return kCenterGreedy(ctx.embeddings, ctx.dim, labeledIndices(ctx.labels), candidates, k, ctx.rng);
    },
  };
}
