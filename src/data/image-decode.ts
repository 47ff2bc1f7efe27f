/**
 * Decoding one image file with sharp into 8-bit pixels at a target size. Kept apart from the folder logic so
 * the resize policy and the colour handling are stated (and tested) in one place.
 *
 * Policies, for a target of height x width:
 *   'crop'    (default) scale so the image covers the target (shorter side fits), then cut the centre;
 *   'stretch' scale each axis independently (aspect ratio is lost, nothing is cut);
 *   'pad'     scale so the whole image fits, then pad with black (nothing is cut or distorted).
 * Transparency is flattened onto black (the same colour as the padding); EXIF orientation is applied.
 */
import sharp from 'sharp';

export type ResizePolicy = 'crop' | 'stretch' | 'pad';
export const RESIZE_POLICIES: readonly ResizePolicy[] = ['crop', 'stretch', 'pad'];

const FIT: Record<ResizePolicy, 'cover' | 'fill' | 'contain'> = { crop: 'cover', stretch: 'fill', pad: 'contain' };

/** A channel spread above this (of 255) makes a pixel "coloured"; below it is JPEG chroma noise on a gray image. */
const COLOR_TOLERANCE = 8;

export interface DecodedImage {
  /** 1 (gray) or 3 (RGB) interleaved channels, height * width * channels bytes. */
  pixels: Uint8Array;
  channels: 1 | 3;
  /** True if any pixel is visibly non-gray (RGB images whose channels are all equal count as gray). */
  color: boolean;
}

/**
 * The largest image decoded (8192 x 8192): a compressed file of a few KB can declare 20000 x 20000 and take GBs
 * to inflate, so every decoder checks the header's dimensions against this first. Far above any image a
 * model here trains on; sharp's own default (16383^2) is 4x higher.
 */
export const MAX_IMAGE_PIXELS = 8192 * 8192;

/** Throws when `width x height` is over MAX_IMAGE_PIXELS (an Error; callers add the file name). */
export function checkPixelLimit(width: number, height: number): void {
  if (width * height > MAX_IMAGE_PIXELS) {
    throw new Error(`${width}x${height} is ${(width * height / 1e6).toFixed(0)} Mpx, over the pixel limit of ${MAX_IMAGE_PIXELS / 1e6} Mpx (8192x8192); downscale it first`);
  }
}

/** Size after EXIF orientation, read from the header only (cheap: no pixel decode), within the pixel limit. */
export async function imageSize(path: string): Promise<{ width: number; height: number }> {
  const meta = await sharp(path, { limitInputPixels: MAX_IMAGE_PIXELS }).metadata();
  checkPixelLimit(meta.width, meta.height);
  return { width: meta.autoOrient.width, height: meta.autoOrient.height };
}

export async function decodeImage(path: string | Uint8Array, height: number, width: number, policy: ResizePolicy): Promise<DecodedImage> {
  // libvips checks limitInputPixels against the header before it decodes a pixel; its message names no limit.
  const { data, info } = await sharp(path, { limitInputPixels: MAX_IMAGE_PIXELS })
    .autoOrient()
    .flatten({ background: { r: 0, g: 0, b: 0 } })
    .resize({ width, height, fit: FIT[policy], position: 'centre', background: { r: 0, g: 0, b: 0, alpha: 1 } })
    .raw()
    .toBuffer({ resolveWithObject: true })
    .catch((err: Error) => {
      if (/pixel limit/i.test(err.message)) throw new Error(`image is over the pixel limit of ${MAX_IMAGE_PIXELS / 1e6} Mpx (8192x8192); downscale it first`);
      throw err;
    });
  if (info.width !== width || info.height !== height) {
    throw new Error(`decoded to ${info.width}x${info.height}, expected ${width}x${height}`);
  }
  const n = width * height;
  const c = info.channels;
  // Alpha should be gone after flatten(), but a padded or odd input may still bring a 2nd/4th channel: drop it.
  if (c === 1 || c === 2) {
    const pixels = new Uint8Array(n);
    for (let i = 0; i < n; i++) pixels[i] = data[i * c];
    return { pixels, channels: 1, color: false };
  }
  const pixels = new Uint8Array(n * 3);
  let color = false;
  for (let i = 0; i < n; i++) {
    const r = data[i * c];
    const g = data[i * c + 1];
    const b = data[i * c + 2];
    pixels[3 * i] = r;
    pixels[3 * i + 1] = g;
    pixels[3 * i + 2] = b;
    if (!color && Math.max(r, g, b) - Math.min(r, g, b) > COLOR_TOLERANCE) color = true;
  }
  return { pixels, channels: 3, color };
}

/**
 * Writes one decoded image into `out` (from `offset`) as floats in [0, 1] with `channels` channels:
 * gray is replicated to RGB; RGB becomes gray by Rec. 601 luma (what PIL's 'L' mode uses).
 */
export function writePixels(img: DecodedImage, channels: 1 | 3, out: Float32Array, offset: number): void {
  const p = img.pixels;
  if (img.channels === channels) {
    for (let i = 0; i < p.length; i++) out[offset + i] = p[i] / 255;
  } else if (channels === 3) {
    for (let i = 0; i < p.length; i++) {
      const v = p[i] / 255;
      out[offset + 3 * i] = v;
      out[offset + 3 * i + 1] = v;
      out[offset + 3 * i + 2] = v;
    }
  } else {
    const n = p.length / 3;
    for (let i = 0; i < n; i++) out[offset + i] = (0.299 * p[3 * i] + 0.587 * p[3 * i + 1] + 0.114 * p[3 * i + 2]) / 255;
  }
}
