/**
 * Training with generated samples: which of them to trust, how many to add, and the fit itself.
 *
 * Samples from a generator trained on the same few labels often carry the wrong class (a conditional
 * generator's class is a request, not a guarantee; an SSVAE's pseudo-labels are guesses), and wrong labels
 * hurt more than missing ones. So a sample may first have to pass a filter:
 * - `classifier`: the classifier the same method trains on the real labels alone predicts the sample's label;
 * - `knn`: the majority class of its nearest real labeled samples in the SSL encoder's feature space
 *   (cosine, src/neighbors) is the sample's label;
 * - `none`: every sample passes.
 * Then `ratio` generated samples per real label are drawn class-balanced (seeded) from those that passed, and
 * `fitMethod` trains on real + drawn samples (its `generated` input: the one place the labeled set is
 * assembled), so every method ulearn trains can use them.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { gatherRows } from '../data/dataset.js';
import { UlearnError } from '../errors.js';
import { argmaxRows } from '../eval/metrics.js';
import { encode } from '../models/encode.js';
import { loadEncoder } from '../models/load-encoder.js';
import { searchKnn } from '../neighbors/knn.js';
import { fitMethod, type FitInput, type FitOutput } from '../semi/fit.js';
import { predictProba } from '../train/fit-classifier.js';
import { countPerClass, drawBalanced, type GeneratedSet } from './generated-folder.js';

export const GENERATED_FILTERS = ['none', 'classifier', 'knn'] as const;
export type GeneratedFilter = (typeof GENERATED_FILTERS)[number];

/** Generated samples per real labeled sample when not given: as many generated as real labels. */
export const DEFAULT_GENERATED_RATIO = 1;
/** Neighbours voting in the `knn` filter (at most the number of real labels). */
export const DEFAULT_FILTER_K = 10;

export interface GeneratedOptions {
  set: GeneratedSet;
  /** Generated samples added per real labeled sample (> 0). Default 1. */
  ratio?: number;
  filter?: GeneratedFilter;
  /** The SSL encoder whose features the `knn` filter votes in; default: the fit's `pretrained` encoder. */
  knnEncoder?: string | tfl.LayersModel;
  k?: number;
}

/** What was done with the generated samples, per class (in the data's class order), for logs, model.json and the report. */
export interface GeneratedUse {
  model: string;
  folder: string;
  filter: GeneratedFilter;
  ratio: number;
  /** Samples in the folder, that passed the filter, and drawn into training, per class. */
  available: number[];
  kept: number[];
  used: number[];
}

export function checkRatio(r: number, name = 'generated ratio'): number {
  if (!(Number.isFinite(r) && r > 0)) throw new UlearnError(`${name} must be a number > 0 (generated samples per real label), got ${r}`, { code: 'E_ARG' });
  return r;
}

/** Indices (into `labels`) whose predicted class equals their label. */
export function agreeing(labels: ArrayLike<number>, predicted: ArrayLike<number>): Int32Array {
  const out: number[] = [];
  for (let i = 0; i < labels.length; i++) if (labels[i] === predicted[i]) out.push(i);
  return Int32Array.from(out);
}

/**
 * Majority class of each query's k nearest reference rows (cosine distance); a tie goes to the tied class
 * whose nearest member is closest, so the vote never depends on class order.
 */
export function knnVote(ref: Float32Array, refY: ArrayLike<number>, queries: Float32Array, dim: number, nClasses: number, k: number): Int32Array {
  const kk = Math.min(k, ref.length / dim);
  const r = searchKnn(ref, queries, dim, kk, { metric: 'cosine', mode: 'exact' });
  const out = new Int32Array(r.n);
  const votes = new Array<number>(nClasses);
  for (let q = 0; q < r.n; q++) {
    votes.fill(0);
    for (let j = 0; j < kk; j++) {
      const idx = r.indices[q * kk + j];
      if (idx >= 0) votes[refY[idx]]++;
    }
    const top = Math.max(...votes);
    // Neighbours come nearest first: the first one of a top class decides ties.
    let winner = -1;
    for (let j = 0; j < kk && winner < 0; j++) {
      const idx = r.indices[q * kk + j];
      if (idx >= 0 && votes[refY[idx]] === top) winner = refY[idx];
    }
    out[q] = winner;
  }
  return out;
}

/** Checks what can be checked before any training: the ratio, the filter, and that `knn` has an encoder. */
export function checkGeneratedOptions(o: Pick<GeneratedOptions, 'ratio' | 'filter' | 'knnEncoder'>, pretrained: FitInput['pretrained']): void {
  checkRatio(o.ratio ?? DEFAULT_GENERATED_RATIO);
  const f = o.filter ?? 'none';
  if (!(GENERATED_FILTERS as readonly string[]).includes(f)) throw new UlearnError(`unknown generated-sample filter '${f}'`, { code: 'E_ARG', hint: `choose one of: ${GENERATED_FILTERS.join(', ')}` });
  if (f === 'knn' && !o.knnEncoder && !pretrained) {
    throw new UlearnError("the 'knn' filter votes in an SSL encoder's feature space and there is none", { code: 'E_ARG', hint: 'pass --generated-encoder (or --encoder) <run dir, checkpoint or model folder>, or use --generated-filter classifier' });
  }
  if (f === 'classifier' && typeof pretrained === 'object') {
    // The filter's classifier would train the caller's encoder in place before the real fit starts from it.
    throw new UlearnError("the 'classifier' filter needs the pretrained encoder as a path (it trains a first classifier from it)", { code: 'E_ARG' });
  }
}

/**
 * Filters, draws and fits: `fitMethod` on the real labels plus the generated samples chosen. The `classifier`
 * filter trains a first classifier on the real labels with half of the budget; the final fit gets the rest.
 */
export async function fitWithGenerated(input: FitInput, o: GeneratedOptions): Promise<FitOutput & { generated: GeneratedUse }> {
  checkGeneratedOptions(o, input.pretrained);
  const { set } = o;
  const filter = o.filter ?? 'none';
  const ratio = o.ratio ?? DEFAULT_GENERATED_RATIO;
  const log = input.log ?? (() => {});
  const K = input.train.classes.length;
  const shape = input.train.inputShape as [number, number, number];
  let candidates: Int32Array = Int32Array.from({ length: set.size }, (_, i) => i);
  if (filter === 'classifier') {
    const first = await fitMethod({ ...input, generated: undefined, budget: input.budget.child(0.5), log: (l) => log(`filter: ${l}`) });
    try {
      candidates = agreeing(set.y, argmaxRows(predictProba(first.encoder, first.head, set.x, shape), K));
    } finally {
      first.head.dispose();
      if (typeof input.pretrained !== 'object') first.encoder.dispose();
    }
  } else if (filter === 'knn') {
    const source = o.knnEncoder ?? input.pretrained!;
    const encoder = typeof source === 'object' ? source : (await loadEncoder(source, { inputShape: shape })).encoder;
    try {
      const per = shape[0] * shape[1] * shape[2];
      const real = encode(encoder, gatherRows(input.train.x, per, input.labeled), shape);
      const gen = encode(encoder, set.x, shape, { progress: 'encode generated' });
      const dim = real.length / input.labeled.length;
      const predicted = knnVote(real, Int32Array.from(input.labeled, (i) => input.y[i]), gen, dim, K, o.k ?? DEFAULT_FILTER_K);
      candidates = agreeing(set.y, predicted);
    } finally {
      if (typeof source !== 'object') encoder.dispose();
    }
  }
  const used = drawBalanced(set.y, candidates, K, Math.round(ratio * input.labeled.length), input.seed);
  const use: GeneratedUse = {
    model: set.manifest.model,
    folder: set.dir,
    filter,
    ratio,
    available: countPerClass(set.y, K),
    kept: countPerClass(set.y, K, candidates),
    used: countPerClass(set.y, K, used),
  };
  for (const line of describeGeneratedUse(use, input.train.classes)) log(line);
  if (used.length === 0) log('generated: no sample passed the filter; training on the real labels alone');
  const per = shape[0] * shape[1] * shape[2];
  const fit = await fitMethod({
    ...input,
    generated: { x: gatherRows(set.x, per, used), y: Int32Array.from(used, (i) => set.y[i]), ids: Array.from(used, (i) => set.files[i]) },
  });
  return { ...fit, info: { ...fit.info, generated: use }, generated: use };
}

/** The lines `ulearn train` prints: what was kept per class, and what was used. */
export function describeGeneratedUse(u: GeneratedUse, classes: string[]): string[] {
  const sum = (a: number[]) => a.reduce((s, v) => s + v, 0);
  const lines = [`generated: ${sum(u.available)} ${u.model} samples in ${u.folder}`];
  if (u.filter !== 'none') lines.push(`generated: the ${u.filter} filter kept ${sum(u.kept)} of ${sum(u.available)}: ${classes.map((c, i) => `${c} ${u.kept[i]}/${u.available[i]}`).join(', ')}`);
  lines.push(`generated: ${sum(u.used)} added to the labeled set (ratio ${u.ratio}, class-balanced): ${classes.map((c, i) => `${c} ${u.used[i]}`).join(', ')}`);
  return lines;
}
