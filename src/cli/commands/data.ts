/**
 * `ulearn data <name>`: builds a synthetic dataset (glyphs, shapes: images; speech-digits: synthetic speech)
 * into the cache, where `loadDataset(name)` and every command taking a dataset name find it, or into --out.
 * Arguments only; the work is src/data/synthetic.ts and src/data/speech-digits.ts.
 */
import { Command, Argument } from 'commander';
import { GLYPHS } from '../../data/glyphs.js';
import { SHAPES } from '../../data/shapes.js';
import { ensureSpeechDigits, SPEECH_DIGITS, SPEECH_DIGITS_DEFAULTS } from '../../data/speech-digits.js';
import { ensureSynthetic, type SyntheticSpec } from '../../data/synthetic.js';
import { intArg } from '../options.js';

const SPECS: Record<string, SyntheticSpec> = { glyphs: GLYPHS, shapes: SHAPES };

interface DataOpts {
  out?: string;
  perClass?: number;
  testPerClass?: number;
  poolSize?: number;
  seed: number;
}

export function registerDataCommand(program: Command): void {
  program
    .command('data')
    .description(
      'build a synthetic dataset offline: glyphs (digits in many fonts, 28x28 gray; test fonts unseen), shapes (geometric shapes on clutter, 32x32 colour; test hues unseen) or speech-digits (synthetic speech: zero..nine + unknown words spoken by espeak-ng, flite and festival voices, 1 s at 16 kHz; test voices unseen; plus an unlabeled pool in 49 other languages)',
    )
    .addArgument(new Argument('<name>', 'dataset').choices([...Object.keys(SPECS), SPEECH_DIGITS]))
    .option('--out <dir>', 'write the dataset here instead of the cache; load it with {name, dir}')
    .option(
      '--per-class <n>',
      `training samples per class (default: glyphs ${GLYPHS.defaults.perClass}, shapes ${SHAPES.defaults.perClass}, speech-digits ${SPEECH_DIGITS_DEFAULTS.perClass})`,
      intArg('--per-class', 1),
    )
    .option(
      '--test-per-class <n>',
      `test samples per class (default: glyphs ${GLYPHS.defaults.testPerClass}, shapes ${SHAPES.defaults.testPerClass}, speech-digits ${SPEECH_DIGITS_DEFAULTS.testPerClass})`,
      intArg('--test-per-class', 1),
    )
    .option('--pool-size <n>', `speech-digits: unlabeled multilingual pool clips (default ${SPEECH_DIGITS_DEFAULTS.poolSize})`, intArg('--pool-size', 1))
    .option('--seed <n>', 'seed for the split and every drawn parameter', intArg('--seed', 0), 0)
    .action(async (name: string, o: DataOpts) => {
      const t0 = Date.now();
      const opts = { dir: o.out, perClass: o.perClass, testPerClass: o.testPerClass, seed: o.seed, log: (l: string) => console.error(l) };
      const elapsed = (built: boolean, seconds: number) => (built ? `built in ${((Date.now() - t0) / 1000).toFixed(1)} s` : `already built (in ${seconds.toFixed(1)} s)`);
      if (name === SPEECH_DIGITS) {
        const { dir, meta, built } = await ensureSpeechDigits({ ...opts, poolSize: o.poolSize });
        const { train, test, pool } = meta.counts;
        console.log(`${name}: ${train} train + ${test} test clips, ${meta.classes.length} classes (${meta.classes.join(' ')}), + ${pool} unlabeled pool clips; 1 s at 16 kHz; ${elapsed(built, meta.buildSeconds)}`);
        console.log(`speakers: train ${meta.speakers.train.length}, test ${meta.speakers.test.length} (held out: ${meta.testGroups.join(', ')}), pool ${meta.speakers.pool.length} (training voices, ${meta.poolLanguages.length} languages)`);
        console.log(`SYNTHETIC: ${meta.note}`);
        console.log(`folder: ${dir}`);
        return;
      }
      if (o.poolSize !== undefined) console.error(`--pool-size is for speech-digits; ignored for ${name}`);
      const { dir, meta, built } = await ensureSynthetic(SPECS[name], opts);
      console.log(`${name}: ${meta.trainGroups.length} train + ${meta.testGroups.length} test images, ${meta.classes.length} classes, ${meta.shape.join('x')}; ${elapsed(built, meta.buildSeconds)}`);
      console.log(`folder: ${dir}`);
    });
}
