/**
 * Offline self-training (Yarowsky 1995; Lee 2013 in its batch form): train on the labels, predict the
 * unlabeled rows, adopt the confident predictions as labels, train again. For tables, where a whole pass over
 * the pool costs milliseconds, rounds of this are simpler than FixMatch-style online pseudo-labels and need no
 * augmentation (tables have no natural one).
 *
 * The selection is class-balanced: each class adopts at most `perClass` rows, its most confident ones, so a
 * class the model already favours cannot flood the next round (the collapse self-training is known for).
 */
import { UlearnError } from '../errors.js';
import { argmaxRows } from '../eval/metrics.js';

export interface PseudoLabelChoice {
  /** Rows adopted, in `candidates` order. */
  indices: Int32Array;
  /** The predicted class of each adopted row. */
  labels: Int32Array;
}

/**
 * From class probabilities `probs` ([n, nClasses]) over the `candidates` rows, the rows whose top probability
 * is at least `threshold`, at most `perClass` per predicted class (the most confident first).
 */
export function choosePseudoLabels(probs: Float32Array, nClasses: number, candidates: ArrayLike<number>, threshold: number, perClass: number): PseudoLabelChoice {
  if (!(threshold > 0 && threshold <= 1)) throw new UlearnError(`self-training: threshold must be in (0, 1], got ${threshold}`, { code: 'E_CONFIG' });
  if (!Number.isInteger(perClass) || perClass < 0) throw new UlearnError(`self-training: perClass must be a non-negative integer, got ${perClass}`, { code: 'E_CONFIG' });
  const byClass: { row: number; p: number }[][] = Array.from({ length: nClasses }, () => []);
  const predicted = argmaxRows(probs, nClasses);
  for (let j = 0; j < candidates.length; j++) {
    const i = candidates[j];
    const p = probs[i * nClasses + predicted[i]];
    if (p >= threshold) byClass[predicted[i]].push({ row: i, p });
  }
  const chosen = new Map<number, number>();
  byClass.forEach((list, c) => {
    list.sort((a, b) => b.p - a.p || a.row - b.row);
    for (const { row } of list.slice(0, perClass)) chosen.set(row, c);
  });
  const rows = Array.from(candidates).filter((i) => chosen.has(i));
  return { indices: Int32Array.from(rows), labels: Int32Array.from(rows, (i) => chosen.get(i)!) };
}
