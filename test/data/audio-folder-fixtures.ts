/**
 * Small generated audio folders for the CLI, clean and labeling tests: tones of a few frequencies in class
 * subfolders (16-bit PCM at 16 kHz, 0.5 s), plus the bad and odd clips those tests look for. Every clip is a
 * pure function of its arguments, so a test is the same on every run.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { encodeWav } from '../../src/data/wav.js';

export const RATE = 16000;

/** A tone: `freq` Hz at amplitude `amp`, `seconds` long, with a little deterministic noise (`seed`). */
export function tone(freq: number, o: { amp?: number; seconds?: number; seed?: number; rate?: number } = {}): Float32Array {
  const { amp = 0.3, seconds = 0.5, seed = 1, rate = RATE } = o;
  const n = Math.round(seconds * rate);
  const x = new Float32Array(n);
  let s = seed * 2654435761 >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const noise = (s / 2 ** 32 - 0.5) * 0.02;
    x[i] = amp * Math.sin((2 * Math.PI * freq * i) / rate) + noise;
  }
  return x;
}

export function writeClip(path: string, samples: Float32Array, encoding: 'pcm16' | 'float32' = 'pcm16', rate = RATE): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, encodeWav(samples, rate, encoding));
}

/** A WAV whose data chunk is cut off: the header promises more bytes than the file has. */
export function truncatedWav(): Uint8Array {
  const full = encodeWav(tone(440), RATE, 'pcm16');
  return full.subarray(0, 44 + 100);
}

/** A 32-bit float WAV with a NaN sample in the middle. */
export function nanWav(): Uint8Array {
  const x = tone(440);
  const bytes = encodeWav(x, RATE, 'float32');
  // Found rather than assumed at byte 36: encodeWav may write a longer fmt chunk for float.
  const at = findData(bytes) + 8 + 4 * 100;
  new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).setFloat32(at, NaN, true);
  return bytes;
}

function findData(b: Uint8Array): number {
  for (let i = 12; i + 4 <= b.length; i++) if (b[i] === 0x64 && b[i + 1] === 0x61 && b[i + 2] === 0x74 && b[i + 3] === 0x61) return i;
  throw new Error('no data chunk');
}

/**
 * `classes` subfolders of `perClass` tones each (class c at 300·(c+1) Hz, varying slightly per clip), under
 * `root`; returns the written paths relative to root.
 */
export function toneFolder(root: string, o: { classes?: string[]; perClass?: number } = {}): string[] {
  const classes = o.classes ?? ['low', 'high'];
  const perClass = o.perClass ?? 4;
  const files: string[] = [];
  classes.forEach((c, k) => {
    for (let j = 0; j < perClass; j++) {
      const file = `${c}/${c}-${j}.wav`;
      writeClip(join(root, file), tone(300 * (k + 1) + 7 * j, { amp: 0.2 + 0.03 * j, seed: 10 * k + j + 1 }));
      files.push(file);
    }
  });
  return files;
}
