/** Test helpers: an independent IDX encoder (so the reader is not tested against itself) and temp folders. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after } from 'node:test';

export type Dtype = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';
const CODES: Record<Dtype, [number, number]> = {
  uint8: [0x08, 1],
  int8: [0x09, 1],
  int16: [0x0b, 2],
  int32: [0x0c, 4],
  float32: [0x0d, 4],
  float64: [0x0e, 8],
};

export function encodeIdx(dtype: Dtype, shape: number[], values: ArrayLike<number>, opts: { gzip?: boolean } = {}): Buffer {
  const [code, size] = CODES[dtype];
  const header = Buffer.alloc(4 + 4 * shape.length);
  header[2] = code;
  header[3] = shape.length;
  shape.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  const body = Buffer.alloc(values.length * size);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (dtype === 'uint8') body.writeUInt8(v, i);
    else if (dtype === 'int8') body.writeInt8(v, i);
    else if (dtype === 'int16') body.writeInt16BE(v, 2 * i);
    else if (dtype === 'int32') body.writeInt32BE(v, 4 * i);
    else if (dtype === 'float32') body.writeFloatBE(v, 4 * i);
    else body.writeDoubleBE(v, 8 * i);
  }
  const raw = Buffer.concat([header, body]);
  return opts.gzip ? gzipSync(raw) : raw;
}

/** A fresh temp folder, removed when the test file finishes. */
export async function tempDir(prefix = 'ulearn-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}
