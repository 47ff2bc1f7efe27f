/**
 * Isolation forest (Liu, Ting & Zhou 2008): outliers are the rows that random axis-aligned splits isolate in
 * few steps. Each tree is grown on a random subsample of ψ rows (256 by default: the paper's finding is that
 * small subsamples isolate anomalies better, because they are not swamped by normal rows) down to depth
 * ceil(log2 ψ); a row's path length h(x) is the depth where it lands plus c(size) for the rows left in that
 * leaf, and its score is s(x) = 2^(-E[h(x)] / c(ψ)) with c(m) the average path length of an unsuccessful
 * binary-search-tree lookup among m rows. s near 1: isolated quickly (an outlier); about 0.5 or less: normal.
 *
 * Rows are numbers only (a table's numeric columns); a missing value (NaN) follows the larger branch of a
 * split, so it never looks isolated just for being missing.
 *
 * Scoring a row the trees never saw: the plain algorithm sends a value far beyond a node's range down the
 * extreme branch, so a row 10x outside every value of the sample scores like the sample's most extreme rows.
 * With 100 outliers in a million rows a 256-row subsample almost never holds one, and none would be found.
 * So at each node the row is isolated right there with the probability that a uniform split over the range
 * widened to include it falls between it and the node's rows (gap / widened range), and the path length is
 * the expectation over that. A value inside the node's range has gap 0: the path is exactly the paper's.
 */
import { UlearnError } from '../errors.js';
import { Rng } from '../engine/seed.js';

const EULER = 0.5772156649015329;

/** Average path length of an unsuccessful search in a binary search tree of m rows (c(1) = 0, c(2) = 1). */
export function averagePathLength(m: number): number {
  if (m <= 1) return 0;
  if (m === 2) return 1;
  return 2 * (Math.log(m - 1) + EULER) - (2 * (m - 1)) / m;
}

interface Node {
  /** Split column, or -1 for a leaf. */
  col: number;
  value: number;
  /** Which side rows with a missing value take. */
  missingLeft: boolean;
  /** Range of the split column over the node's rows. */
  lo: number;
  hi: number;
  left?: Node;
  right?: Node;
  /** Leaf: rows that reached it. */
  size: number;
}

export interface IsolationForestOptions {
  trees?: number;
  sampleSize?: number;
  seed?: number;
}

export class IsolationForest {
  private constructor(
    private readonly roots: Node[],
    readonly dim: number,
    private readonly norm: number,
  ) {}

  /** Grows the forest on `n` rows of `dim` numbers (row-major). */
  static fit(x: Float64Array, n: number, dim: number, opts: IsolationForestOptions = {}): IsolationForest {
    if (!Number.isInteger(n) || n < 1 || x.length !== n * dim) throw new UlearnError(`isolation forest: ${x.length} values do not form ${n} rows of ${dim}`, { code: 'E_SHAPE' });
    const trees = opts.trees ?? 100;
    const psi = Math.min(opts.sampleSize ?? 256, n);
    const maxDepth = Math.ceil(Math.log2(Math.max(psi, 2)));
    const rng = new Rng(opts.seed ?? 0);
    const roots: Node[] = [];
    for (let t = 0; t < trees; t++) {
      // A subsample without replacement (partial Fisher-Yates over the row indices).
      const idx = Int32Array.from({ length: n }, (_, i) => i);
      for (let i = 0; i < psi; i++) {
        const j = i + rng.int(n - i);
        [idx[i], idx[j]] = [idx[j], idx[i]];
      }
      roots.push(grow(x, dim, idx.subarray(0, psi), 0, maxDepth, rng));
    }
    return new IsolationForest(roots, dim, averagePathLength(psi));
  }

  /** s(x) in (0, 1] for one row of `dim` numbers (NaN = missing). */
  score(row: ArrayLike<number>): number {
    if (row.length !== this.dim) throw new UlearnError(`isolation forest: a row of ${row.length} values, expected ${this.dim}`, { code: 'E_SHAPE' });
    let total = 0;
    for (const root of this.roots) total += pathLength(root, row);
    // A forest grown on a single row (norm 0) cannot tell anything apart: every row scores 0.5, "normal".
    return this.norm > 0 ? 2 ** (-(total / this.roots.length) / this.norm) : 0.5;
  }
}

function grow(x: Float64Array, dim: number, rows: Int32Array, depth: number, maxDepth: number, rng: Rng): Node {
  if (depth >= maxDepth || rows.length <= 1) return leaf(rows.length);
  // Pick a random column among those that still vary within these rows, then a uniform split in its range.
  const lo = new Float64Array(dim).fill(Infinity);
  const hi = new Float64Array(dim).fill(-Infinity);
  for (const r of rows) {
    for (let d = 0; d < dim; d++) {
      const v = x[r * dim + d];
      if (v < lo[d]) lo[d] = v;
      if (v > hi[d]) hi[d] = v;
    }
  }
  const varying: number[] = [];
  for (let d = 0; d < dim; d++) if (hi[d] > lo[d]) varying.push(d);
  if (varying.length === 0) return leaf(rows.length);
  const col = varying[rng.int(varying.length)];
  const value = lo[col] + rng.random() * (hi[col] - lo[col]);
  let nLeft = 0;
  let nRight = 0;
  for (const r of rows) {
    const v = x[r * dim + col];
    if (v < value) nLeft++;
    else if (v >= value) nRight++;
  }
  const missingLeft = nLeft >= nRight;
  const left: number[] = [];
  const right: number[] = [];
  for (const r of rows) {
    const v = x[r * dim + col];
    if (v < value || (v !== v && missingLeft)) left.push(r);
    else right.push(r);
  }
  return {
    col,
    value,
    missingLeft,
    lo: lo[col],
    hi: hi[col],
    size: rows.length,
    left: grow(x, dim, Int32Array.from(left), depth + 1, maxDepth, rng),
    right: grow(x, dim, Int32Array.from(right), depth + 1, maxDepth, rng),
  };
}

const leaf = (size: number): Node => ({ col: -1, value: 0, missingLeft: false, lo: 0, hi: 0, size });

/** Expected path length of `row` in one tree (see the header for rows outside a node's range). */
function pathLength(root: Node, row: ArrayLike<number>): number {
  let node = root;
  let depth = 0;
  let reach = 1; // probability the row has not been isolated above this node
  let expected = 0;
  while (node.col >= 0) {
    const v = row[node.col];
    const gap = v < node.lo ? node.lo - v : v > node.hi ? v - node.hi : 0;
    if (gap > 0) {
      const p = gap / (node.hi - node.lo + gap);
      expected += reach * p * (depth + 1);
      reach *= 1 - p;
    }
    node = (v < node.value || (v !== v && node.missingLeft) ? node.left : node.right)!;
    depth++;
  }
  return expected + reach * (depth + averagePathLength(node.size));
}
