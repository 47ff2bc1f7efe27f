/**
 * Spectrogram thumbnails for the report of an audio run: one clip per class, drawn as the model sees it (the
 * normalised log-mel features), so a reader can tell at a glance what the classes look like and whether the
 * front-end did something odd (silence, clipping, a cut-off word). Each thumbnail is a small PNG inlined as a
 * data: URI, because the report is one self-contained page whose CSP allows images from data: only.
 *
 * The PNG encoder is the minimal one a thumbnail needs (8-bit RGB, one IDAT, no filters): zlib does the work.
 */
import { crc32, deflateSync } from 'node:zlib';

export interface SpectrogramThumb {
  /** Class index (into the report's `classes`). */
  label: number;
  /** Where the clip came from (a file name or a sample id), shown under the image. */
  caption?: string;
  /** data:image/png;base64,... */
  image: string;
}

export interface SpectrogramSection {
  /** Frames (time) and bins (mel bands) of one clip's features. */
  frames: number;
  bins: number;
  items: SpectrogramThumb[];
  /** What the images show (feature kind, hop), for the section's subtitle. */
  note?: string;
}

/** A few stops of a perceptually ordered dark-to-bright map (viridis), interpolated linearly. */
const STOPS: [number, number, number][] = [
  [68, 1, 84],
  [59, 82, 139],
  [33, 145, 140],
  [94, 201, 98],
  [253, 231, 37],
];

function colour(t: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, t)) * (STOPS.length - 1);
  const i = Math.min(STOPS.length - 2, Math.floor(x));
  const f = x - i;
  const [a, b] = [STOPS[i], STOPS[i + 1]];
  return [Math.round(a[0] + (b[0] - a[0]) * f), Math.round(a[1] + (b[1] - a[1]) * f), Math.round(a[2] + (b[2] - a[2]) * f)];
}

/**
 * One clip's features ([frames, bins] row-major, time-major as the featurizer writes them) as an RGB PNG:
 * time runs left to right, the lowest mel band at the bottom. Colours span the clip's own 2nd–98th
 * percentile, so one loud frame does not wash out the rest. `scale` repeats each pixel (a 101×40 clip at 2 is 202×80).
 */
export function spectrogramPng(features: Float32Array, frames: number, bins: number, scale = 2): Uint8Array {
  if (features.length !== frames * bins) throw new Error(`spectrogramPng: ${features.length} values for ${frames}×${bins}`);
  const sorted = Float32Array.from(features).sort();
  const lo = sorted[Math.floor(0.02 * (sorted.length - 1))];
  const hi = sorted[Math.ceil(0.98 * (sorted.length - 1))];
  const span = hi - lo > 1e-9 ? hi - lo : 1;
  const width = frames * scale;
  const height = bins * scale;
  // Each scanline starts with its filter byte (0: none).
  const raw = new Uint8Array(height * (1 + width * 3));
  for (let y = 0; y < height; y++) {
    const bin = bins - 1 - Math.floor(y / scale);
    const row = y * (1 + width * 3);
    for (let x = 0; x < width; x++) {
      const v = features[Math.floor(x / scale) * bins + bin];
      const [r, g, b] = Number.isFinite(v) ? colour((v - lo) / span) : [255, 0, 255];
      raw.set([r, g, b], row + 1 + x * 3);
    }
  }
  const ihdr = new Uint8Array(13);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit, RGB, deflate, no filter method variants, not interlaced
  return concat([Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0))]);
}

/**
 * The first clip of each class among `labels` (in `order`, e.g. test order), as thumbnails. `x` holds the
 * featurized clips, frames × bins values each; classes with no clip are left out.
 */
export function spectrogramThumbnails(
  x: Float32Array,
  labels: ArrayLike<number>,
  classes: number,
  frames: number,
  bins: number,
  captions?: (i: number) => string | undefined,
): SpectrogramThumb[] {
  const per = frames * bins;
  const out: SpectrogramThumb[] = [];
  for (let c = 0; c < classes; c++) {
    let i = -1;
    for (let j = 0; j < labels.length; j++) {
      if (labels[j] === c) {
        i = j;
        break;
      }
    }
    if (i < 0) continue;
    const png = spectrogramPng(x.subarray(i * per, (i + 1) * per), frames, bins);
    out.push({ label: c, caption: captions?.(i), image: `data:image/png;base64,${Buffer.from(png).toString('base64')}` });
  }
  return out;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  const typed = new TextEncoder().encode(type);
  out.set(typed, 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
