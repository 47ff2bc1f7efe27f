/**
 * Writes a generated folder (manifest.json + per-class PNGs, the format src/generate/generated-folder.ts reads)
 * from the stripe fixtures, as `ulearn generate` would, so the augmentation and metric tests need no generator.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CLASSES, writeStripes } from '../semi/fixtures.js';

export async function writeGeneratedStripes(dir: string, perClass: number, seed: number, edit: (m: Record<string, unknown>) => void = () => {}): Promise<void> {
  await writeStripes(dir, perClass, seed);
  const samples = CLASSES.flatMap((name, label) => Array.from({ length: perClass }, (_, i) => ({ file: `${name}/${i}.png`, label, labelSource: 'conditional' })));
  const manifest: Record<string, unknown> = { version: 1, kind: 'ulearn-generated', model: 'vae', checkpoint: 'checkpoint', shape: [16, 16, 1], classes: [...CLASSES], samples };
  edit(manifest);
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
}
