/**
 * `ulearn clean --encoder <model> --distributed redis://…`: the encoder's forward pass over every scanned
 * sample, the costly part of clean with an encoder, run as shards of `distributedEncode`. Reading and
 * decoding the files runs as shards before it (./clean-scan.ts); the hashes and the checks, which compare
 * samples across the whole pool, stay in the coordinator.
 *
 * The scanned pixels go to the shared work folder as one uncompressed IDX file (named by their sha256, so a
 * rerun over the same pixels is the same run and resumes), each worker reads its rows from it, and the rows
 * are L2-normalised as `encoderEmbedding` does: the same vectors as the single-process `--encoder`.
 */
import { createHash } from 'node:crypto';
import { mkdir, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import type { ImageSamples } from '../clean/types.js';
import { normalizeRows } from '../models/encode.js';
import type { EncoderSpec } from '../predict/encode-files.js';
import { resolveEncodeSource } from '../predict/encode-files.js';
import { writeFileAtomic } from '../util/atomic.js';
import { isS3Url } from '../util/s3.js';
import { UlearnError } from '../errors.js';
import { distributedEncode, type DistributedOptions } from './steps.js';

export function distributedEncoderEmbedding(source: string, inputs: Pick<EncoderSpec, 'preprocessing' | 'cutAt'>, d: DistributedOptions) {
  if (isS3Url(d.work)) throw s3CleanRefused(d.work);
  return async (s: ImageSamples): Promise<{ vectors: Float32Array; dim: number }> => {
    const n = s.ids.length;
    const head = Buffer.alloc(s.channels === 1 ? 16 : 20);
    head.writeUInt32BE(s.channels === 1 ? 0x00000803 : 0x00000804, 0);
    [n, s.height, s.width, ...(s.channels === 1 ? [] : [s.channels])].forEach((v, i) => head.writeUInt32BE(v, 4 + 4 * i));
    const sha = createHash('sha256').update(head).update(s.pixels).digest('hex').slice(0, 16);
    await mkdir(d.work, { recursive: true });
    const file = path.resolve(d.work, `pixels-${sha}.idx`);
    await writeFileAtomic(file, Buffer.concat([head, s.pixels]));
    try {
      const { features, header } = await distributedEncode(await resolveEncodeSource([file]), { encoder: { source: path.resolve(source), ...inputs } }, d);
      normalizeRows(features, header.dim);
      return { vectors: features, dim: header.dim };
    } finally {
      await rm(file, { force: true });
      // The work folder too, unless another run is using it.
      if (!d.keepShards) await rmdir(d.work).catch(() => undefined);
    }
  };
}

/**
 * Why `clean --distributed` takes no s3:// work location: its --encoder pass reads the pixels file by byte
 * ranges, and its scan reads the image folder by path (so a shared filesystem is needed for the data anyway).
 */
export function s3CleanRefused(work: string): UlearnError {
  return new UlearnError(`--work ${work}: clean --distributed needs a shared folder, not S3`, {
    code: 'E_ARG',
    hint: 'its workers read the image folder by path and (with --encoder) their rows of one pixels IDX file by byte offset, which ulearn does on files only; give --work a shared filesystem folder (encode and predict do take s3:// work locations)',
  });
}
