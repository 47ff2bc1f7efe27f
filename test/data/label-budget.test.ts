import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UlearnError } from '../../src/errors.js';
import { applyLabelBudget } from '../../src/data/label-budget.js';

/** Class sizes 10, 5, 2 interleaved, plus 3 samples that are already unlabeled. */
function makeDs() {
  const y: number[] = [];
  const left = [10, 5, 2];
  while (left.some((n) => n > 0)) {
    for (let c = 0; c < 3; c++) if (left[c]-- > 0) y.push(c);
    if (y.length % 4 === 0) y.push(-1);
  }
  return { name: 'toy', classes: ['a', 'b', 'c'], y: Int32Array.from(y) };
}

function perClassCounts(ds: { y: Int32Array }, labeled: Int32Array): number[] {
  const counts = [0, 0, 0];
  for (const i of labeled) counts[ds.y[i]]++;
  return counts;
}

test('perClass keeps exactly n labels per class and hides the rest', () => {
  const ds = makeDs();
  const before = ds.y.slice();
  const { labeled, y } = applyLabelBudget(ds, { perClass: 2, seed: 1 });
  assert.equal(labeled.length, 6);
  assert.deepEqual(perClassCounts(ds, labeled), [2, 2, 2]);
  assert.deepEqual(Array.from(labeled), Array.from(labeled).sort((a, b) => a - b), 'ascending');
  for (let i = 0; i < y.length; i++) assert.equal(y[i], labeled.includes(i) ? ds.y[i] : -1);
  assert.deepEqual(ds.y, before, 'the dataset is not modified');
  assert.ok(Array.from(labeled).every((i) => ds.y[i] !== -1), 'only labeled samples are picked');
});

test('the same seed gives the same selection; another seed another; budgets are nested', () => {
  const ds = makeDs();
  const a = applyLabelBudget(ds, { perClass: 2, seed: 7 });
  const b = applyLabelBudget(ds, { perClass: 2, seed: 7 });
  assert.deepEqual(a, b);
  const others = [8, 9, 10, 11].map((seed) => Array.from(applyLabelBudget(ds, { perClass: 2, seed }).labeled).join());
  assert.ok(others.some((o) => o !== Array.from(a.labeled).join()), 'different seeds should (almost always) differ');
  const even = { name: 'even', classes: ['a', 'b', 'c'], y: Int32Array.from({ length: 30 }, (_, i) => i % 3) };
  const smaller = applyLabelBudget(even, { perClass: 2, seed: 7 }).labeled;
  const bigger = applyLabelBudget(even, { perClass: 5, seed: 7 }).labeled;
  for (const i of smaller) assert.ok(bigger.includes(i), `sample ${i} kept by perClass 2 must be kept by perClass 5`);
});

test("a class's selection does not depend on the other classes' sizes", () => {
  const base = Array.from({ length: 40 }, (_, i) => i % 2);
  const more = [...base, ...new Array(25).fill(0)]; // class 0 grows at the end; class 1 indices unchanged
  const pick = (y: number[]) =>
    Array.from(applyLabelBudget({ name: 't', classes: ['a', 'b'], y: Int32Array.from(y) }, { perClass: 4, seed: 5 }).labeled).filter((i) => y[i] === 1);
  assert.deepEqual(pick(more), pick(base));
});

test('total is spread evenly, small classes give their surplus to the others', () => {
  const ds = makeDs();
  assert.deepEqual(perClassCounts(ds, applyLabelBudget(ds, { total: 6, seed: 3 }).labeled), [2, 2, 2]);
  // 9: 3 each, but 'c' has only 2; the spare label goes to 'a' or 'b'.
  const nine = perClassCounts(ds, applyLabelBudget(ds, { total: 9, seed: 3 }).labeled);
  assert.equal(nine[2], 2);
  assert.deepEqual([nine[0], nine[1]].sort(), [3, 4]);
  assert.deepEqual(perClassCounts(ds, applyLabelBudget(ds, { total: 10, seed: 3 }).labeled), [4, 4, 2]);
  assert.deepEqual(perClassCounts(ds, applyLabelBudget(ds, { total: 17, seed: 3 }).labeled), [10, 5, 2]);
  // 4 over 3 classes: one class gets 2, chosen by the seed; over many seeds every class gets picked.
  const winners = new Set<number>();
  for (let seed = 0; seed < 30; seed++) {
    const counts = perClassCounts(ds, applyLabelBudget(ds, { total: 4, seed }).labeled);
    assert.deepEqual([...counts].sort(), [1, 1, 2]);
    winners.add(counts.indexOf(2));
  }
  assert.equal(winners.size, 3);
});

function rejects(fn: () => unknown, ...parts: string[]): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof UlearnError, String(err));
    for (const p of parts) assert.ok(err.message.includes(p), `${JSON.stringify(err.message)} lacks ${JSON.stringify(p)}`);
    return true;
  });
}

test('budget errors come before any selection and say what is wrong', () => {
  const ds = makeDs();
  rejects(() => applyLabelBudget(ds, { perClass: 3, seed: 1 }), "perClass 3 asks for more labels than some classes have: 'c' has 2");
  rejects(() => applyLabelBudget(ds, { total: 2, seed: 1 }), 'total 2 is less than the 3 classes');
  rejects(() => applyLabelBudget(ds, { total: 18, seed: 1 }), 'total 18 is more than the 17 labeled samples');
  rejects(() => applyLabelBudget(ds, { perClass: 0, seed: 1 }), 'perClass must be a positive integer, got 0');
  rejects(() => applyLabelBudget(ds, { total: -4, seed: 1 }), 'total must be a positive integer, got -4');
  rejects(() => applyLabelBudget(ds, { perClass: 1.5, seed: 1 }), 'perClass must be a positive integer, got 1.5');
  rejects(() => applyLabelBudget(ds, { seed: 1 }), 'exactly one of perClass or total');
  rejects(() => applyLabelBudget(ds, { perClass: 1, total: 3, seed: 1 }), 'exactly one of perClass or total');
  rejects(() => applyLabelBudget(ds, { perClass: 1, seed: 0.5 }), 'seed must be an integer');
});

test('a class without labeled samples, or a dataset with fewer labels than classes, is refused', () => {
  const noC = { name: 'noC', classes: ['a', 'b', 'c'], y: Int32Array.from([0, 0, 1, 1, -1]) };
  rejects(() => applyLabelBudget(noC, { total: 3, seed: 1 }), "'c' have no labeled samples");
  rejects(() => applyLabelBudget(noC, { perClass: 1, seed: 1 }), "'c' has 0");
  const tiny = { name: 'tiny', classes: ['a', 'b', 'c'], y: Int32Array.from([0, 1, -1]) };
  rejects(() => applyLabelBudget(tiny, { total: 3, seed: 1 }), 'only 2 labeled samples');
  rejects(() => applyLabelBudget({ name: 'u', classes: [], y: Int32Array.from([-1]) }, { total: 1, seed: 1 }), 'no labeled samples');
});
