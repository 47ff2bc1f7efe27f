/**
 * Test helpers for audio: the torchaudio fixtures (test/fixtures/audio/, written once by
 * scripts/fixtures/audio.py) and a WAV byte builder of our own, field by field, for malformed files (so the
 * reader is not tested only against its own writer).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'audio');

export interface WavFixture {
  file: string;
  sampleRate: number;
  channels: number;
  encoding: 'pcm' | 'float';
  bitsPerSample: number;
  frames: number;
  mono: string;
  resampled16k: string;
}

export interface FeatureFixture {
  clip: string;
  nMels: number;
  nMfcc: number;
  frames: number;
  logmel: string;
  mfcc: string;
}

export const fixtureIndex = JSON.parse(readFileSync(join(FIXTURES, 'index.json'), 'utf8')) as { torchaudio: string; wav: WavFixture[]; features: FeatureFixture[] };

export function readF32(name: string): Float32Array {
  const b = readFileSync(join(FIXTURES, name));
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

export function readFixture(name: string): Uint8Array {
  return readFileSync(join(FIXTURES, name));
}

/** max |a - b| over equal-length arrays (a length mismatch is Infinity). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export interface Chunk {
  id: string;
  body: Uint8Array;
  /** Size written in the header (default body.length): larger than the body makes a truncated file. */
  size?: number;
}

/** A RIFF/WAVE file from chunks (pad bytes added after odd sizes). */
export function riff(chunks: Chunk[], head = 'RIFF'): Uint8Array {
  const parts: number[] = [];
  const ascii = (s: string) => [...s].forEach((c) => parts.push(c.charCodeAt(0)));
  const u32 = (v: number) => parts.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
  ascii('WAVE');
  for (const c of chunks) {
    ascii(c.id);
    u32(c.size ?? c.body.length);
    parts.push(...c.body);
    if (c.body.length % 2) parts.push(0);
  }
  const out = new Uint8Array(8 + parts.length);
  out.set([...head].map((c) => c.charCodeAt(0)), 0);
  new DataView(out.buffer).setUint32(4, parts.length, true);
  out.set(parts, 8);
  return out;
}

/** A plain (16-byte) fmt chunk. */
export function fmt(o: { tag?: number; channels?: number; rate?: number; bits?: number; blockAlign?: number }): Chunk {
  const { tag = 1, channels = 1, rate = 16000, bits = 16 } = o;
  const blockAlign = o.blockAlign ?? (channels * bits) / 8;
  const b = new DataView(new ArrayBuffer(16));
  b.setUint16(0, tag, true);
  b.setUint16(2, channels, true);
  b.setUint32(4, rate, true);
  b.setUint32(8, rate * blockAlign, true);
  b.setUint16(12, blockAlign, true);
  b.setUint16(14, bits, true);
  return { id: 'fmt ', body: new Uint8Array(b.buffer) };
}

export function data(body: ArrayLike<number> | ArrayBufferView, size?: number): Chunk {
  const bytes = ArrayBuffer.isView(body) ? new Uint8Array(body.buffer, body.byteOffset, body.byteLength) : Uint8Array.from(body);
  return { id: 'data', body: bytes, size };
}
