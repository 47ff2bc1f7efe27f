/**
 * importOnnx op by op: tiny ONNX graphs built here with onnx-proto, run by onnxruntime-node (the reference)
 * and by the imported tfjs model on the same input; max abs difference ≤ 1e-4. Covers the NCHW → NHWC
 * conversion of weights and axes, explicit and asymmetric pads, depthwise convs, the channel-first flatten
 * order before a Gemm, the folded Shape → Gather → Unsqueeze → Concat → Reshape chain, bilinear Resize (scales,
 * and sizes folded from Shape → Slice → Concat), the default cut
 * before the classifier, and a save/load round trip of the custom layers through models/io.ts.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { importOnnx } from '../../src/transfer/onnx/import.js';
import { loadOnnxEncoder } from '../../src/transfer/onnx/encoder.js';
import { encode } from '../../src/models/encode.js';
import { loadModel, saveModel } from '../../src/models/io.js';
import { maxAbsDiff, useWasm } from '../engine/helpers.js';
import { floatTensor, int64Tensor, modelBytes, node, runImported, runOrt, seeded, valueInfo, type Dims, type GraphSpec } from './onnx-helpers.js';

let dir: string;
before(async () => {
  await useWasm();
  dir = await mkdtemp(path.join(tmpdir(), 'ulearn-onnx-'));
});

let fileCount = 0;
async function write(g: GraphSpec): Promise<string> {
  const file = path.join(dir, `m${++fileCount}.onnx`);
  await writeFile(file, modelBytes(g));
  return file;
}

/** Imports the whole graph (cut at its output) and compares it with onnxruntime on a seeded input. */
async function compare(g: GraphSpec, inputDims: number[], seed = 1): Promise<number> {
  const file = await write(g);
  const x = seeded(inputDims.reduce((a, b) => a * b, 1), seed);
  const ref = await runOrt(file, x, inputDims);
  const { model, outputNhwc } = await importOnnx(file, { cutAt: g.outputs[0].name! });
  try {
    const got = runImported(model, x, inputDims, outputNhwc);
    assert.deepEqual(got.dims, ref.dims);
    return maxAbsDiff(got.data, ref.data);
  } finally {
    model.dispose();
  }
}

const W = (name: string, dims: number[], seed: number, scale = 0.5) => floatTensor(name, dims, seeded(dims.reduce((a, b) => a * b, 1), seed, scale));
const img = (c: number, h: number, w: number): Dims => ['N', c, h, w];
const one = (nodes: GraphSpec['nodes'], inShape: Dims, outShape: Dims, initializers: GraphSpec['initializers'] = [], opset = 13): GraphSpec => ({
  nodes,
  inputs: [valueInfo('x', inShape)],
  outputs: [valueInfo('y', outShape)],
  initializers,
  opset,
});

const CASES: { name: string; graph: GraphSpec; input: number[] }[] = [
  {
    name: 'Conv 3x3, pads 1, bias',
    graph: one([node('Conv', ['x', 'w', 'b'], ['y'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] })], img(3, 9, 9), img(5, 9, 9), [W('w', [5, 3, 3, 3], 2), W('b', [5], 3)]),
    input: [2, 3, 9, 9],
  },
  {
    name: 'Conv stride 2 with asymmetric pads, no bias',
    graph: one([node('Conv', ['x', 'w'], ['y'], { kernel_shape: [3, 2], strides: [2, 2], pads: [0, 1, 1, 0] })], img(2, 9, 8), img(4, 4, 4), [W('w', [4, 2, 3, 2], 4)]),
    input: [1, 2, 9, 8],
  },
  {
    name: 'Conv dilation 2',
    graph: one([node('Conv', ['x', 'w', 'b'], ['y'], { kernel_shape: [3, 3], dilations: [2, 2], pads: [2, 2, 2, 2] })], img(3, 8, 8), img(4, 8, 8), [W('w', [4, 3, 3, 3], 5), W('b', [4], 6)]),
    input: [1, 3, 8, 8],
  },
  {
    name: 'depthwise Conv (group = channels, multiplier 2) stride 2',
    graph: one([node('Conv', ['x', 'w', 'b'], ['y'], { kernel_shape: [3, 3], group: 3, strides: [2, 2], pads: [1, 1, 1, 1] })], img(3, 8, 8), img(6, 4, 4), [W('w', [6, 1, 3, 3], 7), W('b', [6], 8)]),
    input: [2, 3, 8, 8],
  },
  {
    name: 'grouped Conv (group 2, 3 channels per group) with bias',
    graph: one([node('Conv', ['x', 'w', 'b'], ['y'], { kernel_shape: [3, 3], group: 2, pads: [1, 1, 1, 1] })], img(6, 5, 5), img(4, 5, 5), [W('w', [4, 3, 3, 3], 33), W('b', [4], 34)]),
    input: [2, 6, 5, 5],
  },
  {
    name: 'auto_pad SAME_UPPER conv stride 2 and SAME_LOWER max pool',
    graph: one(
      [
        node('Conv', ['x', 'w'], ['c'], { kernel_shape: [3, 3], strides: [2, 2], auto_pad: 'SAME_UPPER' }),
        node('MaxPool', ['c'], ['y'], { kernel_shape: [2, 2], auto_pad: 'SAME_LOWER' }),
      ],
      img(2, 8, 7),
      img(3, 4, 4),
      [W('w', [3, 2, 3, 3], 35)],
    ),
    input: [1, 2, 8, 7],
  },
  {
    name: 'MaxPool ceil_mode=1 (partial last windows), with and without pads',
    graph: one(
      [
        node('MaxPool', ['x'], ['a'], { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 }),
        node('MaxPool', ['x'], ['b'], { kernel_shape: [2, 2], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1 }),
        node('Flatten', ['a'], ['fa']),
        node('Flatten', ['b'], ['fb']),
        node('Concat', ['fa', 'fb'], ['y'], { axis: 1 }),
      ],
      img(2, 8, 8),
      ['N', 2 * (16 + 25)],
    ),
    input: [2, 2, 8, 8],
  },
  {
    name: "x.chunk(2, dim=1) swapped: Slice with ends from Shape → Gather → integer Div (truncating), channel shuffle via 5-D Reshape/Transpose",
    graph: one(
      [
        node('Relu', ['x'], ['r']),
        node('Shape', ['r'], ['sh']),
        node('Constant', [], ['one'], { value: int64Tensor('', [], [1]) }),
        node('Gather', ['sh', 'one'], ['ch'], { axis: 0 }),
        node('Constant', [], ['two'], { value: int64Tensor('', [], [2]) }),
        node('Div', ['ch', 'two'], ['half']),
        node('Constant', [], ['ax0'], { value: int64Tensor('', [1], [0]) }),
        node('Unsqueeze', ['half', 'ax0'], ['half1']),
        node('Slice', ['r', 'zero1', 'half1', 'axes1'], ['lo']),
        node('Slice', ['r', 'half1', 'big', 'axes1'], ['hi']),
        node('Concat', ['hi', 'lo'], ['cat'], { axis: 1 }),
        node('Reshape', ['cat', 'shape5'], ['r5']),
        node('Transpose', ['r5'], ['t5'], { perm: [0, 2, 1, 3, 4] }),
        node('Reshape', ['t5', 'shape4'], ['y']),
      ],
      img(6, 3, 2),
      img(6, 3, 2),
      [int64Tensor('zero1', [1], [0]), int64Tensor('axes1', [1], [1]), int64Tensor('big', [1], [1000]), int64Tensor('shape5', [5], [-1, 2, 3, 3, 2]), int64Tensor('shape4', [4], [-1, 6, 3, 2])],
    ),
    input: [2, 6, 3, 2],
  },
  {
    name: 'integer Div folds with truncation: 5 channels split at 5 / 2 = 2',
    graph: one(
      [
        node('Shape', ['x'], ['sh']),
        node('Gather', ['sh', 'one'], ['ch'], { axis: 0 }),
        node('Div', ['ch', 'two'], ['half']),
        node('Unsqueeze', ['half', 'ax0'], ['half1']),
        node('Slice', ['x', 'half1', 'big', 'axes1'], ['y']),
      ],
      img(5, 2, 2),
      img(3, 2, 2),
      [int64Tensor('one', [], [1]), int64Tensor('two', [], [2]), int64Tensor('ax0', [1], [0]), int64Tensor('axes1', [1], [1]), int64Tensor('big', [1], [1000])],
    ),
    input: [2, 5, 2, 2],
  },
  {
    name: 'Conv → BatchNormalization → Relu',
    graph: one(
      [
        node('Conv', ['x', 'w'], ['c'], { kernel_shape: [1, 1] }),
        node('BatchNormalization', ['c', 'g', 'be', 'm', 'v'], ['bn'], { epsilon: 1e-3 }),
        node('Relu', ['bn'], ['y']),
      ],
      img(3, 5, 5),
      img(4, 5, 5),
      [W('w', [4, 3, 1, 1], 9), W('g', [4], 10), W('be', [4], 11), W('m', [4], 12), floatTensor('v', [4], [0.5, 1, 2, 3])],
    ),
    input: [2, 3, 5, 5],
  },
  {
    name: 'Clip (0, 6) and (-0.3, 0.4) with Constant bounds, Sigmoid, HardSigmoid, HardSwish',
    graph: one(
      [
        node('Constant', [], ['lo'], { value: floatTensor('', [], [0]) }),
        node('Constant', [], ['hi'], { value: floatTensor('', [], [6]) }),
        node('Constant', [], ['lo2'], { value: floatTensor('', [], [-0.3]) }),
        node('Constant', [], ['hi2'], { value: floatTensor('', [], [0.4]) }),
        node('Mul', ['x', 'k'], ['x8']),
        node('Clip', ['x8', 'lo', 'hi'], ['a']),
        node('Clip', ['x', 'lo2', 'hi2'], ['b']),
        node('Sigmoid', ['x8'], ['s']),
        node('HardSigmoid', ['x8'], ['hs'], { alpha: { float: 1 / 6 }, beta: { float: 0.5 } }),
        node('HardSwish', ['x8'], ['hw']),
        node('Concat', ['a', 'b', 's', 'hs', 'hw'], ['y'], { axis: 1 }),
      ],
      img(2, 3, 3),
      img(10, 3, 3),
      [floatTensor('k', [], [8])],
      14,
    ),
    input: [2, 2, 3, 3],
  },
  {
    name: 'Add, Sub, Mul, Div with per-channel constants; SiLU as Mul(x, Sigmoid(x)); a residual Add',
    graph: one(
      [
        node('Conv', ['x', 'w'], ['c'], { kernel_shape: [1, 1] }),
        node('Add', ['c', 'bias'], ['a']),
        node('Mul', ['a', 'scale'], ['m']),
        node('Sub', ['m', 'shift'], ['s']),
        node('Div', ['s', 'den'], ['d']),
        node('Sigmoid', ['d'], ['sg']),
        node('Mul', ['d', 'sg'], ['silu']),
        node('Add', ['silu', 'c'], ['y']),
      ],
      img(3, 4, 4),
      img(3, 4, 4),
      [W('w', [3, 3, 1, 1], 13), W('bias', [3, 1, 1], 14), W('scale', [1, 3, 1, 1], 15), W('shift', [3, 4, 4], 16), floatTensor('den', [1], [1.5])],
    ),
    input: [2, 3, 4, 4],
  },
  {
    name: 'squeeze-excite: GlobalAveragePool / ReduceMean → 1x1 convs → Sigmoid → Mul broadcast',
    graph: one(
      [
        node('GlobalAveragePool', ['x'], ['p']),
        node('ReduceMean', ['x'], ['q'], { axes: [2, 3], keepdims: 1 }),
        node('Add', ['p', 'q'], ['pq']),
        node('Conv', ['pq', 'w1', 'b1'], ['r'], { kernel_shape: [1, 1] }),
        node('Relu', ['r'], ['rr']),
        node('Conv', ['rr', 'w2', 'b2'], ['e'], { kernel_shape: [1, 1] }),
        node('Sigmoid', ['e'], ['se']),
        node('Mul', ['x', 'se'], ['y']),
      ],
      img(4, 5, 5),
      img(4, 5, 5),
      [W('w1', [2, 4, 1, 1], 17), W('b1', [2], 18), W('w2', [4, 2, 1, 1], 19), W('b2', [4], 20)],
    ),
    input: [2, 4, 5, 5],
  },
  {
    name: 'MaxPool k3 s2 pads 1; AveragePool with and without the padding counted; Concat',
    graph: one(
      [
        node('MaxPool', ['x'], ['mp'], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }),
        node('AveragePool', ['x'], ['ap'], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }),
        node('AveragePool', ['x'], ['ai'], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], count_include_pad: 1 }),
        node('AveragePool', ['x'], ['av'], { kernel_shape: [2, 2], strides: [2, 2] }),
        node('Concat', ['mp', 'ap', 'ai', 'av'], ['y'], { axis: 1 }),
      ],
      img(2, 8, 8),
      img(8, 4, 4),
    ),
    input: [2, 2, 8, 8],
  },
  {
    name: 'Flatten of a 3x3 map → Gemm (transB, alpha, beta): PyTorch channel-first order',
    graph: one(
      [
        node('Conv', ['x', 'w'], ['c'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }),
        node('Flatten', ['c'], ['f'], { axis: 1 }),
        node('Dropout', ['f'], ['fd']),
        node('Gemm', ['fd', 'B', 'C'], ['y'], { transB: 1, alpha: { float: 0.5 }, beta: { float: 2 } }),
      ],
      img(2, 3, 3),
      ['N', 5],
      [W('w', [4, 2, 3, 3], 21), W('B', [5, 36], 22), W('C', [5], 23)],
    ),
    input: [2, 2, 3, 3],
  },
  {
    name: 'x.view(x.size(0), -1): Shape → Gather → Unsqueeze → Concat → Reshape, then MatMul + Add, Softmax',
    graph: one(
      [
        node('Relu', ['x'], ['r']),
        node('Shape', ['r'], ['sh']),
        node('Constant', [], ['zero'], { value: int64Tensor('', [], [0]) }),
        node('Gather', ['sh', 'zero'], ['n'], { axis: 0 }),
        node('Constant', [], ['ax'], { value: int64Tensor('', [1], [0]) }),
        node('Unsqueeze', ['n', 'ax'], ['n1']),
        node('Constant', [], ['minus1'], { value: int64Tensor('', [1], [-1]) }),
        node('Concat', ['n1', 'minus1'], ['shape'], { axis: 0 }),
        node('Reshape', ['r', 'shape'], ['flat']),
        node('MatMul', ['flat', 'B'], ['mm']),
        node('Add', ['mm', 'bias'], ['logits']),
        node('Softmax', ['logits'], ['y'], { axis: -1 }),
      ],
      img(3, 2, 4),
      ['N', 6],
      [W('B', [24, 6], 24), W('bias', [6], 25)],
    ),
    input: [3, 3, 2, 4],
  },
  {
    name: 'Pad (constant 0.5, and reflect) with pads as inputs; Identity',
    graph: one(
      [
        node('Pad', ['x', 'pads', 'cv'], ['p1'], { mode: 'constant' }),
        node('Pad', ['x', 'pads'], ['p2'], { mode: 'reflect' }),
        node('Identity', ['p2'], ['p2i']),
        node('Concat', ['p1', 'p2i'], ['y'], { axis: 1 }),
      ],
      img(2, 4, 5),
      img(4, 7, 6),
      [int64Tensor('pads', [8], [0, 0, 1, 0, 0, 0, 2, 1]), floatTensor('cv', [], [0.5])],
    ),
    input: [1, 2, 4, 5],
  },
  {
    name: 'Transpose to NHWC and back in ONNX terms, Softmax over channels (axis 1) of a map',
    graph: one(
      [
        node('Conv', ['x', 'w'], ['c'], { kernel_shape: [1, 1] }),
        node('Softmax', ['c'], ['sm'], { axis: 1 }),
        node('Transpose', ['sm'], ['t'], { perm: [0, 2, 3, 1] }),
        node('Transpose', ['t'], ['y'], { perm: [0, 1, 3, 2] }),
      ],
      img(2, 3, 4),
      ['N', 3, 3, 4],
      [W('w', [3, 2, 1, 1], 26)],
    ),
    input: [2, 2, 3, 4],
  },
  {
    name: 'rows: Gemm → Relu → BatchNormalization → Gemm (no transB) → Softmax, opset 11 Clip attrs free',
    graph: one(
      [
        node('Gemm', ['x', 'B1', 'C1'], ['h'], { transB: 1 }),
        node('Relu', ['h'], ['hr']),
        node('BatchNormalization', ['hr', 'g', 'be', 'm', 'v'], ['hb']),
        node('Gemm', ['hb', 'B2'], ['o']),
        node('Softmax', ['o'], ['y']),
      ],
      ['N', 6],
      ['N', 3],
      [W('B1', [4, 6], 27), W('C1', [4], 28), W('g', [4], 29), W('be', [4], 30), W('m', [4], 31), floatTensor('v', [4], [1, 2, 0.5, 0.25]), W('B2', [4, 3], 32)],
    ),
    input: [5, 6],
  },
  {
    name: 'Resize (linear, half_pixel) up by constant scales, then down to sizes from Shape → Slice → Concat (pytorch_half_pixel), as F.interpolate exports',
    graph: one(
      [
        node('Conv', ['x', 'w'], ['c'], { kernel_shape: [1, 1] }),
        node('Resize', ['c', '', 'scales'], ['up'], { mode: 'linear', coordinate_transformation_mode: 'half_pixel' }),
        node('Shape', ['up'], ['shape']),
        node('Slice', ['shape', 'starts', 'ends'], ['nc']),
        node('Concat', ['nc', 'hw'], ['sizes'], { axis: 0 }),
        node('Resize', ['up', '', '', 'sizes'], ['y'], { mode: 'linear', coordinate_transformation_mode: 'pytorch_half_pixel' }),
      ],
      img(2, 5, 6),
      img(3, 7, 5),
      [W('w', [3, 2, 1, 1], 33), floatTensor('scales', [4], [1, 1, 2, 1.5]), int64Tensor('starts', [1], [0]), int64Tensor('ends', [1], [2]), int64Tensor('hw', [2], [7, 5])],
    ),
    input: [2, 2, 5, 6],
  },
];

for (const c of CASES) {
  test(`ONNX op vs onnxruntime: ${c.name}`, async () => {
    const diff = await compare(c.graph, c.input);
    assert.ok(diff <= 1e-4, `max abs diff ${diff}`);
  });
}

test('the default cut ends the features before the classifier and says where', async () => {
  const g = CASES.find((c) => c.name.startsWith('Flatten of a 3x3'))!.graph;
  const file = await write(g);
  const imp = await importOnnx(file);
  try {
    assert.equal(imp.cut.how, 'default');
    assert.equal(imp.cut.node, 'Gemm_y');
    assert.equal(imp.cut.tensor, 'fd');
    assert.match(imp.description, /before the classifier node 'Gemm_y'/);
    assert.deepEqual(imp.model.outputs[0].shape, [null, 36]);
    assert.deepEqual(imp.inputShape, [3, 3, 2]);
    // The features are the flattened conv output in PyTorch's order: compare with onnxruntime's full model
    // by applying the Gemm by hand.
    const x = seeded(2 * 2 * 3 * 3, 5);
    const ref = await runOrt(file, x, [2, 2, 3, 3]);
    const feats = runImported(imp.model, x, [2, 2, 3, 3]);
    const B = seeded(5 * 36, 22, 0.5);
    const C = seeded(5, 23, 0.5);
    const logits = new Float32Array(10);
    for (let n = 0; n < 2; n++) {
      for (let o = 0; o < 5; o++) {
        let s = 0;
        for (let i = 0; i < 36; i++) s += feats.data[n * 36 + i] * B[o * 36 + i];
        logits[n * 5 + o] = 0.5 * s + 2 * C[o];
      }
    }
    assert.ok(maxAbsDiff(logits, ref.data) <= 1e-4);
  } finally {
    imp.model.dispose();
  }
  // cutAt a node: its first output.
  const conv = await importOnnx(file, { cutAt: 'Conv_c' });
  assert.deepEqual(conv.model.outputs[0].shape, [null, 3, 3, 4]);
  conv.model.dispose();
});

test('an imported model with custom layers saves and loads through models/io.ts with the same outputs', async () => {
  const c = CASES.find((k) => k.name.startsWith('x.view'))!;
  const file = await write(c.graph);
  const { model } = await importOnnx(file, { cutAt: 'y' });
  const out = path.join(dir, 'saved');
  await saveModel(model, out);
  const loaded = await loadModel(out);
  const x = seeded(3 * 24, 9);
  const a = runImported(model, x, c.input);
  const b = runImported(loaded, x, c.input);
  assert.equal(maxAbsDiff(a.data, b.data), 0);
  assert.deepEqual(
    loaded.trainableWeights.map((w) => w.shape),
    model.trainableWeights.map((w) => w.shape),
  );
  model.dispose();
  loaded.dispose();
  // In a fresh process that imports only models/io.ts, the custom layer class is known too.
  const script = `import '@tensorflow/tfjs-backend-cpu'; import { loadModel } from './src/models/io.ts'; const m = await loadModel(${JSON.stringify(out)}); console.log(m.layers.map((l) => l.getClassName()).join(','));`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script]);
  assert.match(stdout, /UlearnOnnxOp/);
});

test('importing leaves no tensors behind beyond the model weights', async () => {
  const file = await write(CASES[6].graph);
  const before = tf.memory().numTensors;
  const { model } = await importOnnx(file, { cutAt: 'y' });
  model.dispose();
  assert.equal(tf.memory().numTensors, before);
});

test('loadOnnxEncoder: an encoder like loadEncoder gives (features [N, D], a feature map pooled), and encode() runs it', async () => {
  const c = CASES.find((k) => k.name.startsWith('Conv → BatchNormalization'))!;
  const file = await write(c.graph);
  const x = seeded(2 * 3 * 25, 4);
  const whole = await importOnnx(file, { cutAt: 'y' });
  const map = runImported(whole.model, x, c.input); // NHWC [2, 5, 5, 4]
  whole.model.dispose();
  const loaded = await loadOnnxEncoder(file);
  try {
    assert.match(loaded.description, /pooled globally/);
    assert.deepEqual(loaded.architecture, { family: 'onnx', modality: 'image', inputShape: [5, 5, 3], widths: [4], method: 'onnx-import' });
    // encode() takes NHWC samples: the same input, transposed here.
    const nhwc = tf.tidy(() => tf.transpose(tf.tensor4d(x, [2, 3, 5, 5]), [0, 2, 3, 1]).dataSync() as Float32Array);
    const feats = encode(loaded.encoder, nhwc, [5, 5, 3]);
    const mean = new Float32Array(8);
    for (let n = 0; n < 2; n++) for (let p = 0; p < 25; p++) for (let ch = 0; ch < 4; ch++) mean[n * 4 + ch] += map.data[(n * 25 + p) * 4 + ch] / 25;
    assert.ok(maxAbsDiff(feats, mean) <= 1e-5);
  } finally {
    loaded.encoder.dispose();
  }
});

test('the imported graph trains: gradients of every trainable weight match central finite differences', async () => {
  // Custom-layer ops on the way (reflect pad, avg pool excluding padding, HardSwish, a trainable per-channel
  // Mul from an initializer, flatten in NCHW order, Softmax) between a conv and a Gemm.
  const g = one(
    [
      node('Pad', ['x', 'pads'], ['p'], { mode: 'reflect' }),
      node('Conv', ['p', 'w', 'b'], ['c'], { kernel_shape: [3, 3] }),
      node('Mul', ['c', 'scale'], ['m']),
      node('HardSwish', ['m'], ['h']),
      node('AveragePool', ['h'], ['a'], { kernel_shape: [2, 2], strides: [2, 2], pads: [1, 1, 1, 1] }),
      node('Flatten', ['a'], ['f']),
      node('Gemm', ['f', 'B', 'C'], ['o'], { transB: 1 }),
      node('Softmax', ['o'], ['y']),
    ],
    img(2, 4, 4),
    ['N', 3],
    [int64Tensor('pads', [8], [0, 0, 1, 1, 0, 0, 1, 1]), W('w', [3, 2, 3, 3], 40), W('b', [3], 41), W('scale', [3, 1, 1], 42), W('B', [3, 27], 43), W('C', [3], 44)],
    14,
  );
  const { model } = await importOnnx(await write(g), { cutAt: 'y' });
  const x = tf.transpose(tf.tensor4d(seeded(2 * 2 * 16, 45, 2), [2, 2, 4, 4]), [0, 2, 3, 1]);
  const target = tf.tensor2d([[1, 0, 0], [0, 0, 1]]);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  assert.equal(vars.length, 5); // conv kernel + bias, the Mul's scale, Gemm kernel + bias
  const loss = () => tf.tidy(() => tf.neg(tf.sum(tf.mul(target, tf.log(model.apply(x, { training: true }) as tf.Tensor)))) as tf.Scalar);
  const { grads } = tf.variableGrads(loss, vars);
  try {
    for (const v of vars) {
      const analytic = grads[v.name].dataSync();
      const values = v.dataSync().slice();
      // A few coordinates per weight, central differences in float32 (eps 1e-2: rounding stays well below).
      for (const i of [0, Math.floor(values.length / 2), values.length - 1]) {
        const at = (delta: number) => {
          const moved = values.slice();
          moved[i] += delta;
          tf.tidy(() => v.assign(tf.tensor(moved, v.shape)));
          return tf.tidy(() => loss().dataSync()[0]);
        };
        const numeric = (at(1e-2) - at(-1e-2)) / 2e-2;
        tf.tidy(() => v.assign(tf.tensor(values, v.shape)));
        assert.ok(Math.abs(numeric - analytic[i]) <= 2e-3 + 2e-2 * Math.abs(numeric), `${v.name}[${i}]: analytic ${analytic[i]} vs numeric ${numeric}`);
      }
    }
  } finally {
    tf.dispose([x, target, ...Object.values(grads)]);
    model.dispose();
  }
});

test('an NHWC input (a Transpose to NCHW in front, as tf2onnx writes) is read as it is: ulearn images need no transpose', async () => {
  const g: GraphSpec = {
    nodes: [node('Transpose', ['x'], ['t'], { perm: [0, 3, 1, 2] }), node('Conv', ['t', 'w'], ['c'], { kernel_shape: [3, 3] }), node('Relu', ['c'], ['y'])],
    inputs: [valueInfo('x', ['N', 5, 6, 3])],
    outputs: [valueInfo('y', ['N', 4, 3, 4])],
    initializers: [W('w', [4, 3, 3, 3], 50)],
  };
  const file = await write(g);
  const x = seeded(2 * 5 * 6 * 3, 51);
  const ref = await runOrt(file, x, [2, 5, 6, 3]);
  const imp = await importOnnx(file, { cutAt: 'y' });
  try {
    assert.deepEqual(imp.inputShape, [5, 6, 3]);
    assert.equal(imp.model.layers.filter((l) => /Permute|UlearnOnnxOp/.test(l.getClassName())).length, 0);
    const got = runImported(imp.model, x, [2, 5, 6, 3], imp.outputNhwc, false);
    assert.ok(maxAbsDiff(got.data, ref.data) <= 1e-4);
  } finally {
    imp.model.dispose();
  }
});
