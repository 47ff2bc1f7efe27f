/**
 * Augmentation throughput: can the input pipeline keep a trainer fed? Measures the SimCLR two-view pipeline
 * on batches of 256 28x28x1 images (Fashion-MNIST sized), FixMatch's weak + strong views, and each op alone.
 * Run: node --import tsx bench/augment.ts, or npm run bench augment [-- --batch N --seconds S] (prints JSON).
 * Starts wasm unless a backend is already running. Records the 1-minute load average before and after: numbers
 * taken while something else was busy on the machine are not comparable.
 */
import os from 'node:os';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { currentBackend, describeBackend, initBackend } from '../src/engine/backend.js';
import { Rng } from '../src/engine/seed.js';
import {
  brightness,
  contrast,
  cutout,
  gaussianBlur,
  gaussianNoise,
  horizontalFlip,
  randomAffine,
  randomResizedCrop,
  randomTranslate,
  simclrAugment,
  strongAugment,
  views,
  weakAugment,
  type Augment,
} from '../src/augment/index.js';

export interface BenchAugmentOptions {
  batch?: number;
  /** Minimum seconds per measurement. */
  seconds?: number;
}

/** Runs `step` (which returns the tensors it made) until `seconds` have passed; returns ms per call. */
async function time(step: () => tf.Tensor[], seconds: number): Promise<{ msPerBatch: number; iterations: number }> {
  for (let i = 0; i < 3; i++) tf.dispose(step()); // warm-up: kernel setup, first allocations
  let iterations = 0;
  const t0 = performance.now();
  let last: tf.Tensor[] = [];
  while (iterations < 5 || performance.now() - t0 < seconds * 1000) {
    tf.dispose(last);
    last = step();
    iterations++;
  }
  // wasm and cpu run kernels synchronously; on async backends this waits for the queued work to finish.
  await Promise.all(last.map((t) => t.data()));
  const ms = (performance.now() - t0) / iterations;
  tf.dispose(last);
  return { msPerBatch: +ms.toFixed(3), iterations };
}

export async function benchAugment(opts: BenchAugmentOptions = {}): Promise<object> {
  const backend = currentBackend() ?? (await initBackend('wasm'));
  const loadBefore = +os.loadavg()[0].toFixed(2);
  const n = opts.batch ?? 256;
  const seconds = opts.seconds ?? 2;
  const shape: [number, number, number] = [28, 28, 1];
  const x = tf.randomUniform([n, ...shape], 0, 1, 'float32', 1) as tf.Tensor4D;
  const rng = new Rng(0);
  const tensorsBefore = tf.memory().numTensors;

  const simclr = simclrAugment(shape);
  const stacked = await time(() => views(simclr, x, rng), seconds);
  const separate = await time(() => [simclr.apply(x, rng), simclr.apply(x, rng)], seconds);
  const weak = weakAugment(shape);
  const strong = strongAugment(shape);
  const fixmatch = await time(() => [weak.apply(x, rng), strong.apply(x, rng)], seconds);

  const single: Array<[string, Augment]> = [
    ['randomResizedCrop', randomResizedCrop()],
    ['horizontalFlip', horizontalFlip({ p: 1 })],
    ['brightness', brightness()],
    ['contrast', contrast()],
    ['gaussianBlur', gaussianBlur({ p: 1 })],
    ['gaussianNoise', gaussianNoise()],
    ['randomTranslate', randomTranslate()],
    ['randomAffine', randomAffine({ rotate: [-30, 30] })],
    ['cutout', cutout()],
  ];
  const perOp: Record<string, number> = {};
  for (const [name, op] of single) perOp[name] = (await time(() => [op.apply(x, rng)], seconds / 4)).msPerBatch;

  const leaked = tf.memory().numTensors - tensorsBefore;
  x.dispose();
  const perSec = (ms: number) => Math.round((n / ms) * 1000);
  return {
    engine: describeBackend(backend),
    batch: n,
    imageShape: shape,
    simclrTwoViews: {
      // Source images per second, each turned into two views.
      imagesPerSec: perSec(stacked.msPerBatch),
      viewsPerSec: 2 * perSec(stacked.msPerBatch),
      msPerBatch: stacked.msPerBatch,
      note: 'views(): both copies stacked into one batch of 2n, so each op is one kernel call',
    },
    simclrTwoApplyCalls: { imagesPerSec: perSec(separate.msPerBatch), msPerBatch: separate.msPerBatch },
    fixmatchWeakPlusStrong: { imagesPerSec: perSec(fixmatch.msPerBatch), msPerBatch: fixmatch.msPerBatch },
    msPerBatchPerOp: perOp,
    leakedTensors: leaked,
    loadAverage1m: { before: loadBefore, after: +os.loadavg()[0].toFixed(2), cores: os.availableParallelism() },
  };
}

/** bench/run.ts entry: `--batch N`, `--seconds S`; prints the JSON. */
export async function run(args: string[]): Promise<number> {
  const opt = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 && args[i + 1] !== undefined ? Number(args[i + 1]) : undefined;
  };
  console.log(JSON.stringify(await benchAugment({ batch: opt('--batch'), seconds: opt('--seconds') }), null, 2));
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const code = await run(process.argv.slice(2));
  // Exit explicitly: wasm pool threads must not hold the process open.
  process.exit(code);
}
