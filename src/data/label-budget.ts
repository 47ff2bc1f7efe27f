/**
 * Label budgets: keep the labels of a few samples per class and hide the rest, to simulate (or enforce) the
 * "mostly unlabeled" setting. The dataset is not touched; the result is a copy of `y` with -1s.
 *
 * Selection is deterministic given the seed, and each class draws from its own seeded permutation, so a
 * larger budget with the same seed keeps every label a smaller one kept (nested budgets, which make
 * label-efficiency curves comparable point to point).
 */
import { UlearnError } from '../errors.js';
import { Rng } from '../engine/seed.js';
import type { Dataset } from './dataset.js';

export interface LabelBudget {
  /** Labels kept in every class. */
  perClass?: number;
  /** Labels kept in all, spread over the classes as evenly as their sizes allow (every class gets at least one). */
  total?: number;
  seed: number;
}

export interface LabelBudgetResult {
  /** Indices (ascending) of the samples whose labels stay visible. */
  labeled: Int32Array;
  /** Copy of ds.y with -1 everywhere except at `labeled`. */
  y: Int32Array;
}

/** Data without a single label: said before any training, with the ways a folder can carry labels. */
export function noLabelsError(name: string): UlearnError {
  return new UlearnError(`${name}: no labeled samples; training a classifier needs labels`, {
    code: 'E_DATA',
    hint: 'put the images of each class in a subfolder (cat/1.png, dog/2.png), or add labels.csv with the columns file,label to the folder',
  });
}

export function applyLabelBudget(ds: Pick<Dataset, 'name' | 'y' | 'classes'>, budget: LabelBudget): LabelBudgetResult {
  const { perClass, total } = budget;
  if ((perClass === undefined) === (total === undefined)) {
    throw new UlearnError(`label budget: give exactly one of perClass or total`, { code: 'E_CONFIG' });
  }
  const amount = (perClass ?? total)!;
  const what = perClass !== undefined ? 'perClass' : 'total';
  if (typeof amount !== 'number' || !Number.isInteger(amount) || amount <= 0) {
    throw new UlearnError(`label budget: ${what} must be a positive integer, got ${String(amount)}`, { code: 'E_CONFIG' });
  }
  if (!Number.isInteger(budget.seed)) {
    throw new UlearnError(`label budget: seed must be an integer, got ${String(budget.seed)}`, { code: 'E_CONFIG' });
  }
  const byClass = labeledByClass(ds);
  const k = ds.classes.length;
  const avail = byClass.map((ix) => ix.length);
  const quota = perClass !== undefined ? checkPerClass(ds, avail, perClass) : splitTotal(ds, avail, total!, new Rng(budget.seed).fork('label-budget/spread'));

  const rng = new Rng(budget.seed);
  const chosen: number[] = [];
  for (let c = 0; c < k; c++) {
    const perm = rng.fork(`label-budget/class/${c}`).permutation(avail[c]);
    for (let j = 0; j < quota[c]; j++) chosen.push(byClass[c][perm[j]]);
  }
  const labeled = Int32Array.from(chosen).sort();
  const y = new Int32Array(ds.y.length).fill(-1);
  for (const i of labeled) y[i] = ds.y[i];
  return { labeled, y };
}

/** Indices of labeled samples per class, in index order (so the permutation, not the data order, decides). */
function labeledByClass(ds: Pick<Dataset, 'name' | 'y' | 'classes'>): number[][] {
  const k = ds.classes.length;
  if (k === 0) throw noLabelsError(ds.name);
  const out: number[][] = Array.from({ length: k }, () => []);
  for (let i = 0; i < ds.y.length; i++) {
    const c = ds.y[i];
    if (c === -1) continue;
    if (c < -1 || c >= k) throw new UlearnError(`${ds.name}: sample ${i} has label ${c}, outside 0..${k - 1}`, { code: 'E_DATA' });
    out[c].push(i);
  }
  return out;
}

function checkPerClass(ds: Pick<Dataset, 'name' | 'classes'>, avail: number[], perClass: number): number[] {
  const short = ds.classes.map((name, c) => ({ name, have: avail[c] })).filter((s) => s.have < perClass);
  if (short.length > 0) {
    throw new UlearnError(
      `${ds.name}: perClass ${perClass} asks for more labels than some classes have: ${short.map((s) => `'${s.name}' has ${s.have}`).join(', ')}`,
      { code: 'E_BUDGET', hint: 'lower perClass, or use total for an uneven split' },
    );
  }
  return avail.map(() => perClass);
}

/**
 * Water-filling: every class gets the same share, classes too small for it give their surplus to the others,
 * and the last few labels (total not divisible) go to classes picked by the seeded rng.
 */
function splitTotal(ds: Pick<Dataset, 'name' | 'classes'>, avail: number[], total: number, rng: Rng): number[] {
  const k = avail.length;
  const labeledCount = avail.reduce((a, b) => a + b, 0);
  if (labeledCount < k || total < k) {
    throw new UlearnError(
      `${ds.name}: total ${total} is less than the ${k} classes${labeledCount < k ? ` (and the dataset has only ${labeledCount} labeled samples)` : ''}; every class needs at least one label`,
      { code: 'E_BUDGET', hint: `use total >= ${k}` },
    );
  }
  const empty = ds.classes.filter((_, c) => avail[c] === 0);
  if (empty.length > 0) {
    throw new UlearnError(`${ds.name}: class(es) ${empty.map((n) => `'${n}'`).join(', ')} have no labeled samples, so a stratified budget cannot include them`, {
      code: 'E_BUDGET',
    });
  }
  if (total > labeledCount) {
    throw new UlearnError(`${ds.name}: total ${total} is more than the ${labeledCount} labeled samples`, { code: 'E_BUDGET' });
  }
  const quota = new Array<number>(k).fill(0);
  let left = total;
  let open = Array.from({ length: k }, (_, c) => c);
  while (left > 0) {
    const share = Math.floor(left / open.length);
    if (share === 0) {
      for (const c of rng.shuffle(open.slice()).slice(0, left)) quota[c]++;
      break;
    }
    for (const c of open) {
      const add = Math.min(share, avail[c] - quota[c]);
      quota[c] += add;
      left -= add;
    }
    open = open.filter((c) => quota[c] < avail[c]);
  }
  return quota;
}
