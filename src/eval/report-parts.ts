/**
 * The report's prose and tables: the headline sentence, the methods table and the per-class table.
 */
import { count, esc, pct, signedPoints } from './format.js';
import type { ReportInput, ReportMethod } from './report-input.js';
import { compareWithBaseline, estimateText, undertrained, type Comparison } from './comparison.js';

export interface Highlight {
  /**
   * The method the headline is about: the one the labels chose (its estimate, before any test number), else
   * the most accurate one that is not the baseline.
   */
  best?: ReportMethod;
  baseline?: ReportMethod;
  /** Whether differences from the baseline mean anything (a stage the budget cut before it trained). */
  comparison?: Comparison;
}

export function pickHighlight(input: ReportInput): Highlight {
  const baseline = input.methods.find((m) => m.name === input.baselineName);
  const others = input.methods.filter((m) => m !== baseline && Number.isFinite(m.acc));
  const pool = others.length > 0 ? others : input.methods.filter((m) => Number.isFinite(m.acc));
  const best = input.methods.find((m) => m.chosen) ?? pool.reduce<ReportMethod | undefined>((a, m) => (a === undefined || m.acc > a.acc ? m : a), undefined);
  return { best, baseline: baseline !== best ? baseline : undefined, comparison: compareWithBaseline(input.methods, input.baselineName) };
}

/**
 * Differences are taken between the rounded percentages shown, so the sentence's arithmetic checks out for
 * the reader (81.2 − 65.3 = 15.9 even when the raw values would round the gap to 15.8).
 */
export function pointsBetween(a: number, b: number): number {
  return Number((a * 100).toFixed(1)) - Number((b * 100).toFixed(1));
}

export function labelsText(input: ReportInput): string {
  const total = `${count(input.totalLabels)} label${input.totalLabels === 1 ? '' : 's'}`;
  return input.labelsPerClass === undefined ? total : `${total} (${count(input.labelsPerClass)} per class)`;
}

/** "With 100 labels, SSL + fine-tune reaches 81.2% vs 65.3% supervised-only (+15.9 points)." as HTML. */
export function headlineHtml(input: ReportInput, h: Highlight): string {
  if (!h.best) return 'No evaluation results yet.';
  const chose = h.best.chosen && h.best.estimate ? ` (chosen from the labels: estimated ${esc(estimateText(h.best.estimate))})` : '';
  const intro = `With ${esc(labelsText(input))}, <strong>${esc(h.best.name)}</strong>${chose} reaches <strong>${pct(h.best.acc)}</strong>`;
  if (!h.baseline) return `${intro} test accuracy.`;
  if (h.comparison?.meaningful === false) {
    return `${intro} test accuracy. <span class="delta-down">The comparison with ${esc(h.baseline.name)} is not meaningful: ${esc(h.comparison.reason ?? '')}.</span>`;
  }
  const d = pointsBetween(h.best.acc, h.baseline.acc);
  const cls = d >= 0 ? 'delta-up' : 'delta-down';
  return (
    `${intro} vs ${pct(h.baseline.acc)} ${keepTogether(h.baseline.name)} ` +
    `<span class="${cls}">(${signedPoints(d)} point${Math.abs(d) === 1 ? '' : 's'})</span>.`
  );
}

/** Short names stay on one line ("supervised-only" must not break at its hyphen); long ones may wrap. */
function keepTogether(name: string): string {
  return name.length <= 24 ? `<span class="nw">${esc(name)}</span>` : esc(name);
}

export function methodsTable(input: ReportInput, h: Highlight): string {
  const withNotes = input.methods.some((m) => m.notes || undertrained(m));
  const estimated = input.methods.some((m) => m.estimate);
  const notes = (m: ReportMethod) => [m.notes, undertrained(m) ? `not trained: ${m.steps} optimizer steps` : undefined].filter(Boolean).join('; ');
  const head =
    `<tr><th>Method</th>` +
    (estimated ? '<th class="num" title="from the labels alone, before the final fit: k-fold cross-validation, by default extrapolated along the learning curve to all the labels (± standard error)">Estimated from labels</th>' : '') +
    `<th class="num">Test accuracy</th>` +
    (h.baseline ? `<th class="num">vs ${esc(h.baseline.name)}</th>` : '') +
    (withNotes ? '<th>Notes</th>' : '') +
    '</tr>';
  const rows = input.methods.map((m) => {
    const std = m.accStd !== undefined && Number.isFinite(m.accStd) ? ` ± ${(m.accStd * 100).toFixed(1)}` : '';
    const delta = !h.baseline
      ? ''
      : m === h.baseline
        ? '<td class="num missing">baseline</td>'
        : h.comparison?.meaningful === false
          ? '<td class="num missing" title="not meaningful: a method trained too few steps">n/m</td>'
          : `<td class="num">${signedPoints(pointsBetween(m.acc, h.baseline.acc))}</td>`;
    return (
      `<tr><td${m === h.best ? ' class="best"' : ''}>${esc(m.name)}${m.chosen ? ' <span class="chosen">chosen</span>' : ''}</td>` +
      (estimated ? `<td class="num${m.estimate ? '' : ' missing'}">${m.estimate ? esc(estimateText(m.estimate)) : 'not estimated'}</td>` : '') +
      `<td class="num${m === h.best ? ' best' : ''}">${pct(m.acc)}${std}</td>` +
      delta +
      (withNotes ? `<td class="notes">${esc(notes(m))}</td>` : '') +
      '</tr>'
    );
  });
  return `<div class="scroll table-wrap"><table><thead>${head}</thead><tbody>${rows.join('')}</tbody></table></div>`;
}

/** Recall per class for every method that has it (derived from the confusion matrix when only that is given). */
export function perClassTable(input: ReportInput, counts?: number[]): string {
  const cols = input.methods
    .map((m) => ({ name: m.name, values: m.perClass ?? (m.confusion ? recallFromConfusion(m.confusion) : undefined) }))
    .filter((c): c is { name: string; values: (number | null)[] } => c.values !== undefined);
  if (cols.length === 0 || input.classes.length === 0) return '';
  const head =
    '<tr><th>Class</th>' + (counts ? '<th class="num">Test samples</th>' : '') + cols.map((c) => `<th class="num">${esc(c.name)}</th>`).join('') + '</tr>';
  const rows = input.classes.map((name, i) => {
    const vals = cols.map((c) => c.values[i]);
    const finite = vals.filter((v): v is number => v !== null && Number.isFinite(v));
    const top = finite.length > 1 ? Math.max(...finite) : undefined;
    const cells = vals.map((v) => {
      if (v === null || !Number.isFinite(v)) return '<td class="num missing" title="no test samples of this class">—</td>';
      // The cell's background bar is its value, drawn by CSS from --w.
      const w = `${(Math.min(1, Math.max(0, v)) * 100).toFixed(1)}%`;
      return `<td class="num bar${v === top ? ' best' : ''}" style="--w:${w}">${pct(v)}</td>`;
    });
    return `<tr><td class="class-name">${esc(name)}</td>` + (counts ? `<td class="num">${count(counts[i])}</td>` : '') + cells.join('') + '</tr>';
  });
  return `<div class="scroll"><table><thead>${head}</thead><tbody>${rows.join('')}</tbody></table></div>`;
}

function recallFromConfusion(m: number[][]): (number | null)[] {
  return m.map((row, i) => {
    const total = row.reduce((s, v) => s + v, 0);
    return total === 0 ? null : row[i] / total;
  });
}
