/**
 * `ulearn data <name>`: builds a synthetic dataset (glyphs, shapes) into the cache, where `loadDataset(name)` and
 * every command taking a dataset name find it, or into --out. Arguments only; the work is src/data/synthetic.ts.
 */
import { Command, Argument } from 'commander';
import { GLYPHS } from '../../data/glyphs.js';
import { SHAPES } from '../../data/shapes.js';
import { ensureSynthetic, type SyntheticSpec } from '../../data/synthetic.js';
import { intArg } from '../options.js';

const SPECS: Record<string, SyntheticSpec> = { glyphs: GLYPHS, shapes: SHAPES };

interface DataOpts {
  out?: string;
  perClass?: number;
  testPerClass?: number;
  seed: number;
}

export function registerDataCommand(program: Command): void {
  program
    .command('data')
    .description('build a synthetic image dataset offline: glyphs (digits in many fonts, 28x28 gray; test fonts unseen) or shapes (geometric shapes on clutter, 32x32 colour; test hues unseen)')
    .addArgument(new Argument('<name>', 'dataset').choices(Object.keys(SPECS)))
    .option('--out <dir>', 'write the dataset here (IDX files + meta.json) instead of the cache; load it with {name, dir}')
    .option('--per-class <n>', `training images per class (default: glyphs ${GLYPHS.defaults.perClass}, shapes ${SHAPES.defaults.perClass})`, intArg('--per-class', 1))
    .option('--test-per-class <n>', `test images per class (default: glyphs ${GLYPHS.defaults.testPerClass}, shapes ${SHAPES.defaults.testPerClass})`, intArg('--test-per-class', 1))
    .option('--seed <n>', 'seed for the split and every drawn parameter', intArg('--seed', 0), 0)
    .action(async (name: string, o: DataOpts) => {
      const t0 = Date.now();
      const { dir, meta, built } = await ensureSynthetic(SPECS[name], {
        dir: o.out,
        perClass: o.perClass,
        testPerClass: o.testPerClass,
        seed: o.seed,
        log: (l) => console.error(l),
      });
      const n = meta.trainGroups.length;
      const m = meta.testGroups.length;
      const what = built ? `built in ${((Date.now() - t0) / 1000).toFixed(1)} s` : `already built (in ${meta.buildSeconds.toFixed(1)} s)`;
      console.log(`${name}: ${n} train + ${m} test images, ${meta.classes.length} classes, ${meta.shape.join('x')}; ${what}`);
      console.log(`folder: ${dir}`);
    });
}
