/**
 * `ulearn clean <table.csv|.arff>`: the tabular checks in one streaming pass, then issues.json, a manifest
 * (duplicate rows and rows with most cells missing excluded; ids are file line numbers, as the table loader
 * uses them) and report.html. Like the image path, nothing is written until the pass has finished.
 */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic.js';
import { REPORT_CSS } from '../eval/report-style.js';
import { count, dateText, esc, pct } from '../eval/format.js';
import type { TableOptions } from '../data/table.js';
import { MANIFEST_FORMAT, type Manifest } from '../data/manifest.js';
import { profileTableFile, type TabularReport } from './tabular.js';

export interface TabularCleanOutcome {
  report: TabularReport;
  seconds: number;
  peakRssMb: number;
  paths: { issues: string; manifest: string; report?: string };
}

export async function runTabularClean(path: string, outDir: string, opts: TableOptions & { html?: boolean } = {}): Promise<TabularCleanOutcome> {
  const t0 = performance.now();
  // Rows skipped as unreadable (skipBadRows) are excluded in the manifest like flagged rows, with the reason.
  const unreadable: { line: number; reasons: string[] }[] = [];
  const report = await profileTableFile(path, {
    ...opts,
    onSkip: (p) => {
      unreadable.push({ line: p.line, reasons: [`unreadable row: ${p.message}`] });
      opts.onSkip?.(p);
    },
  });
  const seconds = (performance.now() - t0) / 1000;
  const peakRssMb = (process.resourceUsage().maxRSS * 1024) / 2 ** 20;
  await mkdir(outDir, { recursive: true });
  const created = new Date().toISOString();
  const paths = { issues: join(outDir, 'issues.json'), manifest: join(outDir, 'manifest.json'), report: undefined as string | undefined };
  const { flaggedRows, ...rest } = report;
  await writeJsonAtomic(paths.issues, { created, run: { data: resolve(path), rows: report.rows, seconds, peak_rss_mb: peakRssMb }, ...rest, flagged_rows: flaggedRows.slice(0, 10_000), flagged_rows_total: flaggedRows.length });
  // Only flagged rows are listed: every unlisted row is kept (applyManifest treats unlisted samples as kept).
  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    version: 1,
    created,
    data: { table: resolve(path) },
    counts: { keep: report.rows - flaggedRows.length, exclude: flaggedRows.length + unreadable.length, unlabel: 0 },
    samples: [...flaggedRows, ...unreadable].sort((a, b) => a.line - b.line).map((r) => ({ id: String(r.line), split: '*', action: 'exclude', reasons: r.reasons })),
  };
  await writeJsonAtomic(paths.manifest, manifest);
  if (opts.html !== false) {
    paths.report = join(outDir, 'report.html');
    await writeFileAtomic(paths.report, tabularHtml(report, created));
  }
  return { report, seconds, peakRssMb, paths };
}

function tabularHtml(r: TabularReport, created: string): string {
  const c = r.checks;
  const row = (cells: string[]) => `<tr>${cells.join('')}</tr>`;
  const td = (v: unknown, cls = '') => `<td${cls ? ` class="${cls}"` : ''}>${esc(v)}</td>`;
  const table = (head: string[], rows: string[], empty: string) =>
    rows.length === 0 ? `<p class="empty">${esc(empty)}</p>` : `<div class="scroll"><table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table></div>`;
  const section = (title: string, sub: string, body: string) => `<section class="card"><h2>${esc(title)}</h2><p class="sub">${esc(sub)}</p>${body}</section>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>ulearn clean: ${esc(r.source)}</title><style>${REPORT_CSS}</style></head>
<body><main>
<header><div class="kicker">ulearn clean</div><h1>Data quality: ${esc(r.source)}</h1><dl class="meta">
<div><dt>Rows</dt><dd>${count(r.rows)}</dd></div><div><dt>Columns</dt><dd>${r.columns.length}</dd></div>
<div><dt>Rows excluded</dt><dd>${count(r.flaggedRows.length)}</dd></div><div><dt>Created</dt><dd>${esc(dateText(created))}</dd></div></dl></header>
${section('Columns', 'What each column holds.', table(['Column', 'Present', 'Missing', 'Numbers', 'Distinct text values', 'Min', 'Max'], r.columns.map((col) => row([td(col.name, 'class-name'), td(count(col.present), 'num'), td(count(col.missing), 'num'), td(count(col.numbers), 'num'), td(`${count(col.distinct)}${col.distinct_capped ? '+' : ''}`, 'num'), td(col.min ?? '—', 'num'), td(col.max ?? '—', 'num')])), 'No columns.'))}
${section('Missing values', `Columns with missing cells; rows with more than ${pct(c.missing_values.row_threshold, 0)} of their cells missing are excluded (${count(c.missing_values.rows_flagged)} rows).`, table(['Column', 'Missing', 'Share'], c.missing_values.columns.map((m) => row([td(m.name), td(count(m.missing), 'num'), td(pct(m.share), 'num')])), 'No missing values.'))}
${section('Constant columns', 'At most one distinct value: no information for a model.', c.constant_column.columns.length ? `<p>${c.constant_column.columns.map(esc).join(', ')}</p>` : '<p class="empty">None.</p>')}
${section('Mixed types', 'Columns holding both numbers and text (first text cells shown with line and column).', table(['Column', 'Numbers', 'Text', 'Examples'], c.mixed_types.columns.map((m) => row([td(m.name), td(count(m.numbers), 'num'), td(count(m.non_numbers), 'num'), td(m.examples.map((e) => `line ${e.line}, column ${e.column}: '${e.value}'`).join('; '), 'notes')])), 'None.'))}
${section('High-cardinality categoricals', c.high_cardinality.threshold, table(['Column', 'Distinct', 'Distinct / text cells'], c.high_cardinality.columns.map((h) => row([td(h.name), td(`${count(h.distinct)}${h.capped ? '+' : ''}`, 'num'), td(pct(h.share_of_rows), 'num')])), 'None.'))}
${section('Duplicate rows', `${count(c.duplicate_row.rows_flagged)} rows repeat an earlier row (${count(c.duplicate_row.groups)} distinct rows repeated); the repeats are excluded.`, '')}
${section('Outliers', c.outlier.skipped ? `Not checked: ${c.outlier.skipped}.` : `Isolation forest over ${c.outlier.columns.length} numeric column(s) (${c.outlier.columns.join(', ')}): ${count(c.outlier.rows_flagged)} rows score above ${c.outlier.threshold} (Q3 + 3 IQR of a row sample). Reported only: an unusual row may be a real case; look before you drop it.`, table(['Line', 'Score'], c.outlier.rows.slice(0, 50).map((o) => row([td(o.line, 'num'), td(o.score.toFixed(3), 'num')])), 'None.'))}
<footer>issues.json and manifest.json hold the details.</footer>
</main></body></html>
`;
}
