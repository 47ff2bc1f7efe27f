import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Budget } from '../../src/util/budget.js';
import { UlearnError } from '../../src/errors.js';

function clock(start = 1000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

test('a budget counts down, reports its used fraction and becomes exceeded', () => {
  const c = clock();
  const b = new Budget(10_000, c.now);
  assert.equal(b.remainingMs(), 10_000);
  assert.equal(b.fraction(), 0);
  c.advance(2500);
  assert.equal(b.remainingMs(), 7500);
  assert.equal(b.fraction(), 0.25);
  assert.equal(b.exceeded(), false);
  assert.equal(b.toString(), '8s of 10s left');
  c.advance(8000);
  assert.equal(b.remainingMs(), 0);
  assert.equal(b.fraction(), 1);
  assert.equal(b.exceeded(), true);
});

test('an unlimited budget never runs out', () => {
  const c = clock();
  const b = new Budget(undefined, c.now);
  c.advance(1e9);
  assert.equal(b.remainingMs(), Infinity);
  assert.equal(b.exceeded(), false);
  assert.equal(b.fraction(), 0);
  assert.equal(b.child(0.5).unlimited, true);
  assert.equal(b.child({ ms: 5000 }).remainingMs(), 5000);
  assert.equal(Budget.parse(undefined).unlimited, true);
  assert.equal(Budget.parse('10m').limitMs, 600_000);
  // 'none' is how a config or a flag asks for step/epoch caps alone (what tests use).
  assert.equal(Budget.parse('none').unlimited, true);
  assert.equal(Budget.parse(' None ').unlimited, true);
  assert.throws(() => Budget.parse('nothing'), /invalid duration/);
});

test('children take a share of what remains; leftover time flows to the next stage', () => {
  const c = clock();
  const total = new Budget(10_000, c.now);
  c.advance(2000);
  const pretrain = total.child(0.75); // 75% of the 8 s left
  assert.equal(pretrain.limitMs, 6000);
  c.advance(4000); // pretraining stops early
  assert.equal(pretrain.remainingMs(), 2000);
  const finetune = total.child(1);
  assert.equal(finetune.limitMs, 4000);
  assert.equal(total.child({ ms: 60_000 }).limitMs, 4000, 'capped at what remains');
  c.advance(5000);
  assert.equal(finetune.exceeded(), true);
  assert.equal(total.child(0.5).exceeded(), true, 'a child of a spent budget is spent');
});

test('invalid shares and limits are UlearnErrors', () => {
  const b = new Budget(1000);
  assert.throws(() => b.child(0), UlearnError);
  assert.throws(() => b.child(1.5), /fraction in \(0, 1\]/);
  assert.throws(() => b.child({ ms: -1 }), UlearnError);
  assert.throws(() => new Budget(-1), UlearnError);
});
