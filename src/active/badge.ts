/**
 * BADGE (Ash et al., ICLR 2020): uncertain *and* diverse batches. Each unlabeled sample gets the gradient of
 * the cross-entropy loss w.r.t. the last linear layer, taking the model's own prediction ŷ as the label:
 * g = (p - onehot(ŷ)) ⊗ h, with p the class probabilities and h the embedding. Its norm is large where the
 * model is unsure; k-means++ seeding on the g's then picks samples that are both large and far apart.
 *
 * The g's are n × (C·dim) (154 MB for 60k × 10 × 64), but never materialised: for outer products
 * ⟨a⊗h, b⊗h'⟩ = ⟨a, b⟩⟨h, h'⟩, so every squared distance k-means++ needs comes from the C- and dim-sized
 * factors.
 */
import { checkContext, unlabeledIndices } from './pool.js';
import type { SelectContext, Strategy } from './strategy.js';
import { requireProbs } from './uncertainty.js';

/** The factor a = p - onehot(argmax p) of each row's gradient embedding. */
export function gradientFactors(probs: Float32Array, numClasses: number): Float32Array {
  const a = probs.slice();
  const n = probs.length / numClasses;
  for (let i = 0; i < n; i++) {
    let top = 0;
    for (let c = 1; c < numClasses; c++) if (probs[i * numClasses + c] > probs[i * numClasses + top]) top = c;
    a[i * numClasses + top] -= 1;
  }
  return a;
}

function dot(x: Float32Array, i: number, y: Float32Array, j: number, d: number): number {
  let s = 0;
  for (let t = 0; t < d; t++) s += x[i * d + t] * y[j * d + t];
  return s;
}

export function badgeStrategy(): Strategy {
  return {
    name: 'badge',
    select(ctx: SelectContext, k: number): number[] {
      checkContext(ctx, k, 'badge');
      const probs = requireProbs(ctx, 'badge');
      const { embeddings: h, dim, numClasses: C, rng } = ctx;
      const a = gradientFactors(probs, C);
      const pool = unlabeledIndices(ctx.labels);
      const norm2 = pool.map((i) => dot(a, i, a, i, C) * dot(h, i, h, i, dim));
      const d2 = new Float64Array(pool.length).fill(Infinity);
      const taken = new Uint8Array(pool.length);
      const picked: number[] = [];
      // BADGE's first centre is the largest gradient (the most uncertain sample, weighted by its norm).
      let next = 0;
      for (let p = 1; p < pool.length; p++) if (norm2[p] > norm2[next]) next = p;
      while (picked.length < k) {
        picked.push(pool[next]);
        taken[next] = 1;
        if (picked.length === k) break;
        const c = pool[next];
        const nc = norm2[next];
        let total = 0;
        for (let p = 0; p < pool.length; p++) {
          if (taken[p]) continue;
          const i = pool[p];
          const d = Math.max(0, norm2[p] + nc - 2 * dot(a, i, a, c, C) * dot(h, i, h, c, dim));
          if (d < d2[p]) d2[p] = d;
          total += d2[p];
        }
        next = -1;
        if (total > 0) {
          let r = rng.random() * total;
          for (let p = 0; p < pool.length && next < 0; p++) {
            if (taken[p] || d2[p] <= 0) continue;
            r -= d2[p];
            if (r < 0) next = p;
          }
        }
        if (next < 0) {
          // Every remaining gradient coincides with a centre (or rounding ran off the end): take a random one.
          const rest: number[] = [];
          for (let p = 0; p < pool.length; p++) if (!taken[p]) rest.push(p);
          next = rest[rng.int(rest.length)];
        }
      }
      return picked;
    },
  };
}
