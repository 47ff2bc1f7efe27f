/**
 * A table as the clean checks see it: one streaming pass over the rows (the loading pass) profiles every
 * column and notes, per row, its file line, its missing cells and the first identical row. Memory is bounded
 * by the number of columns and the distinct values tracked, plus 20 bytes per row (line, missing count,
 * duplicate link, an 8-byte row key); the rows themselves stay in the file and `eachRow` streams them again.
 *
 * The built-in table checks (checks/table.ts: missing values, constant, mixed-type and high-cardinality
 * columns, duplicate rows, isolation-forest outliers) read this profile; a user's table check gets it too.
 * `tableFromColumns` takes the small raw-column interface (tests), `loadTableFile` a CSV/ARFF file through
 * the shared table reader.
 */
import { streamTable, type TableOptions, DEFAULT_MISSING } from '../data/table.js';
import { Rng } from '../engine/seed.js';
import type { TableSamples } from './types.js';

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

/**
 * What the loading pass learns about a table, for the built-in table checks (checks/table.ts) and any other
 * that wants it: per column the counts and ranges, per row the missing cells and the first identical row.
 */
export interface TableProfile {
  columns: ColumnFinding[];
  /** Per row: how many of its cells are missing. */
  missingCells: Uint32Array;
  /** Per row: the index of the first earlier row with the same values, -1 if none. */
  duplicateOf: Int32Array;
  /** Uniform reservoir sample of rows as numbers (NaN = missing or not a number), `sampled` rows × columns. */
  sample: Float64Array;
  sampled: number;
}

export { MAX_DISTINCT, ROW_MISSING_SHARE };

/** A growable typed array: the row count of a streamed file is known only at its end. */
function grow<T extends Uint32Array | Int32Array>(a: T, need: number, make: (n: number) => T): T {
  if (need <= a.length) return a;
  const b = make(Math.max(need, 2 * a.length));
  b.set(a);
  return b;
}

/** The loading pass: one call of `add` per row. */
class Profiler {
  private readonly rng = new Rng(0).fork('outlier-sample');
  /** Reservoir of rows as numbers (NaN = missing or not a number), for the isolation forest. */
  private readonly sample: Float64Array;
  private sampled = 0;
  private readonly rowNumbers: Float64Array;

  readonly cols: ColumnFinding[];
  private readonly distinct: Set<string>[];
  private readonly numbersSeen: Set<number>[];
  private readonly rowKeys = new Map<number, number>();
  private missingCells = new Uint32Array(1024);
  private duplicateOf = new Int32Array(1024);
  private lines = new Int32Array(1024);
  rows = 0;

  constructor(
    names: string[],
    private readonly missing: ReadonlySet<string>,
  ) {
    this.cols = names.map((name) => ({ name, present: 0, missing: 0, numbers: 0, distinct: 0, distinct_capped: false, distinct_numbers: 0, min: null, max: null, odd_cells: [] }));
    this.distinct = names.map(() => new Set());
    this.numbersSeen = names.map(() => new Set());
    this.sample = new Float64Array(OUTLIER_SAMPLE * names.length);
    this.rowNumbers = new Float64Array(names.length);
  }

  add(values: readonly (string | null)[], line: number): void {
    const i = this.rows++;
    this.missingCells = grow(this.missingCells, this.rows, (n) => new Uint32Array(n));
    this.duplicateOf = grow(this.duplicateOf, this.rows, (n) => new Int32Array(n));
    this.lines = grow(this.lines, this.rows, (n) => new Int32Array(n));
    this.lines[i] = line;
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
    this.missingCells[i] = missingCells;
    // 53-bit row key from two 32-bit hashes: a false duplicate needs a collision of both (~1e-4 at 1e6 rows).
    const key = (h1 >>> 0) * 2 ** 21 + ((h2 >>> 0) & 0x1fffff);
    const first = this.rowKeys.get(key);
    if (first === undefined) this.rowKeys.set(key, i);
    this.duplicateOf[i] = first ?? -1;
  }

  finish(): { lines: Int32Array; profile: TableProfile } {
    this.cols.forEach((c, k) => {
      c.distinct = this.distinct[k].size;
      c.distinct_numbers = this.numbersSeen[k].size;
      // odd cells are the minority kind: non-numbers in a mostly numeric column, else nothing to show.
      if (c.numbers < c.present / 2) c.odd_cells = [];
    });
    const n = this.rows;
    return {
      lines: this.lines.slice(0, n),
      profile: { columns: this.cols, missingCells: this.missingCells.slice(0, n), duplicateOf: this.duplicateOf.slice(0, n), sample: this.sample, sampled: this.sampled },
    };
  }
}

/** A table given as raw columns (null = missing), loaded as the checks see it. Row i is file line i + 2 (header on line 1). */
export function tableFromColumns(t: RawColumns, missing: string[] = DEFAULT_MISSING): { table: TableSamples; profile: TableProfile } {
  const missingSet = new Set(missing);
  const p = new Profiler(
    t.columns.map((c) => c.name),
    missingSet,
  );
  const n = Math.max(0, ...t.columns.map((c) => c.values.length));
  const row: (string | null)[] = new Array(t.columns.length);
  const eachRow = (f: (row: (string | null)[], i: number) => void) => {
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < t.columns.length; c++) row[c] = t.columns[c].values[i] ?? null;
      f(row, i);
    }
  };
  eachRow((r, i) => p.add(r, i + 2));
  const { lines, profile } = p.finish();
  const table: TableSamples = { source: t.source, rows: n, lines, columns: t.columns.map((c) => c.name), missing: missingSet, eachRow: async (f) => eachRow(f) };
  return { table, profile };
}

/**
 * Loads a CSV or ARFF file for the checks: one streaming pass (the profile), and a table whose `eachRow`
 * streams the file again. Unreadable rows are errors (file, line, column) as in the loader, or skipped in
 * every pass alike with `skipBadRows`.
 */
export async function loadTableFile(path: string, opts: TableOptions = {}): Promise<{ table: TableSamples; profile: TableProfile }> {
  let p: Profiler | undefined;
  const missing = new Set(opts.missing ?? DEFAULT_MISSING);
  let names: string[] = [];
  await streamTable(
    path,
    opts,
    (cols) => {
      names = cols.map((c) => c.name);
      p = new Profiler(names, missing);
    },
    (values, line) => p!.add(values, line),
  );
  const { lines, profile } = (p ?? new Profiler([], missing)).finish();
  const table: TableSamples = {
    source: path,
    rows: lines.length,
    lines,
    columns: names,
    missing,
    eachRow: async (f) => {
      let i = 0;
      // Skipped rows were told about in the first pass; here they are skipped silently, so indices still match.
      await streamTable(path, { ...opts, onSkip: undefined }, () => undefined, (values) => f(values, i++));
    },
  };
  return { table, profile };
}
