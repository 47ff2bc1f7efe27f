/**
 * Whether a comparison with the baseline means anything. A stage that the budget cut before it could train
 * (0 epochs: its accuracy is chance) makes "+49 points vs supervised" a statement about the budget, not the
 * method. One rule, used by the CLI table, results.json and the report: a method that took fewer than
 * MIN_TRAIN_STEPS optimizer steps is "not trained", and a comparison involving it is marked not meaningful.
 * Steps, not seconds: the rule must give the same verdict on a fast and a slow machine for the same work.
 */

/** Fewer optimizer steps than this is not training (5 epochs of 100 labels at batch 32 is 20). */
export const MIN_TRAIN_STEPS = 20;

export interface StepsCounted {
  name: string;
  acc: number;
  /** Optimizer steps the method took; undefined where that is not how it trains (a closed-form probe). */
  steps?: number;
  /** Accuracy estimated from the labels alone, before the final fit. */
  estimate?: AccuracyEstimate;
  /** The arm the estimates picked. */
  chosen?: boolean;
}

/** An arm's accuracy estimated by k-fold cross-validation on the labels (src/semi/estimate.ts); fractions in [0, 1]. */
export interface AccuracyEstimate {
  acc: number;
  /** Standard error (binomial; through the extrapolation when `curve`). */
  stderr: number;
  /** 95% interval. */
  low: number;
  high: number;
  folds: number;
  /** Labeled samples it was estimated from. */
  labels: number;
  /** True when the learning curve was extrapolated to all the labels (false or absent: plain cross-validation). */
  curve?: boolean;
  /** Plain cross-validation accuracy, which ranks the arms (src/semi/estimate.ts `chooseArm`); absent: `acc` does. */
  cv?: number;
}

/** "71.0 ± 4.5%": the estimate and its standard error, in percent. */
export function estimateText(e: AccuracyEstimate): string {
  return `${(e.acc * 100).toFixed(1)} ± ${(e.stderr * 100).toFixed(1)}%`;
}

/**
 * The plain statement a run owes its user when, judged from the labels, self-supervised pretraining did not
 * help: no SSL arm's estimate beats the baseline's. Undefined when one does, or when nothing was estimated.
 * Said by the CLI table and the report alike, with what to try next.
 */
export function sslVerdict(methods: StepsCounted[], baselineName: string | undefined): string | undefined {
  const base = methods.find((m) => m.name === baselineName);
  const ssl = methods.filter((m) => m !== base && m.estimate);
  if (!base?.estimate || ssl.length === 0) return undefined;
  // Ranked as chooseArm ranks them: by plain cross-validation where it was recorded.
  const rank = (e: AccuracyEstimate) => e.cv ?? e.acc;
  const best = ssl.reduce((a, m) => (rank(m.estimate!) > rank(a.estimate!) ? m : a));
  if (rank(best.estimate!) > rank(base.estimate)) return undefined;
  const cvText = (e: AccuracyEstimate) => (e.cv === undefined ? estimateText(e) : `${(e.cv * 100).toFixed(1)}%`);
  return (
    `SSL did not help here: no SSL arm is estimated to beat '${base.name}' (cross-validation on the labels: ` +
    `best '${best.name}' ${cvText(best.estimate!)} vs ${cvText(base.estimate)}), so '${base.name}' is the chosen arm. ` +
    'Try: a larger --budget (more pretraining), other augmentations (--augment, e.g. crop=0.5 or flip=off), ' +
    'or an encoder pretrained elsewhere (ulearn train <data> --method finetune --encoder <checkpoint>).'
  );
}

export interface Comparison {
  baseline: string;
  meaningful: boolean;
  /** Why not, in a sentence a user can act on. */
  reason?: string;
}

export function undertrained(m: StepsCounted): boolean {
  return m.steps !== undefined && m.steps < MIN_TRAIN_STEPS;
}

/** Undefined when there is no baseline among `methods`. */
export function compareWithBaseline(methods: StepsCounted[], baselineName: string | undefined): Comparison | undefined {
  const base = methods.find((m) => m.name === baselineName);
  if (!base) return undefined;
  const short = methods.filter(undertrained);
  if (short.length === 0) return { baseline: base.name, meaningful: true };
  const who = short.map((m) => `'${m.name}' trained ${m.steps} optimizer step${m.steps === 1 ? '' : 's'}`).join(', ');
  return {
    baseline: base.name,
    meaningful: false,
    reason: `${who} (fewer than ${MIN_TRAIN_STEPS}): the budget ran out before it could train, so differences from '${base.name}' are not meaningful; give a larger --budget`,
  };
}

/** The CLI's results table: accuracy, the difference to the baseline ("n/m" when not meaningful), steps and time. */
export function formatResultsTable(methods: (StepsCounted & { seconds: number; stoppedByBudget?: boolean })[], baselineName: string): string {
  const estimated = methods.some((m) => m.estimate);
  const base = methods.find((m) => m.name === baselineName);
  const cmp = compareWithBaseline(methods, baselineName);
  const rows = methods.map((m) => {
    let delta = '';
    if (base && m !== base) delta = cmp?.meaningful === false ? 'n/m' : `${m.acc >= base.acc ? '+' : ''}${((m.acc - base.acc) * 100).toFixed(1)}`;
    const name = `${m.name}${undertrained(m) ? ' (not trained)' : ''}${m.chosen ? ' *' : ''}`;
    // "(budget)": the budget ended the arm before its epochs or steps did (its accuracy is a shorter run's).
    const steps = m.steps === undefined ? '' : `${m.steps}${m.stoppedByBudget ? ' (budget)' : ''}`;
    const row = [name, `${(m.acc * 100).toFixed(1)}%`, delta, steps, `${m.seconds.toFixed(0)} s`];
    if (estimated) row.splice(1, 0, m.estimate ? estimateText(m.estimate) : '-');
    return row;
  });
  const header = ['method', 'test accuracy', 'vs supervised', 'steps', 'time'];
  if (estimated) header.splice(1, 0, 'estimated from labels');
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const table = [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
  if (estimated) {
    const e = methods.find((m) => m.estimate)!.estimate!;
    const how = e.curve ? `${e.folds}-fold cross-validation on the ${e.labels} labels, extrapolated along the learning curve to all of them,` : `${e.folds}-fold cross-validation on the ${e.labels} labels`;
    table.push('', `estimated from labels: ${how} before the final fit (± standard error); * = the arm chosen from it`);
  }
  const verdict = sslVerdict(methods, baselineName);
  if (verdict) table.push('', verdict);
  if (cmp?.meaningful === false) table.push('', `warning: n/m = not meaningful: ${cmp.reason}`);
  return table.join('\n');
}
