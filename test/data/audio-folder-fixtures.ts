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
 * A burst of a tone: `freq` Hz from `start` for `length` seconds (10 ms fades), in a `seconds`-long clip with
 * faint noise: a stand-in for a word, whose pitch and timing tell clips apart.
 */
export function burst(freq: number, o: { start?: number; length?: number; amp?: number; seconds?: number; seed?: number } = {}): Float32Array {
  const { start = 0.1, length = 0.25, amp = 0.3, seconds = 0.5, seed = 1 } = o;
  const x = tone(0, { amp: 0, seconds, seed });
  const a = Math.round(start * RATE);
  const b = Math.min(x.length, a + Math.round(length * RATE));
  const fade = Math.round(0.01 * RATE);
  for (let i = a; i < b; i++) x[i] += amp * Math.min(1, (i - a) / fade, (b - i) / fade) * Math.sin((2 * Math.PI * freq * (i - a)) / RATE);
  return x;
}

/**
 * `classes` subfolders of `perClass` bursts each under `root` (class k an octave above class k − 1, clip j
 * 12 % higher than clip j − 1 and starting 40 ms later: distinct clips, as different words are); returns the
 * written paths relative to root.
 */
export function toneFolder(root: string, o: { classes?: string[]; perClass?: number } = {}): string[] {
  const classes = o.classes ?? ['low', 'high'];
  const perClass = o.perClass ?? 4;
  const files: string[] = [];
  classes.forEach((c, k) => {
    for (let j = 0; j < perClass; j++) {
      const file = `${c}/${c}-${j}.wav`;
      writeClip(join(root, file), burst(250 * 2 ** k * 1.12 ** j, { start: 0.05 + 0.04 * j, seed: 10 * k + j + 1 }));
      files.push(file);
    }
  });
  return files;
}
