/**
 * Run as a child process by native.test.ts: oneDNN 2.6's jit_1x1 backward-weights kernel corrupted the C heap on
 * channels that are not a multiple of 16 (an 8-wide ResNet's 1x1 stride-2 shortcut, batch 5, 2 threads), which
 * killed the process with a glibc error a few allocations later. A crash here is a non-zero exit of the child.
 * Prints the largest difference from the cpu backend's gradient, relative to the gradient's largest value.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../../src/engine/seed.js';
import { loadNative } from '../../src/engine/native.js';
import { maxAbs, maxAbsDiff, onCpu, randomArray, runKernel, useEngine } from './helpers.js';

await useEngine('native');
loadNative().addon!.setThreads(2);
const rng = new Rng(5);
let worst = 0;
for (const [n, hw, c] of [[5, 28, 8], [5, 14, 8], [3, 9, 4], [5, 28, 24]] as const) {
  const out = Math.ceil(hw / 2);
  const xv = randomArray(rng, n * hw * hw * c);
  const dyv = randomArray(rng, n * out * out * c);
  const attrs = { strides: 2, pad: 'same', dataFormat: 'NHWC', dimRoundingMode: undefined, dilations: 1, filterShape: [1, 1, c, c] };
  const grad = () => tf.tidy(() => runKernel('Conv2DBackpropFilter', { x: tf.tensor4d(xv, [n, hw, hw, c]), dy: tf.tensor4d(dyv, [n, out, out, c]) }, attrs));
  const ref = await onCpu(grad);
  for (let rep = 0; rep < 20; rep++) {
    worst = Math.max(worst, maxAbsDiff(grad(), ref) / Math.max(1, maxAbs(ref)));
    // Allocations after each call: where the corrupted heap used to fail.
    const junk = Array.from({ length: 200 }, (_, i) => new Float64Array(64 + ((i * 37) % 4096)));
    junk.length = 0;
  }
}
console.log(`ok ${worst}`);
