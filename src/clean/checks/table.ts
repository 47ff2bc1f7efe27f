/**
 * ulearn's own table checks, registered in clean/registry.ts like the image checks and returning the same
 * `CheckResult` (one score and flag per row, a summary, a manifest action). All but the outlier check read the
 * loading pass's profile (clean/tabular.ts), so they cost nothing more; the outlier check streams the file once
 * more to score every row.
 *
 *   missing_values      per column: how many cells are missing; per row: rows with most cells missing (excluded)
 *   constant_column     a column with at most one distinct present value carries no information
 *   mixed_types         a column holding both numbers and non-numbers (with the first offending cells: line, column)
 *   high_cardinality    a non-numeric column with so many distinct values it is an id or free text, not a category
 *   duplicate_row       a row identical to an earlier one (excluded; the first stays)
 *   outlier             isolation forest over the numeric columns, grown on the profile's reservoir sample of
 *                       rows (report only: an unusual row may be a real case)
 *
 * The column checks flag no row: their findings are columns, in `summary.columns`, counted in
 * `summary.flagged_columns`.
 */
import { IsolationForest } from '../isolation-forest.js';
import { MAX_DISTINCT, ROW_MISSING_SHARE, type ColumnFinding } from '../tabular.js';
import { skippedResult, type CheckResult, type TableCheck, type TableCheckContext } from '../types.js';

/** A column check's result: no row flagged, the findings in the summary. */
function columnResult(ctx: TableCheckContext, name: string, description: string, columns: unknown[], extra: Record<string, unknown> = {}): CheckResult {
  const n = ctx.table.rows;
  return { name, description, scores: new Float32Array(n).fill(NaN), flags: new Uint8Array(n), action: 'none', summary: { flagged: 0, flagged_columns: columns.length, columns, ...extra } };
}

export const missingValuesCheck: TableCheck = {
  name: 'missing_values',
  modality: 'table',
  always: true,
  run(ctx) {
    const { table: t, profile: p } = ctx;
    const n = t.rows;
    const width = t.columns.length;
    const scores = new Float32Array(n);
    const flags = new Uint8Array(n);
    let flagged = 0;
    let withMissing = 0;
    for (let i = 0; i < n; i++) {
      const m = p.missingCells[i];
      scores[i] = width ? m / width : 0;
      if (m > 0) withMissing++;
      if (width > 0 && m / width > ROW_MISSING_SHARE) {
        flags[i] = 1;
        flagged++;
      }
    }
    return {
      name: 'missing_values',
      description: `missing cells per column; rows with more than ${ROW_MISSING_SHARE * 100}% of their cells missing are excluded`,
      scores,
      flags,
      reason: (i) => `missing_values: ${p.missingCells[i]} of ${width} cells missing`,
      action: 'exclude',
      summary: {
        flagged,
        columns: p.columns.filter((c) => c.missing > 0).map((c) => ({ name: c.name, missing: c.missing, share: n ? c.missing / n : 0 })),
        rows_with_missing: withMissing,
        row_threshold: ROW_MISSING_SHARE,
      },
    };
  },
};

export const constantColumnCheck: TableCheck = {
  name: 'constant_column',
  modality: 'table',
  always: true,
  run: (ctx) =>
    columnResult(
      ctx,
      'constant_column',
      'columns with at most one distinct value: no information for a model',
      ctx.profile.columns.filter((c) => (c.numbers > 0 ? 1 : 0) * c.distinct_numbers + c.distinct <= 1).map((c) => c.name),
    ),
};

export const mixedTypesCheck: TableCheck = {
  name: 'mixed_types',
  modality: 'table',
  always: true,
  run: (ctx) =>
    columnResult(
      ctx,
      'mixed_types',
      'columns holding both numbers and text (the first text cells of a mostly numeric column, with line and column)',
      ctx.profile.columns.filter((c) => c.numbers > 0 && c.numbers < c.present).map((c) => ({ name: c.name, numbers: c.numbers, non_numbers: c.present - c.numbers, examples: c.odd_cells })),
    ),
};

const HIGH_CARDINALITY = `non-numeric column with more than 50 distinct values and more distinct values than half its non-numeric cells, or more than ${MAX_DISTINCT} distinct values`;

export const highCardinalityCheck: TableCheck = {
  name: 'high_cardinality',
  modality: 'table',
  always: true,
  run(ctx) {
    // More distinct values than we track is never a usable category, whatever share of the rows it is.
    const high = (c: ColumnFinding) => c.numbers < c.present && (c.distinct_capped || (c.distinct > 50 && c.distinct > 0.5 * (c.present - c.numbers)));
    const columns = ctx.profile.columns.filter(high).map((c) => ({ name: c.name, distinct: c.distinct, capped: c.distinct_capped, share_of_rows: c.present - c.numbers ? c.distinct / (c.present - c.numbers) : 0 }));
    return columnResult(ctx, 'high_cardinality', 'non-numeric columns with so many distinct values they are ids or free text, not categories', columns, { threshold: HIGH_CARDINALITY });
  },
};

export const duplicateRowCheck: TableCheck = {
  name: 'duplicate_row',
  modality: 'table',
  always: true,
  run(ctx) {
    const { table: t, profile: p } = ctx;
    const n = t.rows;
    const scores = new Float32Array(n);
    const flags = new Uint8Array(n);
    const groups = new Set<number>();
    for (let i = 0; i < n; i++) {
      if (p.duplicateOf[i] < 0) continue;
      scores[i] = 1;
      flags[i] = 1;
      groups.add(p.duplicateOf[i]);
    }
    return {
      name: 'duplicate_row',
      description: 'a row with the same values as an earlier row (the first is kept, the repeats excluded)',
      scores,
      flags,
      related: p.duplicateOf,
      reason: (i) => `duplicate_row: same values as line ${t.lines[p.duplicateOf[i]]}`,
      action: 'exclude',
      summary: { flagged: flags.reduce((a, b) => a + b, 0), groups: groups.size },
    };
  },
};

/**
 * Isolation forest (Liu et al. 2008) over the columns that are mostly numbers (at least 95% of present cells)
 * and not constant, grown on the profile's uniform row sample; rows scoring above Q3 + 3 IQR of the sample's
 * scores (as for image outliers) are flagged. Report only: an unusual row may be a real case.
 */
export const tableOutlierCheck: TableCheck = {
  name: 'outlier',
  modality: 'table',
  async run(ctx) {
    const { table: t, profile: p } = ctx;
    const description = 'rows an isolation forest over the numeric columns finds unusual (report only: look before you drop one)';
    const cols = p.columns.flatMap((c, k) => (c.present > 0 && c.numbers >= 0.95 * c.present && c.min !== c.max ? [k] : []));
    const m = p.sampled;
    if (cols.length === 0 || m < 32) return skippedResult('outlier', description, t.rows, m < 32 ? 'fewer than 32 rows' : 'no numeric column that varies');
    const width = p.columns.length;
    const x = new Float64Array(m * cols.length);
    for (let i = 0; i < m; i++) cols.forEach((k, d) => (x[i * cols.length + d] = p.sample[i * width + k]));
    const forest = IsolationForest.fit(x, m, cols.length, { seed: 0 });
    const sorted = Array.from({ length: m }, (_, i) => forest.score(x.subarray(i * cols.length, (i + 1) * cols.length))).sort((a, b) => a - b);
    const q = (f: number) => sorted[Math.min(m - 1, Math.floor(f * (m - 1)))];
    const threshold = q(0.75) + 3 * (q(0.75) - q(0.25));
    // The threshold needs the whole sample, so scoring every row is a second pass over the file.
    const scores = new Float32Array(t.rows);
    const flags = new Uint8Array(t.rows);
    const row = new Array<number>(cols.length);
    await t.eachRow((values, i) => {
      cols.forEach((k, d) => {
        const v = values[k];
        row[d] = v === null || t.missing.has(v) || v.trim() === '' ? NaN : +v;
      });
      const score = forest.score(row);
      scores[i] = score;
      if (score > threshold) flags[i] = 1;
    });
    return {
      name: 'outlier',
      description,
      scores,
      flags,
      action: 'none',
      summary: { flagged: flags.reduce((a, b) => a + b, 0), columns: cols.map((k) => p.columns[k].name), threshold: Number(threshold.toFixed(4)) },
    };
  },
};
