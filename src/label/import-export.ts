/**
 * Labels in and out of a project: current labels as CSV or JSON, the full event history as JSONL, and
 * import of existing labels (CSV `file,label`, JSON `[{file, label}]`, or JSONL lines / an exported event
 * history, taken at its end state) with a conflict report.
 *
 * Import is all-or-nothing: any row naming an unknown file or class, or a malformed row, refuses the whole
 * file (listing every bad row with its line), so a typo never leaves a project half-imported. A row whose
 * sample already has a *different* label is a conflict: reported, and applied only with `overwrite`.
 *
 * CSV cells are guarded against formula injection: a spreadsheet runs a cell that starts with `=`, `+`,
 * `-` or `@` (and some also after a leading tab or CR) as a formula, and file names, class names and
 * import annotator names come from users. Such a cell is written with a `'` in front (the OWASP advice:
 * spreadsheets show it as text), and so is a cell that already starts with `'`s followed by one of those,
 * so the mapping is one-to-one; import strips one `'` from exactly those cells. A CSV export therefore
 * imports back to the original values, and a hand-made `'-1` reads as `-1`, as the spreadsheet shows it.
 */
import { parseCsv } from '../data/csv.js';
import { UlearnError } from '../errors.js';
import type { LabelStore } from './store.js';

export type ExportFormat = 'csv' | 'json' | 'jsonl';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['csv', 'json', 'jsonl'];

/** A cell a spreadsheet would run as a formula, or such a cell already guarded with leading `'`s. */
const FORMULA = /^'*[=+\-@\t\r]/;

function csvField(value: string): string {
  const s = FORMULA.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The inverse of csvField's guard (the quoting is undone by the CSV parser). */
function unguard(cell: string): string {
  return cell.startsWith("'") && FORMULA.test(cell) ? cell.slice(1) : cell;
}

export async function exportLabels(store: LabelStore, format: ExportFormat): Promise<string> {
  const names = new Map((await store.annotators()).map((a) => [a.id, a.name]));
  const classes = store.meta.classes;
  if (format === 'jsonl') {
    const files = new Map((await store.listSamples(0, Number.MAX_SAFE_INTEGER)).map((s) => [s.id, s.file]));
    let out = '';
    for (const e of await store.events()) {
      out +=
        JSON.stringify({
          id: e.id,
          file: files.get(e.sampleId),
          sampleId: e.sampleId,
          label: e.label === null ? null : classes[e.label],
          kind: e.kind,
          undoes: e.undoes,
          annotator: names.get(e.annotatorId),
          at: new Date(e.createdAt).toISOString(),
        }) + '\n';
    }
    return out;
  }
  const rows = (await store.currentLabelEvents()).map(({ sample, event }) => ({
    file: sample.file,
    label: classes[sample.label!],
    annotator: names.get(event.annotatorId) ?? '',
    labeledAt: new Date(event.createdAt).toISOString(),
  }));
  if (format === 'json') return JSON.stringify({ project: store.meta.name, classes, labels: rows }, null, 2) + '\n';
  return ['file,label,annotator,labeled_at', ...rows.map((r) => [r.file, r.label, r.annotator, r.labeledAt].map(csvField).join(','))].join('\n') + '\n';
}

export interface ImportRow {
  /** 1-based line (CSV) or array index + 1 (JSON), for messages. */
  line: number;
  file: string;
  label: string;
}

export interface ImportReport {
  rows: number;
  /** Newly labeled samples. */
  added: number;
  /** Rows whose sample already had the same label. */
  unchanged: number;
  /** Rows whose sample had a different label; `applied` says whether they were overwritten. */
  conflicts: { line: number; file: string; current: string; incoming: string }[];
  conflictsApplied: boolean;
}

/** Parses a label file (by its name: .csv, .json or .jsonl). */
export function parseLabelFile(text: string, source: string): ImportRow[] {
  if (/\.csv$/i.test(source)) {
    const rows = parseCsv(text, source);
    if (rows.length === 0) throw new UlearnError(`${source}: empty file`, { code: 'E_DATA' });
    const header = rows[0].fields.map((f) => f.trim().toLowerCase());
    const fi = header.indexOf('file');
    const li = header.indexOf('label');
    if (fi < 0 || li < 0) {
      throw new UlearnError(`${source} line ${rows[0].line}: expected a header with 'file' and 'label' columns, got '${rows[0].fields.join(',')}'`, { code: 'E_DATA' });
    }
    return rows.slice(1).map((r) => {
      if (r.fields.length !== header.length) {
        throw new UlearnError(`${source} line ${r.line}: expected ${header.length} fields, got ${r.fields.length}`, { code: 'E_DATA' });
      }
      return { line: r.line, file: unguard(r.fields[fi]), label: unguard(r.fields[li]) };
    });
  }
  if (/\.jsonl?$/i.test(source)) {
    let items: unknown[];
    if (/\.jsonl$/i.test(source)) {
      items = text.split('\n').map((l, i) => parseJson(l, source, i + 1)).filter((x) => x !== undefined);
    } else {
      const doc = parseJson(text, source, 1);
      items = Array.isArray(doc) ? doc : Array.isArray((doc as { labels?: unknown })?.labels) ? (doc as { labels: unknown[] }).labels : [];
      if (!Array.isArray(doc) && !Array.isArray((doc as { labels?: unknown })?.labels)) {
        throw new UlearnError(`${source}: expected an array of {file, label} or an object with a 'labels' array`, { code: 'E_DATA' });
      }
    }
    const jsonl = /\.jsonl$/i.test(source);
    const rows = items.map((it, i) => {
      const o = it as { file?: unknown; label?: unknown };
      // JSONL may be an event history (our export): a null label there means "unlabeled again" (an undo).
      if (typeof o?.file !== 'string' || !(typeof o.label === 'string' || (jsonl && o.label === null))) {
        throw new UlearnError(`${source} ${jsonl ? 'line' : 'item'} ${i + 1}: expected {"file": string, "label": string}, got ${JSON.stringify(it).slice(0, 120)}`, { code: 'E_DATA' });
      }
      return { line: i + 1, file: o.file, label: o.label as string | null };
    });
    if (!jsonl) return rows as ImportRow[];
    // An event history is imported as its end state: the last line per file, files left unlabeled skipped.
    const last = new Map<string, (typeof rows)[number]>();
    for (const r of rows) last.set(r.file, r);
    return [...last.values()].filter((r): r is ImportRow => r.label !== null).sort((a, b) => a.line - b.line);
  }
  throw new UlearnError(`${source}: unknown label file type`, { code: 'E_DATA', hint: 'use a .csv (file,label header), .json or .jsonl file' });
}

function parseJson(text: string, source: string, line: number): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new UlearnError(`${source} line ${line}: invalid JSON (${(err as Error).message})`, { code: 'E_DATA' });
  }
}

/**
 * Applies imported rows as 'import' events of `annotatorName`, in one transaction. Later rows for the same
 * file win over earlier ones (like later events do). `dryRun` reports without writing. The report is made
 * against the labels as they are when the import starts; if an annotator labels one of the imported samples
 * before the import's transaction, the store refuses the whole import (E_CONFLICT), so the report never
 * hides an overwrite.
 */
export async function importLabels(store: LabelStore, rows: ImportRow[], opts: { source: string; annotatorName: string; overwrite?: boolean; dryRun?: boolean }): Promise<ImportReport> {
  const errors: string[] = [];
  const resolved: { line: number; file: string; sampleId: number; current: number | null; label: number }[] = [];
  for (const r of rows) {
    const s = await store.sampleByFile(r.file);
    const c = store.classIndex(r.label);
    if (!s) errors.push(`line ${r.line}: no sample '${r.file}' in this project`);
    if (c === undefined) errors.push(`line ${r.line}: unknown class '${r.label}' (classes: ${store.meta.classes.join(', ')})`);
    if (s && c !== undefined) resolved.push({ line: r.line, file: r.file, sampleId: s.id, current: s.label, label: c });
  }
  if (errors.length > 0) {
    const shown = errors.slice(0, 10).map((e) => `  ${e}`).join('\n');
    throw new UlearnError(`${opts.source}: ${errors.length} bad row(s), nothing imported:\n${shown}${errors.length > 10 ? `\n  … and ${errors.length - 10} more` : ''}`, {
      code: 'E_DATA',
    });
  }
  const last = new Map<number, (typeof resolved)[number]>();
  for (const r of resolved) last.set(r.sampleId, r);
  const report: ImportReport = { rows: rows.length, added: 0, unchanged: 0, conflicts: [], conflictsApplied: !!opts.overwrite };
  const toApply: (typeof resolved)[number][] = [];
  for (const r of last.values()) {
    if (r.current === null) {
      report.added++;
      toApply.push(r);
    } else if (r.current === r.label) report.unchanged++;
    else {
      report.conflicts.push({ line: r.line, file: r.file, current: store.meta.classes[r.current], incoming: store.meta.classes[r.label] });
      if (opts.overwrite) toApply.push(r);
    }
  }
  if (!opts.dryRun && toApply.length > 0) {
    await store.importLabels(
      opts.annotatorName,
      toApply.map((r) => ({ sampleId: r.sampleId, label: r.label, expected: r.current })),
    );
  }
  return report;
}
