/**
 * `ulearn encode <data> --encoder <ckpt> --out <file>`: an encoder's features for every image file of the
 * data (or every row of an uncompressed IDX file), in sorted-file order, written atomically as one embeddings
 * file (predict/embeddings-file.ts). With `--distributed redis://…` the same file comes out of shards run by
 * `ulearn worker` processes (src/distributed/).
 */
import path from 'node:path';
import type { Command } from 'commander';
import { Option } from 'commander';
import { distributedEncode } from '../../distributed/steps.js';
import { initBackend } from '../../engine/index.js';
import { RESIZE_POLICIES, type ResizePolicy } from '../../data/image-decode.js';
import { encodeSource, resolveEncodeSource } from '../../predict/encode-files.js';
import { writeEmbeddings } from '../../predict/embeddings-file.js';
import { isS3Url } from '../../util/s3.js';
import { backendOption, distributedOptions, encoderInputs, threadsOption, withEncoderInputOptions, type DistributedFlags, type EncoderInputFlags } from '../options.js';

export function registerEncodeCommand(program: Command): void {
  const cmd = withEncoderInputOptions(
    program
      .command('encode')
      .description("an encoder's features for every image (files and folders, searched recursively, in sorted order) or every row of an uncompressed uint8 IDX file, written as one embeddings file (README: \"Scaling out\")")
      .argument('<data...>', 'image files and/or folders (or s3://bucket/prefix/), or one .idx / -ubyte file')
      .requiredOption('--encoder <path>', 'the encoder: a checkpoint, a run directory, a model folder, or an imported model.onnx / model.json (local, or s3://…: downloaded once into the cache)')
      .requiredOption('--out <file>', 'embeddings file to write (header + float32 rows; see docs/scale.md)')
      .addOption(new Option('--resize <policy>', 'how an image of another size is fitted to the encoder').choices([...RESIZE_POLICIES]).default('crop'))
      .addOption(backendOption())
      .addOption(threadsOption()),
  );
  for (const opt of distributedOptions('shared folder or s3://bucket/prefix for the shards (default: <out>.shards beside --out); every worker must see it at the same path')) cmd.addOption(opt);
  cmd.action(async (data: string[], o: EncoderInputFlags & DistributedFlags & { encoder: string; out: string; resize: ResizePolicy; backend: string; threads?: number }) => {
    const source = await resolveEncodeSource(data);
    const { preprocessing, cutAt } = encoderInputs(o);
    const pre = Object.fromEntries(Object.entries(preprocessing).filter(([, v]) => v !== undefined));
    const encoder = { source: isS3Url(o.encoder) ? o.encoder : path.resolve(o.encoder), preprocessing: Object.keys(pre).length ? pre : undefined, cutAt };
    const out = path.resolve(o.out);
    let result;
    if (o.distributed) {
      result = await distributedEncode(source, { encoder, resize: o.resize }, {
        url: o.distributed,
        shardSize: o.shardSize,
        attempts: o.attempts,
        retryDelayMs: o.retryDelay,
        queue: o.queue,
        pollMs: o.poll,
        work: o.work ?? `${out}.shards`,
        progress: true,
      });
    } else {
      await initBackend(o.backend, { threads: o.threads });
      result = await encodeSource(source, { encoder, resize: o.resize, progress: true });
    }
    await writeEmbeddings(out, result.header, result.features);
    console.error(`${result.header.n} × ${result.header.dim} features written to ${o.out}`);
  });
}
