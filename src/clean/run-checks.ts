/**
 * The one check loop under `ulearn clean`, for images and tables: runs the chosen checks in registration
 * order, each seeing the results before it; a check not started when the budget runs out is reported as
 * skipped (unless it is `always`: cheap and needed for a correct manifest); a result of the wrong shape is an
 * error naming the check.
 */
import { UlearnError } from '../errors.js';
import { skippedResult, type BaseCheckContext, type Check, type CheckResult } from './types.js';

export interface RunChecksOptions {
  /** Samples (images or rows): every result has one score and one flag for each. */
  count: number;
  /** Check names to run (default: all given). */
  only?: string[];
  /** Seconds per check are added here. */
  timings: Record<string, number>;
  /**
   * Seconds spent so far in work the checks share (the kNN graph, the embedding): timed on its own, not
   * charged to the check that asked for it first.
   */
  sharedSeconds?: () => number;
  /** Called after each check (memory sampling). */
  after?: () => void;
}

export async function runChecks<C extends BaseCheckContext>(checks: Check<C>[], ctx: C, o: RunChecksOptions): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const check of checks) {
    if (o.only && !o.only.includes(check.name)) continue;
    const t = performance.now();
    const shared0 = o.sharedSeconds?.() ?? 0;
    let r: CheckResult;
    if (ctx.budget.exceeded() && !check.always) {
      r = skippedResult(check.name, 'not run', o.count, 'budget exhausted before this check');
    } else {
      r = await check.run(ctx);
      if (r.name !== check.name || r.scores.length !== o.count || r.flags.length !== o.count) {
        throw new UlearnError(`clean check '${check.name}' returned '${r.name}' with ${r.scores.length} scores and ${r.flags.length} flags for ${o.count} samples`, {
          code: 'E_CHECK',
          hint: 'a check returns one score and one flag per sample, under its own name',
        });
      }
    }
    ctx.results.set(r.name, r);
    results.push(r);
    o.timings[check.name] = (performance.now() - t) / 1000 - ((o.sharedSeconds?.() ?? 0) - shared0);
    o.after?.();
    ctx.log(`clean: ${r.name}: ${r.skipped ? `skipped (${r.skipped})` : `${String(r.summary.flagged ?? 0)} flagged`} (${o.timings[check.name].toFixed(1)} s)`);
  }
  return results;
}
