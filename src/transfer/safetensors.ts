/**
 * safetensors (https://github.com/huggingface/safetensors): an 8-byte little-endian header length N, N bytes
 * of JSON `{ name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__"?: { string: string } }`, then
 * the tensors' bytes, little-endian, row-major, at those offsets (relative to the end of the header).
 *
 * Parsed here, not by a package: the format is that small, and every way a file can be wrong (truncated,
 * a header that is not JSON or runs past the end, offsets that disagree with dtype × shape or overlap) gets
 * an error naming the file and the tensor. Values come out as Float32Array (F16, BF16, F64 and the integer
 * types are converted: the weights go into float32 tfjs variables).
 */
import { readFile } from 'node:fs/promises';
import { UlearnError } from '../errors.js';

export interface NamedArray {
  shape: number[];
  data: Float32Array;
  /** The dtype in the file ('F32', '<f4'...), for messages. */
  dtype: string;
}

/** Bytes per element and a reader to float, per safetensors dtype. */
const DTYPES: Record<string, { size: number; read: (v: DataView, at: number) => number }> = {
  F64: { size: 8, read: (v, o) => v.getFloat64(o, true) },
  F32: { size: 4, read: (v, o) => v.getFloat32(o, true) },
  F16: { size: 2, read: (v, o) => half(v.getUint16(o, true)) },
  BF16: { size: 2, read: (v, o) => bfloat16(v.getUint16(o, true)) },
  I64: { size: 8, read: (v, o) => Number(v.getBigInt64(o, true)) },
  I32: { size: 4, read: (v, o) => v.getInt32(o, true) },
  I16: { size: 2, read: (v, o) => v.getInt16(o, true) },
  I8: { size: 1, read: (v, o) => v.getInt8(o) },
  U8: { size: 1, read: (v, o) => v.getUint8(o) },
  BOOL: { size: 1, read: (v, o) => (v.getUint8(o) ? 1 : 0) },
};

/** IEEE 754 half precision → number. */
export function half(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

function bfloat16(b: number): number {
  const v = new DataView(new ArrayBuffer(4));
  v.setUint32(0, b << 16, true);
  return v.getFloat32(0, true);
}

const bad = (file: string, what: string) =>
  new UlearnError(`${file}: not a valid safetensors file: ${what}`, { code: 'E_WEIGHTS_FILE', hint: 'write it with safetensors.torch.save_file / save_model, or numpy.save for .npy' });

export interface Safetensors {
  tensors: Map<string, NamedArray>;
  metadata: Record<string, string>;
}

export function parseSafetensors(bytes: Uint8Array, file = 'safetensors'): Safetensors {
  if (bytes.length < 8) throw bad(file, `${bytes.length} bytes, shorter than the 8-byte header length (truncated?)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getBigUint64(0, true);
  if (n > BigInt(bytes.length - 8)) throw bad(file, `header length ${n} runs past the end of the file (${bytes.length} bytes; truncated?)`);
  const headerEnd = 8 + Number(n);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, headerEnd)));
  } catch (e) {
    throw bad(file, `the header is not JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw bad(file, 'the header is not a JSON object');
  const dataLength = bytes.length - headerEnd;
  const tensors = new Map<string, NamedArray>();
  let metadata: Record<string, string> = {};
  const spans: { name: string; begin: number; end: number }[] = [];
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = (entry ?? {}) as Record<string, string>;
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
    const dtype = DTYPES[String(e?.dtype)];
    if (!e || !dtype) throw bad(file, `tensor '${name}': dtype ${JSON.stringify(e?.dtype)} is not supported (${Object.keys(DTYPES).join(', ')})`);
    const shape = e.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) throw bad(file, `tensor '${name}': shape ${JSON.stringify(shape)} is not a list of sizes`);
    const offsets = e.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isInteger(o) && o >= 0) || offsets[1] < offsets[0]) {
      throw bad(file, `tensor '${name}': data_offsets ${JSON.stringify(offsets)} is not [begin, end]`);
    }
    const [begin, end] = offsets as [number, number];
    const count = (shape as number[]).reduce((a, b) => a * b, 1);
    if (end - begin !== count * dtype.size) throw bad(file, `tensor '${name}': ${String(e.dtype)}[${shape.join(', ')}] takes ${count * dtype.size} bytes, data_offsets give ${end - begin}`);
    if (end > dataLength) throw bad(file, `tensor '${name}': its data ends at byte ${end} of ${dataLength} (the file is truncated)`);
    spans.push({ name, begin, end });
    const data = new Float32Array(count);
    for (let i = 0; i < count; i++) data[i] = dtype.read(view, headerEnd + begin + i * dtype.size);
    tensors.set(name, { shape: shape as number[], data, dtype: String(e.dtype) });
  }
  spans.sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < spans.length; i++) {
    if (spans[i].begin < spans[i - 1].end) throw bad(file, `tensors '${spans[i - 1].name}' and '${spans[i].name}' overlap`);
  }
  return { tensors, metadata };
}

export async function readSafetensors(file: string): Promise<Safetensors> {
  const bytes = await readFile(file).catch((e: NodeJS.ErrnoException) => {
    throw new UlearnError(`${file}: ${e.code === 'ENOENT' ? 'no such file' : `cannot be read (${e.code ?? e.message})`}`, { code: 'E_WEIGHTS_FILE', cause: e });
  });
  return parseSafetensors(bytes, file);
}

/** safetensors bytes of float32 tensors (sorted by name, as the reference writer does), with string metadata. */
export function encodeSafetensors(tensors: Map<string, { shape: number[]; data: Float32Array }>, metadata: Record<string, string> = {}): Uint8Array {
  const names = [...tensors.keys()].sort();
  const header: Record<string, unknown> = Object.keys(metadata).length ? { __metadata__: metadata } : {};
  let offset = 0;
  for (const name of names) {
    const t = tensors.get(name)!;
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + 4 * t.data.length] };
    offset += 4 * t.data.length;
  }
  let json = JSON.stringify(header);
  // The reference pads the header with spaces to a multiple of 8 bytes, so the data is aligned.
  json += ' '.repeat((8 - ((Buffer.byteLength(json) + 8) % 8)) % 8);
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let at = 8 + head.length;
  for (const name of names) {
    for (const v of tensors.get(name)!.data) {
      view.setFloat32(at, v, true);
      at += 4;
    }
  }
  return out;
}
