/**
 * `ulearn clean <table.csv|.arff>`: the registered table checks (clean/registry.ts; the built-ins in
 * checks/table.ts, a user's own next to them) over one loading pass, then issues.json, a manifest (rows a
 * check excludes or unlabels; ids are file line numbers, as the table loader uses them) and report.html. Like
 * the image path (run-clean.ts), it runs the checks through `runChecks` and writes nothing until they finished.
 */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Rng } from '../engine/seed.js';
import { UlearnError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic.js';
import { Budget } from '../util/budget.js';
import { REPORT_CSS } from '../eval/report-style.js';
import { count, dateText, esc, pct } from '../eval/format.js';
import type { TableOptions } from '../data/table.js';
import { writeManifest, type Manifest } from '../data/manifest.js';
import { buildManifest, tableIndex, writeIssues } from './issues.js';
import { checkNames, createChecks } from './registry.js';
import { checksTable, EXTRA_CSS, headline, summaryText } from './report.js';
import { runChecks } from './run-checks.js';
import { loadTableFile, type TableProfile } from './tabular.js';
import type { CheckResult, TableCheckContext, TableSamples } from './types.js';

/** Flagged rows listed per check in issues.json (all are counted; the manifest lists every excluded row). */
const ISSUES_LISTED = 10_000;
/** Flagged rows shown per check in report.html. */
const REPORT_ROWS = 50;

export interface TabularCleanOptions extends TableOptions {
  /** Table check names to run (default: every registered one). */
  checks?: string[];
  budget?: Budget;
  seed?: number;
  log?: (line: string) => void;
  /** Write report.html (default true). */
  html?: boolean;
}

export interface TabularCleanOutcome {
  table: TableSamples;
  profile: TableProfile;
  results: CheckResult[];
  manifest: Manifest;
  timings: Record<string, number>;
  seconds: number;
  peakRssMb: number;
  paths: { issues: string; manifest: string; report?: string };
}

export async function runTabularClean(path: string, outDir: string, opts: TabularCleanOptions = {}): Promise<TabularCleanOutcome> {
  const t0 = performance.now();
  const log = opts.log ?? (() => undefined);
  const known = checkNames('table');
  const unknown = (opts.checks ?? []).filter((c) => !known.includes(c));
  if (unknown.length > 0) throw new UlearnError(`unknown check(s) ${unknown.join(', ')}; known: ${known.join(', ')}`, { code: 'E_ARG' });
  const timings: Record<string, number> = {};
  // Rows skipped as unreadable (skipBadRows) are excluded in the manifest like flagged rows, with the reason.
  const unreadable: { line: number; reason: string }[] = [];
  const { table, profile } = await loadTableFile(path, {
    ...opts,
    onSkip: (p) => {
      unreadable.push({ line: p.line, reason: `unreadable row: ${p.message}` });
      opts.onSkip?.(p);
    },
  });
  timings.load = (performance.now() - t0) / 1000;
  const ctx: TableCheckContext = { table, profile, rng: new Rng(opts.seed ?? 0), budget: opts.budget ?? new Budget(undefined), log, results: new Map() };
  const results = await runChecks(createChecks({}, 'table'), ctx, { count: table.rows, only: opts.checks, timings });
  const seconds = (performance.now() - t0) / 1000;
  const peakRssMb = (process.resourceUsage().maxRSS * 1024) / 2 ** 20;

  await mkdir(outDir, { recursive: true });
  const index = tableIndex(table);
  const manifest = buildManifest(index, results, { table: resolve(path) }, { listKept: false });
  if (unreadable.length > 0) {
    manifest.samples.push(...unreadable.map((u) => ({ id: String(u.line), split: '*', action: 'exclude' as const, reasons: [u.reason] })));
    manifest.samples.sort((a, b) => Number(a.id) - Number(b.id));
    manifest.counts.exclude += unreadable.length;
  }
  const paths = { issues: join(outDir, 'issues.json'), manifest: join(outDir, 'manifest.json'), report: undefined as string | undefined };
  const run = { data: resolve(path), rows: table.rows, unreadable_rows: unreadable.length, manifest: manifest.counts, seconds, peak_rss_mb: peakRssMb, timings };
  await writeIssues(paths.issues, index, results, { created: manifest.created, run, columns: profile.columns }, { maxListed: ISSUES_LISTED });
  await writeManifest(manifest, paths.manifest);
  if (opts.html !== false) {
    paths.report = join(outDir, 'report.html');
    await writeFileAtomic(paths.report, tableReport(table, profile, results, manifest));
  }
  return { table, profile, results, manifest, timings, seconds, peakRssMb, paths };
}

type Summary<T> = T & Record<string, unknown>;

function tableReport(t: TableSamples, p: TableProfile, results: CheckResult[], manifest: Manifest): string {
  const row = (cells: string[]) => `<tr>${cells.join('')}</tr>`;
  const td = (v: unknown, cls = '') => `<td${cls ? ` class="${cls}"` : ''}>${esc(v)}</td>`;
  const table = (head: string[], rows: string[], empty: string) =>
    rows.length === 0 ? `<p class="empty">${esc(empty)}</p>` : `<div class="scroll"><table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table></div>`;
  const section = (id: string, title: string, sub: string, body: string) => `<section class="card" id="${esc(id)}"><h2>${esc(title)}</h2><p class="sub">${esc(sub)}</p>${body}</section>`;
  const flaggedRows = (r: CheckResult) => {
    const flagged: number[] = [];
    for (let i = 0; i < r.flags.length; i++) if (r.flags[i]) flagged.push(i);
    flagged.sort((a, b) => (Number.isNaN(r.scores[b]) ? -1 : r.scores[b]) - (Number.isNaN(r.scores[a]) ? -1 : r.scores[a]) || a - b);
    const rows = flagged.slice(0, REPORT_ROWS).map((i) => row([td(t.lines[i], 'num'), td(Number.isFinite(r.scores[i]) ? r.scores[i].toFixed(3) : '—', 'num'), td(r.reason ? r.reason(i) : r.name, 'notes')]));
    const more = flagged.length > REPORT_ROWS ? `<p class="sub">Showing the ${REPORT_ROWS} highest-scoring of ${count(flagged.length)}; issues.json lists more.</p>` : '';
    return table(['Line', 'Score', 'Reason'], rows, 'Nothing flagged.') + more;
  };
  // ulearn's own checks get a view of their findings; any other check (yours) its flagged rows.
  const views: Record<string, (r: CheckResult) => string> = {
    missing_values: (r) => {
      const s = r.summary as Summary<{ columns: { name: string; missing: number; share: number }[]; row_threshold: number }>;
      return section(r.name, 'Missing values', `Columns with missing cells; rows with more than ${pct(s.row_threshold, 0)} of their cells missing are excluded (${count(Number(s.flagged))} rows).`, table(['Column', 'Missing', 'Share'], s.columns.map((m) => row([td(m.name), td(count(m.missing), 'num'), td(pct(m.share), 'num')])), 'No missing values.'));
    },
    constant_column: (r) => {
      const cols = r.summary.columns as string[];
      return section(r.name, 'Constant columns', 'At most one distinct value: no information for a model.', cols.length ? `<p>${cols.map(esc).join(', ')}</p>` : '<p class="empty">None.</p>');
    },
    mixed_types: (r) => {
      const cols = r.summary.columns as { name: string; numbers: number; non_numbers: number; examples: { line: number; column: number; value: string }[] }[];
      return section(r.name, 'Mixed types', 'Columns holding both numbers and text (first text cells shown with line and column).', table(['Column', 'Numbers', 'Text', 'Examples'], cols.map((m) => row([td(m.name), td(count(m.numbers), 'num'), td(count(m.non_numbers), 'num'), td(m.examples.map((e) => `line ${e.line}, column ${e.column}: '${e.value}'`).join('; '), 'notes')])), 'None.'));
    },
    high_cardinality: (r) => {
      const cols = r.summary.columns as { name: string; distinct: number; capped: boolean; share_of_rows: number }[];
      return section(r.name, 'High-cardinality categoricals', String(r.summary.threshold), table(['Column', 'Distinct', 'Distinct / text cells'], cols.map((h) => row([td(h.name), td(`${count(h.distinct)}${h.capped ? '+' : ''}`, 'num'), td(pct(h.share_of_rows), 'num')])), 'None.'));
    },
    duplicate_row: (r) => section(r.name, 'Duplicate rows', `${count(Number(r.summary.flagged))} rows repeat an earlier row (${count(Number(r.summary.groups))} distinct rows repeated); the repeats are excluded.`, ''),
    outlier: (r) => {
      if (r.skipped) return section(r.name, 'Outliers', `Not checked: ${r.skipped}.`, '');
      const cols = r.summary.columns as string[];
      return section(r.name, 'Outliers', `Isolation forest over ${cols.length} numeric column(s) (${cols.join(', ')}): ${count(Number(r.summary.flagged))} rows score above ${String(r.summary.threshold)} (Q3 + 3 IQR of a row sample). Reported only: an unusual row may be a real case; look before you drop it.`, flaggedRows(r));
    },
  };
  const other = (r: CheckResult) =>
    `<section class="card" id="${esc(r.name)}"><h2>${esc(r.name.replaceAll('_', ' '))}</h2><p class="sub">${esc(r.description)}${summaryText(r)}</p>${r.skipped ? `<p class="empty">Not run: ${esc(r.skipped)}.</p>` : flaggedRows(r)}</section>`;
  const c = manifest.counts;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>ulearn clean: ${esc(t.source)}</title><style>${REPORT_CSS}${EXTRA_CSS}</style></head>
<body><main>
<header><div class="kicker">ulearn clean</div><h1>Data quality: ${esc(t.source)}</h1><dl class="meta">
<div><dt>Rows</dt><dd>${count(t.rows)}</dd></div><div><dt>Columns</dt><dd>${t.columns.length}</dd></div>
<div><dt>Rows excluded</dt><dd>${count(c.exclude)}</dd></div><div><dt>Created</dt><dd>${esc(dateText(manifest.created))}</dd></div></dl></header>
<p class="headline">${headline(results, c, 'rows')}</p>
${checksTable(results, 'Excluded rows are left out by later steps that read manifest.json (ids are file line numbers). Your file is not changed.')}
${section('columns', 'Columns', 'What each column holds.', table(['Column', 'Present', 'Missing', 'Numbers', 'Distinct text values', 'Min', 'Max'], p.columns.map((col) => row([td(col.name, 'class-name'), td(count(col.present), 'num'), td(count(col.missing), 'num'), td(count(col.numbers), 'num'), td(`${count(col.distinct)}${col.distinct_capped ? '+' : ''}`, 'num'), td(col.min ?? '—', 'num'), td(col.max ?? '—', 'num')])), 'No columns.'))}
${results.map((r) => (views[r.name] ?? other)(r)).join('\n')}
<footer>issues.json and manifest.json hold the details.</footer>
</main></body></html>
`;
}
