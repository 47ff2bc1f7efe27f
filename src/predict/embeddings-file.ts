/**
 * The file `ulearn encode --out` writes (and a distributed encode gathers into, byte for byte the same):
 *
 *   bytes 0..7    ASCII "ULEMB01\n" (format name and version)
 *   bytes 8..11   uint32 little-endian: H, the header's length in bytes
 *   bytes 12..15  zero
 *   bytes 16..    H bytes of UTF-8 JSON (`EmbeddingsHeader`), padded with spaces so the floats start at a
 *                 multiple of 64 bytes
 *   then          n × dim float32, little-endian, row-major: row i is sample i of `samples`
 *
 * One file, so the features and the sample order that gives them meaning are published together by one
 * atomic rename. From numpy: `h = int.from_bytes(b[8:12], 'little'); meta = json.loads(b[16:16+h]);
 * X = np.frombuffer(b, '<f4', offset=16+h).reshape(meta['n'], meta['dim'])`.
 * The header holds no time or host, so the same inputs give the same bytes, however the work was split.
 */
import { readFile } from 'node:fs/promises';
import { UlearnError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic.js';

export const EMBEDDINGS_MAGIC = 'ULEMB01\n';

export interface EmbeddingsHeader {
  format: 'ulearn-embeddings';
  version: 1;
  n: number;
  dim: number;
  dtype: 'float32';
  byteOrder: 'little';
  /** The encoder as given (absolute path) and the sha256 of its files (util/hash-files.ts). */
  encoder: { source: string; sha256: string };
  /** Row i's sample: the i-th file, or row i of the IDX file. */
  samples: { kind: 'files'; files: string[] } | { kind: 'idx'; file: string; rows: number };
}

/** The whole file as bytes (header, padding, floats). */
export function embeddingsBytes(header: EmbeddingsHeader, features: Float32Array): Uint8Array {
  if (features.length !== header.n * header.dim) throw new Error(`embeddings: ${features.length} values for ${header.n} × ${header.dim}`);
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const pad = (64 - ((16 + json.length) % 64)) % 64;
  json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const out = new Uint8Array(16 + json.length + features.byteLength);
  out.set(Buffer.from(EMBEDDINGS_MAGIC, 'latin1'), 0);
  new DataView(out.buffer).setUint32(8, json.length, true);
  out.set(json, 16);
  // Little-endian on every platform Node runs on here; the header says so for other readers.
  out.set(new Uint8Array(features.buffer, features.byteOffset, features.byteLength), 16 + json.length);
  return out;
}

export async function writeEmbeddings(file: string, header: EmbeddingsHeader, features: Float32Array): Promise<void> {
  await writeFileAtomic(file, embeddingsBytes(header, features));
}

export async function readEmbeddings(file: string): Promise<{ header: EmbeddingsHeader; features: Float32Array }> {
  return parseEmbeddings(await readFile(file), file);
}

/** An embeddings file's bytes (read from a file or an S3 object, named `file` in errors). */
export function parseEmbeddings(data: Uint8Array, file: string): { header: EmbeddingsHeader; features: Float32Array } {
  const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (b.length < 16 || b.subarray(0, 8).toString('latin1') !== EMBEDDINGS_MAGIC) throw new UlearnError(`${file}: not a ulearn embeddings file (no ${JSON.stringify(EMBEDDINGS_MAGIC)} magic)`, { code: 'E_DATA' });
  const h = b.readUInt32LE(8);
  const header = JSON.parse(b.subarray(16, 16 + h).toString('utf8')) as EmbeddingsHeader;
  const bytes = b.subarray(16 + h);
  if (bytes.length !== header.n * header.dim * 4) throw new UlearnError(`${file}: ${bytes.length} bytes of features, the header says ${header.n} × ${header.dim} float32`, { code: 'E_DATA' });
  const features = new Float32Array(header.n * header.dim);
  new Uint8Array(features.buffer).set(bytes);
  return { header, features };
}
