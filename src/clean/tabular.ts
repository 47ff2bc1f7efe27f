/**
 * Data-quality checks for tables, in one streaming pass (memory bounded by the number of columns and the
 * distinct values tracked, not by the number of rows, except one 8-byte key per row for duplicate rows):
 *
 *   missing_values      per column: how many cells are missing; per row: rows with most cells missing
 *   constant_column     a column with at most one distinct present value carries no information
 *   mixed_types         a column holding both numbers and non-numbers (with the first offending cells: line, column)
 *   high_cardinality    a non-numeric column with so many distinct values it is an id or free text, not a category
 *   duplicate_row       a row identical to an earlier one
 *   outlier             isolation forest over the numeric columns, grown on a reservoir sample of rows and
 *                       scored on every row in a second pass (report only: an unusual row may be a real case)
 *
 * It works on any row source: `profileColumns` takes the small raw-column interface (tests, readTable), and
 * `profileTableFile` streams a CSV/ARFF file through the shared table reader.
 */
import { streamTable, type TableOptions, DEFAULT_MISSING } from '../data/table.js';
import { Rng } from '../engine/seed.js';
import { IsolationForest } from './isolation-forest.js';

export interface RawColumns {
  source: string;
  columns: { name: string; values: (string | null)[] }[];
}

/** Distinct non-numeric values tracked per column; beyond this a column is high-cardinality anyway. */
const MAX_DISTINCT = 20_000;
/** A row with more than this share of its cells missing is flagged. */
const ROW_MISSING_SHARE = 0.5;
/** Rows kept (uniformly, by reservoir sampling) to grow the isolation forest and set its threshold on. */
const OUTLIER_SAMPLE = 4096;
/** Outlier rows listed in the report, highest score first (all are counted). */
const OUTLIERS_LISTED = 1000;

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
    outlier: OutlierFinding;
  };
  /** Per row (file line): why it is flagged. */
  flaggedRows: { line: number; reasons: string[] }[];
}

export interface OutlierFinding {
  /** Numeric columns the forest splits on (mostly numbers, not constant). */
  columns: string[];
  /** Rows scoring above this are flagged: Q3 + 3 IQR of the sampled rows' scores (as for image outliers). */
  threshold: number | null;
  rows_flagged: number;
  /** Flagged rows, highest score first (at most OUTLIERS_LISTED). */
  rows: { line: number; score: number }[];
  /** Why the check did not run, if it did not. */
  skipped?: string;
}

/** The fitted outlier model: which cells to read from a row and the forest that scores them. */
interface OutlierModel {
  cols: number[];
  forest: IsolationForest;
  threshold: number;
}

class Profiler {
  private readonly rng = new Rng(0).fork('outlier-sample');
  /** Reservoir of rows as numbers (NaN = missing or not a number), for the isolation forest. */
  private readonly sample: Float64Array;
  private sampled = 0;
  private readonly rowNumbers: Float64Array;
  private model: OutlierModel | null | undefined;
  private readonly outliers: { line: number; score: number }[] = [];
  private outliersFlagged = 0;

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
    this.sample = new Float64Array(OUTLIER_SAMPLE * names.length);
    this.rowNumbers = new Float64Array(names.length);
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
      this.rowNumbers[c] = NaN;
      if (v === null || this.missing.has(v)) {
        col.missing++;
        missingCells++;
        continue;
      }
      col.present++;
      const x = +v;
      if (x - x === 0 && v.trim() !== '') {
        this.rowNumbers[c] = x;
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
    // Reservoir sampling (Vitter's algorithm R): every row has the same chance to be in the sample.
    const slot = this.sampled < OUTLIER_SAMPLE ? this.sampled : this.rng.int(this.rows);
    if (slot < OUTLIER_SAMPLE) this.sample.set(this.rowNumbers, slot * this.cols.length);
    this.sampled = Math.min(this.sampled + 1, OUTLIER_SAMPLE);
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

  /**
   * Grows the isolation forest on the sample (after the first pass), or says why not (null). Columns used:
   * mostly numbers (at least 95% of present cells) and not constant.
   */
  outlierModel(): OutlierModel | null {
    if (this.model !== undefined) return this.model;
    const cols = this.cols.flatMap((c, k) => (c.present > 0 && c.numbers >= 0.95 * c.present && c.min !== c.max ? [k] : []));
    const n = this.sampled;
    if (cols.length === 0 || n < 32) return (this.model = null);
    const x = new Float64Array(n * cols.length);
    for (let i = 0; i < n; i++) cols.forEach((k, d) => (x[i * cols.length + d] = this.sample[i * this.cols.length + k]));
    const forest = IsolationForest.fit(x, n, cols.length, { seed: 0 });
    const scores = Array.from({ length: n }, (_, i) => forest.score(x.subarray(i * cols.length, (i + 1) * cols.length))).sort((a, b) => a - b);
    const q = (p: number) => scores[Math.min(n - 1, Math.floor(p * (n - 1)))];
    const threshold = q(0.75) + 3 * (q(0.75) - q(0.25));
    return (this.model = { cols, forest, threshold });
  }

  /** Second pass: one row's outlier score against the model's threshold. */
  scoreRow(values: (string | null)[], line: number): void {
    const m = this.model;
    if (!m) return;
    const row = m.cols.map((k) => {
      const v = values[k];
      return v === null || this.missing.has(v) || v.trim() === '' ? NaN : +v;
    });
    const score = m.forest.score(row);
    if (!(score > m.threshold)) return;
    this.outliersFlagged++;
    this.outliers.push({ line, score: Number(score.toFixed(4)) });
    // Keep the list bounded: trim to the highest scores whenever it doubles.
    if (this.outliers.length >= 2 * OUTLIERS_LISTED) this.trimOutliers();
  }

  private trimOutliers(): void {
    this.outliers.sort((a, b) => b.score - a.score || a.line - b.line);
    this.outliers.length = Math.min(this.outliers.length, OUTLIERS_LISTED);
  }

  private outlierFinding(): OutlierFinding {
    const m = this.model;
    if (!m) {
      return { columns: [], threshold: null, rows_flagged: 0, rows: [], skipped: this.sampled < 32 ? 'fewer than 32 rows' : 'no numeric column that varies' };
    }
    this.trimOutliers();
    return { columns: m.cols.map((k) => this.cols[k].name), threshold: Number(m.threshold.toFixed(4)), rows_flagged: this.outliersFlagged, rows: [...this.outliers] };
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
        outlier: this.outlierFinding(),
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
  const eachRow = (f: (row: (string | null)[], line: number) => void) => {
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < t.columns.length; c++) row[c] = t.columns[c].values[i] ?? null;
      f(row, i + 2);
    }
  };
  eachRow((r, line) => p.add(r, line));
  if (p.outlierModel()) eachRow((r, line) => p.scoreRow(r, line));
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
  // The outlier threshold needs the whole sample, so scoring every row is a second pass over the file.
  if (p?.outlierModel()) await streamTable(path, { ...opts, onSkip: undefined }, () => undefined, (values, line) => p!.scoreRow(values, line));
  return (p ?? new Profiler([], missing)).report(path);
}
