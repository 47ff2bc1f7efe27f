/**
 * What `ulearn generate` writes besides the checkpoint: a PNG grid of samples (one row per class) and the folder
 * of generated samples that `ulearn train --generated` reads. The folder's format is a contract:
 *
 *   <out>/generated/manifest.json  {"version": 1, "kind": "ulearn-generated", "model": "vae" | "ssvae" | "diffusion",
 *                                   "checkpoint": <path of the checkpoint, relative to the manifest's folder>,
 *                                   "shape": [H, W, C], "classes": [names], "samples": [{"file": "<class>/<i>.png",
 *                                   "label": <int>, "labelSource": "conditional" | "pseudo"}]}
 *   <out>/generated/<class>/<i>.png  8-bit PNGs of the data's size and channel count
 *
 * `file` is relative to the manifest's folder; a class's folder is its name with anything but letters, digits,
 * '.', '_' and '-' replaced by '_' ('T-shirt/top' → 'T-shirt_top'), so read paths from the manifest. The folder is
 * written whole in a temporary sibling and renamed into place: readers see the old folder or the new one.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { UlearnError } from '../errors.js';
import { replaceDir, syncDir, writeFileAtomic, writeJsonAtomic } from '../util/atomic.js';
import type { GeneratorKind } from './types.js';
import type { GeneratedManifest, GeneratedSample } from './generated-folder.js';

export const GENERATED_DIR = 'generated';
export const GENERATED_KIND = 'ulearn-generated';
// The manifest's types are the reader's (generated-folder.ts): one definition of the contract.
export type { GeneratedManifest, GeneratedSample } from './generated-folder.js';

/** Whether samples of this shape can be PNGs: [H, W, C] with 1 (gray), 3 (RGB) or 4 (RGBA) channels. */
export function checkPngShape(shape: readonly number[], where: string): [number, number, number] {
  if (shape.length !== 3 || ![1, 3, 4].includes(shape[2])) {
    throw new UlearnError(`${where}: samples of shape [${shape}] cannot be written as PNG images`, { code: 'E_DATA', hint: 'generate writes images [H, W, C] with 1, 3 or 4 channels' });
  }
  return shape as [number, number, number];
}

/** One sample's values in [0, 1] (HWC) as an 8-bit PNG. */
export async function samplePng(values: Float32Array, shape: readonly number[]): Promise<Buffer> {
  const [h, w, c] = checkPngShape(shape, 'sample');
  const px = Buffer.alloc(values.length);
  for (let i = 0; i < values.length; i++) px[i] = Math.round(Math.min(1, Math.max(0, values[i])) * 255);
  return encodePng(px, w, h, c);
}

/** 8-bit PNG of raw HWC bytes; one channel stays gray (sharp would otherwise widen it to sRGB). */
function encodePng(px: Buffer, width: number, height: number, channels: number): Promise<Buffer> {
  const img = sharp(px, { raw: { width, height, channels: channels as 1 | 3 | 4 } });
  return (channels === 1 ? img.toColourspace('b-w') : img).png().toBuffer();
}

/** Folder names for classes: safe characters only, unique (a suffix where two names collapse to one). */
export function classFolders(classes: string[]): string[] {
  const used = new Set<string>();
  return classes.map((name, i) => {
    let base = name.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_') || `class${i}`;
    if (used.has(base)) base = `${base}_${i}`;
    used.add(base);
    return base;
  });
}

/**
 * Writes `<out>/generated/` (manifest + PNGs) atomically. `samples` holds labels.length samples of `shape`,
 * values in [0, 1]; `checkpoint` is the checkpoint's path relative to the generated folder.
 */
export async function writeGeneratedFolder(out: string, o: { model: GeneratorKind; checkpoint: string; shape: number[]; classes: string[]; samples: Float32Array; labels: Int32Array; labelSource: 'conditional' | 'pseudo' }): Promise<GeneratedManifest> {
  const shape = checkPngShape(o.shape, out);
  const per = shape[0] * shape[1] * shape[2];
  const folders = classFolders(o.classes);
  await mkdir(out, { recursive: true });
  const tmp = join(out, `.${GENERATED_DIR}.tmp-${randomBytes(4).toString('hex')}`);
  const final = join(out, GENERATED_DIR);
  let done = false;
  try {
    await mkdir(tmp);
    for (const f of new Set(Array.from(o.labels, (l) => folders[l]))) await mkdir(join(tmp, f));
    const counts = new Array<number>(o.classes.length).fill(0);
    const samples: GeneratedSample[] = [];
    for (let i = 0; i < o.labels.length; i++) {
      const label = o.labels[i];
      const file = `${folders[label]}/${counts[label]++}.png`;
      await writeFile(join(tmp, file), await samplePng(o.samples.subarray(i * per, (i + 1) * per), shape));
      samples.push({ file, label, labelSource: o.labelSource });
    }
    const manifest: GeneratedManifest = { version: 1, kind: GENERATED_KIND, model: o.model, checkpoint: o.checkpoint, shape, classes: o.classes, samples };
    await writeJsonAtomic(join(tmp, 'manifest.json'), manifest);
    await syncDir(tmp);
    await replaceDir(tmp, final);
    done = true;
    return manifest;
  } finally {
    if (!done) await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
  }
}

/**
 * A grid PNG: row r holds the samples of class r (`perRow` of them, in order), with a 2-pixel gray gutter.
 * `samples` are ordered class by class, `perRow` per class.
 */
export async function writeSampleGrid(file: string, samples: Float32Array, shape: number[], nClasses: number, perRow: number): Promise<void> {
  const [h, w, c] = checkPngShape(shape, file);
  const gap = 2;
  const W = perRow * (w + gap) + gap;
  const H = nClasses * (h + gap) + gap;
  const px = Buffer.alloc(W * H * c, 128);
  const per = h * w * c;
  for (let r = 0; r < nClasses; r++) {
    for (let k = 0; k < perRow; k++) {
      const s = (r * perRow + k) * per;
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          for (let ch = 0; ch < c; ch++) {
            const v = samples[s + (y * w + x) * c + ch];
            px[((gap + r * (h + gap) + y) * W + gap + k * (w + gap) + x) * c + ch] = Math.round(Math.min(1, Math.max(0, v)) * 255);
          }
        }
      }
    }
  }
  await writeFileAtomic(file, await encodePng(px, W, H, c));
}
