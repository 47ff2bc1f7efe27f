/**
 * IDX files (the MNIST family's packed format), raw or gzipped: 2 zero bytes, a dtype code, the number of
 * dimensions, then one big-endian uint32 per dimension, then the values, big-endian, row-major.
 * Parsing is strict (wrong magic, short or overlong data are errors) because a silently misread dataset
 * costs far more than a refused one.
 */
import { readFile } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { UlearnError } from '../errors.js';
import type { Dataset, Split } from './dataset.js';

/**
 * Labels are class indices; a label IDX file is only plausible up to this many classes (ImageNet-21k has
 * 21,841). Without the cap, one label of 2^31-1 would build a class list of 2^31 names.
 */
export const MAX_CLASSES = 100_000;

export type IdxDtype = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';
export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

export interface IdxArray {
  dtype: IdxDtype;
  shape: number[];
  data: IdxData;
}

const DTYPES: Record<number, { dtype: IdxDtype; bytes: number }> = {
  0x08: { dtype: 'uint8', bytes: 1 },
  0x09: { dtype: 'int8', bytes: 1 },
  0x0b: { dtype: 'int16', bytes: 2 },
  0x0c: { dtype: 'int32', bytes: 4 },
  0x0d: { dtype: 'float32', bytes: 4 },
  0x0e: { dtype: 'float64', bytes: 8 },
};

const hex = (b: number): string => b.toString(16).padStart(2, '0');

/** Reads a file and gunzips it when it starts with the gzip magic 1f 8b (the name is not trusted). */
export async function readMaybeGzip(path: string): Promise<Uint8Array> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UlearnError(`${path}: file not found`, { code: 'E_DATA_MISSING', cause: err });
    if (code === 'EISDIR') throw new UlearnError(`${path}: is a directory, expected an IDX file`, { code: 'E_DATA', cause: err });
    throw new UlearnError(`${path}: cannot read (${code ?? String(err)})`, { code: 'E_DATA', cause: err });
  }
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) return gunzipIdx(buf, path);
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/**
 * Inflates a gzipped IDX file, but never past what its header declares (+1 byte, to tell parseIdx there is
 * more): a 1 MB file of zeros can otherwise inflate to GBs. Not IDX at all: stops after the first bytes and
 * lets parseIdx say why.
 */
async function gunzipIdx(buf: Buffer, path: string): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const z = createGunzip();
    let chunks: Buffer[] = [];
    let total = 0;
    let limit = Infinity;
    const finish = (err?: unknown) => {
      z.removeAllListeners('data');
      z.destroy();
      if (err) reject(err);
      else resolve(new Uint8Array(Buffer.concat(chunks, total)));
    };
    z.on('data', (c: Buffer) => {
      chunks.push(c);
      total += c.length;
      if (limit === Infinity && total >= 4) {
        const head = Buffer.concat(chunks, total);
        chunks = [head];
        limit = declaredBytes(head) ?? Infinity;
      }
      if (total > limit) {
        if (limit === 4) return finish(); // not IDX: parseIdx reports the magic or dtype
        finish(
          new UlearnError(`${path}: gzip data inflates past the ${limit} bytes its header declares; refused (possible decompression bomb)`, {
            code: 'E_DATA',
            hint: 'the header does not match the data; is this really an IDX file?',
          }),
        );
      }
    });
    z.on('end', () => finish());
    z.on('error', (err) =>
      finish(new UlearnError(`${path}: corrupt gzip data (${err.message})`, { code: 'E_DATA', hint: 'the file is probably truncated; delete it and fetch it again', cause: err })),
    );
    z.end(buf);
  });
}

/** Total bytes (header + values) an IDX header declares; 4 for a non-IDX start; undefined until the header is complete. */
function declaredBytes(head: Uint8Array): number | undefined {
  const type = DTYPES[head[2]];
  if (head[0] !== 0 || head[1] !== 0 || !type || head[3] === 0) return 4;
  const headerBytes = 4 + 4 * head[3];
  if (head.length < headerBytes) return undefined;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  let count = 1;
  for (let d = 0; d < head[3]; d++) count *= view.getUint32(4 + 4 * d, false);
  return headerBytes + count * type.bytes;
}

/** Parses IDX bytes; `source` names the file in error messages. */
export function parseIdx(bytes: Uint8Array, source: string): IdxArray {
  if (bytes.length < 4) {
    throw new UlearnError(`${source}: not an IDX file: ${bytes.length} bytes, the header alone needs at least 4`, { code: 'E_DATA' });
  }
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw new UlearnError(
      `${source}: not an IDX file: bytes 0-1 are ${hex(bytes[0])} ${hex(bytes[1])}, expected the magic 00 00`,
      { code: 'E_DATA', hint: 'IDX files start 00 00 <dtype> <ndims>; a gzipped one starts 1f 8b' },
    );
  }
  const code = bytes[2];
  const type = DTYPES[code];
  if (!type) {
    throw new UlearnError(
      `${source}: unknown IDX dtype code 0x${hex(code)} at byte offset 2, expected one of 08 (uint8), 09 (int8), 0b (int16), 0c (int32), 0d (float32), 0e (float64)`,
      { code: 'E_DATA' },
    );
  }
  const ndims = bytes[3];
  if (ndims === 0) throw new UlearnError(`${source}: IDX header at byte offset 3 says 0 dimensions, expected at least 1`, { code: 'E_DATA' });
  const headerBytes = 4 + 4 * ndims;
  if (bytes.length < headerBytes) {
    throw new UlearnError(
      `${source}: truncated IDX header: ${ndims} dimensions need ${headerBytes} header bytes, the file has ${bytes.length}`,
      { code: 'E_DATA' },
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  for (let d = 0; d < ndims; d++) shape.push(view.getUint32(4 + 4 * d, false));
  const count = shape.reduce((a, b) => a * b, 1);
  const expected = headerBytes + count * type.bytes;
  if (bytes.length < expected) {
    throw new UlearnError(
      `${source}: truncated IDX data: shape [${shape.join(', ')}] of ${type.dtype} needs ${expected} bytes, the file has ${bytes.length} (data ends at byte offset ${bytes.length}, expected ${expected})`,
      { code: 'E_DATA', hint: 'the file was probably cut off while downloading or copying' },
    );
  }
  if (bytes.length > expected) {
    throw new UlearnError(
      `${source}: ${bytes.length - expected} unexpected bytes after the IDX data (shape [${shape.join(', ')}] of ${type.dtype} ends at byte offset ${expected}, the file has ${bytes.length} bytes)`,
      { code: 'E_DATA', hint: 'the header does not match the data; is this really an IDX file?' },
    );
  }
  return { dtype: type.dtype, shape, data: decodeValues(view, headerBytes, count, type.dtype) };
}

/** Converts big-endian values to a native typed array (typed arrays are platform-endian, little on all we run on). */
function decodeValues(view: DataView, offset: number, count: number, dtype: IdxDtype): IdxData {
  switch (dtype) {
    case 'uint8':
      return new Uint8Array(view.buffer, view.byteOffset + offset, count).slice();
    case 'int8':
      return new Int8Array(view.buffer, view.byteOffset + offset, count).slice();
    case 'int16': {
      const out = new Int16Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt16(offset + 2 * i, false);
      return out;
    }
    case 'int32': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt32(offset + 4 * i, false);
      return out;
    }
    case 'float32': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(offset + 4 * i, false);
      return out;
    }
    case 'float64': {
      const out = new Float64Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(offset + 8 * i, false);
      return out;
    }
  }
}

export async function readIdx(path: string): Promise<IdxArray> {
  return parseIdx(await readMaybeGzip(path), path);
}

export interface IdxPairOptions {
  /** Dataset name, e.g. 'fashion-mnist/train'. */
  name: string;
  split: Split;
  /** Class names; default '0'..'max label'. */
  classes?: string[];
}

/** An image IDX file ([N, H, W] or [N, H, W, C]) plus a label IDX file ([N]) as a Dataset. */
export async function loadIdxPair(imagesPath: string, labelsPath: string, opts: IdxPairOptions): Promise<Dataset> {
  const [images, labels] = await Promise.all([readIdx(imagesPath), readIdx(labelsPath)]);
  return idxPairToDataset(images, labels, imagesPath, labelsPath, opts);
}

/** Same as loadIdxPair for arrays already parsed (e.g. after a checksum check on the bytes). */
export function idxPairToDataset(images: IdxArray, labels: IdxArray, imagesPath: string, labelsPath: string, opts: IdxPairOptions): Dataset {
  if (images.shape.length !== 3 && images.shape.length !== 4) {
    throw new UlearnError(`${imagesPath}: expected images of shape [N, H, W] or [N, H, W, C], got [${images.shape.join(', ')}]`, {
      code: 'E_DATA',
      hint: labels.shape.length >= 3 ? 'images and labels look swapped' : undefined,
    });
  }
  if (labels.shape.length !== 1) {
    throw new UlearnError(`${labelsPath}: expected labels of shape [N], got [${labels.shape.join(', ')}]`, { code: 'E_DATA' });
  }
  const n = images.shape[0];
  if (labels.shape[0] !== n) {
    throw new UlearnError(`${labelsPath}: has ${labels.shape[0]} labels but ${imagesPath} has ${n} images`, {
      code: 'E_DATA',
      hint: 'check that both files belong to the same split (train vs t10k/test)',
    });
  }
  const inputShape = [images.shape[1], images.shape[2], images.shape[3] ?? 1];
  return {
    name: opts.name,
    modality: 'image',
    inputShape,
    classes: opts.classes ?? defaultClasses(labels, labelsPath),
    size: n,
    ids: Array.from({ length: n }, (_, i) => `${i}`),
    x: scalePixels(images, imagesPath),
    y: toLabels(labels, labelsPath, opts.classes),
    split: opts.split,
    source: imagesPath,
  };
}

/** uint8 pixels are divided by 255; float pixels must already be in [0, 1]; other dtypes have no agreed scale. */
function scalePixels(images: IdxArray, path: string): Float32Array {
  const src = images.data;
  if (images.dtype === 'uint8') {
    const out = new Float32Array(src.length);
    for (let i = 0; i < src.length; i++) out[i] = src[i] / 255;
    return out;
  }
  if (images.dtype === 'float32' || images.dtype === 'float64') {
    for (let i = 0; i < src.length; i++) {
      if (!(src[i] >= 0 && src[i] <= 1)) {
        throw new UlearnError(`${path}: float pixel ${src[i]} at value index ${i} is outside [0, 1]`, {
          code: 'E_DATA',
          hint: 'store float images scaled to [0, 1], or as uint8 0-255',
        });
      }
    }
    return images.dtype === 'float32' ? (src as Float32Array) : Float32Array.from(src);
  }
  throw new UlearnError(`${path}: images of dtype ${images.dtype} are not supported, expected uint8 (0-255) or float32/float64 in [0, 1]`, {
    code: 'E_DATA',
  });
}

function toLabels(labels: IdxArray, path: string, classes: string[] | undefined): Int32Array {
  if (labels.dtype === 'float32' || labels.dtype === 'float64') {
    throw new UlearnError(`${path}: labels must be an integer dtype, got ${labels.dtype}`, { code: 'E_DATA' });
  }
  const y = Int32Array.from(labels.data);
  const limit = classes?.length ?? Infinity;
  for (let i = 0; i < y.length; i++) {
    if (y[i] < 0 || y[i] >= limit) {
      throw new UlearnError(
        `${path}: label ${y[i]} of sample ${i} is outside 0..${Number.isFinite(limit) ? limit - 1 : 'max'}${classes ? ` (${classes.length} classes)` : ''}`,
        { code: 'E_DATA' },
      );
    }
  }
  return y;
}

function defaultClasses(labels: IdxArray, path: string): string[] {
  let max = -1;
  for (let i = 0; i < labels.data.length; i++) {
    const v = labels.data[i];
    if (v >= MAX_CLASSES || !Number.isInteger(v)) {
      throw new UlearnError(`${path}: label ${v} of sample ${i} is not a class index below ${MAX_CLASSES}`, {
        code: 'E_DATA',
        hint: 'labels are class numbers 0..K-1; is this really a label file?',
      });
    }
    max = Math.max(max, v);
  }
  if (max < 0) throw new UlearnError(`${path}: no labels (or only negative ones)`, { code: 'E_DATA' });
  return Array.from({ length: max + 1 }, (_, i) => `${i}`);
}
