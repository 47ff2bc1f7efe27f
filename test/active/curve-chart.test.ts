/** The learning-curve chart: log x axis, one line and legend entry per series, the reference line. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { curveChart } from '../../src/active/curve-chart.js';

describe('curveChart', () => {
  const svg = curveChart(
    [
      { name: 'random', points: [{ x: 10, y: 0.5 }, { x: 100, y: 0.6 }, { x: 1000, y: 0.7 }] },
      { name: 'typical <b>', points: [{ x: 10, y: 0.55 }, { x: 1000, y: 0.75 }] },
    ],
    { reference: { y: 0.6, label: 'random at 100' } },
  );

  test('x is logarithmic: 100 lies halfway between 10 and 1000', () => {
    const xs = [...svg.matchAll(/<circle cx="([\d.]+)"/g)].map((m) => Number(m[1]));
    assert.equal(xs.length, 5);
    assert.ok(Math.abs(xs[1] - (xs[0] + xs[2]) / 2) <= 0.1, `${xs}`);
  });

  test('one line per series, names escaped in the legend, and the dashed reference line', () => {
    assert.equal((svg.match(/<path /g) ?? []).length, 2);
    assert.ok(svg.includes('typical &lt;b&gt;') && !svg.includes('typical <b>'));
    assert.ok(svg.includes('stroke-dasharray') && svg.includes('random at 100'));
  });

  test('no finite points: no chart', () => {
    assert.equal(curveChart([{ name: 'a', points: [{ x: 10, y: NaN }] }]), '');
  });
});
