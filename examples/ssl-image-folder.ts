/**
 * SSL on your own image folder: pretrain an encoder with SimCLR on every image (labels hidden), fit a linear
 * probe on a few labels per class, evaluate on a test folder, and save a model `ulearn predict` can use.
 *
 *   npx tsx examples/ssl-image-folder.ts photos/train photos/test --steps 300 --out my-model
 *
 * Each folder holds one subfolder of images per class (or a labels.csv). Outside a ulearn checkout, `ulearn`
 * is the installed package.
 */
import { parseArgs } from 'node:util';
import { applyLabelBudget, fit, initBackend, loadDataset, models, pretrain } from 'ulearn';

const { positionals: [trainDir, testDir], values: o } = parseArgs({
  allowPositionals: true,
  options: {
    steps: { type: 'string', default: '300' },
    'labels-per-class': { type: 'string', default: '10' },
    size: { type: 'string', default: '32' }, // images are resized (shorter side) and centre-cropped to size x size
    out: { type: 'string', default: 'model' },
    backend: { type: 'string', default: 'auto' },
    threads: { type: 'string' },
  },
});
if (!testDir) throw new Error('usage: ssl-image-folder.ts <train-folder> <test-folder> [--steps N] [--out dir]');

await initBackend(o.backend, { threads: o.threads ? Number(o.threads) : undefined });
const size = Number(o.size);
const { train, test } = await loadDataset({ folder: trainDir, test: testDir, size });
const labels = applyLabelBudget(train, { perClass: Number(o['labels-per-class']), seed: 0 }); // the few labels kept

const encoder = models.buildResNetEncoder({ inputShape: [size, size, train.inputShape[2]], widths: [16, 32, 64], blocksPerStage: 1, seed: 0 });
const { losses } = await pretrain(encoder, train, { method: 'simclr', steps: Number(o.steps), batchSize: 64, seed: 0 });
console.log(`pretrained: ${losses.length} steps, loss ${losses[0]?.toFixed(3)} -> ${losses.at(-1)?.toFixed(3)}`);

const classifier = await fit('linear', { train, labels, encoder }); // a linear probe on the frozen features
const { accuracy } = classifier.evaluate(test!);
console.log(`test accuracy: ${(accuracy * 100).toFixed(1)}% with ${labels.labeled.length} labels`);
await classifier.save(o.out);
console.log(`saved: ${o.out} (try: ulearn predict ${o.out} <images>)`);
