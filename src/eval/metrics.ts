/**
 * Classification metrics for evaluation and reports.
 *
 * Conventions shared by every function here:
 * - a true label of -1 (any negative) means "unlabeled" and the sample is skipped, so callers can pass a
 *   whole split including its unlabeled part;
 * - results are NaN-free: a class with no samples gets `null` (JSON keeps null, it turns NaN into null
 *   anyway, and a report must be able to tell "no samples" from "0%");
 * - matrices are plain `number[][]` so they go straight into results.json.
 */
import { UlearnError } from '../errors.js';

function checkPair(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): void {
  if (yTrue.length !== yPred.length) {
    throw new UlearnError(`yTrue has ${yTrue.length} labels but yPred has ${yPred.length} predictions`, {
      code: 'E_METRIC_SHAPE',
    });
  }
}

function checkClasses(nClasses: number): void {
  if (!Number.isInteger(nClasses) || nClasses < 1) {
    throw new UlearnError(`nClasses must be a positive integer, got ${nClasses}`, { code: 'E_METRIC_SHAPE' });
  }
}

/** Fraction of labeled samples (yTrue ≥ 0) predicted correctly; throws when nothing is labeled (no honest value). */
export function accuracy(yTrue: Int32Array, yPred: Int32Array): number {
  checkPair(yTrue, yPred);
  let n = 0;
  let correct = 0;
  for (let i = 0; i < yTrue.length; i++) {
    if (yTrue[i] < 0) continue;
    n++;
    if (yTrue[i] === yPred[i]) correct++;
  }
  if (n === 0) throw new UlearnError('accuracy of zero labeled samples is undefined', { code: 'E_METRIC_EMPTY' });
  return correct / n;
}

/**
 * counts[t][p] = how many labeled samples of true class t were predicted as p (rows true, columns predicted).
 * Out-of-range labels or predictions throw: silently dropping them would inflate accuracy.
 */
export function confusionMatrix(yTrue: Int32Array, yPred: Int32Array, nClasses: number): number[][] {
  checkPair(yTrue, yPred);
  checkClasses(nClasses);
  const m = Array.from({ length: nClasses }, () => new Array<number>(nClasses).fill(0));
  for (let i = 0; i < yTrue.length; i++) {
    const t = yTrue[i];
    if (t < 0) continue;
    const p = yPred[i];
    if (t >= nClasses || p < 0 || p >= nClasses) {
      throw new UlearnError(`sample ${i}: label ${t} / prediction ${p} outside 0..${nClasses - 1}`, {
        code: 'E_METRIC_RANGE',
      });
    }
    m[t][p]++;
  }
  return m;
}

/** Recall per class (correct / samples of that class); null for a class with no labeled samples. */
export function perClassAccuracy(yTrue: Int32Array, yPred: Int32Array, nClasses: number): (number | null)[] {
  return confusionMatrix(yTrue, yPred, nClasses).map((row, c) => {
    const total = row.reduce((s, v) => s + v, 0);
    return total === 0 ? null : row[c] / total;
  });
}

/** Per-row argmax of a row-major [n, nClasses] matrix; ties go to the lowest index, NaN never wins. */
export function argmaxRows(probs: Float32Array, nClasses: number): Int32Array {
  checkClasses(nClasses);
  if (probs.length % nClasses !== 0) {
    throw new UlearnError(`${probs.length} values do not split into rows of ${nClasses}`, { code: 'E_METRIC_SHAPE' });
  }
  const n = probs.length / nClasses;
  const out = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    const base = r * nClasses;
    let best = 0;
    let bestV = -Infinity;
    for (let c = 0; c < nClasses; c++) {
      const v = probs[base + c];
      if (v > bestV) {
        bestV = v;
        best = c;
      }
    }
    out[r] = best;
  }
  return out;
}

/** Mean and sample standard deviation (n-1 denominator, as reported across seeds); std 0 for one value. */
export function meanStd(values: number[]): { mean: number; std: number } {
  if (values.length === 0) throw new UlearnError('meanStd of no values is undefined', { code: 'E_METRIC_EMPTY' });
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  if (values.length === 1) return { mean, std: 0 };
  const ss = values.reduce((s, v) => s + (v - mean) ** 2, 0);
  return { mean, std: Math.sqrt(ss / (values.length - 1)) };
}
