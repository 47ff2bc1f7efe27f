/**
 * Confident learning (Northcutt et al., 2021; what cleanlab's find_label_issues does with
 * filter_by='confident_learning'): from out-of-sample predicted probabilities, a per-class threshold t_c = the
 * mean probability of class c over the samples labeled c. A sample "confidently belongs" to every class whose
 * probability reaches that class's threshold; it counts in the confident joint at (given label, the most
 * probable such class). Off-diagonal entries are the likely label errors, ranked by low self-confidence.
 */

export interface ConfidentLearningResult {
  /** Per sample: 1 = likely label error. */
  issues: Uint8Array;
  /** Per sample: the confidently predicted class (-1 if none reached its threshold or the sample is unlabeled). */
  suggested: Int32Array;
  /** Per sample: probability of the given label (NaN for unlabeled). */
  selfConfidence: Float32Array;
  thresholds: Float64Array;
  /** nClasses x nClasses counts, row = given label, column = confident class. */
  joint: number[][];
}

/** `probs`: n x nClasses row-major out-of-sample probabilities; `labels`: -1 = unlabeled (ignored). */
export function confidentLearning(probs: Float32Array, labels: Int32Array, nClasses: number): ConfidentLearningResult {
  const n = labels.length;
  const sums = new Float64Array(nClasses);
  const counts = new Float64Array(nClasses);
  for (let i = 0; i < n; i++) {
    const y = labels[i];
    if (y < 0) continue;
    sums[y] += probs[i * nClasses + y];
    counts[y]++;
  }
  const thresholds = sums.map((s, c) => (counts[c] > 0 ? s / counts[c] : Infinity));
  const issues = new Uint8Array(n);
  const suggested = new Int32Array(n).fill(-1);
  const selfConfidence = new Float32Array(n).fill(NaN);
  const joint = Array.from({ length: nClasses }, () => new Array<number>(nClasses).fill(0));
  for (let i = 0; i < n; i++) {
    const y = labels[i];
    if (y < 0) continue;
    selfConfidence[i] = probs[i * nClasses + y];
    let best = -1;
    let bestP = -Infinity;
    for (let c = 0; c < nClasses; c++) {
      const p = probs[i * nClasses + c];
      if (p >= thresholds[c] && p > bestP) {
        best = c;
        bestP = p;
      }
    }
    if (best < 0) continue;
    suggested[i] = best;
    joint[y][best]++;
    if (best !== y) issues[i] = 1;
  }
  return { issues, suggested, selfConfidence, thresholds, joint };
}
