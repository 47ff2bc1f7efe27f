/**
 * Tabular preprocessing, fitted on the training rows and then applied unchanged to any other rows (test split,
 * `ulearn predict` on a new file): imputation (mean / median / most-frequent, plus a 0/1 missing indicator for
 * every column that had missing values in training), one-hot or ordinal encoding of categories, and scaling
 * (standard, min-max, or robust median/IQR). It serializes to JSON (fit statistics, categories, column order),
 * which is saved next to the model.
 *
 * Order and conventions (those of scikit-learn's SimpleImputer + scalers): scaling statistics are computed on
 * the values present in training (missing ones are ignored, as sklearn's scalers ignore NaN); a missing value
 * is replaced by its column's fill value in raw units and then scaled like any other. A zero spread (constant
 * column) scales by 1. A category not seen in training encodes as all zeros (one-hot) or as the fill category
 * (ordinal). Quantiles (median, IQR) interpolate linearly between order statistics (numpy's default).
 *
 * Fitting streams: `TabularFitter.add(row)` keeps running sums, a bounded reservoir sample per numeric column
 * (for median, IQR and most-frequent; exact up to RESERVOIR rows, a uniform sample beyond) and category
 * counts, so a file larger than memory can be fitted in one pass.
 */
import { UlearnError } from '../../errors.js';
import { Rng } from '../../engine/seed.js';
import { listNames, parseNumber, type ColumnType } from '../table.js';

export type NumericImpute = 'mean' | 'median' | 'most-frequent';
export type Encoding = 'onehot' | 'ordinal';
export type Scaling = 'standard' | 'minmax' | 'robust' | 'none';

export interface TabularPreprocessOptions {
  /** How a missing number is filled. Default 'mean'. (Categories are always filled with the most frequent one.) */
  numericImpute?: NumericImpute;
  /** Add a 0/1 "was missing" feature for each column with missing values in training. Default true. */
  missingIndicators?: boolean;
  /** Default 'onehot'. */
  encoding?: Encoding;
  /** Default 'standard'. Applies to numeric columns and ordinal codes; one-hot features stay 0/1. */
  scaling?: Scaling;
}

interface NumericSpec {
  name: string;
  kind: 'numeric';
  fill: number;
  center: number;
  scale: number;
  indicator: boolean;
}

interface CategoricalSpec {
  name: string;
  kind: 'categorical';
  categories: string[];
  /** Index into categories used for missing values. */
  fill: number;
  indicator: boolean;
  encoding: Encoding;
  /** Ordinal only: scaling of the code. */
  center: number;
  scale: number;
}

export type FeatureSpec = NumericSpec | CategoricalSpec;

export interface TabularPreprocessorJSON {
  format: 'ulearn-preprocessor';
  version: 1;
  kind: 'tabular';
  options: Required<TabularPreprocessOptions>;
  /** Cell values that count as missing. */
  missing: string[];
  /** Input columns in the order features are produced. */
  features: FeatureSpec[];
  /** Columns of the training file that were left out, and why (text, empty, excluded). */
  dropped: { name: string; reason: string }[];
  /** Name of every output feature (e.g. 'colour=red', 'age', 'age (missing)'). */
  outputNames: string[];
}

const DEFAULTS: Required<TabularPreprocessOptions> = { numericImpute: 'mean', missingIndicators: true, encoding: 'onehot', scaling: 'standard' };
/** Values kept per numeric column for quantiles and the mode. */
export const RESERVOIR = 100_000;
/** Distinct categories counted per column; more than this and the column is not a usable categorical feature. */
const MAX_CATEGORIES = 10_000;
/** Distinct numeric strings counted per column (a categorical column of numeric codes has fewer). */
const MAX_NUMERIC_CATEGORIES = 1000;

/** Running statistics of one column (both numeric and categorical views, since CSV types are known only at the end). */
class ColumnStats {
  present = 0;
  missing = 0;
  count = 0;
  sum = 0;
  sumSq = 0;
  min = Infinity;
  max = -Infinity;
  readonly sample: number[] = [];
  readonly counts = new Map<string, number>();

  constructor(private readonly rng: Rng) {}

  /** `x` is v as a number (NaN when it is not one). */
  add(v: string, isMissing: boolean, x: number): void {
    if (isMissing) {
      this.missing++;
      return;
    }
    this.present++;
    // Numbers are counted as categories too (a column of codes can be categorical), but only while few are
    // distinct: a continuous column would otherwise cost a map update per cell for nothing.
    if (x !== x ? this.counts.size <= MAX_CATEGORIES : this.counts.size <= MAX_NUMERIC_CATEGORIES) this.counts.set(v, (this.counts.get(v) ?? 0) + 1);
    if (x !== x) return;
    this.count++;
    this.sum += x;
    this.sumSq += x * x;
    if (x < this.min) this.min = x;
    if (x > this.max) this.max = x;
    // Reservoir sampling (Algorithm R): every value so far is in the sample with equal probability.
    if (this.sample.length < RESERVOIR) this.sample.push(x);
    else {
      const j = this.rng.int(this.count);
      if (j < RESERVOIR) this.sample[j] = x;
    }
  }
}

export interface FitColumn {
  name: string;
  type: ColumnType;
  /** Declared category order (ARFF); default: sorted. */
  categories?: string[];
}

/**
 * Accumulates training rows one at a time (`add`, values in `columns` order) and builds the preprocessor at the
 * end (`finish`, given each column's final type). `use(name)` decides which columns become features.
 */
export class TabularFitter {
  private readonly stats: ColumnStats[];
  private readonly missing: Set<string>;
  rows = 0;

  constructor(
    private readonly names: string[],
    missing: Iterable<string>,
    seed = 0,
  ) {
    this.missing = new Set(missing);
    const rng = new Rng(seed);
    this.stats = names.map((n) => new ColumnStats(rng.fork(`reservoir/${n}`)));
  }

  add(values: string[]): void {
    for (let j = 0; j < this.stats.length; j++) this.stats[j].add(values[j], this.missing.has(values[j]), parseNumber(values[j]));
    this.rows++;
  }

  /** `add` with each cell's missing flag and number already worked out (the streaming loader has them). */
  addParsed(values: string[], isMissing: Uint8Array, numbers: Float64Array): void {
    for (let j = 0; j < this.stats.length; j++) this.stats[j].add(values[j], isMissing[j] === 1, numbers[j]);
    this.rows++;
  }

  finish(columns: FitColumn[], use: (name: string) => string | undefined, options: TabularPreprocessOptions = {}): TabularPreprocessor {
    if (this.rows === 0) throw new UlearnError('cannot fit a preprocessor on zero training rows', { code: 'E_DATA' });
    const o = { ...DEFAULTS, ...options };
    const features: FeatureSpec[] = [];
    const dropped: { name: string; reason: string }[] = [];
    columns.forEach((col) => {
      const j = this.names.indexOf(col.name);
      const st = this.stats[j];
      const excluded = use(col.name);
      if (excluded) return dropped.push({ name: col.name, reason: excluded });
      if (col.type === 'text' || col.type === 'empty') return dropped.push({ name: col.name, reason: col.type === 'text' ? 'free text (too many distinct values)' : 'no values' });
      const indicator = o.missingIndicators && st.missing > 0;
      if (col.type === 'numeric') {
        if (st.count === 0) return dropped.push({ name: col.name, reason: 'no values in the training rows' });
        const sorted = Float64Array.from(st.sample).sort();
        const fill = o.numericImpute === 'mean' ? st.sum / st.count : o.numericImpute === 'median' ? quantile(sorted, 0.5) : mode(sorted);
        features.push({ name: col.name, kind: 'numeric', fill, indicator, ...scaling(o.scaling, st, sorted) });
        return;
      }
      const categories = col.categories ?? [...st.counts.keys()].sort();
      const index = new Map(categories.map((c, i) => [c, i]));
      // Most frequent category (ties: first in category order), from the training counts.
      let fill = 0;
      let best = -1;
      for (const [v, n] of st.counts) {
        const i = index.get(v);
        if (i !== undefined && (n > best || (n === best && i < fill))) [fill, best] = [i, n];
      }
      const spec: CategoricalSpec = { name: col.name, kind: 'categorical', categories, fill, indicator, encoding: o.encoding, center: 0, scale: 1 };
      if (o.encoding === 'ordinal') Object.assign(spec, ordinalScaling(o.scaling, st, index, fill));
      features.push(spec);
    });
    if (features.length === 0) {
      throw new UlearnError(`no usable feature columns (${dropped.map((d) => `'${d.name}': ${d.reason}`).join('; ')})`, { code: 'E_DATA' });
    }
    return new TabularPreprocessor({ format: 'ulearn-preprocessor', version: 1, kind: 'tabular', options: o, missing: [...this.missing], features, dropped, outputNames: outputNames(features) });
  }
}

function scaling(kind: Scaling, st: ColumnStats, sorted: Float64Array): { center: number; scale: number } {
  const guard = (s: number) => (s > 0 && Number.isFinite(s) ? s : 1);
  if (kind === 'standard') {
    const mean = st.sum / st.count;
    return { center: mean, scale: guard(Math.sqrt(Math.max(0, st.sumSq / st.count - mean * mean))) };
  }
  if (kind === 'minmax') return { center: st.min, scale: guard(st.max - st.min) };
  if (kind === 'robust') return { center: quantile(sorted, 0.5), scale: guard(quantile(sorted, 0.75) - quantile(sorted, 0.25)) };
  return { center: 0, scale: 1 };
}

/** Scaling of ordinal codes: the same statistics, over the codes of the present training values. */
function ordinalScaling(kind: Scaling, st: ColumnStats, index: Map<string, number>, fill: number): { center: number; scale: number } {
  const codes = new ColumnStats(new Rng(0));
  for (const [v, n] of st.counts) for (let k = 0; k < n && k < RESERVOIR; k++) codes.add(String(index.get(v) ?? fill), false, index.get(v) ?? fill);
  return scaling(kind, codes, Float64Array.from(codes.sample).sort());
}

/** Linear interpolation between order statistics (numpy's default 'linear' method). */
export function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** Most frequent value; ties go to the smallest (as sklearn's most_frequent). */
function mode(sorted: Float64Array): number {
  let best = sorted[0];
  let bestRun = 0;
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j < sorted.length && sorted[j] === sorted[i]) j++;
    if (j - i > bestRun) [best, bestRun] = [sorted[i], j - i];
    i = j;
  }
  return best;
}

function outputNames(features: FeatureSpec[]): string[] {
  const names: string[] = [];
  for (const f of features) {
    if (f.kind === 'categorical' && f.encoding === 'onehot') names.push(...f.categories.map((c) => `${f.name}=${c}`));
    else names.push(f.name);
    if (f.indicator) names.push(`${f.name} (missing)`);
  }
  return names;
}

/**
 * Where each input column's block of output features starts (a one-hot block and its missing indicator are
 * one block): SCARF corrupts whole columns, not single one-hot bits.
 */
export function columnGroups(json: TabularPreprocessorJSON): number[] {
  const starts: number[] = [];
  let k = 0;
  for (const f of json.features) {
    starts.push(k);
    k += (f.kind === 'categorical' && f.encoding === 'onehot' ? f.categories.length : 1) + (f.indicator ? 1 : 0);
  }
  return starts;
}

/** A fitted preprocessor: rows of raw strings in, rows of float features out. */
export class TabularPreprocessor {
  readonly json: TabularPreprocessorJSON;
  private readonly missing: Set<string>;
  private readonly numericMissing: boolean;
  private readonly catIndex: (Map<string, number> | undefined)[];

  constructor(json: TabularPreprocessorJSON) {
    this.json = json;
    this.missing = new Set(json.missing);
    this.numericMissing = json.missing.some((m) => parseNumber(m) === parseNumber(m));
    this.catIndex = json.features.map((f) => (f.kind === 'categorical' ? new Map(f.categories.map((c, i) => [c, i])) : undefined));
  }

  /** Number of output features per row. */
  get width(): number {
    return this.json.outputNames.length;
  }

  get inputColumns(): string[] {
    return this.json.features.map((f) => f.name);
  }

  toJSON(): TabularPreprocessorJSON {
    return this.json;
  }

  static fromJSON(value: unknown, source = 'preprocessor.json'): TabularPreprocessor {
    const j = value as Partial<TabularPreprocessorJSON> | null;
    if (!j || j.format !== 'ulearn-preprocessor' || j.kind !== 'tabular') throw new UlearnError(`${source}: not a tabular ulearn preprocessor`, { code: 'E_MODEL_IO' });
    if (j.version !== 1) throw new UlearnError(`${source}: preprocessor version ${String(j.version)} is not supported (expected 1)`, { code: 'E_MODEL_IO' });
    if (!Array.isArray(j.features) || !Array.isArray(j.outputNames) || !Array.isArray(j.missing)) throw new UlearnError(`${source}: preprocessor is missing features, outputNames or missing`, { code: 'E_MODEL_IO' });
    return new TabularPreprocessor(j as TabularPreprocessorJSON);
  }

  /**
   * Where each input column is in rows laid out as `header` (a new file's columns may come in any order and
   * include others); an error naming the first column the file lacks.
   */
  bind(header: string[], source: string): Int32Array {
    const pos = new Map(header.map((h, i) => [h, i]));
    return Int32Array.from(this.json.features, (f) => {
      const i = pos.get(f.name);
      if (i === undefined) {
        throw new UlearnError(`${source}: column '${f.name}', which the model was trained on, is missing (columns: ${listNames(header.map((name) => ({ name })))})`, { code: 'E_DATA' });
      }
      return i;
    });
  }

  /**
   * Encodes one row (`values` laid out as the bound header, `at` from `bind`) into `out` at `offset`.
   * Returns the index of the first input column whose value is not a number although the column is numeric
   * (the row is then not fully written), or -1.
   */
  encodeRow(values: string[], at: Int32Array, out: Float32Array, offset: number): number {
    let k = offset;
    const feats = this.json.features;
    for (let f = 0; f < feats.length; f++) {
      const spec = feats[f];
      const v = values[at[f]];
      let isMissing: boolean;
      if (spec.kind === 'numeric') {
        let x = parseNumber(v);
        // A number is missing only if a missing token is a number (checking the set for every cell is slow).
        isMissing = x === x ? this.numericMissing && this.missing.has(v) : this.missing.has(v);
        if (isMissing) x = spec.fill;
        else if (x !== x) return f;
        out[k++] = (x - spec.center) / spec.scale;
      } else {
        isMissing = this.missing.has(v);
        const idx = isMissing ? spec.fill : this.catIndex[f]!.get(v);
        if (spec.encoding === 'onehot') {
          for (let c = 0; c < spec.categories.length; c++) out[k + c] = c === idx ? 1 : 0;
          k += spec.categories.length;
        } else out[k++] = ((idx ?? spec.fill) - spec.center) / spec.scale;
      }
      if (spec.indicator) out[k++] = isMissing ? 1 : 0;
    }
    return -1;
  }

  /** Encodes rows given as columns of raw strings (e.g. a `Table`), rows `indices` (default all) → [n * width]. */
  transform(columns: { name: string; raw: string[] }[], source: string, indices?: ArrayLike<number>, lines?: ArrayLike<number>): Float32Array {
    const at = this.bind(columns.map((c) => c.name), source);
    const n = indices ? indices.length : columns[0].raw.length;
    const out = new Float32Array(n * this.width);
    const row: string[] = new Array(columns.length);
    for (let r = 0; r < n; r++) {
      const i = indices ? indices[r] : r;
      for (let j = 0; j < columns.length; j++) row[j] = columns[j].raw[i];
      const bad = this.encodeRow(row, at, out, r * this.width);
      if (bad >= 0) {
        const col = at[bad];
        throw new UlearnError(`${source}${lines ? ` line ${lines[i]}` : ` row ${i + 1}`}, column ${col + 1}: column '${columns[col].name}' is numeric, but this value is '${row[col]}'`, { code: 'E_DATA' });
      }
    }
    return out;
  }
}
