/**
 * Hashes for duplicate search. `contentHash` buckets byte-identical samples (the caller confirms equality, so a
 * 32-bit collision costs a comparison, never a false duplicate). `dHash` is the 64-bit difference hash of a
 * 9x8 gray thumbnail (one bit per horizontal neighbour pair: is the left cell brighter?), which survives noise,
 * re-encoding and brightness/contrast changes; near images differ in few bits.
 */

/** FNV-1a over bytes. */
export function contentHash(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  return h >>> 0;
}

/** 64-bit dHash as [hi, lo] 32-bit halves, of an HWC uint8 image (channels averaged to gray). */
export function dHash(pixels: Uint8Array, height: number, width: number, channels: number): [number, number] {
  const cols = 9;
  const rows = 8;
  const sum = new Float64Array(rows * cols);
  const cnt = new Float64Array(rows * cols);
  // Area average into the 9x8 grid (each pixel goes to the cell its centre falls in).
  for (let y = 0; y < height; y++) {
    const r = Math.min(rows - 1, Math.floor(((y + 0.5) * rows) / height));
    for (let x = 0; x < width; x++) {
      const c = Math.min(cols - 1, Math.floor(((x + 0.5) * cols) / width));
      let v = 0;
      for (let k = 0; k < channels; k++) v += pixels[(y * width + x) * channels + k];
      sum[r * cols + c] += v / channels;
      cnt[r * cols + c] += 1;
    }
  }
  let hi = 0;
  let lo = 0;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols - 1; c++) {
      const left = cnt[r * cols + c] > 0 ? sum[r * cols + c] / cnt[r * cols + c] : 0;
      const right = cnt[r * cols + c + 1] > 0 ? sum[r * cols + c + 1] / cnt[r * cols + c + 1] : 0;
      const bit = r * (cols - 1) + c;
      if (left > right) {
        if (bit < 32) hi |= 1 << (31 - bit);
        else lo |= 1 << (63 - bit);
      }
    }
  }
  return [hi >>> 0, lo >>> 0];
}

export function popcount32(v: number): number {
  v = v - ((v >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) & 0xff;
}

export function hamming64(aHi: number, aLo: number, bHi: number, bLo: number): number {
  return popcount32((aHi ^ bHi) >>> 0) + popcount32((aLo ^ bLo) >>> 0);
}

/**
 * All pairs (i < j) whose 64-bit hashes differ in at most `maxBits` bits (maxBits <= 3), by multi-index
 * hashing: with 4 chunks of 16 bits, two hashes within 3 bits agree exactly on at least one chunk
 * (pigeonhole), so only samples sharing a chunk value are compared. Buckets larger than `maxBucket` (a
 * featureless hash shared by thousands of samples) are skipped: the embedding search covers those.
 */
export function hammingPairs(hi: Uint32Array, lo: Uint32Array, include: Uint8Array, maxBits: number, maxBucket = 2000): { a: Int32Array; b: Int32Array; skippedBuckets: number } {
  if (maxBits > 3) throw new Error('hammingPairs: maxBits must be <= 3 with 4 chunks');
  const n = hi.length;
  const seen = new Set<number>();
  const a: number[] = [];
  const b: number[] = [];
  let skippedBuckets = 0;
  for (let chunk = 0; chunk < 4; chunk++) {
    const buckets = new Map<number, number[]>();
    for (let i = 0; i < n; i++) {
      if (!include[i]) continue;
      const key = chunk < 2 ? (hi[i] >>> (16 * (1 - chunk))) & 0xffff : (lo[i] >>> (16 * (3 - chunk))) & 0xffff;
      const list = buckets.get(key);
      if (list) list.push(i);
      else buckets.set(key, [i]);
    }
    for (const list of buckets.values()) {
      if (list.length < 2) continue;
      if (list.length > maxBucket) {
        skippedBuckets++;
        continue;
      }
      for (let x = 0; x < list.length; x++) {
        for (let y = x + 1; y < list.length; y++) {
          const i = list[x];
          const j = list[y];
          if (hamming64(hi[i], lo[i], hi[j], lo[j]) > maxBits) continue;
          const key = i * n + j;
          if (seen.has(key)) continue;
          seen.add(key);
          a.push(i);
          b.push(j);
        }
      }
    }
  }
  return { a: Int32Array.from(a), b: Int32Array.from(b), skippedBuckets };
}
