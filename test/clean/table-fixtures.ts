/**
 * The table checks over in-memory columns, read back in the shape the tests were first written against (the
 * findings per check, and the rows the manifest excludes with their reasons), so the hand-counted answers
 * stay readable.
 */
import { buildManifest, tableIndex } from '../../src/clean/issues.js';
import { createChecks } from '../../src/clean/registry.js';
import { runChecks } from '../../src/clean/run-checks.js';
import { tableFromColumns, type RawColumns } from '../../src/clean/tabular.js';
import { Rng } from '../../src/engine/seed.js';
import { Budget } from '../../src/util/budget.js';
import type { CheckResult } from '../../src/clean/types.js';

export interface Findings {
  rows: number;
  /** Each built-in check's summary (and `skipped`, if it did not run). */
  checks: {
    missing_values: { flagged: number; columns: { name: string; missing: number; share: number }[]; rows_with_missing: number; row_threshold: number };
    constant_column: { columns: string[] };
    mixed_types: { columns: { name: string; numbers: number; non_numbers: number; examples: { line: number; column: number; value: string }[] }[] };
    high_cardinality: { columns: { name: string; distinct: number; capped: boolean; share_of_rows: number }[] };
    duplicate_row: { flagged: number; groups: number };
    outlier: { flagged: number; columns: string[]; threshold: number; skipped?: string };
  };
  results: Record<string, CheckResult>;
  /** Rows the manifest excludes: file line and reasons. */
  flaggedRows: { line: number; reasons: string[] }[];
  /** Per check: the flagged rows' file lines, worst first. */
  flaggedLines: Record<string, number[]>;
}

export async function profileColumns(raw: RawColumns): Promise<Findings> {
  const { table, profile } = tableFromColumns(raw);
  const ctx = { table, profile, rng: new Rng(0), budget: new Budget(undefined), log: () => undefined, results: new Map<string, CheckResult>() };
  const results = await runChecks(createChecks({}, 'table'), ctx, { count: table.rows, timings: {} });
  const manifest = buildManifest(tableIndex(table), results, null, { listKept: false });
  const flaggedLines: Record<string, number[]> = {};
  for (const r of results) {
    const idx = [...r.flags.keys()].filter((i) => r.flags[i]);
    idx.sort((a, b) => r.scores[b] - r.scores[a] || a - b);
    flaggedLines[r.name] = idx.map((i) => table.lines[i]);
  }
  return {
    rows: table.rows,
    checks: Object.fromEntries(results.map((r) => [r.name, { ...r.summary, ...(r.skipped ? { skipped: r.skipped } : {}) }])) as Findings['checks'],
    results: Object.fromEntries(results.map((r) => [r.name, r])),
    flaggedRows: manifest.samples.map((e) => ({ line: Number(e.id), reasons: e.reasons ?? [] })),
    flaggedLines,
  };
}

/**
 * A 400-row CSV with one of each problem the built-in table checks find: an id column (high cardinality), a
 * numeric column with missing cells and text in it (mixed types), a constant column, planted outliers, rows
 * repeated and rows mostly empty. Deterministic (a fixed LCG), so its findings can be pinned.
 */
export function problemCsv(): string {
  let s = 12345;
  const rand = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  const lines = ['id,x,y,kind,const'];
  for (let i = 0; i < 400; i++) {
    const x = i % 37 === 5 ? '' : i === 77 ? 'n/a?' : (50 + 10 * (rand() - 0.5)).toFixed(2);
    const y = [101, 250, 333].includes(i) ? (900 + i).toFixed(1) : (rand() * 4).toFixed(3);
    const kind = ['red', 'green', 'blue'][i % 3];
    if (i % 97 === 50) lines.push(`row${i},,,,k`);
    else if (i % 61 === 60) lines.push(lines[i - 20]);
    else lines.push(`row${i},${x},${y},${kind},k`);
  }
  return lines.join('\n') + '\n';
}
