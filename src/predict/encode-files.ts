/**
 * `ulearn encode`: an encoder's features for every sample of a data source, in one fixed order, so that a run
 * split into shards (src/distributed/) and a run in one process give the same rows in the same places.
 *
 * Two sources, both addressable by row ranges without reading the rest:
 * - image files (named, or found recursively in folders): the sorted list `collectImageFiles` gives, each
 *   decoded to the encoder's input size with a resize policy, as `ulearn predict` decodes them;
 * - an uncompressed uint8 IDX file ([n, h, w] or [n, h, w, c]): rows read at their byte offset, so a shard of a
 *   million-row file reads only its own bytes (a gzipped IDX cannot be read that way and is refused).
 * Features come from `encodeFrozen` (models/encode.ts), the one inference pass.
 */
import { open } from 'node:fs/promises';
import path from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import { decodeImage, writePixels, type ResizePolicy } from '../data/image-decode.js';
import { UlearnError } from '../errors.js';
import { encodeFrozen } from '../models/encode.js';
import { loadEncoder, type LoadEncoderOptions } from '../models/load-encoder.js';
import { sha256Files } from '../util/hash-files.js';
import { Progress } from '../util/progress.js';
import type { EmbeddingsHeader } from './embeddings-file.js';
import { localModel } from './remote-model.js';
import { isS3Url } from '../util/s3.js';
import { collectImageFiles, fetchImages } from './image-model.js';

export type EncodeSource =
  | { kind: 'files'; files: string[] }
  | { kind: 'idx'; file: string; rows: number; shape: [number, number, number]; offset: number };

/** Samples in a source. */
export const sourceSize = (s: EncodeSource): number => (s.kind === 'files' ? s.files.length : s.rows);

/**
 * The source `inputs` name, with absolute paths (every machine of a distributed run reads the same shared
 * paths, and the output records them): one uncompressed IDX file, or image files and folders.
 */
export async function resolveEncodeSource(inputs: string[]): Promise<EncodeSource> {
  const abs = inputs.map((p) => (isS3Url(p) ? p : path.resolve(p)));
  if (abs.length === 1 && isS3Url(abs[0]) && /(\.idx\d?|-ubyte)(\.gz)?$/i.test(abs[0])) {
    throw new UlearnError(`${abs[0]}: an IDX file on S3 is not read (its rows are read by byte offset, which ulearn does on files only)`, { code: 'E_ARG', hint: 'copy it to a shared filesystem, or store the images as files under an s3:// prefix' });
  }
  if (abs.length === 1 && /(\.idx\d?|-ubyte)(\.gz)?$/i.test(abs[0])) return readIdxHeader(abs[0]);
  return { kind: 'files', files: await collectImageFiles(abs) };
}

async function readIdxHeader(file: string): Promise<EncodeSource> {
  const fh = await open(file, 'r').catch((e: NodeJS.ErrnoException) => {
    throw new UlearnError(`${file}: ${e.code === 'ENOENT' ? 'no such file' : `cannot read (${e.code ?? e.message})`}`, { code: 'E_DATA_MISSING', cause: e });
  });
  try {
    const head = Buffer.alloc(4 + 4 * 4);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    if (bytesRead >= 2 && head[0] === 0x1f && head[1] === 0x8b) {
      throw new UlearnError(`${file}: a gzipped IDX file cannot be read by row ranges`, { code: 'E_DATA', hint: `gunzip it first (gunzip -k ${path.basename(file)})` });
    }
    const nd = head[3];
    if (bytesRead < 4 || head[0] !== 0 || head[1] !== 0 || head[2] !== 0x08 || nd < 3 || nd > 4 || bytesRead < 4 + 4 * nd) {
      throw new UlearnError(`${file}: expected a uint8 IDX file of images ([n, h, w] or [n, h, w, c]): header bytes ${[...head.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join(' ')}`, { code: 'E_DATA' });
    }
    const dims = Array.from({ length: nd }, (_, d) => head.readUInt32BE(4 + 4 * d));
    const shape: [number, number, number] = [dims[1], dims[2], nd === 4 ? dims[3] : 1];
    if (shape[2] !== 1 && shape[2] !== 3) throw new UlearnError(`${file}: images with ${shape[2]} channels; 1 or 3 are read`, { code: 'E_DATA' });
    const offset = 4 + 4 * nd;
    const size = (await fh.stat()).size;
    const expected = offset + dims[0] * shape[0] * shape[1] * shape[2];
    if (size !== expected) throw new UlearnError(`${file}: ${size} bytes, the IDX header [${dims.join(', ')}] needs ${expected}`, { code: 'E_DATA', hint: 'the file was cut off or is not this shape' });
    return { kind: 'idx', file, rows: dims[0], shape, offset };
  } finally {
    await fh.close();
  }
}

/** The [H, W, C] the encoder reads a source at: an IDX file's own size (a ResNet pools globally), else the encoder's. */
export function sourceInputShape(source: EncodeSource, encoderShape: readonly number[]): [number, number, number] {
  const c = encoderShape[2];
  if (source.kind === 'idx') return [source.shape[0], source.shape[1], c];
  return [encoderShape[0], encoderShape[1], c];
}

/** Samples `start`..`end` as floats in [0, 1], NHWC at `inputShape`. */
export async function readRows(source: EncodeSource, start: number, end: number, inputShape: readonly number[], resize: ResizePolicy = 'crop'): Promise<Float32Array> {
  const [h, w, c] = inputShape;
  if (c !== 1 && c !== 3) throw new UlearnError(`the encoder takes ${c} channels; only 1 (gray) or 3 (RGB) images can be read`, { code: 'E_ENCODER_INPUT' });
  const size = h * w * c;
  const x = new Float32Array((end - start) * size);
  if (source.kind === 'idx') {
    const [ih, iw, ic] = source.shape;
    const row = ih * iw * ic;
    const bytes = Buffer.alloc((end - start) * row);
    const fh = await open(source.file, 'r');
    try {
      const { bytesRead } = await fh.read(bytes, 0, bytes.length, source.offset + start * row);
      if (bytesRead !== bytes.length) throw new UlearnError(`${source.file}: rows ${start}..${end} are past its end (read ${bytesRead} of ${bytes.length} bytes)`, { code: 'E_DATA' });
    } finally {
      await fh.close();
    }
    for (let k = 0; k < end - start; k++) {
      writePixels({ pixels: bytes.subarray(k * row, (k + 1) * row), channels: ic as 1 | 3, color: ic === 3 }, c, x, k * size);
    }
    return x;
  }
  // S3 objects are fetched a few at a time (one GET after another would leave the engine waiting on the network).
  const files = source.files.slice(start, end);
  const inputs = await fetchImages(files);
  for (let k = 0; k < end - start; k++) {
    const file = files[k];
    let img;
    try {
      img = await decodeImage(inputs[k], h, w, resize);
    } catch (e) {
      throw new UlearnError(`${file}: cannot decode as an image (${(e as Error).message})`, { code: 'E_DATA', cause: e });
    }
    writePixels(img, c, x, k * size);
  }
  return x;
}

export interface EncodeRangeOptions {
  resize?: ResizePolicy;
  /** Samples read and encoded at a time; default 256 (encode's batch: the event loop runs after every batch). */
  chunk?: number;
  /** Called after each chunk with the number of samples it held (a progress bar). */
  onRows?: (n: number) => void;
}

/**
 * Features of samples `start`..`end` ([end - start, dim] row-major). Chunks of the range are read and encoded
 * in turn, with the event loop let run between them: a distributed worker renews its job's lock there, and
 * a shard held without a break would be taken for a dead worker's.
 */
export async function encodeRange(encoder: tfl.LayersModel, source: EncodeSource, start: number, end: number, inputShape: readonly number[], opts: EncodeRangeOptions = {}): Promise<{ features: Float32Array; dim: number }> {
  const chunk = opts.chunk ?? 256;
  let out = new Float32Array(0);
  let dim = 0;
  for (let s = start; s < end; s += chunk) {
    const e = Math.min(end, s + chunk);
    const x = await readRows(source, s, e, inputShape, opts.resize);
    const f = await encodeFrozen(encoder, x, inputShape);
    if (s === start) {
      dim = f.length / (e - s);
      out = new Float32Array((end - start) * dim);
    }
    out.set(f, (s - start) * dim);
    opts.onRows?.(e - s);
    await new Promise((r) => setImmediate(r));
  }
  return { features: out, dim };
}

export interface EncoderSpec {
  /** What `--encoder` named, absolute (or an s3:// URL, loaded from its cached copy): checkpoint, run directory, model folder, model.onnx, ... (loadEncoder). */
  source: string;
  /** Imported encoders: input preprocessing and cut (the `encoderInputOptions` flags). */
  preprocessing?: LoadEncoderOptions['preprocessing'];
  cutAt?: string;
}

/** The encoder, through `loadEncoder`, built for the source's input shape; the caller disposes it. */
export async function openEncoder(spec: EncoderSpec, source: EncodeSource): Promise<{ encoder: tfl.LayersModel; inputShape: [number, number, number] }> {
  const fail = (err: unknown) => {
    throw new UlearnError(`--encoder ${spec.source}: ${(err as Error).message}`, { code: 'E_CHECKPOINT', cause: err, hint: err instanceof UlearnError ? err.hint : undefined });
  };
  const opts = { preprocessing: spec.preprocessing, cutAt: spec.cutAt };
  // An s3:// encoder is loaded from its cached copy (remote-model.ts); messages still name the URL.
  const local = await localModel(spec.source);
  if (source.kind === 'idx') {
    // The image size is the file's; the encoder's channels (a ResNet pools globally, as clean's --encoder does).
    const probe = await loadEncoder(local, opts).catch(fail);
    const c = probe.encoder.inputs[0].shape[3] as number;
    probe.encoder.dispose();
    const inputShape = sourceInputShape(source, [0, 0, c]);
    const { encoder } = await loadEncoder(local, { ...opts, inputShape }).catch(fail);
    return { encoder, inputShape };
  }
  const { encoder } = await loadEncoder(local, opts).catch(fail);
  const shape = encoder.inputs[0].shape.slice(1) as number[];
  if (shape.length !== 3 || shape.some((d) => !(d > 0))) {
    encoder.dispose();
    throw new UlearnError(`--encoder ${spec.source}: takes inputs of shape [${shape.join(', ')}], not images`, { code: 'E_ENCODER_INPUT' });
  }
  return { encoder, inputShape: sourceInputShape(source, shape) };
}

export interface EncodeFilesOptions {
  encoder: EncoderSpec;
  resize?: ResizePolicy;
  /** A progress bar (stderr) over every sample. */
  progress?: boolean;
}

/** Every sample's features and the header describing them: what `ulearn encode` writes. */
export async function encodeSource(source: EncodeSource, opts: EncodeFilesOptions): Promise<{ header: EmbeddingsHeader; features: Float32Array }> {
  const n = sourceSize(source);
  const sha256 = await sha256Files(await localModel(opts.encoder.source));
  const { encoder, inputShape } = await openEncoder(opts.encoder, source);
  const bar = opts.progress ? new Progress('encode', n) : undefined;
  try {
    const { features, dim } = await encodeRange(encoder, source, 0, n, inputShape, { resize: opts.resize, onRows: (m) => bar?.tick(m) });
    bar?.done();
    return { header: embeddingsHeader(source, opts.encoder.source, sha256, n, dim), features };
  } finally {
    encoder.dispose();
  }
}

export function embeddingsHeader(source: EncodeSource, encoderSource: string, sha256: string, n: number, dim: number): EmbeddingsHeader {
  return {
    format: 'ulearn-embeddings',
    version: 1,
    n,
    dim,
    dtype: 'float32',
    byteOrder: 'little',
    encoder: { source: encoderSource, sha256 },
    samples: source.kind === 'files' ? { kind: 'files', files: source.files } : { kind: 'idx', file: source.file, rows: source.rows },
  };
}
