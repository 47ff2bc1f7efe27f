/**
 * A strict decoder for the common PNG case (8-bit gray, gray+alpha, RGB, RGBA; not interlaced), because
 * `clean` reads every file of a dataset and sharp's per-call overhead (~0.4 ms) dominates on small images:
 * inflating a 28x28 PNG takes a few microseconds. It is also stricter than libvips on purpose: a bad chunk
 * CRC, a truncated stream or a missing IEND makes a file corrupt here, where a viewer might show half an image.
 * Anything else (palette, 16-bit, interlaced) returns undefined and the caller falls back to sharp.
 */
import { crc32, inflateSync } from 'node:zlib';
import { checkPixelLimit } from '../data/image-decode.js';

export interface RawImage {
  width: number;
  height: number;
  /** 1 (gray) or 3 (RGB); alpha is flattened onto black, as the dataset loader does. */
  channels: 1 | 3;
  pixels: Uint8Array;
}

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** Samples per pixel by colour type (0 gray, 2 RGB, 4 gray+alpha, 6 RGBA). */
const SAMPLES: Record<number, number> = { 0: 1, 2: 3, 4: 2, 6: 4 };

export function isPng(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && SIGNATURE.every((b, i) => bytes[i] === b);
}

/** Width and height from the IHDR chunk (throws if the header is not a PNG header). */
export function pngSize(bytes: Uint8Array): { width: number; height: number } {
  if (!isPng(bytes)) throw new Error('not a PNG file (bad signature)');
  if (bytes.length < 33) throw new Error(`truncated: ${bytes.length} bytes, a PNG header needs 33`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (String.fromCharCode(...bytes.subarray(12, 16)) !== 'IHDR') throw new Error('first chunk is not IHDR');
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

/** Decodes a PNG; throws on a corrupt file; undefined for valid-looking PNGs this decoder does not handle. */
export function decodePng(bytes: Uint8Array): RawImage | undefined {
  const { width, height } = pngSize(bytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const depth = bytes[24];
  const colorType = bytes[25];
  const interlace = bytes[28];
  if (width === 0 || height === 0) throw new Error(`IHDR gives an empty image (${width}x${height})`);
  checkPixelLimit(width, height);
  const idat: Uint8Array[] = [];
  let pos = 8;
  let ended = false;
  while (pos < bytes.length) {
    if (pos + 12 > bytes.length) throw new Error(`truncated chunk header at byte ${pos}`);
    const len = view.getUint32(pos);
    const type = String.fromCharCode(bytes[pos + 4], bytes[pos + 5], bytes[pos + 6], bytes[pos + 7]);
    const end = pos + 12 + len;
    if (end > bytes.length) throw new Error(`truncated: chunk ${type} at byte ${pos} needs ${len} bytes, file ends at ${bytes.length}`);
    const crc = view.getUint32(end - 4);
    if (crc32(bytes.subarray(pos + 4, end - 4)) !== crc) throw new Error(`bad CRC in chunk ${type} at byte ${pos}`);
    if (type === 'IDAT') idat.push(bytes.subarray(pos + 8, end - 4));
    pos = end;
    if (type === 'IEND') {
      ended = true;
      break;
    }
  }
  if (!ended) throw new Error('truncated: no IEND chunk');
  if (idat.length === 0) throw new Error('no image data (IDAT) chunk');
  const samples = SAMPLES[colorType];
  if (depth !== 8 || samples === undefined || interlace !== 0) return undefined;

  let raw: Buffer;
  try {
    // Never inflate more than the header's size needs (+1 to tell "too much data" from "exactly enough").
    raw = inflateSync(idat.length === 1 ? idat[0] : Buffer.concat(idat), { maxOutputLength: height * (width * samples + 1) + 1 });
  } catch (err) {
    throw new Error(`image data does not inflate (${(err as Error).message})`);
  }
  const stride = width * samples;
  if (raw.length < height * (stride + 1)) throw new Error(`image data holds ${raw.length} bytes, ${width}x${height} needs ${height * (stride + 1)}`);
  const img = new Uint8Array(height * stride);
  unfilter(raw, img, width, height, samples);
  return toGrayOrRgb(img, width, height, samples);
}

/** Reverses the per-row PNG filters (none, sub, up, average, Paeth) into `out`. */
function unfilter(raw: Uint8Array, out: Uint8Array, width: number, height: number, bpp: number): void {
  const stride = width * bpp;
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const src = y * (stride + 1) + 1;
    const row = y * stride;
    const prev = row - stride;
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? out[row + x - bpp] : 0;
      const b = y > 0 ? out[prev + x] : 0;
      const c = x >= bpp && y > 0 ? out[prev + x - bpp] : 0;
      let pred: number;
      switch (filter) {
        case 0:
          pred = 0;
          break;
        case 1:
          pred = a;
          break;
        case 2:
          pred = b;
          break;
        case 3:
          pred = (a + b) >> 1;
          break;
        case 4: {
          const p = a + b - c;
          const pa = Math.abs(p - a);
          const pb = Math.abs(p - b);
          const pc = Math.abs(p - c);
          pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          break;
        }
        default:
          throw new Error(`row ${y}: unknown filter type ${filter}`);
      }
      out[row + x] = (raw[src + x] + pred) & 0xff;
    }
  }
}

function toGrayOrRgb(img: Uint8Array, width: number, height: number, samples: number): RawImage {
  if (samples === 1 || samples === 3) return { width, height, channels: samples, pixels: img };
  const n = width * height;
  const c = samples - 1;
  const pixels = new Uint8Array(n * c);
  for (let i = 0; i < n; i++) {
    const alpha = img[i * samples + c];
    for (let k = 0; k < c; k++) pixels[i * c + k] = Math.round((img[i * samples + k] * alpha) / 255);
  }
  return { width, height, channels: c as 1 | 3, pixels };
}
