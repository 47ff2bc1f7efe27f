/**
 * NumPy's `.npy` (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html): the magic
 * `\x93NUMPY`, a major and minor version byte, the header length (2 bytes little-endian in version 1, 4 in
 * versions 2 and 3), then a Python dict literal `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`
 * (ASCII in v1/v2, UTF-8 in v3), then the raw values.
 *
 * Parsed here (small, and each malformation gets its own error naming the file). Floats and integers of
 * either byte order come out as a row-major Float32Array: Fortran-ordered arrays are transposed back.
 */
import { readFile } from 'node:fs/promises';
import { UlearnError } from '../errors.js';
import { half, type NamedArray } from './safetensors.js';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

const bad = (file: string, what: string) => new UlearnError(`${file}: not a valid .npy file: ${what}`, { code: 'E_WEIGHTS_FILE', hint: 'write it with numpy.save (one array per file)' });

type Reader = (v: DataView, at: number, little: boolean) => number;
const KINDS: Record<string, Reader> = {
  f2: (v, o, le) => half(v.getUint16(o, le)),
  f4: (v, o, le) => v.getFloat32(o, le),
  f8: (v, o, le) => v.getFloat64(o, le),
  i1: (v, o) => v.getInt8(o),
  u1: (v, o) => v.getUint8(o),
  b1: (v, o) => (v.getUint8(o) ? 1 : 0),
  i2: (v, o, le) => v.getInt16(o, le),
  u2: (v, o, le) => v.getUint16(o, le),
  i4: (v, o, le) => v.getInt32(o, le),
  u4: (v, o, le) => v.getUint32(o, le),
  i8: (v, o, le) => Number(v.getBigInt64(o, le)),
  u8: (v, o, le) => Number(v.getBigUint64(o, le)),
};

export function parseNpy(bytes: Uint8Array, file = 'npy'): NamedArray {
  if (bytes.length < 10 || !MAGIC.every((b, i) => bytes[i] === b)) throw bad(file, bytes.length < 10 ? `only ${bytes.length} bytes (truncated?)` : 'no \\x93NUMPY magic at the start');
  const major = bytes[6];
  if (major < 1 || major > 3) throw bad(file, `format version ${major}.${bytes[7]} is not supported (1, 2 or 3)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lenBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lenBytes) throw bad(file, 'truncated inside the header length');
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = 8 + lenBytes;
  if (start + headerLength > bytes.length) throw bad(file, `the header (${headerLength} bytes) runs past the end of the file (${bytes.length} bytes; truncated?)`);
  let header: string;
  try {
    header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1', { fatal: true }).decode(bytes.subarray(start, start + headerLength));
  } catch {
    throw bad(file, 'the header is not text');
  }
  const descr = /'descr'\s*:\s*'([<>|=])([a-z])(\d+)'/.exec(header);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header);
  const shapeMatch = /'shape'\s*:\s*\(([^)]*)\)/.exec(header);
  if (!header.trim().startsWith('{') || !descr || !fortran || !shapeMatch) throw bad(file, `the header is not a dict with 'descr', 'fortran_order' and 'shape': ${JSON.stringify(header.trim().slice(0, 120))}`);
  const [, order, kind, sizeText] = descr;
  const size = Number(sizeText);
  const read = KINDS[`${kind}${size}`];
  if (!read) throw bad(file, `dtype '${order}${kind}${size}' is not supported (float, int, uint or bool)`);
  const shape = shapeMatch[1]
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(Number);
  if (!shape.every((d) => Number.isInteger(d) && d >= 0)) throw bad(file, `shape (${shapeMatch[1]}) is not a tuple of sizes`);
  const count = shape.reduce((a, b) => a * b, 1);
  const dataStart = start + headerLength;
  if (bytes.length - dataStart < count * size) throw bad(file, `[${shape.join(', ')}] of ${order}${kind}${size} needs ${count * size} bytes of data, the file has ${bytes.length - dataStart} (truncated)`);
  const little = order !== '>';
  const raw = new Float32Array(count);
  for (let i = 0; i < count; i++) raw[i] = read(view, dataStart + i * size, little);
  const data = fortran[1] === 'True' && shape.length > 1 ? fortranToC(raw, shape) : raw;
  return { shape, data, dtype: `${order}${kind}${size}` };
}

/** Column-major (first index fastest) → row-major (last index fastest). */
function fortranToC(src: Float32Array, shape: number[]): Float32Array {
  const out = new Float32Array(src.length);
  const rank = shape.length;
  const idx = new Array<number>(rank).fill(0);
  for (let c = 0; c < src.length; c++) {
    // idx is the multi-index of row-major position c; its column-major position is Σ idx[k] · Π shape[<k].
    let f = 0;
    let stride = 1;
    for (let k = 0; k < rank; k++) {
      f += idx[k] * stride;
      stride *= shape[k];
    }
    out[c] = src[f];
    for (let k = rank - 1; k >= 0; k--) {
      if (++idx[k] < shape[k]) break;
      idx[k] = 0;
    }
  }
  return out;
}

export async function readNpy(file: string): Promise<NamedArray> {
  const bytes = await readFile(file).catch((e: NodeJS.ErrnoException) => {
    throw new UlearnError(`${file}: ${e.code === 'ENOENT' ? 'no such file' : `cannot be read (${e.code ?? e.message})`}`, { code: 'E_WEIGHTS_FILE', cause: e });
  });
  return parseNpy(bytes, file);
}
