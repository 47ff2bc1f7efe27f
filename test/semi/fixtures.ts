/** A tiny labeled image folder (3 classes of stripe patterns, 16x16 gray PNGs) for CLI and benchmark tests. */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { Rng } from '../../src/engine/seed.js';

export const CLASSES = ['diagonal', 'horizontal', 'vertical'];

function pattern(cls: string, rng: Rng): Buffer {
  const px = Buffer.alloc(16 * 16);
  const phase = rng.int(4);
  for (let r = 0; r < 16; r++) {
    for (let c = 0; c < 16; c++) {
      const on = cls === 'horizontal' ? (r + phase) % 4 < 2 : cls === 'vertical' ? (c + phase) % 4 < 2 : (r + c + phase) % 4 < 2;
      px[r * 16 + c] = Math.max(0, Math.min(255, (on ? 200 : 40) + Math.round(rng.normal() * 20)));
    }
  }
  return px;
}

export async function writeStripes(dir: string, perClass: number, seed: number): Promise<void> {
  const rng = new Rng(seed);
  for (const name of CLASSES) {
    await mkdir(join(dir, name), { recursive: true });
    for (let i = 0; i < perClass; i++) {
      await sharp(pattern(name, rng), { raw: { width: 16, height: 16, channels: 1 } }).png().toFile(join(dir, name, `${i}.png`));
    }
  }
}
