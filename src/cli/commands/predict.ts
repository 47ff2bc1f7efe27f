/**
 * `ulearn predict <model-dir> <files...|folder>`: classifies new image files with a model folder from
 * `ulearn train`, decoding each with the preprocessing stored beside the model. CSV to stdout, or a .csv /
 * .json file with --out (written atomically).
 */
import path from 'node:path';
import type { Command } from 'commander';
import { UlearnError } from '../../errors.js';
import { predict, predictionsCsv } from '../../predict/index.js';
import { writeFileAtomic, writeJsonAtomic } from '../../util/atomic.js';
import { backendOption } from '../options.js';

export function registerPredictCommand(program: Command): void {
  program
    .command('predict')
    .description('classify image files (or folders of them) with a model folder written by `ulearn train`, or the rows of CSV/ARFF files with a tabular model folder')
    .argument('<model-dir>', 'model folder (ulearn-model.json for images; preprocessor.json + classes.json for tables)')
    .argument('<inputs...>', 'image files and/or folders (searched recursively), or CSV/ARFF files for a tabular model')
    .option('--out <file>', 'write predictions to a .csv or .json file instead of printing CSV')
    .addOption(backendOption())
    .action(async (modelDir: string, inputs: string[], o: { out?: string; backend: string }) => {
      const ext = o.out ? path.extname(o.out).toLowerCase() : '';
      if (o.out && ext !== '.csv' && ext !== '.json') throw new UlearnError(`--out ${o.out}: expected a .csv or .json file name`);
      const { classes, predictions: preds } = await predict(modelDir, inputs, { backend: o.backend });
      if (!o.out) process.stdout.write(predictionsCsv(preds, classes));
      else if (ext === '.csv') await writeFileAtomic(o.out, predictionsCsv(preds, classes));
      else await writeJsonAtomic(o.out, { model: modelDir, classes, predictions: preds });
      if (o.out) console.error(`${preds.length} predictions written to ${o.out}`);
    });
}
