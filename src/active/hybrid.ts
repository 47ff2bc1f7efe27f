/**
 * Hybrid: typical samples while labels are few, uncertain ones from uncovered regions afterwards.
 * TypiClust wins at tiny budgets and loses to uncertainty later (Hacohen et al. 2022, fig. 1: the "cold
 * start" crossover); this switches at `coldStartLabels` (default 10 per class). After the switch it keeps
 * TypiClust's clusters (|labeled| + k of them, least-covered first), but within a cluster takes the sample
 * with the smallest margin instead of the most typical one, so a batch is uncertain without piling into one
 * confusing region (the idea of Cluster-Margin, Citovsky et al. 2021).
 */
import { kmeans } from './kmeans.js';
import { checkContext } from './pool.js';
import type { SelectContext, Strategy, StrategyOptions } from './strategy.js';
import { typicalityStrategy } from './typicality.js';
import { uncertaintyScores } from './uncertainty.js';

export function hybridStrategy(opts: StrategyOptions = {}): Strategy {
  const cold = typicalityStrategy(opts);
  const maxClusters = opts.maxClusters ?? 500;
  return {
    name: 'hybrid',
    select(ctx: SelectContext, k: number): number[] {
      const n = checkContext(ctx, k, 'hybrid');
      if (k === 0) return [];
      let labeled = 0;
      for (let i = 0; i < n; i++) if (ctx.labels[i] !== -1) labeled++;
      const coldStartLabels = opts.coldStartLabels ?? 10 * ctx.numClasses;
      if (labeled < coldStartLabels || !ctx.probs) return cold.select(ctx, k);

      const clusters = Math.min(n, Math.max(k, Math.min(labeled + k, maxClusters)));
      const km = kmeans(ctx.embeddings, ctx.dim, clusters, { rng: ctx.rng.fork('hybrid-kmeans') });
      const uncertainty = uncertaintyScores(ctx.probs, ctx.numClasses, 'margin');
      const labeledIn = new Int32Array(clusters);
      const size = new Int32Array(clusters);
      // Each cluster's unlabeled members, most uncertain last (so pop() takes the next one).
      const queue: number[][] = Array.from({ length: clusters }, () => []);
      for (let i = 0; i < n; i++) {
        const c = km.assignments[i];
        size[c]++;
        if (ctx.labels[i] !== -1) labeledIn[c]++;
        else queue[c].push(i);
      }
      for (const q of queue) q.sort((a, b) => uncertainty[a] - uncertainty[b] || b - a);
      const picked: number[] = [];
      while (picked.length < k) {
        let best = -1;
        for (let c = 0; c < clusters; c++) {
          if (queue[c].length === 0) continue;
          if (best < 0 || labeledIn[c] < labeledIn[best] || (labeledIn[c] === labeledIn[best] && size[c] > size[best])) best = c;
        }
        picked.push(queue[best].pop()!);
        labeledIn[best]++;
      }
      return picked;
    },
  };
}
