/**
 * Seeded randomness for everything ulearn draws (label budgets, shuffles, augmentations, inits).
 * tfjs ops take an integer seed; JS-side draws use this small generator so a run is reproducible from its config.
 */

/**
 * The seed to hand a tfjs op or initializer that draws from a normal distribution (randomNormal,
 * truncatedNormal, heNormal, glorotNormal...). tfjs reads a seed of 0 there as "no seed" and draws a fresh one
 * from Math.random (tfjs-core rand_util: `seed ? seed : Math.random()`), so seed 0, our default, gave
 * different weights on every run: an MLP's first layer (`seed * 101 + 0`) and a ResNet's stem (`seed * 1000`)
 * were never reproducible. 0 maps to -1, which no `seed * k + i` formula here produces. (Uniform draws treat
 * only null as unseeded, so glorotUniform and dropout seeds pass through unchanged.)
 */
export function tfSeed(seed: number): number {
  return seed === 0 ? -1 : seed;
}

/** mulberry32: tiny, fast, good enough for shuffles and augment parameters (not for cryptography). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A reproducible stream of random numbers plus helpers; `fork(tag)` derives independent streams. */
export class Rng {
  private readonly next: () => number;
  constructor(readonly seed: number) {
    this.next = mulberry32(seed);
  }
  /** Uniform in [0, 1). */
  random(): number {
    return this.next();
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** Integer seed for a tfjs op. */
  seedInt(): number {
    return Math.floor(this.next() * 2 ** 31);
  }
  normal(): number {
    // Box-Muller; 1 - u avoids log(0).
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  /** Fisher-Yates shuffle in place. */
  shuffle<T>(arr: T[]): T[] {
    for (let i = arr.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [arr[i], arr[j]] = [arr[j], arr[i]];
    }
    return arr;
  }
  permutation(n: number): number[] {
    return this.shuffle(Array.from({ length: n }, (_, i) => i));
  }
  /** An independent stream derived from this seed and a tag (so adding draws elsewhere does not shift it). */
  fork(tag: string): Rng {
    let h = this.seed ^ 0x9e3779b9;
    for (let i = 0; i < tag.length; i++) h = Math.imul(h ^ tag.charCodeAt(i), 0x85ebca6b) >>> 0;
    return new Rng(h >>> 0);
  }
}
