/**
 * Tables from CSV or ARFF files, in two shapes:
 *
 * - `streamTable(path, …)`: one pass over the rows, memory independent of the file's size; what the
 *   preprocessor fit and the encoder into a Dataset use (two passes for a file larger than memory).
 * - `readTable(path, …)`: the whole file as a raw column view (name, type, the raw string of every cell, which
 *   cells are missing, numbers for numeric columns), what data-quality checks and small datasets use.
 *
 * Column types come from the ARFF header when there is one, else are inferred: `numeric` when every present
 * value is a number, `categorical` when at most `maxCategories` distinct values, `text` otherwise, `empty` when
 * every value is missing. A column that is almost all numbers but has a few non-numbers is taken to be a
 * numeric column with bad values: an error naming the first one (file, line, column), or with `skipBadRows`
 * those rows are skipped and reported. `types` overrides the guess per column.
 */
import { extname } from 'node:path';
import { UlearnError } from '../errors.js';
import { ARFF_MISSING, streamArff } from './arff.js';
import { streamCsv, type RowProblem } from './csv-stream.js';

export type ColumnType = 'numeric' | 'categorical' | 'text' | 'empty';
export type TableFormat = 'csv' | 'arff';

/** What is known about a column before reading its values. */
export interface ColumnDecl {
  name: string;
  /** From an ARFF header; undefined for CSV (inferred). */
  declared?: ColumnType;
  /** Declared nominal values (ARFF), in order. */
  values?: string[];
}

export interface TableOptions {
  /** Default: from the extension (.arff → arff, anything else → csv). */
  format?: TableFormat;
  /** CSV delimiter; default sniffed. */
  delimiter?: string;
  /** CSV: first row is a header (default true). */
  header?: boolean;
  skipBadRows?: boolean;
  /** Told about each skipped row (the CLI prints them). */
  onSkip?: (problem: RowProblem & { source: string }) => void;
  /** Cell values that mean "missing". Default: '', '?', 'NA', 'N/A', 'NaN', 'nan', 'null', 'NULL', 'None'. */
  missing?: string[];
  /** Force a column's type (e.g. a numeric-looking code that is really a category). */
  types?: Record<string, Exclude<ColumnType, 'empty'>>;
  /** Inference: more distinct values than this makes a non-numeric column `text`. Default 100. */
  maxCategories?: number;
  chunkBytes?: number;
}

export const DEFAULT_MISSING = ['', '?', 'NA', 'N/A', 'NaN', 'nan', 'null', 'NULL', 'None'];

export function tableFormat(path: string, format?: TableFormat): TableFormat {
  return format ?? (extname(path).toLowerCase() === '.arff' ? 'arff' : 'csv');
}

/**
 * Streams the rows of a CSV or ARFF file: `onColumns` once, then `onRow(values, line)` with one raw string per
 * column. Resolves with the number of rows delivered and skipped.
 */
export async function streamTable(
  path: string,
  opts: TableOptions,
  onColumns: (columns: ColumnDecl[]) => void,
  onRow: (values: string[], line: number) => void,
): Promise<{ rows: number; skipped: number }> {
  const onSkip = (p: RowProblem) => opts.onSkip?.({ ...p, source: path });
  if (tableFormat(path, opts.format) === 'arff') {
    return streamArff(path, { skipBadRows: opts.skipBadRows, onSkip, chunkBytes: opts.chunkBytes }, (h) => {
      onColumns(h.attributes.map((a) => ({ name: a.name, declared: a.type === 'numeric' ? 'numeric' : a.type === 'nominal' ? 'categorical' : 'text', values: a.values })));
    }, onRow);
  }
  return streamCsv(path, { delimiter: opts.delimiter, header: opts.header, skipBadRows: opts.skipBadRows, onSkip, chunkBytes: opts.chunkBytes }, (h) => {
    onColumns(h.columns.map((name) => ({ name })));
  }, onRow);
}

/** The cell as a finite number, or NaN when it is not one. Hot path: called once per cell per pass. */
/** The largest float32: models compute in float32, where a larger value is Infinity and every loss NaN. */
export const FLOAT32_MAX = 3.4028234663852886e38;

export function parseNumber(v: string): number {
  const x = +v;
  if (x - x !== 0) return NaN; // NaN and ±Infinity
  if (Math.abs(x) > FLOAT32_MAX) return NaN; // 1e308: a number, but not one a model can compute with
  // +'' and +'  ' are 0, but a blank cell is not the number 0.
  if (x === 0 && v.trim() === '') return NaN;
  return x;
}

/** Why a value in a numeric column is refused: not a number at all, or beyond what float32 holds. */
export function notNumericMessage(column: string, v: string): string {
  const x = +v;
  if (Number.isFinite(x) && v.trim() !== '') return `column '${column}': value '${v}' is beyond the float32 range (±3.4e38) models compute in`;
  return `column '${column}' is numeric, but this value is '${v}'`;
}

export function isNumber(v: string): boolean {
  return !Number.isNaN(parseNumber(v));
}

/** Share of present values that must be numbers before the rest are called bad values rather than categories. */
const NUMERIC_MAJORITY = 0.95;
/** Distinct values remembered per column while inferring (beyond this a column is `text` anyway). */
const MAX_TRACKED = 10_000;

/**
 * Per-column counts for type inference, in bounded memory: present/numeric counts, up to MAX_TRACKED distinct
 * non-numeric values, and the first few non-numeric cells (for error messages).
 */
export class ColumnProfile {
  present = 0;
  numbers = 0;
  readonly distinct = new Map<string, number>();
  overflow = false;
  readonly firstNonNumeric: { line: number; value: string }[] = [];

  add(v: string, line: number, missing: Set<string>): void {
    if (!missing.has(v)) this.addPresent(v, parseNumber(v), line);
  }

  /** A present (not missing) cell `v`, already parsed as `x` (NaN when not a number). */
  addPresent(v: string, x: number, line: number): void {
    this.present++;
    if (x === x) {
      this.numbers++;
      return;
    }
    if (this.firstNonNumeric.length < 5) this.firstNonNumeric.push({ line, value: v });
    if (!this.overflow) {
      this.distinct.set(v, (this.distinct.get(v) ?? 0) + 1);
      if (this.distinct.size > MAX_TRACKED) this.overflow = true;
    }
  }

  /** Numbers with a few stray non-numbers: the strays are bad values, not categories. */
  get numericWithBadValues(): boolean {
    return this.numbers > 0 && this.numbers < this.present && this.numbers / this.present >= NUMERIC_MAJORITY;
  }

  infer(maxCategories: number): ColumnType {
    if (this.present === 0) return 'empty';
    if (this.numbers === this.present || this.numericWithBadValues) return 'numeric';
    // Numbers mixed into a categorical column are categories too (e.g. sizes '1', '2', 'XL').
    return this.overflow || this.distinct.size + (this.numbers > 0 ? 1 : 0) > maxCategories ? 'text' : 'categorical';
  }
}

/** The type of each column: declared, forced by `types`, or inferred from its profile. */
export function resolveTypes(path: string, decls: ColumnDecl[], profiles: ColumnProfile[], opts: TableOptions): ColumnType[] {
  const forced = opts.types ?? {};
  for (const name of Object.keys(forced)) {
    if (!decls.some((d) => d.name === name)) {
      throw new UlearnError(`${path}: types names column '${name}', which the file does not have (columns: ${listNames(decls)})`, { code: 'E_CONFIG' });
    }
  }
  return decls.map((d, j) => forced[d.name] ?? d.declared ?? profiles[j].infer(opts.maxCategories ?? 100));
}

export function listNames(decls: { name: string }[], max = 12): string {
  const names = decls.slice(0, max).map((d) => `'${d.name}'`);
  return names.join(', ') + (decls.length > max ? `, … (${decls.length} in all)` : '');
}

export function missingSet(path: string, opts: TableOptions): Set<string> {
  return new Set(opts.missing ?? (tableFormat(path, opts.format) === 'arff' ? [ARFF_MISSING] : DEFAULT_MISSING));
}

/** One column of a table read whole. */
export interface TableColumn {
  name: string;
  type: ColumnType;
  /** The type came from the file (ARFF) or `types`, not from inference. */
  declared: boolean;
  /** The raw string of every cell, as in the file (missing cells too). */
  raw: string[];
  /** 1 where the cell is missing. */
  missing: Uint8Array;
  /** Numeric columns: every cell as a number, NaN where missing. */
  numbers?: Float64Array;
  /** Categorical columns: the declared values (ARFF) or the distinct values seen, sorted. */
  categories?: string[];
}

export interface Table {
  source: string;
  format: TableFormat;
  columns: TableColumn[];
  nRows: number;
  /** File line of each row (for messages that point back into the file). */
  lines: Int32Array;
  /** The cell values that counted as missing. */
  missingValues: string[];
  /** Rows skipped with skipBadRows (unreadable rows and rows with a bad value in a numeric column). */
  skipped: (RowProblem & { source: string })[];
}

/** Reads a whole CSV or ARFF file into a raw column view; see the file comment for types and bad values. */
export async function readTable(path: string, opts: TableOptions = {}): Promise<Table> {
  const format = tableFormat(path, opts.format);
  const missing = missingSet(path, opts);
  const skipped: Table['skipped'] = [];
  let decls: ColumnDecl[] = [];
  let raw: string[][] = [];
  let profiles: ColumnProfile[] = [];
  const lines: number[] = [];
  await streamTable(path, { ...opts, onSkip: (p) => (skipped.push(p), opts.onSkip?.(p)) }, (cols) => {
    decls = cols;
    raw = cols.map(() => []);
    profiles = cols.map(() => new ColumnProfile());
  }, (values, line) => {
    for (let j = 0; j < values.length; j++) {
      raw[j].push(values[j]);
      profiles[j].add(values[j], line, missing);
    }
    lines.push(line);
  });
  const types = resolveTypes(path, decls, profiles, opts);

  // Numeric columns with stray non-numbers: fail on the first, or drop those rows.
  const badRows = new Map<number, RowProblem & { source: string }>();
  types.forEach((t, j) => {
    if (t !== 'numeric') return;
    const col = raw[j];
    for (let i = 0; i < col.length; i++) {
      const v = col[i];
      if (missing.has(v) || isNumber(v)) continue;
      const problem = { source: path, line: lines[i], column: j + 1, message: notNumericMessage(decls[j].name, v) };
      if (!opts.skipBadRows) {
        throw new UlearnError(`${path} line ${lines[i]}, column ${j + 1}: ${problem.message}`, {
          code: 'E_DATA',
          hint: `treat '${v}' as missing (missing: [..., '${v}']), declare the column categorical (types: { '${decls[j].name}': categorical }), or pass --skip-bad-rows`,
        });
      }
      if (!badRows.has(i)) badRows.set(i, problem);
    }
  });
  const keep: number[] = [];
  for (let i = 0; i < lines.length; i++) {
    const problem = badRows.get(i);
    if (problem) {
      skipped.push(problem);
      opts.onSkip?.(problem);
    } else keep.push(i);
  }
  if (keep.length === 0) {
    throw new UlearnError(`${path}: no data rows${skipped.length > 0 ? ` (all ${skipped.length} were skipped as bad)` : ' (only a header)'}`, { code: 'E_DATA' });
  }
  skipped.sort((a, b) => a.line - b.line);

  const columns: TableColumn[] = decls.map((d, j) => {
    const values = keep.length === lines.length ? raw[j] : keep.map((i) => raw[j][i]);
    const miss = new Uint8Array(values.length);
    for (let i = 0; i < values.length; i++) miss[i] = missing.has(values[i]) ? 1 : 0;
    const col: TableColumn = { name: d.name, type: types[j], declared: d.declared !== undefined || opts.types?.[d.name] !== undefined, raw: values, missing: miss };
    if (types[j] === 'numeric') col.numbers = Float64Array.from(values, (v, i) => (miss[i] ? NaN : Number(v)));
    if (types[j] === 'categorical') {
      col.categories = d.values ?? [...new Set(values.filter((_, i) => !miss[i]))].sort();
    }
    return col;
  });
  return { source: path, format, columns, nRows: keep.length, lines: Int32Array.from(keep, (i) => lines[i]), missingValues: [...missing], skipped };
}

/** The column called `name`, or an error that lists the columns there are. */
export function requireColumn<T extends { name: string }>(source: string, columns: T[], name: string, role = 'column'): T {
  const col = columns.find((c) => c.name === name);
  if (!col) throw new UlearnError(`${source}: ${role} '${name}' is not a column of the file (columns: ${listNames(columns)})`, { code: 'E_CONFIG' });
  return col;
}
