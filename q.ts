import * as tf from '@tensorflow/tfjs-core';
import { initBackend, describeBackend } from '/work/main/src/engine/backend.ts';
const r = await initBackend('wasm'); console.log(describeBackend(r));
function rnd(shape: number[], seed: number) { return tf.randomNormal(shape, 0, 1, 'float32', seed); }
const cases = [
  {x:[2,7,7,3], f:[3,3,3,4], s:1, p:'same', d:1},
  {x:[2,8,9,3], f:[3,3,3,5], s:2, p:'same', d:1},
  {x:[2,8,9,3], f:[3,2,3,5], s:2, p:'valid', d:1},
  {x:[1,9,9,2], f:[3,3,2,3], s:1, p:'same', d:2},
  {x:[1,9,10,2], f:[3,3,2,3], s:3, p:'valid', d:1},
  {x:[2,6,6,4], f:[1,1,4,8], s:1, p:'valid', d:1},
];
for (const c of cases) {
  const xa = await rnd(c.x, 1).array(); const fa = await rnd(c.f, 2).array();
  const run = (be: string) => { tf.setBackend(be); const x = tf.tensor(xa as number[]); const f = tf.tensor(fa as number[]);
    const y = tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, c.s, c.p as 'same', 'NHWC', c.d);
    const dy = tf.randomNormal(y.shape, 0, 1, 'float32', 3);
    const dx = tf.conv2dTranspose(dy as tf.Tensor4D, f as tf.Tensor4D, c.x as [number,number,number,number], c.s, c.p as 'same');
    const dw = tf.engine().runKernel('Conv2DBackpropFilter', {x, dy}, {strides: c.s, pad: c.p, dataFormat: 'NHWC', filterShape: c.f, dilations: c.d}) as tf.Tensor;
    const dx2 = tf.engine().runKernel('Conv2DBackpropInput', {dy, filter: f}, {strides: c.s, pad: c.p, dataFormat: 'NHWC', inputShape: c.x, dilations: c.d}) as tf.Tensor;
    return [dx2.dataSync(), dw.dataSync()]; };
  const [a1, b1] = run('cpu'); const [a2, b2] = run('wasm');
  const md = (p: Float32Array|Uint8Array|Int32Array, q: typeof p) => Math.max(...Array.from(p, (v, i) => Math.abs(v - q[i])));
  console.log(JSON.stringify(c), 'dx maxdiff', md(a1, a2).toExponential(2), 'dw maxdiff', md(b1, b2).toExponential(2));
}
