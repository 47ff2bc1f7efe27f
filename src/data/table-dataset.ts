/**
 * Tables → `Dataset`s (modality 'table', one row = one sample of `inputShape [width]`), through a
 * `TabularPreprocessor` fitted on the training rows only.
 *
 * `loadTableDataset(path, …)` streams the file twice, so memory is the output arrays plus bounded statistics,
 * whatever the file's size:
 *   pass 1: column types (inferred or declared), label classes, and the preprocessor's fit on training rows;
 *   pass 2: every row encoded straight into the train / test Float32Arrays.
 * The train/test split is decided per row from a hash of (seed, row index), so both passes agree without
 * remembering anything per row. Rows without a label get y = -1: they are the unlabeled pool.
 *
 * `tableToDatasets(table, …)` does the same from an in-memory `Table` with explicit train/test row indices
 * (benchmarks use stratified splits).
 */
import { basename } from 'node:path';
import { UlearnError } from '../errors.js';
import type { Dataset, DatasetSplits, Split } from './dataset.js';
import { TabularFitter, TabularPreprocessor, type TabularPreprocessOptions } from './preprocess/tabular.js';
import { ColumnProfile, isNumber, missingSet, notNumericMessage, parseNumber, requireColumn, resolveTypes, streamTable, type ColumnDecl, type ColumnType, type Table, type TableOptions } from './table.js';

export interface TableDatasetOptions extends TableOptions {
  /** Column holding the class; rows where it is missing are unlabeled. Omit for a fully unlabeled table. */
  labelColumn?: string;
  /** Feature columns (default: every column but the label, minus `exclude`, minus text and empty ones). */
  features?: string[];
  exclude?: string[];
  preprocess?: TabularPreprocessOptions;
  /** Share of rows held out as the test split (default 0.2; 0 = no test split). */
  testFraction?: number;
  seed?: number;
  /**
   * Rows to leave out, or to keep without their label, by file line number (what a `ulearn clean` manifest of
   * the table lists). Left-out rows take no part in the preprocessor's fit, and the train/test split of the
   * other rows stays what it would be without them.
   */
  rows?: { exclude?: ReadonlySet<number>; unlabel?: ReadonlySet<number> };
}

export interface TableDatasets extends DatasetSplits {
  preprocessor: TabularPreprocessor;
  /** Label column name, if any. */
  labelColumn?: string;
  skipped: number;
}

/** Which columns are features: `use(name)` returns why a column is left out, or undefined to keep it. */
function featureFilter(source: string, decls: { name: string }[], opts: TableDatasetOptions): (name: string) => string | undefined {
  if (opts.labelColumn !== undefined) requireColumn(source, decls, opts.labelColumn, 'label column');
  for (const f of opts.features ?? []) requireColumn(source, decls, f, 'feature column');
  for (const f of opts.exclude ?? []) requireColumn(source, decls, f, 'excluded column');
  const features = opts.features ? new Set(opts.features) : undefined;
  const exclude = new Set(opts.exclude ?? []);
  return (name) => {
    if (name === opts.labelColumn) return 'label';
    if (exclude.has(name)) return 'excluded';
    if (features && !features.has(name)) return 'not in features';
    return undefined;
  };
}

/** Class names: declared (ARFF) order, else the distinct labels sorted (numerically when all are numbers). */
function labelClasses(source: string, name: string, type: ColumnType, declared: string[] | undefined, seen: Iterable<string>): string[] {
  if (declared) return declared;
  const values = [...new Set(seen)];
  if (values.length === 0) throw new UlearnError(`${source}: label column '${name}' has no values`, { code: 'E_DATA' });
  if (type === 'text' || (values.length > 100 && values.every(isNumber))) {
    throw new UlearnError(`${source}: label column '${name}' has ${values.length} distinct values: it looks continuous or free text, not a class`, {
      code: 'E_DATA',
      hint: 'ulearn trains classifiers; pick a categorical label column',
    });
  }
  return values.every(isNumber) ? values.sort((a, b) => Number(a) - Number(b)) : values.sort();
}

/** Deterministic per-row split: a hash of (seed, row) compared with the test fraction. */
export function isTestRow(seed: number, row: number, testFraction: number): boolean {
  if (testFraction <= 0) return false;
  let h = Math.imul(row ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(seed + 0x27d4eb2f, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
  h ^= h >>> 13;
  return (h >>> 0) / 4294967296 < testFraction;
}

export async function loadTableDataset(path: string, opts: TableDatasetOptions = {}): Promise<TableDatasets> {
  const testFraction = opts.testFraction ?? 0.2;
  if (!(testFraction >= 0 && testFraction < 1)) throw new UlearnError(`testFraction must be in [0, 1), got ${testFraction}`, { code: 'E_CONFIG' });
  const seed = opts.seed ?? 0;
  const missing = missingSet(path, opts);
  const excluded = opts.rows?.exclude;
  const unlabeled = opts.rows?.unlabel;
  const numericMissing = [...missing].some(isNumber);

  // Pass 1: types, classes, preprocessor statistics.
  let decls: ColumnDecl[] = [];
  let profiles: ColumnProfile[] = [];
  let fitter: TabularFitter | undefined;
  let labelAt = -1;
  const labels = new Set<string>();
  let counts = { train: 0, test: 0 };
  let row = 0;
  let isMissing = new Uint8Array(0);
  let numbers = new Float64Array(0);
  const pass1 = await streamTable(path, opts, (cols) => {
    decls = cols;
    featureFilter(path, cols, opts);
    profiles = cols.map(() => new ColumnProfile());
    fitter = new TabularFitter(cols.map((c) => c.name), missing, seed);
    labelAt = opts.labelColumn === undefined ? -1 : cols.findIndex((c) => c.name === opts.labelColumn);
    isMissing = new Uint8Array(cols.length);
    numbers = new Float64Array(cols.length);
  }, (values, line) => {
    if (excluded?.has(line)) {
      row++;
      return;
    }
    // Each cell is looked up and parsed once, for both the type profile and the fit.
    for (let j = 0; j < values.length; j++) {
      const v = values[j];
      const x = parseNumber(v);
      // Hashing every cell into the missing set is the slowest part of a pass; numbers skip it unless a
      // missing token is itself a number (e.g. -999).
      const m = x === x ? numericMissing && missing.has(v) : missing.has(v);
      isMissing[j] = m ? 1 : 0;
      numbers[j] = m ? NaN : x;
      if (!m) profiles[j].addPresent(v, x, line);
    }
    if (labelAt >= 0 && !isMissing[labelAt] && !unlabeled?.has(line) && labels.size <= 10_000) labels.add(values[labelAt]);
    if (isTestRow(seed, row++, testFraction)) counts.test++;
    else {
      counts.train++;
      fitter!.addParsed(values, isMissing, numbers);
    }
  });
  if (row === 0) throw new UlearnError(`${path}: no data rows (only a header)`, { code: 'E_DATA' });
  if (counts.train === 0) throw new UlearnError(`${path}: no rows left for training after holding out ${testFraction} for test`, { code: 'E_DATA' });
  const types = resolveTypes(path, decls, profiles, opts);
  const use = featureFilter(path, decls, opts);
  if (!opts.skipBadRows) {
    types.forEach((t, j) => {
      const first = profiles[j].firstNonNumeric[0];
      if (t === 'numeric' && first && use(decls[j].name) === undefined) {
        throw new UlearnError(`${path} line ${first.line}, column ${j + 1}: ${notNumericMessage(decls[j].name, first.value)}`, {
          code: 'E_DATA',
          hint: `treat '${first.value}' as missing, declare the column categorical (types), or pass --skip-bad-rows`,
        });
      }
    });
  }
  const preprocessor = fitter!.finish(decls.map((d, j) => ({ name: d.name, type: types[j], categories: d.values })), use, opts.preprocess);
  const classes = labelAt >= 0 ? labelClasses(path, decls[labelAt].name, types[labelAt], decls[labelAt].values, labels) : [];
  const classIndex = new Map(classes.map((c, i) => [c, i]));

  // Pass 2: encode. Structural bad rows were reported in pass 1 and are skipped silently here.
  const width = preprocessor.width;
  const at = preprocessor.bind(decls.map((d) => d.name), path);
  const parts = {
    train: { x: new Float32Array(counts.train * width), y: new Int32Array(counts.train), ids: new Array<string>(counts.train), n: 0 },
    test: { x: new Float32Array(counts.test * width), y: new Int32Array(counts.test), ids: new Array<string>(counts.test), n: 0 },
  };
  let skipped = pass1.skipped;
  row = 0;
  await streamTable(path, { ...opts, onSkip: undefined }, () => undefined, (values, line) => {
    const test = isTestRow(seed, row++, testFraction);
    if (excluded?.has(line)) return;
    const part = test ? parts.test : parts.train;
    const bad = preprocessor.encodeRow(values, at, part.x, part.n * width);
    if (bad >= 0) {
      const problem = { source: path, line, column: at[bad] + 1, message: `column '${decls[at[bad]].name}' is numeric, but this value is '${values[at[bad]]}'` };
      if (!opts.skipBadRows) throw new UlearnError(`${path} line ${line}, column ${problem.column}: ${problem.message}`, { code: 'E_DATA' });
      skipped++;
      opts.onSkip?.(problem);
      return;
    }
    let y = -1;
    if (labelAt >= 0 && !missing.has(values[labelAt]) && !unlabeled?.has(line)) {
      const c = classIndex.get(values[labelAt]);
      if (c === undefined) throw new UlearnError(`${path} line ${line}: label '${values[labelAt]}' is not one of the classes`, { code: 'E_DATA' });
      y = c;
    }
    part.y[part.n] = y;
    part.ids[part.n] = String(line);
    part.n++;
  });
  counts = { train: parts.train.n, test: parts.test.n };
  const name = basename(path).replace(/\.(csv|tsv|txt|arff)$/i, '');
  const make = (split: Split, p: typeof parts.train): Dataset => ({
    name: `${name}/${split}`,
    modality: 'table',
    inputShape: [width],
    classes,
    size: p.n,
    ids: p.ids.length === p.n ? p.ids : p.ids.slice(0, p.n),
    x: p.x.length === p.n * width ? p.x : p.x.slice(0, p.n * width),
    y: p.y.length === p.n ? p.y : p.y.slice(0, p.n),
    split,
    source: path,
  });
  return {
    train: make('train', parts.train),
    ...(counts.test > 0 ? { test: make('test', parts.test) } : {}),
    preprocessor,
    labelColumn: opts.labelColumn,
    skipped,
  };
}

/**
 * From an in-memory table: fits the preprocessor on `train` rows and encodes `train` and `test` rows.
 * Used where the split is chosen by the caller (stratified benchmarks, a separate test file read as a Table).
 */
export function tableToDatasets(
  table: Table,
  train: ArrayLike<number>,
  test: ArrayLike<number> | undefined,
  opts: Pick<TableDatasetOptions, 'labelColumn' | 'features' | 'exclude' | 'preprocess' | 'seed'>,
): TableDatasets {
  const cols = table.columns;
  const use = featureFilter(table.source, cols, opts);
  const fitter = new TabularFitter(cols.map((c) => c.name), table.missingValues, opts.seed ?? 0);
  const row: string[] = new Array(cols.length);
  for (let r = 0; r < train.length; r++) {
    for (let j = 0; j < cols.length; j++) row[j] = cols[j].raw[train[r]];
    fitter.add(row);
  }
  // Only declared (ARFF) categories are passed on: a CSV column's categories were collected from every row,
  // test rows included, and the encoding must know the training rows only.
  const declared = (c: Table['columns'][number]) => (table.format === 'arff' ? c.categories : undefined);
  const preprocessor = fitter.finish(cols.map((c) => ({ name: c.name, type: c.type, categories: declared(c) })), use, opts.preprocess);
  const label = opts.labelColumn === undefined ? undefined : cols.find((c) => c.name === opts.labelColumn)!;
  const classes = label ? labelClasses(table.source, label.name, label.type, label.categories, label.raw.filter((_, i) => !label.missing[i])) : [];
  const classIndex = new Map(classes.map((c, i) => [c, i]));
  const name = basename(table.source).replace(/\.(csv|tsv|txt|arff)$/i, '');
  const make = (split: Split, idx: ArrayLike<number>): Dataset => ({
    name: `${name}/${split}`,
    modality: 'table',
    inputShape: [preprocessor.width],
    classes,
    size: idx.length,
    ids: Array.from(idx, (i) => String(table.lines[i])),
    x: preprocessor.transform(cols, table.source, idx, table.lines),
    y: Int32Array.from(idx, (i) => (label && !label.missing[i] ? classIndex.get(label.raw[i])! : -1)),
    split,
    source: table.source,
  });
  return { train: make('train', train), ...(test && test.length > 0 ? { test: make('test', test) } : {}), preprocessor, labelColumn: opts.labelColumn, skipped: table.skipped.length };
}

export interface ApplyOptions extends TableOptions {
  /** Read labels from this column (rows where it is missing get -1); omit for prediction on unlabeled rows. */
  labelColumn?: string;
  /** The training classes; a label outside them is an error naming the row. */
  classes?: string[];
  split?: Split;
}

/**
 * One streaming pass that encodes a whole file with an already fitted preprocessor: a separate test file, or
 * the rows `ulearn predict` scores. Columns are matched by name; one the model needs but the file lacks is an
 * error naming it. Memory: the output arrays only (rows are counted first, in a cheap pass that keeps nothing).
 */
export async function applyPreprocessor(path: string, preprocessor: TabularPreprocessor, opts: ApplyOptions = {}): Promise<Dataset> {
  const missing = missingSet(path, opts);
  let total = 0;
  await streamTable(path, { ...opts, onSkip: undefined }, () => undefined, () => void total++);
  const width = preprocessor.width;
  const x = new Float32Array(total * width);
  const y = new Int32Array(total).fill(-1);
  const ids: string[] = [];
  const classIndex = new Map((opts.classes ?? []).map((c, i) => [c, i]));
  let at: Int32Array = new Int32Array(0);
  let names: string[] = [];
  let labelAt = -1;
  let n = 0;
  await streamTable(path, opts, (cols) => {
    names = cols.map((c) => c.name);
    at = preprocessor.bind(names, path);
    if (opts.labelColumn !== undefined) labelAt = names.indexOf(requireColumn(path, cols, opts.labelColumn, 'label column').name);
  }, (values, line) => {
    const bad = preprocessor.encodeRow(values, at, x, n * width);
    if (bad >= 0) {
      const problem = { source: path, line, column: at[bad] + 1, message: `column '${names[at[bad]]}' is numeric, but this value is '${values[at[bad]]}'` };
      if (!opts.skipBadRows) throw new UlearnError(`${path} line ${line}, column ${problem.column}: ${problem.message}`, { code: 'E_DATA' });
      opts.onSkip?.(problem);
      return;
    }
    if (labelAt >= 0 && !missing.has(values[labelAt])) {
      const c = classIndex.get(values[labelAt]);
      if (c === undefined) {
        throw new UlearnError(`${path} line ${line}, column ${labelAt + 1}: label '${values[labelAt]}' is not one of the training classes (${(opts.classes ?? []).slice(0, 10).join(', ')})`, { code: 'E_DATA' });
      }
      y[n] = c;
    }
    ids.push(String(line));
    n++;
  });
  const name = basename(path).replace(/\.(csv|tsv|txt|arff)$/i, '');
  const split = opts.split ?? 'test';
  return { name: `${name}/${split}`, modality: 'table', inputShape: [width], classes: opts.classes ?? [], size: n, ids, x: n === total ? x : x.slice(0, n * width), y: n === total ? y : y.slice(0, n), split, source: path };
}
