/**
 * `ulearn predict <model-dir> <files...|folder>`: classifies new image files with a model folder from
 * `ulearn train`, decoding each with the preprocessing stored beside the model. CSV to stdout, or a .csv /
 * .json file with --out (written atomically). With --distributed the image files are split into shards run by
 * `ulearn worker` processes, and the output is the same.
 */
import path from 'node:path';
import type { Command } from 'commander';
import { UlearnError } from '../../errors.js';
import { predict, predictionsCsv } from '../../predict/index.js';
import { writeFileAtomic, writeJsonAtomic } from '../../util/atomic.js';
import { distributedPredict } from '../../distributed/steps.js';
import { backendOption, distributedOptions, type DistributedFlags } from '../options.js';

export function registerPredictCommand(program: Command): void {
  const cmd = program
    .command('predict')
    .description('classify image files (or folders of them) with a model folder written by `ulearn train`, or the rows of CSV/ARFF files with a tabular model folder')
    .argument('<model-dir>', 'model folder (ulearn-model.json for images; preprocessor.json + classes.json for tables), local or s3://bucket/prefix/ (downloaded once into the cache)')
    .argument('<inputs...>', 'image files and/or folders (searched recursively; or s3://bucket/prefix/), or CSV/ARFF files for a tabular model')
    .option('--out <file>', 'write predictions to a .csv or .json file instead of printing CSV')
    .addOption(backendOption());
  for (const opt of distributedOptions('shared folder or s3://bucket/prefix for the shards (default: <out>.shards beside --out, which --distributed needs); every worker must see it at the same path')) cmd.addOption(opt);
  cmd.action(async (modelDir: string, inputs: string[], o: DistributedFlags & { out?: string; backend: string }) => {
    const ext = o.out ? path.extname(o.out).toLowerCase() : '';
    if (o.out && ext !== '.csv' && ext !== '.json') throw new UlearnError(`--out ${o.out}: expected a .csv or .json file name`);
    if (o.distributed && !o.out && !o.work) throw new UlearnError('--distributed needs --out (or --work): the shards are gathered in a folder beside it', { code: 'E_ARG' });
    const { classes, predictions: preds } = o.distributed
      ? await distributedPredict(modelDir, inputs, { url: o.distributed, shardSize: o.shardSize, attempts: o.attempts, retryDelayMs: o.retryDelay, queue: o.queue, pollMs: o.poll, work: o.work ?? `${path.resolve(o.out!)}.shards`, progress: true })
      : await predict(modelDir, inputs, { backend: o.backend });
    if (!o.out) process.stdout.write(predictionsCsv(preds, classes));
    else if (ext === '.csv') await writeFileAtomic(o.out, predictionsCsv(preds, classes));
    else await writeJsonAtomic(o.out, { model: modelDir, classes, predictions: preds });
    if (o.out) console.error(`${preds.length} predictions written to ${o.out}`);
  });
}
