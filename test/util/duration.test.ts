import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, parseDuration } from '../../src/util/duration.js';
import { UlearnError } from '../../src/errors.js';

test('parseDuration reads units, compounds, decimals and plain seconds', () => {
  assert.equal(parseDuration('90s'), 90_000);
  assert.equal(parseDuration('10m'), 600_000);
  assert.equal(parseDuration('1h30m'), 5_400_000);
  assert.equal(parseDuration('1.5h'), 5_400_000);
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('1m500ms'), 60_500);
  assert.equal(parseDuration('2d'), 172_800_000);
  assert.equal(parseDuration('45'), 45_000);
  assert.equal(parseDuration('0.25'), 250);
  assert.equal(parseDuration(' 2M '), 120_000);
  assert.equal(parseDuration(3), 3000);
});

test('parseDuration rejects bad input naming the value and the accepted forms', () => {
  for (const bad of ['', 'abc', '10x', 'm', '-5s', '1m1m', '1h 30m', '5 minutes', '1..5h']) {
    assert.throws(
      () => parseDuration(bad),
      (e: unknown) => e instanceof UlearnError && e.message.includes(JSON.stringify(bad)) && e.message.includes("'1h30m'"),
      bad,
    );
  }
  assert.throws(() => parseDuration(-1), UlearnError);
  assert.throws(() => parseDuration(Number.NaN), UlearnError);
});

test('formatDuration is compact and carries correctly', () => {
  assert.equal(formatDuration(12_000), '12s');
  assert.equal(formatDuration(245_000), '4m05s');
  assert.equal(formatDuration(3_720_000), '1h02m');
  assert.equal(formatDuration(350), '350ms');
  assert.equal(formatDuration(0), '0ms');
  assert.equal(formatDuration(59_600), '1m00s');
  assert.equal(formatDuration(3_599_700), '1h00m');
  assert.equal(formatDuration(26 * 3_600_000 + 5 * 60_000), '26h05m');
  assert.equal(formatDuration(Infinity), '--');
  assert.equal(formatDuration(-5), '0ms');
});
