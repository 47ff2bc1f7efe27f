/** Hashes and the multi-index Hamming search, against plain-loop references. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dHash, hamming64, hammingPairs, popcount32 } from '../../src/clean/hash.js';
import { Rng } from '../../src/engine/seed.js';

const naivePop = (v: number) => [...(v >>> 0).toString(2)].filter((b) => b === '1').length;

test('popcount32 matches counting the binary digits', () => {
  const rng = new Rng(3);
  for (const v of [0, 1, 0xffffffff, 0x80000000, 0x12345678]) assert.equal(popcount32(v), naivePop(v));
  for (let t = 0; t < 1000; t++) {
    const v = (rng.int(2 ** 16) * 2 ** 16 + rng.int(2 ** 16)) >>> 0;
    assert.equal(popcount32(v), naivePop(v));
  }
});

test('dHash: hand-computed bits of a 9x8 image; brightness shifts keep the hash', () => {
  // 9 columns x 8 rows, one pixel per cell: row r is bright-to-dark (left > right everywhere) for even r,
  // dark-to-bright for odd r, so bits are 11111111 00000000 11111111 ...
  const px = new Uint8Array(72);
  for (let r = 0; r < 8; r++) for (let c = 0; c < 9; c++) px[r * 9 + c] = r % 2 === 0 ? 200 - 10 * c : 10 + 10 * c;
  const [hi, lo] = dHash(px, 8, 9, 1);
  assert.equal(hi, 0xff00ff00);
  assert.equal(lo, 0xff00ff00);
  const brighter = px.map((v) => v + 30);
  assert.deepEqual(dHash(brighter, 8, 9, 1), [hi, lo]);
});

test('hammingPairs finds exactly the pairs within 3 bits that brute force finds', () => {
  const rng = new Rng(11);
  const n = 400;
  const hi = new Uint32Array(n);
  const lo = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    if (i > 0 && rng.random() < 0.4) {
      // a near copy of an earlier hash with 0-5 flipped bits
      const j = rng.int(i);
      hi[i] = hi[j];
      lo[i] = lo[j];
      for (let f = rng.int(6); f > 0; f--) {
        const bit = rng.int(64);
        if (bit < 32) hi[i] = (hi[i] ^ (1 << bit)) >>> 0;
        else lo[i] = (lo[i] ^ (1 << (bit - 32))) >>> 0;
      }
    } else {
      hi[i] = rng.int(2 ** 32) >>> 0;
      lo[i] = rng.int(2 ** 32) >>> 0;
    }
  }
  const include = new Uint8Array(n).fill(1);
  include[7] = 0;
  const got = hammingPairs(hi, lo, include, 3);
  const key = (a: number, b: number) => `${a},${b}`;
  const found = new Set(Array.from(got.a, (a, k) => key(a, got.b[k])));
  const want = new Set<string>();
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) if (include[i] && include[j] && hamming64(hi[i], lo[i], hi[j], lo[j]) <= 3) want.add(key(i, j));
  assert.ok(want.size > 20, 'the fixture has near pairs');
  assert.deepEqual([...found].sort(), [...want].sort());
});
