/** Shape checks and index helpers every strategy shares. */
import { UlearnError } from '../errors.js';
import type { SelectContext } from './strategy.js';

/** Checks shapes once for every strategy; returns the pool size. */
export function checkContext(ctx: SelectContext, k: number, strategy: string): number {
  const { embeddings, dim, labels, numClasses, probs } = ctx;
  const where = `active learning (${strategy})`;
  if (!Number.isInteger(dim) || dim <= 0) throw new UlearnError(`${where}: dim must be a positive integer, got ${dim}`, { code: 'E_ARG' });
  if (embeddings.length % dim !== 0) {
    throw new UlearnError(`${where}: embeddings have ${embeddings.length} values, not a multiple of dim ${dim}`, { code: 'E_SHAPE' });
  }
  const n = embeddings.length / dim;
  if (labels.length !== n) throw new UlearnError(`${where}: ${n} embedding rows but ${labels.length} labels`, { code: 'E_SHAPE' });
  if (!Number.isInteger(numClasses) || numClasses < 2) {
    throw new UlearnError(`${where}: numClasses must be an integer ≥ 2, got ${numClasses}`, { code: 'E_ARG' });
  }
  let unlabeled = 0;
  for (let i = 0; i < n; i++) {
    const l = labels[i];
    if (l === -1) unlabeled++;
    else if (!(Number.isInteger(l) && l >= 0 && l < numClasses)) {
      throw new UlearnError(`${where}: label of sample ${i} is ${l}; expected -1 (unlabeled) or a class in [0, ${numClasses})`, { code: 'E_LABELS' });
    }
  }
  if (probs !== undefined && probs.length !== n * numClasses) {
    throw new UlearnError(`${where}: probs have ${probs.length} values, expected ${n} × ${numClasses} = ${n * numClasses}`, { code: 'E_SHAPE' });
  }
  if (!Number.isInteger(k) || k < 0) throw new UlearnError(`${where}: k must be a non-negative integer, got ${k}`, { code: 'E_ARG' });
  if (k > unlabeled) {
    throw new UlearnError(`${where}: asked for ${k} samples but only ${unlabeled} of ${n} are unlabeled`, {
      code: 'E_POOL_EXHAUSTED',
      hint: 'ask for fewer samples, or add unlabeled data to the pool',
    });
  }
  return n;
}

export function unlabeledIndices(labels: Int32Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < labels.length; i++) if (labels[i] === -1) out.push(i);
  return out;
}

export function labeledIndices(labels: Int32Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < labels.length; i++) if (labels[i] !== -1) out.push(i);
  return out;
}

