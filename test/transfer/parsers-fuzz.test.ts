/**
 * The weight-file parsers under mutation: bit flips, truncations, insertions and header edits of valid .npy
 * (written by NumPy) and safetensors files. Every outcome is a parse or a UlearnError: never another
 * exception, and never an array larger than the file could hold. Seeded and bounded by iteration counts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { UlearnError } from '../../src/errors.js';
import { Rng } from '../../src/engine/seed.js';
import { parseNpy } from '../../src/transfer/npy.js';
import { encodeSafetensors, parseSafetensors } from '../../src/transfer/safetensors.js';

const NPY = path.join(import.meta.dirname, '..', 'fixtures', 'transfer');

function mutate(rng: Rng, src: Uint8Array): Uint8Array {
  const b = src.slice();
  switch (rng.int(4)) {
    case 0:
      for (let k = 0; k < 1 + rng.int(4); k++) b[rng.int(b.length)] ^= 1 << rng.int(8);
      return b;
    case 1:
      return b.subarray(0, rng.int(b.length));
    case 2: {
      const at = rng.int(b.length);
      const extra = Uint8Array.from({ length: 1 + rng.int(8) }, () => rng.int(256));
      const out = new Uint8Array(b.length + extra.length);
      out.set(b.subarray(0, at));
      out.set(extra, at);
      out.set(b.subarray(at), at + extra.length);
      return out;
    }
    default:
      // Header region: digits and punctuation where the sizes and offsets are written.
      for (let k = 0; k < 3; k++) b[8 + rng.int(Math.min(120, b.length - 8))] = '0123456789,:[]{}()-'.charCodeAt(rng.int(19));
      return b;
  }
}

function fuzz(name: string, seeds: Uint8Array[], parse: (b: Uint8Array) => { size: number }[], iterations: number): void {
  const rng = new Rng(29);
  let parsed = 0;
  for (let i = 0; i < iterations; i++) {
    const bytes = mutate(rng, seeds[i % seeds.length]);
    try {
      const arrays = parse(bytes);
      parsed++;
      for (const a of arrays) assert.ok(a.size <= bytes.length, `${name} #${i}: ${a.size} values from ${bytes.length} bytes`);
    } catch (e) {
      if (!(e instanceof UlearnError)) assert.fail(`${name} iteration ${i} (seed 29): ${(e as Error).stack}`);
    }
  }
  // Some mutations leave a valid file (a flipped data bit): the loop saw both outcomes.
  assert.ok(parsed > 0 && parsed < iterations, `${name}: ${parsed} of ${iterations} parsed`);
}

test('.npy parser under mutation: a parse or a UlearnError', () => {
  const seeds = ['f4-c-v1.npy', 'f8-be-fortran.npy', 'f2.npy', 'i8.npy', 'f4-v2.npy', 'f4-v3.npy', 'u1-scalar.npy'].map((f) => new Uint8Array(readFileSync(path.join(NPY, f))));
  fuzz('npy', seeds, (b) => [{ size: parseNpy(b, 'fuzz.npy').data.length }], 1500);
});

test('safetensors parser under mutation: a parse or a UlearnError', () => {
  const seeds = [
    encodeSafetensors(new Map([['conv/kernel', { shape: [3, 3, 1, 2], data: new Float32Array(18).fill(0.5) }], ['conv/bias', { shape: [2], data: new Float32Array([1, 2]) }]]), { 'ulearn.architecture': '{"family":"resnet"}' }),
    encodeSafetensors(new Map([['w', { shape: [], data: new Float32Array([3]) }]])),
  ];
  fuzz('safetensors', seeds, (b) => [...parseSafetensors(b, 'fuzz.safetensors').tensors.values()].map((t) => ({ size: t.data.length })), 1500);
});
