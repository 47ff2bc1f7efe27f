/**
 * The native engine (oneDNN kernels over the wasm heap): the kernels only it replaces (forward and fused convs,
 * matmuls, pooling) against the cpu backend, that they really run in oneDNN, that a oneDNN failure is a
 * UlearnError, and the backend choice (`--backend native`, `auto`, ULEARN_NATIVE=0) seen from the CLI.
 * Without the add-on these skip, saying why; CI sets ULEARN_REQUIRE_NATIVE=1 so that a broken build fails there.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../../src/engine/seed.js';
import { UlearnError } from '../../src/errors.js';
import { callNative, loadNative } from '../../src/engine/native.js';
import { fusedAdamSteps, tfjsAdamApplyGradients } from '../../src/engine/kernels/fused-adam.js';
import { maxAbs, maxAbsDiff, NATIVE_SKIP, onCpu, randomArray, useEngine } from './helpers.js';

const run = promisify(execFile);
const skip = NATIVE_SKIP ? `native add-on unavailable: ${NATIVE_SKIP}` : false;

test('CI builds the native add-on', { skip: process.env.ULEARN_REQUIRE_NATIVE === '1' ? false : 'only where ULEARN_REQUIRE_NATIVE=1 (CI)' }, () => {
  assert.equal(NATIVE_SKIP, undefined, `the native add-on must load in CI: ${NATIVE_SKIP}`);
});

async function sameAsCpu(label: string, f: () => tf.Tensor | tf.Tensor[], tol = 1e-4): Promise<void> {
  const values = () => tf.tidy(() => [f()].flat().map((t) => t.dataSync() as Float32Array));
  const ref = await onCpu(values);
  const got = values();
  ref.forEach((r, i) => {
    assert.ok(maxAbs(r) > 0, `${label}[${i}]: reference is all zeros`);
    assert.ok(maxAbsDiff(got[i], r) <= tol * Math.max(1, maxAbs(r)), `${label}[${i}]: max diff ${maxAbsDiff(got[i], r)}`);
  });
}

describe('native kernels', { skip }, () => {
  before(() => useEngine('native'));
  const plans = () => loadNative().addon!.info().plans;

  test('forward and fused convs (bias, relu), standard and depthwise, match the cpu backend and run in oneDNN', async () => {
    const rng = new Rng(31);
    const before = plans();
    for (let i = 0; i < 12; i++) {
      const k = 1 + rng.int(3);
      const s = 1 + rng.int(2);
      const d = s === 1 ? 1 + rng.int(2) : 1;
      const xs: [number, number, number, number] = [1 + rng.int(3), k * d + rng.int(9), k * d + rng.int(9), 1 + rng.int(6)];
      const cout = 1 + rng.int(7);
      const pad = rng.random() < 0.5 ? 'same' : 'valid';
      const xv = randomArray(rng, xs.reduce((a, b) => a * b));
      const wv = randomArray(rng, k * k * xs[3] * cout);
      const mv = randomArray(rng, k * k * xs[3] * 2);
      const bv = randomArray(rng, cout);
      const label = JSON.stringify({ xs, k, s, d, cout, pad });
      await sameAsCpu(label, () => {
        const x = tf.tensor4d(xv, xs);
        const w = tf.tensor4d(wv, [k, k, xs[3], cout]);
        const dwf = tf.tensor4d(mv, [k, k, xs[3], 2]);
        return [
          tf.conv2d(x, w, s, pad, 'NHWC', d),
          tf.fused.conv2d({ x, filter: w, strides: s, pad, dilations: d, bias: tf.tensor1d(bv), activation: 'relu' }),
          tf.depthwiseConv2d(x, dwf, s, pad, 'NHWC', d),
        ];
      });
    }
    assert.ok(plans() > before, 'the convs ran in oneDNN (new primitives were built)');
  });

  test('matmuls (transposes, batch broadcast, fused bias + relu) match the cpu backend', async () => {
    const rng = new Rng(32);
    const before = plans();
    for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]]) {
      const a = randomArray(rng, 3 * 5 * 7);
      const b = randomArray(rng, 3 * 7 * 4);
      const bias = randomArray(rng, 4);
      await sameAsCpu(`ta=${ta} tb=${tb}`, () => {
        const A = tf.tensor(a, ta ? [3, 7, 5] : [3, 5, 7]);
        const B = tf.tensor(b, tb ? [3, 4, 7] : [3, 7, 4]);
        const B2 = tf.tensor(b.subarray(0, 28), tb ? [4, 7] : [7, 4]);
        return [
          tf.matMul(A, B, ta, tb),
          tf.matMul(A, B2, ta, tb),
          tf.fused.matMul({ a: A, b: B, transposeA: ta, transposeB: tb, bias: tf.tensor1d(bias), activation: 'relu' }),
        ];
      });
    }
    assert.ok(plans() > before);
  });

  // tfjs' cpu AvgPoolGrad divides by the full window even where its forward pass (and ours) averages only the
  // pixels inside the input ('same' padding), so the average-pool gradient is checked by the adjoint identity.
  test('max and average pooling and their gradients match the cpu backend (average: the adjoint identity)', async () => {
    const rng = new Rng(33);
    for (const [size, stride, pad] of [[2, 2, 'valid'], [3, 2, 'same'], [3, 1, 'same'], [2, 1, 'valid']] as const) {
      const xv = randomArray(rng, 2 * 9 * 7 * 3);
      await sameAsCpu(`pool ${size}/${stride} ${pad}`, () => {
        const x = tf.tensor4d(xv, [2, 9, 7, 3]);
        const f = (t: tf.Tensor) => tf.sum(tf.square(tf.maxPool(t as tf.Tensor4D, size, stride, pad)));
        return [tf.maxPool(x, size, stride, pad), tf.avgPool(x, size, stride, pad), tf.grad(f)(x)];
      });
      const [lhs, rhs] = tf.tidy(() => {
        const x = tf.tensor4d(xv, [2, 9, 7, 3]);
        const y = tf.avgPool(x, size, stride, pad);
        const dy = tf.tensor(randomArray(rng, y.size), y.shape);
        const dx = tf.engine().runKernel('AvgPoolGrad', { dy, input: x }, { filterSize: size, strides: stride, pad }) as tf.Tensor;
        return [tf.sum(tf.mul(y, dy)).dataSync()[0], tf.sum(tf.mul(x, dx)).dataSync()[0]];
      });
      assert.ok(Math.abs(lhs - rhs) < 1e-4 * Math.max(1, Math.abs(lhs)), `avgPool ${size}/${stride} ${pad}: <y, dy> ${lhs} != <x, dx> ${rhs}`);
    }
  });

  test("1x1 strided filter gradients on channels below oneDNN's 16-wide block: right, and the process survives", { skip }, async () => {
    // In a child process: the bug this guards against (native/src/addon.cc, jit_1x1) corrupts the C heap.
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'test/engine/native-1x1-child.ts'], { timeout: 120_000 });
    const m = /^ok (\S+)$/m.exec(stdout);
    assert.ok(m, `child said: ${stdout}`);
    assert.ok(Number(m[1]) <= 1e-4, `filter gradient off the cpu backend's by ${m[1]} (relative)`);
  });

  test('allocate nothing they do not return', () => {
    const x = tf.randomNormal([2, 8, 8, 4]);
    const w = tf.randomNormal([3, 3, 4, 6]);
    const step = () => tf.tidy(() => tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.maxPool(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same'), 2, 2, 'same')))([x, w]));
    tf.dispose(step());
    const ids = tf.engine().backend.numDataIds();
    const tensors = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) tf.dispose(step());
    assert.equal(tf.engine().backend.numDataIds(), ids);
    assert.equal(tf.memory().numTensors, tensors);
    tf.dispose([x, w]);
  });

  test('a oneDNN failure is a UlearnError carrying its status, and a tensor outside the heap is refused', () => {
    const addon = loadNative().addon!;
    const heap = new Float32Array(16);
    // A conv with a zero-sized kernel: oneDNN refuses to build it.
    const bad = new Int32Array([0, 1, 4, 4, 1, 4, 4, 1, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    assert.throws(
      () => callNative('Conv2D', () => addon.conv(heap, bad)),
      (e: unknown) => e instanceof UlearnError && e.code === 'E_NATIVE' && /oneDNN/.test(e.message) && /oneDNN status \d+/.test(e.hint ?? ''),
    );
    const outside = new Int32Array([0, 1, 4, 4, 1, 4, 4, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 100]);
    assert.throws(() => callNative('Conv2D', () => addon.conv(heap, outside)), (e: unknown) => e instanceof UlearnError && /outside the wasm heap/.test(e.message));
  });
});

describe('backend choice', () => {
  const cli = (args: string[], env: Record<string, string> = {}) =>
    run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { env: { ...process.env, ...env } }).then(
      (r) => ({ code: 0, out: r.stdout, err: r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout, err: e.stderr }),
    );

  test('with ULEARN_NATIVE=0, --backend native fails with the reason (exit 2) and auto says why it runs wasm', async () => {
    const native = await cli(['info', '--backend', 'native', '--threads', '1'], { ULEARN_NATIVE: '0' });
    assert.equal(native.code, 2);
    assert.match(native.err, /backend 'native' unavailable: native kernels switched off by ULEARN_NATIVE=0/);
    const auto = await cli(['info', '--threads', '1'], { ULEARN_NATIVE: '0' });
    assert.equal(auto.code, 0);
    assert.match(auto.out, /^engine: wasm \(.*no native: native kernels switched off by ULEARN_NATIVE=0/m);
  });

  test('--backend native names oneDNN, its ISA and the threads it was given', { skip }, async () => {
    const r = await cli(['info', '--backend', 'native', '--threads', '1']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^engine: native \(oneDNN \d+\.\d+\.\d+, [a-z0-9_]+, .*1 thread\) over wasm, tfjs /m);
  });
});

describe('fused Adam', { skip }, () => {
  before(() => useEngine('native'));

  test('updates variables and moments as tfjs AdamOptimizer does, in one native call per step', () => {
    const rng = new Rng(34);
    const shapes = [[3, 3, 4, 8], [8], [50, 7]];
    const init = shapes.map((s) => randomArray(rng, s.reduce((a, b) => a * b, 1)));
    const grads = [0, 1, 2, 3].map(() => shapes.map((s) => randomArray(rng, s.reduce((a, b) => a * b, 1))));
    const train = (fused: boolean) => {
      const vars = shapes.map((s, i) => {
        const t = tf.tensor(init[i], s);
        const v = tf.variable(t, true, `adam_${fused}_${i}`);
        t.dispose(); // else the variable shares its data with t, and the update must not be in place
        return v;
      });
      const opt = tf.train.adam(0.01, 0.9, 0.999, 1e-7);
      const before = fusedAdamSteps;
      for (const step of grads) {
        const g = step.map((v, i) => ({ name: vars[i].name, tensor: tf.tensor(v, shapes[i]) }));
        if (fused) opt.applyGradients(g);
        else tfjsAdamApplyGradients.call(opt, g);
        tf.dispose(g.map((x) => x.tensor));
      }
      const ran = fusedAdamSteps - before;
      const values = vars.map((v) => v.dataSync() as Float32Array);
      const iterations = opt.iterations;
      tf.dispose(vars);
      opt.dispose();
      return { values, ran, iterations };
    };
    const want = train(false);
    const got = train(true);
    assert.equal(want.ran, 0);
    assert.equal(got.ran, grads.length, 'every step ran the fused update');
    assert.equal(got.iterations, want.iterations);
    want.values.forEach((w, i) => assert.ok(maxAbsDiff(got.values[i], w) <= 1e-6 * Math.max(1, maxAbs(w)), `variable ${i}: max diff ${maxAbsDiff(got.values[i], w)}`));
  });
});
