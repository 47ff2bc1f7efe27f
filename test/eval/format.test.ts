import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dateText, duration, esc, num, pct, signedPoints, truncate } from '../../src/eval/format.js';
import { niceTicks } from '../../src/eval/svg.js';

test('esc escapes the five HTML-significant characters', () => {
  assert.equal(esc(`<a href="x" title='y'>&</a>`), '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
});

test('number formatting', () => {
  assert.equal(pct(0.8124), '81.2%');
  assert.equal(pct(1), '100.0%');
  assert.equal(pct(0.5, 0), '50%');
  assert.equal(pct(null), '—');
  assert.equal(pct(NaN), '—');
  assert.equal(signedPoints(15.9), '+15.9');
  assert.equal(signedPoints(-3), '−3.0');
  assert.equal(signedPoints(0.01), '±0.0');
  assert.equal(num(1.23456), '1.235');
  assert.equal(num(2), '2');
  assert.equal(num(0.00012), '1.2e-4');
  assert.equal(duration(42), '42 s');
  assert.equal(duration(812), '13 min 32 s');
  assert.equal(duration(3900), '1 h 05 min');
  assert.equal(dateText('2025-03-14T09:26:53Z'), '2025-03-14 09:26 UTC');
  assert.equal(dateText('yesterday'), 'yesterday');
  assert.equal(truncate('abcdef', 4), 'abc…');
  assert.equal(truncate('abc', 4), 'abc');
});

test('niceTicks picks 1/2/5 steps covering the range', () => {
  assert.deepEqual(niceTicks(0.23, 0.81, 5).values, [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]);
  assert.deepEqual(niceTicks(0, 1, 5).values, [0, 0.2, 0.4, 0.6, 0.8, 1]);
  const t = niceTicks(1, 50, 6, true);
  assert.equal(t.step, 10);
  assert.deepEqual(t.values, [0, 10, 20, 30, 40, 50]);
  // Integer axes never get fractional steps; a single value still gets an axis around it.
  assert.deepEqual(niceTicks(1, 3, 10, true).values, [1, 2, 3]);
  const one = niceTicks(3.2, 3.2, 4);
  assert.ok(one.lo < 3.2 && one.hi > 3.2);
});
