/**
 * Likely label errors among the labeled samples: out-of-sample class probabilities from a kNN vote over the
 * shared neighbour graph (a sample is never its own neighbour, so every prediction is out-of-sample, which
 * is what K-fold cross-validation buys a parametric model), then confident learning. A flagged sample keeps
 * its image but loses its label in the manifest: the picture is fine, the label is doubtful.
 */
import { confidentLearning } from '../confident-learning.js';
import type { NeighbourGraph } from '../neighbours.js';
import { skippedResult, type Check, type CheckResult, type ImageSamples } from '../types.js';
import { argmaxRows } from '../../eval/metrics.js';

/** Fewer labeled neighbours than this and the vote says too little to accuse a label. */
const MIN_VOTES = 3;
/** Additive smoothing per class, so no probability is exactly 0. */
const ALPHA = 0.1;

export const labelErrorCheck: Check = {
  name: 'label_error',
  run: (ctx) => labelErrorResult(ctx.samples, ctx.neighbours),
};

/** The label-error result from the labels and the shared neighbour graph (images and audio alike). */
export async function labelErrorResult(s: Pick<ImageSamples, 'ids' | 'y' | 'classes'>, neighbours: () => Promise<NeighbourGraph>): Promise<CheckResult> {
  // An unlabeled folder has no labels to doubt (and no classes to vote over).
  if (s.classes.length === 0 || !s.y.some((v) => v >= 0)) {
    return skippedResult('label_error', 'the given label disagrees with a confident kNN vote (confident learning)', s.ids.length, 'no labeled samples');
  }
  const g = await neighbours();
  const n = s.ids.length;
  const C = s.classes.length;
  const probs = new Float32Array(n * C);
  const labels = new Int32Array(n).fill(-1);
  let labeled = 0;
  let tooFew = 0;
  for (let i = 0; i < n; i++) {
    if (s.y[i] < 0 || !g.usable[i]) continue;
    labeled++;
    let votes = 0;
    for (let j = 0; j < g.k; j++) {
      const nb = g.indices[i * g.k + j];
      if (nb < 0 || s.y[nb] < 0) continue;
      probs[i * C + s.y[nb]] += 1;
      votes++;
    }
    if (votes < MIN_VOTES) {
      tooFew++;
      continue;
    }
    for (let c = 0; c < C; c++) probs[i * C + c] = (probs[i * C + c] + ALPHA) / (votes + C * ALPHA);
    labels[i] = s.y[i];
  }
  const cl = confidentLearning(probs, labels, C);
  const scores = new Float32Array(n).fill(NaN);
  let flagged = 0;
  for (let i = 0; i < n; i++) {
    if (labels[i] < 0) continue;
    scores[i] = 1 - cl.selfConfidence[i];
    flagged += cl.issues[i];
  }
  // Out-of-sample accuracy of the vote: how much to trust the flags.
  let correct = 0;
  let scored = 0;
  const predicted = argmaxRows(probs, C);
  for (let i = 0; i < n; i++) {
    if (labels[i] < 0) continue;
    scored++;
    if (predicted[i] === labels[i]) correct++;
  }
  return {
    name: 'label_error',
    description: `the given label disagrees with the confident out-of-sample prediction of a ${g.k}-NN vote (confident learning)`,
    scores,
    flags: cl.issues,
    action: 'unlabel',
    reason: (i) => `label_error: labeled '${s.classes[s.y[i]]}', neighbours say '${s.classes[cl.suggested[i]]}' (p(label) = ${cl.selfConfidence[i].toFixed(2)})`,
    details: (i) => ({ label: s.classes[s.y[i]], suggested: s.classes[cl.suggested[i]], p_label: round(cl.selfConfidence[i]) }),
    summary: {
      flagged,
      labeled,
      scored,
      skipped_too_few_labeled_neighbours: tooFew,
      vote_accuracy: scored > 0 ? correct / scored : null,
      thresholds: Object.fromEntries(s.classes.map((c, k) => [c, Number.isFinite(cl.thresholds[k]) ? cl.thresholds[k] : null])),
      confident_joint: cl.joint,
    },
  };
}

const round = (v: number) => Math.round(v * 1000) / 1000;
