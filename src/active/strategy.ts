/**
 * Active learning: which unlabeled samples to ask a person about next. A `Strategy` looks at the embeddings
 * of the whole pool, the labels given so far and (optionally) a light model's class probabilities, and
 * returns a batch of k distinct unlabeled indices, most wanted first.
 *
 * Batch mode because people label in batches and the light model is retrained after each one (every K new
 * labels in the web app's background worker), not after every answer. Strategies are synchronous and
 * deterministic for a given `rng` seed, so a benchmark or a resumed labeling session can replay them.
 *
 * The registry below is the one place the web app, the CLI and the benchmark get strategies from.
 */
import { UlearnError } from '../errors.js';
import type { Rng } from '../engine/seed.js';
import { badgeStrategy } from './badge.js';
import { coresetStrategy } from './coreset.js';
import { hybridStrategy } from './hybrid.js';
import { randomStrategy } from './random.js';
import { typicalityStrategy } from './typicality.js';
import { uncertaintyStrategy } from './uncertainty.js';

export interface SelectContext {
  /** n × dim, row-major; one row per pool sample (L2-normalised SSL features work best). */
  embeddings: Float32Array;
  dim: number;
  /** One per pool sample: class index, or -1 = unlabeled. */
  labels: Int32Array;
  numClasses: number;
  /** n × numClasses class probabilities from the light model; uncertainty-based strategies need them. */
  probs?: Float32Array;
  rng: Rng;
}

export interface Strategy {
  name: string;
  /** k distinct indices of unlabeled samples, in the order they should be shown. */
  select(ctx: SelectContext, k: number): number[];
}

/** Options a strategy can take; each strategy reads only its own and ignores the rest. */
export interface StrategyOptions {
  /** uncertainty: which score ranks the samples. */
  measure?: 'entropy' | 'margin' | 'least-confidence';
  /** typicality: neighbours in the typicality score (TypiClust uses 20). */
  neighbors?: number;
  /** typicality: at most this many k-means clusters (TypiClust caps at 500). */
  maxClusters?: number;
  /** hybrid: use the cold-start strategy while fewer than this many samples are labeled (default 2 per class). */
  coldStartLabels?: number;
}

export const STRATEGIES = [
  'random',
  'entropy',
  'margin',
  'least-confidence',
  'coreset',
  'typicality',
  'badge',
  'hybrid',
] as const;
export type StrategyName = (typeof STRATEGIES)[number];

/** One line per strategy, for `--help` texts and the web app's strategy menu. */
export const STRATEGY_DESCRIPTIONS: Record<StrategyName, string> = {
  random: 'uniform random unlabeled samples (the baseline every other strategy must beat)',
  entropy: 'highest entropy of the light model\'s class probabilities',
  margin: 'smallest gap between the light model\'s top two class probabilities',
  'least-confidence': 'lowest top class probability of the light model',
  coreset: 'k-center greedy: each pick is the sample farthest from everything labeled or picked (Sener & Savarese 2018)',
  typicality: 'TypiClust: k-means into labeled+k clusters, the most typical sample of the least-covered clusters (cold start)',
  badge: 'BADGE: k-means++ seeding on the light model\'s gradient embeddings (uncertain and diverse)',
  hybrid: 'TypiClust while labels are few (< 2 per class), then the most typical samples of the clusters the light model is least sure about',
};

export function isStrategyName(name: string): name is StrategyName {
  return (STRATEGIES as readonly string[]).includes(name);
}

/** `uncertainty` is accepted as a name too: margin, or `opts.measure`. */
export function createStrategy(name: string, opts: StrategyOptions = {}): Strategy {
  if (name === 'uncertainty') return uncertaintyStrategy(opts.measure ?? 'margin');
  if (!isStrategyName(name)) {
    throw new UlearnError(`unknown active-learning strategy '${name}'`, { code: 'E_ARG', hint: `one of: ${STRATEGIES.join(', ')}, uncertainty` });
  }
  switch (name) {
    case 'random':
      return randomStrategy();
    case 'entropy':
    case 'margin':
    case 'least-confidence':
      return uncertaintyStrategy(name);
    case 'coreset':
      return coresetStrategy();
    case 'typicality':
      return typicalityStrategy(opts);
    case 'badge':
      return badgeStrategy();
    case 'hybrid':
      return hybridStrategy(opts);
  }
}
