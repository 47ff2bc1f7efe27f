/**
 * TypiClust (Hacohen, Dekel & Weinshall, ICML 2022, "Active Learning on a Budget"): for the first few labels,
 * typical samples beat uncertain ones, because a model trained on a handful of labels has no useful notion of
 * uncertainty yet. The recipe, as in the paper's code:
 * 1. k-means on the embeddings into |labeled| + k clusters (at most `maxClusters`, default 500);
 * 2. repeatedly take the cluster with the fewest labeled samples (ties: the larger cluster), skipping clusters
 *    smaller than 5 samples (outlier clumps);
 * 3. from it, the unlabeled sample with the highest typicality: 1 / (mean Euclidean distance to its nearest
 *    min(20, size/2) neighbours inside the cluster), i.e. the centre of the densest region.
 * So each pick covers a new dense region of the data with its most representative sample.
 */
import { UlearnError } from '../errors.js';
import { searchKnn } from '../neighbors/knn.js';
import { gatherRows } from '../data/dataset.js';
import { kmeans } from './kmeans.js';
import { checkContext } from './pool.js';
import type { SelectContext, Strategy, StrategyOptions } from './strategy.js';

const MIN_CLUSTER_SIZE = 5;

/** Typicality of each row among `rows`: 1 / mean distance to its `neighbors` nearest other rows. */
export function typicality(rows: Float32Array, dim: number, neighbors: number): Float64Array {
  const n = rows.length / dim;
  const out = new Float64Array(n);
  if (n < 2) return out.fill(1);
  const k = Math.min(neighbors, n - 1);
  const knn = searchKnn(rows, rows, dim, k, { metric: 'l2sq', mode: 'exact', excludeSelf: true });
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < k; j++) s += Math.sqrt(knn.distances[i * k + j]);
    out[i] = 1 / (s / k + 1e-8);
  }
  return out;
}

/**
 * The TypiClust selection given a clustering: `assignments` per row, `labels` (-1 unlabeled). Separate from
 * the k-means so it can be checked on hand-made clusters.
 */
export function typiclustPick(
  embeddings: Float32Array,
  dim: number,
  labels: Int32Array,
  assignments: Int32Array,
  numClusters: number,
  k: number,
  neighbors: number,
  /**
   * Optional per-cluster weight: then the next cluster is the one with the largest weight / (1 + labeled),
   * instead of the fewest labeled (hybrid passes the light model's mean uncertainty per cluster).
   */
  weight?: Float64Array,
): number[] {
  const members: number[][] = Array.from({ length: numClusters }, () => []);
  // Labeled (or picked in this batch) members per cluster, and unlabeled members still available.
  const labeledIn = new Int32Array(numClusters);
  const free = new Int32Array(numClusters);
  for (let i = 0; i < assignments.length; i++) {
    members[assignments[i]].push(i);
    if (labels[i] !== -1) labeledIn[assignments[i]]++;
    else free[assignments[i]]++;
  }
  const before = (c: number, d: number) => {
    if (weight) {
      const wc = weight[c] / (1 + labeledIn[c]);
      const wd = weight[d] / (1 + labeledIn[d]);
      if (wc !== wd) return wc > wd;
    } else if (labeledIn[c] !== labeledIn[d]) return labeledIn[c] < labeledIn[d];
    return members[c].length > members[d].length;
  };
  const taken = new Uint8Array(labels.length);
  const scores = new Map<number, Float64Array>();
  const picked: number[] = [];
  while (picked.length < k) {
    // Clusters that still have an unlabeled, unpicked member; big-enough ones first, small ones as a last resort.
    let best = -1;
    for (const minSize of [MIN_CLUSTER_SIZE, 1]) {
      for (let c = 0; c < numClusters; c++) {
        const size = members[c].length;
        if (size < minSize || free[c] === 0) continue;
        if (best < 0 || before(c, best)) best = c;
      }
      if (best >= 0) break;
    }
    if (best < 0) throw new UlearnError('typicality: no unlabeled samples left in any cluster', { code: 'E_POOL_EXHAUSTED' });
    let score = scores.get(best);
    if (!score) {
      // kNN inside the cluster, labeled members included: they shape the density just as much.
      score = typicality(gatherRows(embeddings, dim, members[best]), dim, Math.max(1, Math.min(neighbors, Math.floor(members[best].length / 2))));
      scores.set(best, score);
    }
    let pick = -1;
    let pickScore = -Infinity;
    members[best].forEach((i, m) => {
      if (labels[i] === -1 && !taken[i] && score[m] > pickScore) {
        pick = i;
        pickScore = score[m];
      }
    });
    taken[pick] = 1;
    picked.push(pick);
    labeledIn[best]++;
    free[best]--;
  }
  return picked;
}

/**
 * TypiClust's cluster count for picking k more: one cluster per label so far plus one per new pick (so each
 * pick can land in a cluster no label covers yet), capped at maxClusters, never below k or above the pool.
 */
export function typiclustClusters(ctx: SelectContext, n: number, k: number, maxClusters: number): { labeled: number; clusters: number } {
  let labeled = 0;
  for (let i = 0; i < n; i++) if (ctx.labels[i] !== -1) labeled++;
  return { labeled, clusters: Math.min(n, Math.max(k, Math.min(labeled + k, maxClusters))) };
}

export function typicalityStrategy(opts: StrategyOptions = {}): Strategy {
  const neighbors = opts.neighbors ?? 20;
  const maxClusters = opts.maxClusters ?? 500;
  return {
    name: 'typicality',
    select(ctx: SelectContext, k: number): number[] {
      const n = checkContext(ctx, k, 'typicality');
      if (k === 0) return [];
      const { clusters } = typiclustClusters(ctx, n, k, maxClusters);
      const km = kmeans(ctx.embeddings, ctx.dim, clusters, { rng: ctx.rng.fork('typicality-kmeans') });
      return typiclustPick(ctx.embeddings, ctx.dim, ctx.labels, km.assignments, clusters, k, neighbors);
    },
  };
}
