/**
 * A wall-clock budget (`--budget 10m`, or `none` for no limit) that stages share: pretraining takes
 * `child(0.7)` of what is left, and fine-tuning then gets whatever pretraining did not use. `undefined` means unlimited, so code paths never
 * branch on "is there a budget".
 */
import { UlearnError } from '../errors.js';
import { formatDuration, parseDuration } from './duration.js';

/** The budget value that sets no wall-clock limit (`--budget none`, `budget: none`). */
export const UNLIMITED = 'none';

export class Budget {
  /** The limit in ms, or undefined for no limit. */
  readonly limitMs: number | undefined;
  private readonly start: number;

  constructor(
    ms: number | undefined,
    private readonly now: () => number = Date.now,
  ) {
    if (ms !== undefined && !(ms >= 0)) throw new UlearnError(`invalid budget ${ms} ms: expected a non-negative number`);
    this.limitMs = ms;
    this.start = now();
  }

  /**
   * From a flag or config value such as '10m'; 'none', '' or undefined mean unlimited: training then stops at
   * its step or epoch caps alone, which is how tests and reproducible runs use it (a wall-clock cap makes the
   * result depend on the machine's load).
   */
  static parse(text: string | undefined, now: () => number = Date.now): Budget {
    const t = text?.trim().toLowerCase();
    return new Budget(t === undefined || t === '' || t === UNLIMITED ? undefined : parseDuration(text!), now);
  }

  get unlimited(): boolean {
    return this.limitMs === undefined;
  }

  elapsedMs(): number {
    return Math.max(0, this.now() - this.start);
  }

  /** Infinity when unlimited; never negative. */
  remainingMs(): number {
    return this.limitMs === undefined ? Infinity : Math.max(0, this.limitMs - this.elapsedMs());
  }

  exceeded(): boolean {
    return this.limitMs !== undefined && this.elapsedMs() >= this.limitMs;
  }

  /** Share of the budget used so far, in [0, 1]; 0 when unlimited (nothing to be a fraction of). */
  fraction(): number {
    if (this.limitMs === undefined) return 0;
    if (this.limitMs === 0) return 1;
    return Math.min(1, this.elapsedMs() / this.limitMs);
  }

  /**
   * A budget for one stage, starting now: a number in (0, 1] is that share of what remains; `{ ms }` is an
   * absolute amount, capped at what remains. (Two forms, not one number, because child(1) would otherwise be
   * ambiguous between "all of it" and "one millisecond".) A child of an unlimited budget given a share is
   * unlimited too.
   */
  child(part: number | { ms: number }): Budget {
    const remaining = this.remainingMs();
    if (typeof part === 'number') {
      if (!(part > 0 && part <= 1)) {
        throw new UlearnError(`invalid budget share ${part}: expected a fraction in (0, 1], or { ms } for an absolute amount`);
      }
      return new Budget(remaining === Infinity ? undefined : remaining * part, this.now);
    }
    if (!(part.ms >= 0)) throw new UlearnError(`invalid budget ${part.ms} ms: expected a non-negative number`);
    return new Budget(Math.min(part.ms, remaining), this.now);
  }

  /** For logs: 'unlimited' or '4m05s of 10m00s left'. */
  toString(): string {
    if (this.limitMs === undefined) return 'unlimited';
    return `${formatDuration(this.remainingMs())} of ${formatDuration(this.limitMs)} left`;
  }
}
