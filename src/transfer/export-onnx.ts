/**
 * A tfjs-layers model (any ulearn encoder or classifier) as an ONNX model (opset 13), and the check that
 * onnxruntime computes what tfjs does.
 *
 * The layers graph is walked from the outputs back to the inputs (`sourceLayer` / `nodeIndex`, as tfjs-layers
 * records it), descending into nested models (a classifier is its encoder's layers plus a nested head model;
 * a tabular one nests both), and each layer becomes a few ONNX nodes. Weights go in as initializers: conv
 * kernels transposed from tfjs' HWIO to ONNX's OIHW, BN as inference-mode BatchNormalization with its moving
 * statistics, dense layers as Gemm (or MatMul + Add on rank > 2).
 *
 * Layout: ONNX convolutions and pools are channels-first, tfjs is channels-last. Every value carries its
 * physical layout; a 4-D value is turned NHWC ↔ NCHW by one Transpose only where an op needs the other one
 * (a conv after an NHWC input, a Flatten or Dense after convs, since NHWC flattening order is what the dense
 * weights expect). The graph's image input is NCHW by default (what PyTorch-exported models take, so the ONNX
 * importer and other tools read it without a leading Transpose); `inputLayout: 'nhwc'` keeps ulearn's own
 * layout instead. Outputs are always in tfjs' layout (features and logits are [N, D] anyway).
 *
 * An unsupported layer is an error naming the layer and its class, before anything is written.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import onnxProto from 'onnx-proto';
import { UlearnError } from '../errors.js';

const { onnx } = onnxProto;
type SymbolicTensor = tfl.SymbolicTensor;
type Layer = tfl.layers.Layer;
type Attr = number | number[] | string | { f: number };

export const ONNX_OPSET = 13;
const IR_VERSION = 7; // the IR version that goes with opset 13 (ONNX 1.8)

export type InputLayout = 'nchw' | 'nhwc';

export interface OnnxExportOptions {
  /** Layout of a 4-D (image or audio feature) input; default 'nchw'. Rank-2 inputs (table rows) are [N, F]. */
  inputLayout?: InputLayout;
  /** Graph name; default the model's name. */
  name?: string;
  /** Written into the ModelProto's producer_version and doc string. */
  producerVersion?: string;
  docString?: string;
}

export interface OnnxExport {
  bytes: Uint8Array;
  /** Names and shapes of the graph's inputs and outputs (null: the batch dimension, named 'N'). */
  inputs: { name: string; shape: (number | null)[]; layout: 'NCHW' | 'NHWC' | 'NF' | 'NTF' }[];
  outputs: { name: string; shape: (number | null)[] }[];
}

/** A value of the ONNX graph: its name, its shape in tfjs' (channels-last) terms, and how it is laid out. */
interface Value {
  name: string;
  shape: (number | null)[];
  /** Physical layout of a rank-4 value; 'plain' for every other rank. */
  layout: 'nhwc' | 'nchw' | 'plain';
}

const TO_NCHW = [0, 3, 1, 2];
const TO_NHWC = [0, 2, 3, 1];

class GraphBuilder {
  readonly nodes: InstanceType<typeof onnx.NodeProto>[] = [];
  readonly initializers: InstanceType<typeof onnx.TensorProto>[] = [];
  private readonly used = new Set<string>();
  private readonly transposed = new Map<string, Value>();

  unique(base: string): string {
    const clean = base.replace(/[^A-Za-z0-9_./-]/g, '_') || 't';
    let name = clean;
    for (let i = 1; this.used.has(name); i++) name = `${clean}_${i}`;
    this.used.add(name);
    return name;
  }

  node(op: string, inputs: string[], base: string, attrs: Record<string, Attr> = {}): string {
    const out = this.unique(base);
    const attribute = Object.entries(attrs).map(([name, v]) => attribute_(name, v));
    this.nodes.push(onnx.NodeProto.create({ opType: op, input: inputs, output: [out], name: this.unique(`${base}/${op}`), attribute }));
    return out;
  }

  float(base: string, data: Float32Array | number[], dims: number[]): string {
    const name = this.unique(base);
    const arr = data instanceof Float32Array ? data : Float32Array.from(data);
    this.initializers.push(onnx.TensorProto.create({ name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: littleEndianBytes(arr) }));
    return name;
  }

  int64(base: string, values: number[]): string {
    const name = this.unique(base);
    const arr = BigInt64Array.from(values.map((v) => BigInt(v)));
    this.initializers.push(onnx.TensorProto.create({ name, dims: [values.length], dataType: onnx.TensorProto.DataType.INT64, rawData: littleEndianBytes(arr) }));
    return name;
  }

  /** `v` with a rank-4 physical layout of `want` (one Transpose, made once per value). */
  layout(v: Value, want: 'nchw' | 'nhwc'): Value {
    if (v.layout === want || v.shape.length !== 4) return v;
    const key = `${v.name}>${want}`;
    let t = this.transposed.get(key);
    if (!t) {
      t = { name: this.node('Transpose', [v.name], `${v.name}_${want}`, { perm: want === 'nchw' ? TO_NCHW : TO_NHWC }), shape: v.shape, layout: want };
      this.transposed.set(key, t);
    }
    return t;
  }
}

function attribute_(name: string, v: Attr): InstanceType<typeof onnx.AttributeProto> {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'number') return onnx.AttributeProto.create({ name, type: T.INT, i: v });
  if (typeof v === 'string') return onnx.AttributeProto.create({ name, type: T.STRING, s: new TextEncoder().encode(v) });
  if (Array.isArray(v)) return onnx.AttributeProto.create({ name, type: T.INTS, ints: v });
  return onnx.AttributeProto.create({ name, type: T.FLOAT, f: v.f });
}

/** ONNX raw_data is little-endian; so is every platform Node runs on, but say so rather than assume. */
function littleEndianBytes(a: Float32Array | BigInt64Array): Uint8Array {
  const out = new Uint8Array(a.byteLength);
  const view = new DataView(out.buffer);
  if (a instanceof Float32Array) a.forEach((x, i) => view.setFloat32(4 * i, x, true));
  else a.forEach((x, i) => view.setBigInt64(8 * i, x, true));
  return out;
}

const unsupported = (layer: Layer, why: string) =>
  new UlearnError(`cannot export layer '${layer.name}' (${layer.getClassName()}) to ONNX: ${why}`, {
    code: 'E_EXPORT_UNSUPPORTED',
    hint: 'supported: Conv2D, DepthwiseConv2D, Conv1D, Dense, BatchNormalization, ReLU and activations, Add/Multiply/Average/Maximum/Minimum, Concatenate, pooling (max, average, global), Flatten, Reshape, ZeroPadding2D, bilinear resize, Dropout (dropped), nested models',
  });

const pair = (v: unknown): [number, number] => (Array.isArray(v) ? [Number(v[0]), Number(v[1] ?? v[0])] : [Number(v), Number(v)]);

/** Explicit ONNX pads [begins..., ends...] for TF's 'same' / 'valid' along each spatial dim. */
function spatialPads(layer: Layer, padding: unknown, inDims: (number | null)[], kernel: number[], strides: number[], dilations: number[]): number[] | 'SAME_UPPER' {
  if (padding === 'valid') return kernel.map(() => 0).concat(kernel.map(() => 0));
  if (padding !== 'same') throw unsupported(layer, `padding '${String(padding)}'`);
  // TF's 'same': the output has ceil(in / stride) positions; the extra pad (if odd) goes at the end.
  if (inDims.some((d) => d == null)) return 'SAME_UPPER';
  const begins: number[] = [];
  const ends: number[] = [];
  kernel.forEach((k, i) => {
    const n = inDims[i] as number;
    const total = Math.max((Math.ceil(n / strides[i]) - 1) * strides[i] + (k - 1) * dilations[i] + 1 - n, 0);
    begins.push(Math.floor(total / 2));
    ends.push(total - Math.floor(total / 2));
  });
  return [...begins, ...ends];
}

const padAttrs = (pads: number[] | 'SAME_UPPER'): Record<string, Attr> => (pads === 'SAME_UPPER' ? { auto_pad: 'SAME_UPPER' } : { pads });

function weightsOf(layer: Layer): Float32Array[] {
  return layer.getWeights().map((w) => w.dataSync() as Float32Array);
}

/** A tfjs activation name after `v` (layout kept, except softmax, which runs over tfjs' last axis). */
function activation(g: GraphBuilder, layer: Layer, name: unknown, v: Value): Value {
  const base = `${layer.name}_act`;
  const same = (out: string): Value => ({ ...v, name: out });
  switch (name) {
    case undefined:
    case null:
    case 'linear':
      return v;
    case 'relu':
      return same(g.node('Relu', [v.name], base));
    case 'relu6':
      return same(g.node('Clip', [v.name, g.float(`${base}_min`, [0], []), g.float(`${base}_max`, [6], [])], base));
    case 'sigmoid':
      return same(g.node('Sigmoid', [v.name], base));
    case 'hardSigmoid':
      return same(g.node('HardSigmoid', [v.name], base, { alpha: { f: 0.2 }, beta: { f: 0.5 } }));
    case 'tanh':
      return same(g.node('Tanh', [v.name], base));
    case 'elu':
      return same(g.node('Elu', [v.name], base));
    case 'selu':
      return same(g.node('Selu', [v.name], base));
    case 'softplus':
      return same(g.node('Softplus', [v.name], base));
    case 'softsign':
      return same(g.node('Softsign', [v.name], base));
    case 'swish':
      return same(g.node('Mul', [v.name, g.node('Sigmoid', [v.name], `${base}_sigmoid`)], base));
    case 'softmax': {
      const x = g.layout(v, 'nhwc');
      return { ...x, name: g.node('Softmax', [x.name], base, { axis: -1 }) };
    }
    default:
      throw unsupported(layer, `activation '${String(name)}'`);
  }
}

type Emit = (g: GraphBuilder, layer: Layer, inputs: Value[], outShape: (number | null)[]) => Value;

function conv2d(g: GraphBuilder, layer: Layer, [input]: Value[], outShape: (number | null)[], depthwise: boolean): Value {
  const c = layer.getConfig();
  if (c.dataFormat !== 'channelsLast') throw unsupported(layer, `dataFormat ${String(c.dataFormat)}`);
  const x = g.layout(input, 'nchw');
  const [kernel, bias] = weightsOf(layer);
  const kshape = layer.getWeights()[0].shape; // [kh, kw, in, out] (conv) or [kh, kw, in, multiplier] (depthwise)
  const [kh, kw, cin, cout] = kshape;
  const outC = depthwise ? cin * cout : cout;
  // HWIO → OIHW; depthwise HW(in)(mult) → (in·mult) 1 HW, output channel in·mult + m as in tfjs.
  const w = new Float32Array(kernel.length);
  for (let i = 0; i < kh; i++)
    for (let j = 0; j < kw; j++)
      for (let ci = 0; ci < cin; ci++)
        for (let co = 0; co < cout; co++) {
          const src = ((i * kw + j) * cin + ci) * cout + co;
          const dst = depthwise ? ((ci * cout + co) * kh + i) * kw + j : ((co * cin + ci) * kh + i) * kw + j;
          w[dst] = kernel[src];
        }
  const strides = pair(c.strides);
  const dilations = pair(c.dilationRate ?? 1);
  const pads = spatialPads(layer, c.padding, [input.shape[1], input.shape[2]], [kh, kw], strides, dilations);
  const inputs = [x.name, g.float(`${layer.name}/kernel`, w, depthwise ? [outC, 1, kh, kw] : [outC, cin, kh, kw])];
  if (c.useBias) inputs.push(g.float(`${layer.name}/bias`, bias, [outC]));
  const y = g.node('Conv', inputs, layer.name, { kernel_shape: [kh, kw], strides, dilations, group: depthwise ? cin : 1, ...padAttrs(pads) });
  return activation(g, layer, c.activation, { name: y, shape: outShape, layout: 'nchw' });
}

/** Conv1D over [N, T, C]: transposed to [N, C, T] for ONNX and back (no layout tracking at rank 3). */
const conv1d: Emit = (g, layer, [input], outShape) => {
  const c = layer.getConfig();
  if (c.dataFormat !== undefined && c.dataFormat !== 'channelsLast') throw unsupported(layer, `dataFormat ${String(c.dataFormat)}`);
  const [kernel, bias] = weightsOf(layer);
  const [k, cin, cout] = layer.getWeights()[0].shape;
  const w = new Float32Array(kernel.length);
  for (let i = 0; i < k; i++) for (let ci = 0; ci < cin; ci++) for (let co = 0; co < cout; co++) w[(co * cin + ci) * k + i] = kernel[(i * cin + ci) * cout + co];
  const stride = pair(c.strides)[0];
  const dilation = pair(c.dilationRate ?? 1)[0];
  const pads = spatialPads(layer, c.padding, [input.shape[1]], [k], [stride], [dilation]);
  const ct = g.node('Transpose', [input.name], `${layer.name}_nct`, { perm: [0, 2, 1] });
  const inputs = [ct, g.float(`${layer.name}/kernel`, w, [cout, cin, k])];
  if (c.useBias) inputs.push(g.float(`${layer.name}/bias`, bias, [cout]));
  const y = g.node('Conv', inputs, layer.name, { kernel_shape: [k], strides: [stride], dilations: [dilation], ...padAttrs(pads) });
  const back = g.node('Transpose', [y], `${layer.name}_ntc`, { perm: [0, 2, 1] });
  return activation(g, layer, c.activation, { name: back, shape: outShape, layout: 'plain' });
};

const batchNorm: Emit = (g, layer, [input], outShape) => {
  const c = layer.getConfig();
  const rank = input.shape.length;
  if (c.axis !== -1 && c.axis !== rank - 1) throw unsupported(layer, `normalising axis ${String(c.axis)} (only the channels, the last axis, are)`);
  if (rank !== 2 && rank !== 4) throw unsupported(layer, `rank-${rank} input (2 or 4 are)`);
  const x = g.layout(input, 'nchw');
  const w = weightsOf(layer);
  const channels = input.shape[rank - 1] as number;
  // Weight order: gamma (if scale), beta (if center), moving mean, moving variance.
  const gamma = c.scale ? w.shift()! : new Float32Array(channels).fill(1);
  const beta = c.center ? w.shift()! : new Float32Array(channels);
  const [mean, variance] = w;
  const p = layer.name;
  const y = g.node('BatchNormalization', [x.name, g.float(`${p}/gamma`, gamma, [channels]), g.float(`${p}/beta`, beta, [channels]), g.float(`${p}/moving_mean`, mean, [channels]), g.float(`${p}/moving_variance`, variance, [channels])], p, {
    epsilon: { f: c.epsilon as number },
  });
  return { name: y, shape: outShape, layout: x.layout };
};

const dense: Emit = (g, layer, [input], outShape) => {
  const c = layer.getConfig();
  const x = g.layout(input, 'nhwc');
  const [kernel, bias] = weightsOf(layer);
  const [inDim, units] = layer.getWeights()[0].shape;
  const W = g.float(`${layer.name}/kernel`, kernel, [inDim, units]);
  const b = c.useBias ? g.float(`${layer.name}/bias`, bias, [units]) : undefined;
  let y: string;
  if (x.shape.length === 2) y = g.node('Gemm', b ? [x.name, W, b] : [x.name, W], layer.name);
  else {
    const m = g.node('MatMul', [x.name, W], layer.name);
    y = b ? g.node('Add', [m, b], `${layer.name}_bias`) : m;
  }
  return activation(g, layer, c.activation, { name: y, shape: outShape, layout: outShape.length === 4 ? 'nhwc' : 'plain' });
};

function pool2d(op: 'MaxPool' | 'AveragePool'): Emit {
  return (g, layer, [input], outShape) => {
    const c = layer.getConfig();
    if (c.dataFormat !== 'channelsLast') throw unsupported(layer, `dataFormat ${String(c.dataFormat)}`);
    const x = g.layout(input, 'nchw');
    const kernel = pair(c.poolSize);
    const strides = pair(c.strides ?? c.poolSize);
    const pads = spatialPads(layer, c.padding, [input.shape[1], input.shape[2]], kernel, strides, [1, 1]);
    // AveragePool leaves padding out of the count by default, as TF's 'same' pooling does.
    return { name: g.node(op, [x.name], layer.name, { kernel_shape: kernel, strides, ...padAttrs(pads) }), shape: outShape, layout: 'nchw' };
  };
}

function globalPool2d(op: 'GlobalAveragePool' | 'GlobalMaxPool'): Emit {
  return (g, layer, [input], outShape) => {
    const c = layer.getConfig();
    if (c.dataFormat !== undefined && c.dataFormat !== 'channelsLast') throw unsupported(layer, `dataFormat ${String(c.dataFormat)}`);
    const x = g.layout(input, 'nchw');
    const pooled = g.node(op, [x.name], layer.name); // [N, C, 1, 1]
    if (c.keepDims) return { name: pooled, shape: outShape, layout: 'nchw' };
    return { name: g.node('Flatten', [pooled], `${layer.name}_flat`, { axis: 1 }), shape: outShape, layout: 'plain' };
  };
}

const globalAvgPool1d: Emit = (g, layer, [input], outShape) => ({ name: g.node('ReduceMean', [input.name], layer.name, { axes: [1], keepdims: 0 }), shape: outShape, layout: 'plain' });

/** Element-wise merges: all inputs brought to one layout (NCHW if any is), then the op. */
function merge(op: 'Sum' | 'Mean' | 'Max' | 'Min' | 'Mul'): Emit {
  return (g, layer, inputs, outShape) => {
    const want = inputs.some((v) => v.layout === 'nchw') ? 'nchw' : 'nhwc';
    const xs = inputs.map((v) => g.layout(v, want));
    const layout = outShape.length === 4 ? want : 'plain';
    if (op === 'Mul' && xs.length > 2) {
      let acc = xs[0].name;
      for (let i = 1; i < xs.length; i++) acc = g.node('Mul', [acc, xs[i].name], layer.name);
      return { name: acc, shape: outShape, layout };
    }
    // Sum/Mean/Max/Min are n-ary in ONNX; Add of two is the usual residual and reads better as Add.
    const name = op === 'Sum' && xs.length === 2 ? g.node('Add', xs.map((x) => x.name), layer.name) : g.node(op, xs.map((x) => x.name), layer.name);
    return { name, shape: outShape, layout };
  };
}

const concat: Emit = (g, layer, inputs, outShape) => {
  const c = layer.getConfig();
  const rank = outShape.length;
  const axis = ((c.axis as number) + rank) % rank;
  const want = rank === 4 && inputs.some((v) => v.layout === 'nchw') ? 'nchw' : 'nhwc';
  const xs = inputs.map((v) => g.layout(v, want));
  // NHWC axis → where it lives in NCHW.
  const onnxAxis = rank === 4 && want === 'nchw' ? [0, 2, 3, 1][axis] : axis;
  return { name: g.node('Concat', xs.map((x) => x.name), layer.name, { axis: onnxAxis }), shape: outShape, layout: rank === 4 ? want : 'plain' };
};

const flatten: Emit = (g, layer, [input], outShape) => {
  // tfjs flattens channels-last: the dense layer after it expects that order.
  const x = g.layout(input, 'nhwc');
  return { name: g.node('Flatten', [x.name], layer.name, { axis: 1 }), shape: outShape, layout: 'plain' };
};

const reshape: Emit = (g, layer, [input], outShape) => {
  const x = g.layout(input, 'nhwc');
  const target = (layer.getConfig().targetShape as number[]).map((d) => (d == null ? -1 : d));
  const shape = g.int64(`${layer.name}/shape`, [0, ...target]);
  return { name: g.node('Reshape', [x.name, shape], layer.name), shape: outShape, layout: outShape.length === 4 ? 'nhwc' : 'plain' };
};

const zeroPadding2d: Emit = (g, layer, [input], outShape) => {
  const p = layer.getConfig().padding as [[number, number], [number, number]] | [number, number] | number;
  const [[t, b], [l, r]] = Array.isArray(p) ? p.map((q) => (Array.isArray(q) ? q : [q, q])) : [[p, p], [p, p]];
  const x = g.layout(input, 'nchw');
  const pads = g.int64(`${layer.name}/pads`, [0, 0, t, l, 0, 0, b, r]);
  return { name: g.node('Pad', [x.name, pads], layer.name), shape: outShape, layout: 'nchw' };
};

const relu: Emit = (g, layer, [input], outShape) => {
  const c = layer.getConfig();
  if ((c.negativeSlope ?? 0) !== 0 || (c.threshold ?? 0) !== 0) throw unsupported(layer, 'negativeSlope / threshold');
  if (c.maxValue != null) {
    const y = g.node('Clip', [input.name, g.float(`${layer.name}_min`, [0], []), g.float(`${layer.name}_max`, [c.maxValue as number], [])], layer.name);
    return { ...input, name: y, shape: outShape };
  }
  return { ...input, name: g.node('Relu', [input.name], layer.name), shape: outShape };
};

/**
 * tfjs' Permute (dims 1-based, batch excluded), as the ONNX importer puts between layouts: one Transpose over
 * the tensor in tfjs' own axis order (the 'nhwc' physical layout of a rank-4 value is exactly that order).
 */
const permute: Emit = (g, layer, [input], outShape) => {
  const dims = layer.getConfig().dims as number[];
  const x = g.layout(input, 'nhwc');
  const y = g.node('Transpose', [x.name], layer.name, { perm: [0, ...dims] });
  return { name: y, shape: outShape, layout: outShape.length === 4 ? 'nhwc' : 'plain' };
};

/**
 * The importer's OnnxOp (transfer/onnx/layers.ts) back to ONNX, so an imported model (fine-tuned or not)
 * exports again. Its attributes are in tfjs' axis order, so every operand is taken in that order ('nhwc'
 * physical layout for rank 4) and the result stays in it; its constant operands become initializers.
 */
const onnxOp: Emit = (g, layer, inputs, outShape) => {
  const c = layer.getConfig() as { op: string; attrs?: Record<string, unknown>; operands?: ({ input: number } | { weight: number })[] };
  const a = (c.attrs ?? {}) as {
    min?: number; max?: number; alpha?: number; beta?: number; paddings?: [number, number][]; value?: number; mode?: string;
    kernel?: [number, number]; strides?: [number, number]; pads?: [[number, number], [number, number]]; axes?: number[];
    keepDims?: boolean; axis?: number; shape?: number[]; perm?: number[]; begin?: number[]; size?: number[];
  };
  const weights = layer.getWeights();
  const xs = inputs.map((v) => g.layout(v, 'nhwc'));
  const operands = (c.operands ?? [{ input: 0 }]).map((o, i) =>
    'input' in o ? xs[o.input].name : g.float(`${layer.name}/c${i}`, weights[o.weight].dataSync() as Float32Array, weights[o.weight].shape),
  );
  const out = (name: string): Value => ({ name, shape: outShape, layout: outShape.length === 4 ? 'nhwc' : 'plain' });
  const x = operands[0];
  const scalar = (base: string, v: number) => g.float(`${layer.name}/${base}`, [v], []);
  switch (c.op) {
    case 'add':
    case 'sub':
    case 'mul':
    case 'div':
      return out(g.node({ add: 'Add', sub: 'Sub', mul: 'Mul', div: 'Div' }[c.op], [operands[0], operands[1]], layer.name));
    case 'clip':
      return out(g.node('Clip', [x, scalar('min', a.min ?? -3.4e38), scalar('max', a.max ?? 3.4e38)], layer.name));
    case 'hardsigmoid':
      return out(g.node('HardSigmoid', [x], layer.name, { alpha: { f: a.alpha ?? 0.2 }, beta: { f: a.beta ?? 0.5 } }));
    case 'hardswish': {
      // HardSwish is opset 14; x · HardSigmoid(x; 1/6, 1/2) is the same function at opset 13.
      const hs = g.node('HardSigmoid', [x], `${layer.name}_gate`, { alpha: { f: 1 / 6 }, beta: { f: 0.5 } });
      return out(g.node('Mul', [x, hs], layer.name));
    }
    case 'pad': {
      const p = a.paddings!;
      const pads = g.int64(`${layer.name}/pads`, [...p.map((q) => q[0]), ...p.map((q) => q[1])]);
      return out(g.node('Pad', [x, pads, scalar('value', a.value ?? 0)], layer.name, { mode: a.mode === 'reflect' ? 'reflect' : 'constant' }));
    }
    case 'avgpool': {
      // Padding excluded from each window's count, as the importer's op computes it; ONNX pools NCHW.
      const v = g.layout(xs[0], 'nchw');
      const [[t, b], [l, r]] = a.pads!;
      const y = g.node('AveragePool', [v.name], layer.name, { kernel_shape: a.kernel!, strides: a.strides!, pads: [t, l, b, r], count_include_pad: 0 });
      return { name: y, shape: outShape, layout: 'nchw' };
    }
    case 'mean':
    case 'max':
      return out(g.node(c.op === 'mean' ? 'ReduceMean' : 'ReduceMax', [x], layer.name, { ...(a.axes ? { axes: a.axes } : {}), keepdims: a.keepDims ? 1 : 0 }));
    case 'softmax':
      return out(g.node('Softmax', [x], layer.name, { axis: a.axis ?? -1 }));
    case 'concat':
      return out(g.node('Concat', operands, layer.name, { axis: a.axis ?? 0 }));
    case 'reshape':
      return out(g.node('Reshape', [x, g.int64(`${layer.name}/shape`, [0, ...a.shape!])], layer.name));
    case 'flatten': {
      const t = a.perm ? g.node('Transpose', [x], `${layer.name}_order`, { perm: a.perm }) : x;
      return out(g.node('Flatten', [t], layer.name, { axis: 1 }));
    }
    case 'transpose':
      return out(g.node('Transpose', [x], layer.name, { perm: a.perm! }));
    case 'slice': {
      const begin = a.begin!;
      const ends = begin.map((b0, i) => (a.size![i] < 0 ? 2 ** 53 - 1 : b0 + a.size![i]));
      return out(g.node('Slice', [x, g.int64(`${layer.name}/starts`, begin), g.int64(`${layer.name}/ends`, ends), g.int64(`${layer.name}/axes`, begin.map((_, i) => i))], layer.name));
    }
    default:
      throw unsupported(layer, `imported op '${c.op}'`);
  }
};

/**
 * ulearn's bilinear resize (transfer/resize-layer.ts: half-pixel centres, no antialiasing) as ONNX Resize
 * (linear, half_pixel). The target size goes in as `sizes`, [N, C] taken from the input's Shape, so onnxruntime
 * samples at exactly in/out as tfjs does (a float `scales` would round) and the batch stays free.
 */
const resizeImages: Emit = (g, layer, [x], s) => {
  const { height, width } = layer.getConfig() as { height: number; width: number };
  const v = g.layout(x, 'nchw');
  const nc = g.node('Slice', [g.node('Shape', [v.name], `${layer.name}/shape`), g.int64(`${layer.name}/starts`, [0]), g.int64(`${layer.name}/ends`, [2])], `${layer.name}/nc`);
  const sizes = g.node('Concat', [nc, g.int64(`${layer.name}/hw`, [height, width])], `${layer.name}/sizes`, { axis: 0 });
  return { name: g.node('Resize', [v.name, '', '', sizes], layer.name, { mode: 'linear', coordinate_transformation_mode: 'half_pixel' }), shape: s, layout: 'nchw' };
};

const EMITTERS: Record<string, Emit> = {
  Conv2D: (g, l, i, s) => conv2d(g, l, i, s, false),
  DepthwiseConv2D: (g, l, i, s) => conv2d(g, l, i, s, true),
  Conv1D: conv1d,
  BatchNormalization: batchNorm,
  UlearnFastBatchNormalization: batchNorm,
  Dense: dense,
  ReLU: relu,
  Activation: (g, l, [x], s) => ({ ...activation(g, l, l.getConfig().activation, x), shape: s }),
  LeakyReLU: (g, l, [x], s) => ({ ...x, name: g.node('LeakyRelu', [x.name], l.name, { alpha: { f: l.getConfig().alpha as number } }), shape: s }),
  Softmax: (g, l, [x], s) => {
    const axis = l.getConfig().axis;
    if (axis !== -1 && axis !== s.length - 1 && !(Array.isArray(axis) && axis.length === 1 && (axis[0] === -1 || axis[0] === s.length - 1))) throw unsupported(l, `softmax over axis ${String(axis)}`);
    return { ...activation(g, l, 'softmax', x), shape: s };
  },
  MaxPooling2D: pool2d('MaxPool'),
  AveragePooling2D: pool2d('AveragePool'),
  GlobalAveragePooling2D: globalPool2d('GlobalAveragePool'),
  GlobalMaxPooling2D: globalPool2d('GlobalMaxPool'),
  GlobalAveragePooling1D: globalAvgPool1d,
  Add: merge('Sum'),
  Average: merge('Mean'),
  Maximum: merge('Max'),
  Minimum: merge('Min'),
  Multiply: merge('Mul'),
  Concatenate: concat,
  Flatten: flatten,
  Reshape: reshape,
  ZeroPadding2D: zeroPadding2d,
  Permute: permute,
  UlearnOnnxOp: onnxOp,
  UlearnResizeImages: resizeImages,
};

/** Layers that do nothing at inference (tfjs' `training: false`): the value passes through. */
const IDENTITY = new Set(['Dropout', 'SpatialDropout1D', 'SpatialDropout2D', 'GaussianNoise', 'GaussianDropout', 'AlphaDropout', 'ActivityRegularization']);

/** Every layer of `model` (nested models included) that has no ONNX mapping: checked before any work. */
export function unsupportedLayers(model: tfl.LayersModel): string[] {
  const out: string[] = [];
  const visit = (m: tfl.LayersModel) => {
    for (const l of m.layers) {
      const cls = l.getClassName();
      if (l instanceof tfl.LayersModel) visit(l);
      else if (cls !== 'InputLayer' && !IDENTITY.has(cls) && !EMITTERS[cls]) out.push(`'${l.name}' (${cls})`);
    }
  };
  visit(model);
  return out;
}

/** Emits `model`'s graph with its inputs bound to `inputs`; returns its output values. */
function emitModel(g: GraphBuilder, model: tfl.LayersModel, inputs: Value[]): Value[] {
  const values = new Map<number, Value>();
  model.inputs.forEach((t, i) => values.set(t.id, inputs[i]));
  const valueOf = (t: SymbolicTensor): Value => {
    const known = values.get(t.id);
    if (known) return known;
    const layer = t.sourceLayer as Layer;
    const node = layer.inboundNodes[t.nodeIndex];
    if (!node || layer.getClassName() === 'InputLayer') {
      throw new UlearnError(`cannot export model '${model.name}': tensor '${t.name}' is not computed from the model's inputs`, { code: 'E_EXPORT_UNSUPPORTED' });
    }
    const ins = node.inputTensors.map(valueOf);
    let outs: Value[];
    const cls = layer.getClassName();
    if (layer instanceof tfl.LayersModel) outs = emitModel(g, layer, ins);
    else if (IDENTITY.has(cls)) outs = ins;
    else {
      const emit = EMITTERS[cls];
      if (!emit) throw unsupported(layer, 'no ONNX mapping for this layer class');
      if (node.outputTensors.length !== 1) throw unsupported(layer, 'more than one output');
      outs = [emit(g, layer, ins, node.outputTensors[0].shape)];
    }
    node.outputTensors.forEach((o, i) => values.set(o.id, outs[i]));
    return values.get(t.id)!;
  };
  return model.outputs.map(valueOf);
}

function valueInfo(name: string, dims: (number | null)[]): InstanceType<typeof onnx.ValueInfoProto> {
  return onnx.ValueInfoProto.create({
    name,
    type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: dims.map((d, i) => (d == null ? { dimParam: i === 0 ? 'N' : `d${i}` } : { dimValue: d })) } } },
  });
}

/** `model` as ONNX bytes (see the module comment); throws, listing every unsupported layer, before emitting. */
export function toOnnx(model: tfl.LayersModel, opts: OnnxExportOptions = {}): OnnxExport {
  const bad = unsupportedLayers(model);
  if (bad.length > 0) {
    throw new UlearnError(`cannot export model '${model.name}' to ONNX: no mapping for ${bad.length === 1 ? 'layer' : 'layers'} ${bad.join(', ')}`, {
      code: 'E_EXPORT_UNSUPPORTED',
      hint: 'ulearn exports the layers its own encoders and heads use (convolutions, batch norm, dense, activations, pooling, merges)',
    });
  }
  const layout = opts.inputLayout ?? 'nchw';
  const g = new GraphBuilder();
  const graphInputs: OnnxExport['inputs'] = [];
  const inputs: Value[] = model.inputs.map((t, i) => {
    const name = g.unique(i === 0 ? 'input' : `input_${i}`);
    const shape = t.shape;
    if (shape.length === 4) {
      const declared = layout === 'nchw' ? TO_NCHW.map((d) => shape[d]) : [...shape];
      graphInputs.push({ name, shape: declared, layout: layout === 'nchw' ? 'NCHW' : 'NHWC' });
      return { name, shape, layout };
    }
    graphInputs.push({ name, shape: [...shape], layout: shape.length === 2 ? 'NF' : 'NTF' });
    return { name, shape, layout: 'plain' };
  });
  const outs = emitModel(g, model, inputs);
  const graphOutputs = outs.map((v, i) => {
    const x = g.layout(v, 'nhwc');
    const name = g.node('Identity', [x.name], i === 0 ? 'output' : `output_${i}`);
    return { name, shape: [...v.shape] };
  });
  const graph = onnx.GraphProto.create({
    name: opts.name ?? model.name,
    node: g.nodes,
    initializer: g.initializers,
    input: graphInputs.map((v) => valueInfo(v.name, v.shape)),
    output: graphOutputs.map((v) => valueInfo(v.name, v.shape)),
  });
  const proto = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'ulearn',
    producerVersion: opts.producerVersion ?? '',
    docString: opts.docString ?? '',
    graph,
  });
  return { bytes: onnx.ModelProto.encode(proto).finish(), inputs: graphInputs, outputs: graphOutputs };
}
