import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { Budget } from '../../src/util/budget.js';
import { Progress, type ProgressStream } from '../../src/util/progress.js';

function fakeStream(isTTY = false, columns?: number): ProgressStream & { out: string } {
  return {
    out: '',
    isTTY,
    columns,
    write(chunk: string) {
      this.out += chunk;
      return true;
    },
  };
}

function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = 0;
  return { now: () => t, advance: (ms) => (t += ms) };
}

test('non-TTY: plain lines at most every intervalMs, ETA from the rate, final line', () => {
  const s = fakeStream(false);
  const c = clock();
  const p = new Progress('pretrain', 1000, { stream: s, now: c.now });
  for (let i = 0; i < 35; i++) {
    c.advance(1000);
    p.tick(10, { loss: 1.23456 });
  }
  // 10 items/s; lines at t = 10, 20, 30 s.
  const lines = s.out.trimEnd().split('\n');
  assert.equal(lines.length, 3);
  assert.equal(lines[0], 'pretrain 10% 100/1000 10.0/s ETA 1m30s loss=1.235');
  assert.equal(lines[2], 'pretrain 30% 300/1000 10.0/s ETA 1m10s loss=1.235');
  p.done('knn=71.2%');
  const last = s.out.trimEnd().split('\n').pop();
  assert.equal(last, 'pretrain done 350/1000 in 35s (10.0/s) loss=1.235 knn=71.2%');
  assert.ok(!s.out.includes('\r'));
  assert.ok(!s.out.includes('\x1b'));
  p.tick(5);
  p.done();
  assert.equal(s.out.trimEnd().split('\n').length, 4, 'nothing after done');
});

test('TTY: one line redrawn in place with bar, percent, count, rate, ETA and info', () => {
  const s = fakeStream(true);
  const c = clock();
  const p = new Progress('epoch 1', 200, { stream: s, now: c.now });
  c.advance(2000);
  p.tick(50, { loss: 0.5, knn: '71.2%' });
  // 25 items/s, 150 left: 6 s.
  assert.equal(s.out, '\r\x1b[Kepoch 1 [=====               ] 25% 50/200 25.0/s ETA 6s loss=0.5 knn=71.2%');
  c.advance(50);
  p.tick(1);
  assert.equal(s.out.split('\r').length, 2, 'redraws are throttled');
  p.log('checkpoint saved');
  assert.equal(s.out.slice(s.out.indexOf('\r\x1b[Kcheckpoint')), '\r\x1b[Kcheckpoint saved\n\r\x1b[Kepoch 1 [=====               ] 25% 51/200 25.0/s ETA 6s loss=0.5 knn=71.2%');
  c.advance(5950);
  p.tick(149);
  assert.match(s.out, /\[=+\] 100% 200\/200 2\d\.\d\/s ETA 0ms loss=0\.5 knn=71\.2%$/);
  p.done();
  assert.ok(s.out.endsWith('\r\x1b[Kepoch 1 done 200/200 in 8s (25.0/s) loss=0.5 knn=71.2%\n'));
});

test('TTY lines are cut to the terminal width so they never wrap', () => {
  const s = fakeStream(true, 30);
  const p = new Progress('a-rather-long-label', 10, { stream: s, now: clock().now });
  p.tick(1, { loss: 1 });
  assert.equal(s.out.replace('\r\x1b[K', '').length, 29);
});

test('the ETA follows a rate change through the moving average', () => {
  const s = fakeStream(false);
  const c = clock();
  const p = new Progress('x', 10_000, { stream: s, now: c.now, intervalMs: 1e9, smoothingMs: 5000 });
  for (let i = 0; i < 60; i++) {
    c.advance(1000);
    p.tick(100);
  }
  assert.ok(Math.abs(p.etaMs() - 40_000) < 1, `steady 100/s, 4000 left: ${p.etaMs()}`);
  for (let i = 0; i < 3; i++) {
    c.advance(1000);
    p.tick(50);
  }
  const eta = p.etaMs();
  // Between the old rate's ETA (38.5 s) and the new rate's (77 s): smoothed, not jumping.
  assert.ok(eta > 45_000 && eta < 77_000, String(eta));
  const unknown = new Progress('y', 10, { stream: s, now: c.now });
  assert.equal(unknown.etaMs(), Infinity);
});

test('log() on a non-TTY is a plain line', () => {
  const s = fakeStream(false);
  const p = new Progress('x', 0, { stream: s, now: clock().now });
  p.log('hello');
  p.tick(3);
  p.done();
  assert.equal(s.out, 'hello\nx done 3 in 0ms\n');
});

test('any Writable works as the stream (not a TTY: no escape codes)', () => {
  const w = new PassThrough();
  let out = '';
  w.on('data', (c: Buffer) => (out += c.toString()));
  const p = new Progress('w', 2, { stream: w, now: clock().now });
  p.tick(2);
  p.done();
  assert.equal(out, 'w done 2/2 in 0ms\n');
});

test('the ETA stops at the budget deadline', () => {
  let t = 0;
  const out: string[] = [];
  const budget = new Budget(30_000, () => t);
  const p = new Progress('work', 1000, { stream: { write: (s: string) => (out.push(s), true) } as ProgressStream, isTTY: false, now: () => t, budget });
  for (let i = 0; i < 10; i++) {
    t += 1000;
    p.tick(1);
  }
  // 990 items left at ~1/s would be ~16 min; the deadline is 20 s away.
  assert.ok(p.etaMs() <= 20_000 && p.etaMs() > 19_000, `eta ${p.etaMs()}`);
});

test('the bar follows whichever of steps and budget stops the loop first', () => {
  let t = 0;
  const s = fakeStream(true);
  // 23,400 steps at ~1 step per 10 s would take 65 h; the 10-minute budget stops the run. (The demo's bar read
  // `0% 54/23400` for its whole run.)
  const p = new Progress('pretrain', 23_400, { stream: s, now: () => t, budget: new Budget(600_000, () => t) });
  for (let i = 0; i < 27; i++) {
    t += 10_000;
    p.tick(1);
  }
  assert.deepEqual(p.fraction(), { done: 0.45, byBudget: true });
  assert.match(s.out.split('\r\x1b[K').at(-1)!, /^pretrain \[========= {11}\] 45% of budget 27\/23400 .*ETA 5m30s/);
  // Where the steps run out first, the count drives the bar and the budget is not mentioned.
  let u = 0;
  const q = new Progress('finetune', 10, { stream: fakeStream(false), now: () => u, budget: new Budget(600_000, () => u) });
  u += 6_000;
  q.tick(4);
  assert.deepEqual(q.fraction(), { done: 0.4, byBudget: false });
  // No budget, no total: no share at all.
  assert.equal(new Progress('x', 0, { stream: fakeStream() }).fraction(), undefined);
});
