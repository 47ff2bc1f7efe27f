/**
 * Data-quality checks for tables, in one streaming pass (memory bounded by the number of columns and the
 * distinct values tracked, not by the number of rows, except one 8-byte key per row for duplicate rows):
 *
 *   missing_values      per column: how many cells are missing; per row: rows with most cells missing
 *   constant_column     a column with at most one distinct present value carries no information
 *   mixed_types         a column holding both numbers and non-numbers (with the first offending cells: line, column)
 *   high_cardinality    a non-numeric column with so many distinct values it is an id or free text, not a category
 *   duplicate_row       a row identical to an earlier one
 *
 * It works on any row source: `profileColumns` takes the small raw-column interface (tests, readTable), and
 * `profileTableFile` streams a CSV/ARFF file through the shared table reader.
 */
import { streamTable, type TableOptions, DEFAULT_MISSING } from '../data/table.js';

export interface RawColumns {
  source: string;
  columns: { name: string; values: (string | null)[] }[];
}

/** Distinct non-numeric values tracked per column; beyond this a column is high-cardinality anyway. */
const MAX_DISTINCT = 20_000;
/** A row with more than this share of its cells missing is flagged. */
const ROW_MISSING_SHARE = 0.5;

export interface ColumnFinding {
  name: string;
  present: number;
  missing: number;
  numbers: number;
  /** Distinct non-numeric values (capped at MAX_DISTINCT; `distinct_capped` says so). */
  distinct: number;
  distinct_capped: boolean;
  /** Distinct numeric values seen (capped likewise), for the constant check. */
  distinct_numbers: number;
  min: number | null;
  max: number | null;
  /** First non-numeric cells of a mostly numeric column, or first numeric cells of a mostly text column. */
  odd_cells: { line: number; column: number; value: string }[];
}

export interface TabularReport {
  source: string;
  rows: number;
  columns: ColumnFinding[];
  checks: {
    missing_values: { columns: { name: string; missing: number; share: number }[]; rows_flagged: number; rows_with_missing: number; row_threshold: number };
    constant_column: { columns: string[] };
    mixed_types: { columns: { name: string; numbers: number; non_numbers: number; examples: { line: number; column: number; value: string }[] }[] };
    high_cardinality: { columns: { name: string; distinct: number; capped: boolean; share_of_rows: number }[]; threshold: string };
    duplicate_row: { rows_flagged: number; groups: number };
  };
  /** Per row (file line): why it is flagged. */
  flaggedRows: { line: number; reasons: string[] }[];
}

class Profiler {
  readonly cols: ColumnFinding[];
  private readonly distinct: Set<string>[];
  private readonly numbersSeen: Set<number>[];
  private readonly rowKeys = new Map<number, number>();
  private readonly flagged = new Map<number, string[]>();
  private rowsWithMissing = 0;
  private dupGroups = new Set<number>();
  rows = 0;

  constructor(
    names: string[],
    private readonly missing: Set<string>,
  ) {
    this.cols = names.map((name) => ({ name, present: 0, missing: 0, numbers: 0, distinct: 0, distinct_capped: false, distinct_numbers: 0, min: null, max: null, odd_cells: [] }));
    this.distinct = names.map(() => new Set());
    this.numbersSeen = names.map(() => new Set());
  }

  add(values: (string | null)[], line: number): void {
    this.rows++;
    let missingCells = 0;
    let h1 = 0x811c9dc5;
    let h2 = 0x9747b28c;
    for (let c = 0; c < this.cols.length; c++) {
      const v = values[c];
      const col = this.cols[c];
      const text = v ?? '';
      for (let k = 0; k < text.length; k++) {
        const ch = text.charCodeAt(k);
        h1 = Math.imul(h1 ^ ch, 0x01000193);
        h2 = Math.imul(h2 ^ ch, 0x5bd1e995);
      }
      h1 = Math.imul(h1 ^ 0x1f, 0x01000193); // field separator, so 'ab','c' differs from 'a','bc'
      h2 = Math.imul(h2 ^ (v === null ? 0x1e : 0x1f), 0x5bd1e995);
      if (v === null || this.missing.has(v)) {
        col.missing++;
        missingCells++;
        continue;
      }
      col.present++;
      const x = +v;
      if (x - x === 0 && v.trim() !== '') {
        col.numbers++;
        col.min = col.min === null || x < col.min ? x : col.min;
        col.max = col.max === null || x > col.max ? x : col.max;
        const seen = this.numbersSeen[c];
        if (seen.size <= MAX_DISTINCT) seen.add(x);
      } else {
        const seen = this.distinct[c];
        if (seen.size < MAX_DISTINCT) seen.add(v);
        else col.distinct_capped = true;
        if (col.odd_cells.length < 5) col.odd_cells.push({ line, column: c + 1, value: v.length > 60 ? v.slice(0, 60) + '…' : v });
      }
    }
    if (missingCells > 0) this.rowsWithMissing++;
    if (this.cols.length > 0 && missingCells / this.cols.length > ROW_MISSING_SHARE) this.flag(line, `missing_values: ${missingCells} of ${this.cols.length} cells missing`);
    // 53-bit row key from two 32-bit hashes: a false duplicate needs a collision of both (~1e-4 at 1e6 rows).
    const key = (h1 >>> 0) * 2 ** 21 + ((h2 >>> 0) & 0x1fffff);
    const first = this.rowKeys.get(key);
    if (first === undefined) this.rowKeys.set(key, line);
    else {
      this.dupGroups.add(first);
      this.flag(line, `duplicate_row: same values as line ${first}`);
    }
  }

  private flag(line: number, reason: string): void {
    const list = this.flagged.get(line);
    if (list) list.push(reason);
    else this.flagged.set(line, [reason]);
  }

  report(source: string): TabularReport {
    const rows = this.rows;
    const cols = this.cols;
    cols.forEach((c, k) => {
      c.distinct = this.distinct[k].size;
      c.distinct_numbers = this.numbersSeen[k].size;
      // odd cells are the minority kind: non-numbers in a mostly numeric column, else nothing to show.
      if (c.numbers < c.present / 2) c.odd_cells = [];
    });
    const flaggedRows = [...this.flagged.entries()].sort((a, b) => a[0] - b[0]).map(([line, reasons]) => ({ line, reasons }));
    // More distinct values than we track is never a usable category, whatever share of the rows it is.
    const highCard = (c: ColumnFinding) => c.numbers < c.present && (c.distinct_capped || (c.distinct > 50 && c.distinct > 0.5 * (c.present - c.numbers)));
    return {
      source,
      rows,
      columns: cols,
      checks: {
        missing_values: {
          columns: cols.filter((c) => c.missing > 0).map((c) => ({ name: c.name, missing: c.missing, share: rows ? c.missing / rows : 0 })),
          rows_flagged: flaggedRows.filter((r) => r.reasons.some((x) => x.startsWith('missing_values'))).length,
          rows_with_missing: this.rowsWithMissing,
          row_threshold: ROW_MISSING_SHARE,
        },
        constant_column: { columns: cols.filter((c) => (c.numbers > 0 ? 1 : 0) * c.distinct_numbers + c.distinct <= 1).map((c) => c.name) },
        mixed_types: {
          columns: cols
            .filter((c) => c.numbers > 0 && c.numbers < c.present)
            .map((c) => ({ name: c.name, numbers: c.numbers, non_numbers: c.present - c.numbers, examples: c.odd_cells })),
        },
        high_cardinality: {
          columns: cols.filter(highCard).map((c) => ({ name: c.name, distinct: c.distinct, capped: c.distinct_capped, share_of_rows: (c.present - c.numbers) ? c.distinct / (c.present - c.numbers) : 0 })),
          threshold: `non-numeric column with more than 50 distinct values and more distinct values than half its non-numeric cells, or more than ${MAX_DISTINCT} distinct values`,
        },
        duplicate_row: { rows_flagged: flaggedRows.filter((r) => r.reasons.some((x) => x.startsWith('duplicate_row'))).length, groups: this.dupGroups.size },
      },
      flaggedRows,
    };
  }
}

/** Checks a table given as raw columns (null = missing). Row i is reported as line i + 2 (header on line 1). */
export function profileColumns(t: RawColumns, missing: string[] = DEFAULT_MISSING): TabularReport {
  const p = new Profiler(
    t.columns.map((c) => c.name),
    new Set(missing),
  );
  const n = Math.max(0, ...t.columns.map((c) => c.values.length));
  const row: (string | null)[] = new Array(t.columns.length);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < t.columns.length; c++) row[c] = t.columns[c].values[i] ?? null;
    p.add(row, i + 2);
  }
  return p.report(t.source);
}

/** Streams a CSV or ARFF file through the checks. Unreadable rows are errors (file, line, column) as in the loader. */
export async function profileTableFile(path: string, opts: TableOptions = {}): Promise<TabularReport> {
  let p: Profiler | undefined;
  const missing = new Set(opts.missing ?? DEFAULT_MISSING);
  await streamTable(
    path,
    opts,
    (cols) => {
      p = new Profiler(
        cols.map((c) => c.name),
        missing,
      );
    },
    (values, line) => p!.add(values, line),
  );
  return (p ?? new Profiler([], missing)).report(path);
}
