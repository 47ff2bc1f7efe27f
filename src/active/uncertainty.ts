/**
 * Uncertainty sampling (Lewis & Gale 1994; Settles 2009): ask about the samples the light model is least sure
 * of. Three classic scores of one probability row p (sorted p1 ≥ p2 ≥ …), each oriented so that larger means
 * more uncertain:
 * - entropy: -Σ p log p
 * - margin: -(p1 - p2) (a small gap between the top two classes)
 * - least-confidence: 1 - p1
 * Batch mode takes the top k. That ignores redundancy inside a batch (badge and hybrid address it), but it is
 * the standard baseline and cheap.
 */
import { UlearnError } from '../errors.js';
import { checkContext, unlabeledIndices } from './pool.js';
import type { SelectContext, Strategy } from './strategy.js';

export type UncertaintyMeasure = 'entropy' | 'margin' | 'least-confidence';

/** Uncertainty of each probability row (n × numClasses); larger = less sure. */
export function uncertaintyScores(probs: Float32Array, numClasses: number, measure: UncertaintyMeasure): Float64Array {
  const n = probs.length / numClasses;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const o = i * numClasses;
    if (measure === 'entropy') {
      let h = 0;
      for (let c = 0; c < numClasses; c++) {
        const p = probs[o + c];
        if (p > 0) h -= p * Math.log(p);
      }
      out[i] = h;
    } else {
      let p1 = -Infinity;
      let p2 = -Infinity;
      for (let c = 0; c < numClasses; c++) {
        const p = probs[o + c];
        if (p > p1) {
          p2 = p1;
          p1 = p;
        } else if (p > p2) p2 = p;
      }
      out[i] = measure === 'margin' ? -(p1 - p2) : 1 - p1;
    }
  }
  return out;
}

export function requireProbs(ctx: SelectContext, strategy: string): Float32Array {
  if (!ctx.probs) {
    throw new UlearnError(`active learning (${strategy}): needs the light model's class probabilities (ctx.probs), and none were given`, {
      code: 'E_ACTIVE_NO_PROBS',
      hint: 'train a light model on the labels so far first, or start with a cold-start strategy (typicality, coreset, random)',
    });
  }
  return ctx.probs;
}

/** The k highest-scoring indices of `candidates`; ties (e.g. uniform rows) broken by a seeded shuffle. */
export function topK(candidates: number[], score: ArrayLike<number>, k: number, rng: SelectContext['rng']): number[] {
  const order = rng.shuffle(candidates.slice());
  const rank = new Int32Array(score.length);
  order.forEach((idx, r) => (rank[idx] = r));
  order.sort((a, b) => score[b] - score[a] || rank[a] - rank[b]);
  return order.slice(0, k);
}

export function uncertaintyStrategy(measure: UncertaintyMeasure): Strategy {
  return {
    name: measure,
    select(ctx: SelectContext, k: number): number[] {
      checkContext(ctx, k, measure);
      const probs = requireProbs(ctx, measure);
      const scores = uncertaintyScores(probs, ctx.numClasses, measure);
      return topK(unlabeledIndices(ctx.labels), scores, k, ctx.rng);
    },
  };
}
