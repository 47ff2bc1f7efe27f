/**
 * Label propagation on embeddings (Zhou et al. 2004, "Learning with local and global consistency"): a kNN graph
 * over all training rows (labeled and unlabeled), symmetric weights W, S = D^-1/2 W D^-1/2, and the iteration
 * F ← alpha S F + (1 - alpha) Y, whose fixed point is (1 - alpha)(I - alpha S)^-1 Y. New rows (a test split)
 * are then classified inductively by a similarity-weighted vote of their k nearest training rows' F, so no
 * test row shapes the graph the training labels spread over.
 */
import { knnGraph, searchKnn, type KnnOptions } from '../neighbors/knn.js';
import { UlearnError } from '../errors.js';

export interface LabelPropagationOptions {
  k?: number;
  /** Weight of the graph against the given labels, in (0, 1). Default 0.99 (the paper's). */
  alpha?: number;
  iterations?: number;
  /**
   * Class mass normalization (Zhu et al. 2003): rescale each class's propagated mass to the class's share of
   * the given labels before reading off labels, so a class whose labeled rows sit in dense parts of the graph
   * does not take over. Default true.
   */
  classMassNormalization?: boolean;
  knn?: Pick<KnnOptions, 'mode' | 'metric'>;
}

export interface LabelPropagation {
  /** Label distribution per training row, [n * nClasses] (rows sum to 1, or 0 where nothing reached). */
  scores: Float32Array;
  /** Class probabilities for new rows [m * nClasses] from their k nearest training rows. */
  predict(queries: Float32Array): Float32Array;
}

/** `y[i]` = class or -1 (unlabeled). `embeddings` is [n * dim]. */
export function propagateLabels(embeddings: Float32Array, dim: number, y: Int32Array, nClasses: number, o: LabelPropagationOptions = {}): LabelPropagation {
  const n = y.length;
  const k = Math.min(o.k ?? 10, n - 1);
  const alpha = o.alpha ?? 0.99;
  if (!(alpha > 0 && alpha < 1)) throw new UlearnError(`label propagation: alpha must be in (0, 1), got ${alpha}`, { code: 'E_CONFIG' });
  if (k < 1) throw new UlearnError('label propagation needs at least 2 rows', { code: 'E_DATA' });
  const metric = o.knn?.metric ?? 'cosine';
  const g = knnGraph(embeddings, dim, k, { mode: o.knn?.mode, metric });
  // Similarities from cosine distances (1 - cos) → max(0, cos); symmetrised as W = max(W, Wᵀ) in adjacency lists.
  const adj: Map<number, number>[] = Array.from({ length: n }, () => new Map());
  const sim = (dist: number) => (metric === 'cosine' ? Math.max(0, 1 - dist) : Math.exp(-dist));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < k; j++) {
      const nb = g.indices[i * k + j];
      if (nb < 0) continue;
      const w = sim(g.distances[i * k + j]);
      if (w <= 0) continue;
      if ((adj[i].get(nb) ?? 0) < w) adj[i].set(nb, w);
      if ((adj[nb].get(i) ?? 0) < w) adj[nb].set(i, w);
    }
  }
  const deg = Float64Array.from(adj, (m) => [...m.values()].reduce((a, b) => a + b, 0));
  const Y = new Float64Array(n * nClasses);
  for (let i = 0; i < n; i++) if (y[i] >= 0) Y[i * nClasses + y[i]] = 1;
  let F = Y.slice();
  for (let it = 0; it < (o.iterations ?? 50); it++) {
    const next = new Float64Array(n * nClasses);
    for (let i = 0; i < n; i++) {
      if (deg[i] === 0) continue;
      for (const [j, w] of adj[i]) {
        const s = w / Math.sqrt(deg[i] * deg[j]);
        for (let c = 0; c < nClasses; c++) next[i * nClasses + c] += alpha * s * F[j * nClasses + c];
      }
    }
    for (let t = 0; t < next.length; t++) next[t] += (1 - alpha) * Y[t];
    F = next;
  }
  if (o.classMassNormalization ?? true) {
    const prior = new Float64Array(nClasses);
    for (let i = 0; i < n; i++) if (y[i] >= 0) prior[y[i]]++;
    for (let c = 0; c < nClasses; c++) {
      let mass = 0;
      for (let i = 0; i < n; i++) mass += F[i * nClasses + c];
      if (mass > 0) for (let i = 0; i < n; i++) F[i * nClasses + c] *= prior[c] / mass;
    }
  }
  const scores = new Float32Array(n * nClasses);
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (let c = 0; c < nClasses; c++) sum += F[i * nClasses + c];
    for (let c = 0; c < nClasses; c++) scores[i * nClasses + c] = sum > 0 ? F[i * nClasses + c] / sum : 0;
  }
  return {
    scores,
    predict(queries) {
      const r = searchKnn(embeddings, queries, dim, k, { mode: o.knn?.mode, metric });
      const out = new Float32Array(r.n * nClasses);
      for (let q = 0; q < r.n; q++) {
        let total = 0;
        for (let j = 0; j < k; j++) {
          const nb = r.indices[q * k + j];
          if (nb < 0) continue;
          const w = sim(r.distances[q * k + j]) + 1e-6;
          for (let c = 0; c < nClasses; c++) out[q * nClasses + c] += w * scores[nb * nClasses + c];
          total += w;
        }
        for (let c = 0; c < nClasses; c++) out[q * nClasses + c] = total > 0 ? out[q * nClasses + c] / total : 1 / nClasses;
      }
      return out;
    },
  };
}
