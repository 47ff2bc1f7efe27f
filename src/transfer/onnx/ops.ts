/**
 * The ONNX op table: for each op we map, a static `check` (run on the whole graph before anything is decoded
 * or built, so every unsupported op or attribute is reported at once) and a `build` that turns the node into
 * tfjs layers (or folds it, when all its inputs are constants: the Shape → Gather → Unsqueeze → Concat →
 * Reshape chains exporters write for `x.view(x.size(0), -1)`).
 *
 * Layout: ONNX vision models are NCHW, ulearn's are NHWC. A 4-D value is held NHWC (`nhwc: true`) from the
 * first conv on, and every op maps its axes; an op that must see ONNX's own element order (Reshape, Flatten of
 * a feature map, Transpose, MatMul) gets the value back in NCHW first, so PyTorch's channel-first flatten
 * order, and with it the classifier's weights, stays as exported. Weights are converted once: conv kernels
 * [M, C/g, kh, kw] → [kh, kw, C/g, M/g] per group (depthwise: [kh, kw, C, M/C]), Gemm's B → a Dense kernel
 * [in, out].
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { onnx } from 'onnx-proto';
import { fastBatchNormalization } from '../../models/fast-batch-norm.js';
import { ResizeImages } from '../resize-layer.js';
import { OnnxOp, type OnnxOpArgs } from './layers.js';
import { decodeTensor, toNumber, type ConstTensor } from './read.js';

export type Value = { kind: 'const'; t: ConstTensor; param: boolean } | { kind: 'sym'; s: tfl.SymbolicTensor; nhwc: boolean };
type Sym = Extract<Value, { kind: 'sym' }>;

/** What `check` may look at: attributes and which inputs are constants (and an initializer's dims). */
export interface CheckContext {
  opset: number;
  isConst(name: string): boolean;
  initDims(name: string): number[] | undefined;
}

export interface BuildContext {
  opset: number;
  value(name: string): Value;
  /** Applies a layer named after the node (a suffix keeps several per node apart). */
  apply(node: onnx.INodeProto, layer: tfl.layers.Layer, inputs: tfl.SymbolicTensor[]): tfl.SymbolicTensor;
  /** Sets a layer's weights once the model exists (after every check passed). */
  weights(layer: tfl.layers.Layer, make: () => tf.Tensor[]): void;
  /** A problem found while building (a shape that does not fit): the import stops with it. */
  fail(node: onnx.INodeProto, why: string): never;
}

interface OpSpec {
  /** Undefined when fine, else why not (the caller adds the node's name). */
  check?(n: onnx.INodeProto, c: CheckContext): string | undefined;
  build(n: onnx.INodeProto, c: BuildContext): Value[];
  /** Folds to a constant when every input is one (decided statically, for `isConst`). */
  folds?: boolean;
}

// ---- attributes -------------------------------------------------------------------------------------------
const attr = (n: onnx.INodeProto, name: string) => n.attribute?.find((a) => a.name === name);
const int = (n: onnx.INodeProto, name: string, def: number): number => {
  const a = attr(n, name);
  return a ? toNumber(a.i) : def;
};
const float = (n: onnx.INodeProto, name: string, def: number): number => attr(n, name)?.f ?? def;
const ints = (n: onnx.INodeProto, name: string): number[] | undefined => {
  const a = attr(n, name);
  return a?.ints && a.ints.length ? a.ints.map(toNumber) : undefined;
};
const str = (n: onnx.INodeProto, name: string, def: string): string => {
  const s = attr(n, name)?.s;
  return s && s.length ? new TextDecoder().decode(s) : def;
};
const inputs = (n: onnx.INodeProto) => n.input ?? [];
const has = (n: onnx.INodeProto, i: number) => !!inputs(n)[i];

// ---- constants --------------------------------------------------------------------------------------------
function constTensor(t: tf.Tensor, float: boolean): ConstTensor {
  const v = t.dataSync();
  return { dims: t.shape.slice(), values: float ? Float32Array.from(v) : Array.from(v), float };
}
/** A constant computed with tf ops (shapes and indices are small), its tensors freed. */
function fold(make: () => tf.Tensor, float: boolean): ConstTensor {
  const t = tf.tidy(make);
  const c = constTensor(t, float);
  t.dispose();
  return c;
}
const asTensor = (c: ConstTensor) => tf.tensor(Array.from(c.values), c.dims, 'float32');
const cst = (t: ConstTensor, param = false): Value => ({ kind: 'const', t, param });
const isConst = (v: Value): v is Extract<Value, { kind: 'const' }> => v.kind === 'const';
const ints1 = (c: ConstTensor) => Array.from(c.values).map(Number);

function needConst(c: BuildContext, n: onnx.INodeProto, i: number): ConstTensor {
  const v = c.value(inputs(n)[i]);
  if (!isConst(v)) c.fail(n, `input '${inputs(n)[i]}' must be a constant`);
  return v.t;
}
function needSym(c: BuildContext, n: onnx.INodeProto, i: number): Sym {
  const v = c.value(inputs(n)[i]);
  if (isConst(v)) c.fail(n, `input '${inputs(n)[i]}' is a constant; the importer maps this op on computed tensors only`);
  return v;
}

// ---- layout -----------------------------------------------------------------------------------------------
/** Where each NCHW axis lives in NHWC. */
const NHWC_AXIS = [0, 3, 1, 2];
/** The value's shape in ONNX's (NCHW) order. */
export function onnxShape(v: Sym): (number | null)[] {
  const s = v.s.shape;
  return v.nhwc ? [s[0], s[3], s[1], s[2]] : s.slice();
}
let permuteCount = 0;
function toNhwc(c: BuildContext, n: onnx.INodeProto, v: Sym): Sym {
  if (v.nhwc) return v;
  if (v.s.shape.length !== 4) c.fail(n, `expects a 4-D (NCHW) input, got shape [${onnxShape(v).map((d) => d ?? 'N').join(', ')}]`);
  return { kind: 'sym', nhwc: true, s: tfl.layers.permute({ dims: [2, 3, 1], name: `to_nhwc_${++permuteCount}` }).apply(v.s) as tfl.SymbolicTensor };
}
function toPlain(v: Sym): Sym {
  if (!v.nhwc) return v;
  return { kind: 'sym', nhwc: false, s: tfl.layers.permute({ dims: [3, 1, 2], name: `to_nchw_${++permuteCount}` }).apply(v.s) as tfl.SymbolicTensor };
}
const sym = (s: tfl.SymbolicTensor, nhwc: boolean): Value => ({ kind: 'sym', s, nhwc });

/** A constant broadcast against a value held in `nhwc` layout: the same numbers in that layout. */
function constIn(t: ConstTensor, nhwc: boolean): { dims: number[]; values: Float32Array } {
  const size = t.values.length;
  if (size === 1) return { dims: [], values: Float32Array.from(t.values) };
  if (!nhwc) return { dims: t.dims, values: Float32Array.from(t.values) };
  const dims = [...Array(4 - t.dims.length).fill(1), ...t.dims];
  return tf.tidy(() => {
    const x = tf.transpose(tf.tensor(Array.from(t.values), dims), [0, 2, 3, 1]);
    return { dims: x.shape, values: x.dataSync() as Float32Array };
  });
}

/** An OnnxOp over the node's inputs (syms in `layout`, constants as its weights). */
function onnxOp(c: BuildContext, n: onnx.INodeProto, args: Omit<OnnxOpArgs, 'operands' | 'weightShapes' | 'weightTrainable'>, vals: Value[], nhwc: boolean): Value {
  const syms: tfl.SymbolicTensor[] = [];
  const consts: { dims: number[]; values: Float32Array; param: boolean }[] = [];
  const operands: OnnxOpArgs['operands'] = vals.map((v) => {
    if (isConst(v)) {
      consts.push({ ...constIn(v.t, nhwc), param: v.param && v.t.float });
      return { weight: consts.length - 1 };
    }
    const s = nhwc ? toNhwc(c, n, v) : toPlain(v);
    syms.push(s.s);
    return { input: syms.length - 1 };
  });
  const layer = new OnnxOp({ ...args, operands, weightShapes: consts.map((k) => k.dims), weightTrainable: consts.map((k) => k.param) });
  const out = c.apply(n, layer as unknown as tfl.layers.Layer, syms);
  if (consts.length) c.weights(layer as unknown as tfl.layers.Layer, () => consts.map((k) => tf.tensor(k.values, k.dims)));
  // A 4-D result of NHWC operands is NHWC; anything else (a flatten, a mean without kept dims) is plain.
  return sym(out, nhwc && out.shape.length === 4);
}

/** NHWC when any computed operand is a 4-D map held NHWC and all of them are 4-D; else ONNX's layout. */
function commonLayout(vals: Value[]): boolean {
  const syms = vals.filter((v): v is Sym => !isConst(v));
  return syms.some((v) => v.nhwc) && syms.every((v) => v.s.shape.length === 4) && vals.every((v) => !isConst(v) || v.t.dims.length <= 4);
}

/**
 * Slice's begin and size for a value of `dims` (ONNX order; size -1: to the end). Negative bounds count from the
 * end and ends past it (often INT64_MAX, "to the end") clamp, as ONNX says. A computed map (`computed`) cannot
 * be sliced along the batch or a dimension of unknown size.
 */
function sliceBounds(n: onnx.INodeProto, c: BuildContext, dims: (number | null)[], computed: boolean): { begin: number[]; size: number[] } {
  const rank = dims.length;
  const starts = ints1(needConst(c, n, 1));
  const ends = ints1(needConst(c, n, 2));
  const axes = has(n, 3) ? ints1(needConst(c, n, 3)).map((a) => (a + rank) % rank) : starts.map((_, i) => i);
  const steps = has(n, 4) ? ints1(needConst(c, n, 4)) : starts.map(() => 1);
  if (steps.some((s) => s !== 1)) c.fail(n, 'steps other than 1 are not supported');
  const begin = dims.map(() => 0);
  const size = dims.map(() => -1);
  axes.forEach((a, i) => {
    if (computed && (a === 0 || dims[a] === null)) c.fail(n, 'slicing the batch (or a dimension of unknown size) is not supported');
    const dim = dims[a]!;
    const clamp = (v: number) => Math.min(dim, Math.max(0, v < 0 ? v + dim : v));
    begin[a] = clamp(starts[i]);
    size[a] = Math.max(0, clamp(ends[i]) - begin[a]);
  });
  return { begin, size };
}

// ---- the table ---------------------------------------------------------------------------------------------
const passThrough: OpSpec = {
  folds: true,
  check: (n) => ((n.output ?? []).filter(Boolean).length > 1 ? 'its second output (the dropout mask) is not supported' : undefined),
  build: (n, c) => [c.value(inputs(n)[0])],
};

function binary(op: 'add' | 'sub' | 'mul' | 'div', calc: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor): OpSpec {
  return {
    folds: true,
    build(n, c) {
      const vals = [c.value(inputs(n)[0]), c.value(inputs(n)[1])];
      if (isConst(vals[0]) && isConst(vals[1])) {
        const [a, b] = [vals[0].t, vals[1].t];
        // Integer arithmetic (shape computations, e.g. a channel count halved for chunk()) truncates, as ONNX's does.
        const float = a.float || b.float;
        const folded = fold(() => calc(asTensor(a), asTensor(b)), float);
        return [cst(float ? folded : { ...folded, values: Array.from(folded.values).map(Math.trunc) })];
      }
      return [onnxOp(c, n, { op }, vals, commonLayout(vals))];
    },
  };
}

const AUTO_PADS = ['NOTSET', 'VALID', 'SAME_UPPER', 'SAME_LOWER'];
const spatialCheck = (n: onnx.INodeProto, what: string): string | undefined => {
  const autoPad = str(n, 'auto_pad', 'NOTSET');
  if (!AUTO_PADS.includes(autoPad)) return `auto_pad=${autoPad} is not supported`;
  const k = ints(n, 'kernel_shape');
  if (k && k.length !== 2) return `${what} over ${k.length} spatial dimensions is not supported (2-D is)`;
  return undefined;
};
/**
 * [top, left, bottom, right] for a 2-D conv or pool over `x` (NHWC): explicit pads; for SAME_UPPER/LOWER the
 * total that makes the output ceil(in / stride), the odd pixel at the end (UPPER) or start (LOWER); with
 * ceil_mode=1 (pools), extra end padding so the last partial window counts, as ONNX sizes it.
 */
function pads4(n: onnx.INodeProto, x: Sym, kernel: [number, number]): [number, number, number, number] {
  const autoPad = str(n, 'auto_pad', 'NOTSET');
  const strides = pair(n, 'strides');
  const dil = pair(n, 'dilations');
  const size = [x.s.shape[1]!, x.s.shape[2]!];
  const span = (i: number) => (kernel[i] - 1) * dil[i] + 1;
  if (autoPad === 'VALID') return [0, 0, 0, 0];
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    const total = [0, 1].map((i) => Math.max(0, (Math.ceil(size[i] / strides[i]) - 1) * strides[i] + span(i) - size[i]));
    const small = total.map((t) => Math.floor(t / 2));
    const big = total.map((t, i) => t - small[i]);
    return autoPad === 'SAME_UPPER' ? [small[0], small[1], big[0], big[1]] : [big[0], big[1], small[0], small[1]];
  }
  const p = (ints(n, 'pads') ?? [0, 0, 0, 0]) as [number, number, number, number];
  if (int(n, 'ceil_mode', 0) !== 1) return p;
  const out = [0, 1].map((i) => {
    const o = Math.ceil((size[i] + p[i] + p[i + 2] - span(i)) / strides[i]) + 1;
    // ONNX (like PyTorch) drops a last window that would start in the end padding.
    return (o - 1) * strides[i] >= size[i] + p[i] ? o - 1 : o;
  });
  const extra = [0, 1].map((i) => Math.max(0, (out[i] - 1) * strides[i] + span(i) - (size[i] + p[i] + p[i + 2])));
  return [p[0], p[1], p[2] + extra[0], p[3] + extra[1]];
}
const pair = (n: onnx.INodeProto, name: string): [number, number] => {
  const v = ints(n, name);
  return v ? [v[0], v[1]] : [1, 1];
};

function pool(kind: 'max' | 'avg'): OpSpec {
  return {
    check(n) {
      const why = spatialCheck(n, `${kind === 'max' ? 'MaxPool' : 'AveragePool'}`);
      if (why) return why;
      if (kind === 'avg' && int(n, 'ceil_mode', 0) !== 0) return 'ceil_mode=1 is not supported for AveragePool (it is for MaxPool)';
      if (pair(n, 'dilations').some((d) => d !== 1)) return 'dilated pooling is not supported';
      if ((n.output ?? []).filter(Boolean).length > 1) return 'the Indices output is not supported';
      return undefined;
    },
    build(n, c) {
      let x = toNhwc(c, n, needSym(c, n, 0));
      const kernel = ints(n, 'kernel_shape')! as [number, number];
      const strides = pair(n, 'strides');
      const [t, l, b, r] = pads4(n, x, kernel);
      const padded = t || l || b || r;
      if (kind === 'avg' && padded && int(n, 'count_include_pad', 0) === 0) {
        return [onnxOp(c, n, { op: 'avgpool', attrs: { kernel, strides, pads: [[t, b], [l, r]] } }, [x], true)];
      }
      if (padded) {
        // Max pooling pads with -inf (a padded pixel never wins); average pooling that counts the padding, with 0.
        const value = kind === 'max' ? -Infinity : 0;
        x = onnxOp(c, n, { op: 'pad', attrs: { paddings: [[0, 0], [t, b], [l, r], [0, 0]], value } }, [x], true) as Sym;
      }
      const layer = kind === 'max' ? tfl.layers.maxPooling2d({ poolSize: kernel, strides, padding: 'valid' }) : tfl.layers.averagePooling2d({ poolSize: kernel, strides, padding: 'valid' });
      return [sym(c.apply(n, layer, [x.s]), true)];
    },
  };
}

function globalPool(op: 'mean' | 'max'): OpSpec {
  return { build: (n, c) => [onnxOp(c, n, { op, attrs: { axes: [1, 2], keepDims: true } }, [toNhwc(c, n, needSym(c, n, 0))], true)] };
}

const OPS: Record<string, OpSpec> = {
  Identity: passThrough,
  Dropout: passThrough,
  Constant: {
    folds: true,
    check: (n) => (['value', 'value_float', 'value_floats', 'value_int', 'value_ints'].some((k) => attr(n, k)) ? undefined : 'only value, value_float(s) and value_int(s) constants are supported'),
    build(n) {
      const a = n.attribute![0];
      if (a.name === 'value') {
        const problems: string[] = [];
        const t = decodeConstant(a.t!, problems);
        if (!t) throw new Error(problems.join('; '));
        return [cst(t)];
      }
      if (a.name === 'value_float') return [cst({ dims: [], values: Float32Array.of(a.f ?? 0), float: true })];
      if (a.name === 'value_floats') return [cst({ dims: [a.floats!.length], values: Float32Array.from(a.floats!), float: true })];
      if (a.name === 'value_int') return [cst({ dims: [], values: [toNumber(a.i)], float: false })];
      return [cst({ dims: [a.ints!.length], values: a.ints!.map(toNumber), float: false })];
    },
  },
  Conv: {
    check(n, c) {
      const why = spatialCheck(n, 'Conv');
      if (why) return why;
      const w = c.initDims(inputs(n)[1]);
      if (!c.isConst(inputs(n)[1])) return 'a weight computed in the graph is not supported (it must be a constant)';
      if (w && w.length !== 4) return `Conv over ${w.length - 2} spatial dimensions is not supported (2-D is)`;
      if (pair(n, 'strides').some((s) => s > 1) && pair(n, 'dilations').some((d) => d > 1)) return 'stride > 1 together with dilation > 1 is not supported by tfjs';
      return undefined;
    },
    build(n, c) {
      let x = toNhwc(c, n, needSym(c, n, 0));
      const w = needConst(c, n, 1);
      const b = has(n, 2) ? needConst(c, n, 2) : undefined;
      const [m, cPerGroup, kh, kw] = w.dims;
      const cin = x.s.shape[3]!;
      const group = int(n, 'group', 1);
      if (cPerGroup * group !== cin) c.fail(n, `weight '${inputs(n)[1]}' [${w.dims.join(', ')}] with group=${group} reads ${cPerGroup * group} channels, its input has ${cin}`);
      if (b && b.values.length !== m) c.fail(n, `bias '${inputs(n)[2]}' has ${b.values.length} values for ${m} output channels`);
      if (m % group !== 0) c.fail(n, `${m} output channels do not split into group=${group} groups`);
      const [t, l, bo, r] = pads4(n, x, [kh, kw]);
      if (t || l || bo || r) x = sym(c.apply(n, tfl.layers.zeroPadding2d({ padding: [[t, bo], [l, r]] }), [x.s]), true) as Sym;
      const strides = pair(n, 'strides');
      const dilationRate = pair(n, 'dilations');
      // Weights are overwritten from the file: zeros skip drawing millions of random numbers first.
      const bias = (from: number, count: number) => b && tf.tensor(Float32Array.from(b.values).subarray(from, from + count), [count]);
      if (group > 1 && cPerGroup === 1) {
        const layer = tfl.layers.depthwiseConv2d({ kernelSize: [kh, kw], depthMultiplier: m / cin, strides, dilationRate, padding: 'valid', useBias: !!b, depthwiseInitializer: 'zeros' });
        const out = c.apply(n, layer, [x.s]);
        c.weights(layer, () => {
          const kernel = tf.tidy(() => tf.transpose(tf.reshape(tf.tensor(w.values as Float32Array, w.dims), [cin, m / cin, kh, kw]), [2, 3, 0, 1]));
          return b ? [kernel, bias(0, m)!] : [kernel];
        });
        return [sym(out, true)];
      }
      // group = 1, or a grouped conv as one conv per channel group (tfjs has no grouped conv), concatenated.
      const perGroup = m / group;
      const outs = Array.from({ length: group }, (_, g) => {
        const xg = group === 1 ? x : (onnxOp(c, n, { op: 'slice', attrs: { begin: [0, 0, 0, g * cPerGroup], size: [-1, -1, -1, cPerGroup] } }, [x], true) as Sym);
        const layer = tfl.layers.conv2d({ filters: perGroup, kernelSize: [kh, kw], strides, dilationRate, padding: 'valid', useBias: !!b, kernelInitializer: 'zeros' });
        const out = c.apply(n, layer, [xg.s]);
        c.weights(layer, () => {
          const kernel = tf.tidy(() => tf.transpose(tf.slice(tf.tensor(w.values as Float32Array, w.dims), [g * perGroup, 0, 0, 0], [perGroup, -1, -1, -1]), [2, 3, 1, 0]));
          return b ? [kernel, bias(g * perGroup, perGroup)!] : [kernel];
        });
        return sym(out, true);
      });
      return [outs.length === 1 ? outs[0] : onnxOp(c, n, { op: 'concat', attrs: { axis: 3 } }, outs, true)];
    },
  },
  BatchNormalization: {
    check(n, c) {
      if (int(n, 'training_mode', 0) !== 0) return 'training_mode=1 is not supported (export in eval mode)';
      if ((n.output ?? []).filter(Boolean).length > 1) return 'its running-statistics outputs are not supported (export in eval mode)';
      if (!inputs(n).slice(1, 5).every((i) => c.isConst(i))) return 'scale, bias, mean and variance must be constants';
      return undefined;
    },
    build(n, c) {
      const raw = needSym(c, n, 0);
      const x = raw.s.shape.length === 4 ? toNhwc(c, n, raw) : raw;
      if (x.s.shape.length !== 4 && x.s.shape.length !== 2) c.fail(n, `BatchNormalization of a ${x.s.shape.length}-D input is not supported (2-D and 4-D are)`);
      const channels = x.s.shape[x.s.shape.length - 1]!;
      const params = [1, 2, 3, 4].map((i) => needConst(c, n, i));
      params.forEach((p, i) => {
        if (p.values.length !== channels) c.fail(n, `'${inputs(n)[i + 1]}' has ${p.values.length} values for ${channels} channels`);
      });
      const layer = fastBatchNormalization({ axis: -1, epsilon: float(n, 'epsilon', 1e-5), momentum: float(n, 'momentum', 0.9) });
      const out = c.apply(n, layer, [x.s]);
      c.weights(layer, () => params.map((p) => tf.tensor(Float32Array.from(p.values), [channels])));
      return [sym(out, x.nhwc)];
    },
  },
  Gemm: {
    check(n, c) {
      if (int(n, 'transA', 0) !== 0) return 'transA=1 is not supported';
      if (!c.isConst(inputs(n)[1]) || (has(n, 2) && !c.isConst(inputs(n)[2]))) return 'B and C must be constants (weights)';
      return undefined;
    },
    build(n, c) {
      const a = toPlain(needSym(c, n, 0));
      const bMat = needConst(c, n, 1);
      const cVec = has(n, 2) ? needConst(c, n, 2) : undefined;
      const transB = int(n, 'transB', 0) === 1;
      const [inDim, units] = transB ? [bMat.dims[1], bMat.dims[0]] : [bMat.dims[0], bMat.dims[1]];
      if (a.s.shape.length !== 2 || a.s.shape[1] !== inDim) c.fail(n, `input of shape [${onnxShape(a).map((d) => d ?? 'N').join(', ')}] does not fit B '${inputs(n)[1]}' [${bMat.dims.join(', ')}]${transB ? ' (transposed)' : ''}`);
      if (cVec && cVec.values.length !== units && cVec.values.length !== 1) c.fail(n, `C '${inputs(n)[2]}' has ${cVec.values.length} values for ${units} outputs`);
      const alpha = float(n, 'alpha', 1);
      const beta = float(n, 'beta', 1);
      return [dense(c, n, a, bMat, transB, alpha, cVec && { t: cVec, beta, units })];
    },
  },
  MatMul: {
    check: (n, c) => (c.isConst(inputs(n)[1]) ? undefined : 'MatMul of two computed tensors is not supported (B must be a constant weight)'),
    build(n, c) {
      const a = toPlain(needSym(c, n, 0));
      const bMat = needConst(c, n, 1);
      if (bMat.dims.length !== 2 || a.s.shape[a.s.shape.length - 1] !== bMat.dims[0]) c.fail(n, `input [${onnxShape(a).map((d) => d ?? 'N').join(', ')}] does not fit B '${inputs(n)[1]}' [${bMat.dims.join(', ')}]`);
      return [dense(c, n, a, bMat, false, 1)];
    },
  },
  Relu: { build: (n, c) => unary(c, n, tfl.layers.reLU()) },
  LeakyRelu: { build: (n, c) => unary(c, n, tfl.layers.leakyReLU({ alpha: float(n, 'alpha', 0.01) })) },
  Sigmoid: { build: (n, c) => unary(c, n, tfl.layers.activation({ activation: 'sigmoid' })) },
  Tanh: { build: (n, c) => unary(c, n, tfl.layers.activation({ activation: 'tanh' })) },
  HardSigmoid: { build: (n, c) => [onnxOp(c, n, { op: 'hardsigmoid', attrs: { alpha: float(n, 'alpha', 0.2), beta: float(n, 'beta', 0.5) } }, [needSym(c, n, 0)], needSym(c, n, 0).nhwc)] },
  HardSwish: { build: (n, c) => [onnxOp(c, n, { op: 'hardswish' }, [needSym(c, n, 0)], needSym(c, n, 0).nhwc)] },
  Clip: {
    check: (n, c) => ([1, 2].every((i) => !has(n, i) || c.isConst(inputs(n)[i])) ? undefined : 'min and max must be constants'),
    build(n, c) {
      const bound = (i: number, name: string, def: number) => (c.opset < 11 ? float(n, name, def) : has(n, i) ? Number(needConst(c, n, i).values[0]) : def);
      const min = bound(1, 'min', -Infinity);
      const max = bound(2, 'max', Infinity);
      if (min === 0) return unary(c, n, tfl.layers.reLU(Number.isFinite(max) ? { maxValue: max } : {}));
      const x = needSym(c, n, 0);
      return [onnxOp(c, n, { op: 'clip', attrs: { min, max } }, [x], x.nhwc)];
    },
  },
  Add: binary('add', tf.add),
  Sub: binary('sub', tf.sub),
  Mul: binary('mul', tf.mul),
  Div: binary('div', tf.div),
  Concat: {
    folds: true,
    build(n, c) {
      const vals = inputs(n).map((i) => c.value(i));
      const rank = isConst(vals[0]) ? vals[0].t.dims.length : vals[0].s.shape.length;
      const axis = (int(n, 'axis', 0) + rank) % rank;
      if (vals.every(isConst)) {
        return [cst(fold(() => tf.concat(vals.map((v) => asTensor((v as Extract<Value, { kind: 'const' }>).t)), axis), vals.some((v) => isConst(v) && v.t.float)))];
      }
      if (axis === 0) c.fail(n, 'concatenating along the batch axis is not supported');
      const nhwc = commonLayout(vals);
      return [onnxOp(c, n, { op: 'concat', attrs: { axis: nhwc ? NHWC_AXIS[axis] : axis } }, vals, nhwc)];
    },
  },
  MaxPool: pool('max'),
  AveragePool: pool('avg'),
  GlobalAveragePool: globalPool('mean'),
  GlobalMaxPool: globalPool('max'),
  ReduceMean: {
    check(n, c) {
      if (c.opset >= 18 && has(n, 1) && !c.isConst(inputs(n)[1])) return 'axes must be a constant';
      if (c.opset < 18 && !ints(n, 'axes')) return 'reducing over every axis (the batch too) is not supported';
      return undefined;
    },
    build(n, c) {
      const x = needSym(c, n, 0);
      const rank = x.s.shape.length;
      const raw = c.opset >= 18 ? (has(n, 1) ? ints1(needConst(c, n, 1)) : undefined) : ints(n, 'axes');
      if (!raw || raw.length === 0) return c.fail(n, 'reducing over every axis (the batch too) is not supported');
      const axes = raw.map((a) => (a + rank) % rank).sort();
      if (axes.includes(0)) c.fail(n, 'reducing over the batch axis is not supported');
      const keepDims = int(n, 'keepdims', 1) === 1;
      // NHWC stays NHWC when the dims are kept; a mean over H and W without them is [N, C] in either layout.
      const spatial = axes.length === 2 && axes[0] === 2 && axes[1] === 3;
      if (x.nhwc && (keepDims || spatial)) return [onnxOp(c, n, { op: 'mean', attrs: { axes: axes.map((a) => NHWC_AXIS[a]).sort(), keepDims } }, [x], true)];
      return [onnxOp(c, n, { op: 'mean', attrs: { axes, keepDims } }, [toPlain(x)], false)];
    },
  },
  Flatten: {
    check: (n) => (int(n, 'axis', 1) === 1 ? undefined : `axis=${int(n, 'axis', 1)} is not supported (1 is: keep the batch)`),
    build(n, c) {
      const x = needSym(c, n, 0);
      const [, , h, w] = onnxShape(x);
      // NHWC → NCHW before flattening keeps PyTorch's channel-first order (a 1x1 map is the same either way).
      const perm = x.nhwc && !(h === 1 && w === 1) ? [0, 3, 1, 2] : undefined;
      return [onnxOp(c, n, { op: 'flatten', attrs: perm ? { perm } : {} }, [x], x.nhwc)];
    },
  },
  Reshape: {
    folds: true,
    check: (n, c) => (c.isConst(inputs(n)[1]) ? undefined : 'the target shape must be a constant (or foldable from Shape/Gather/Concat)'),
    build(n, c) {
      const target = ints1(needConst(c, n, 1));
      const xv = c.value(inputs(n)[0]);
      if (isConst(xv)) return [cst(fold(() => tf.reshape(asTensor(xv.t), target.map((d, i) => (d === 0 ? xv.t.dims[i] : d))), xv.t.float))];
      const x = toPlain(xv);
      const shape = onnxShape(x);
      const rest = target.slice(1).map((d, i) => {
        if (d === 0) return shape[i + 1]!;
        if (Number.isNaN(d)) c.fail(n, `target shape dimension ${i + 1} is not known statically`);
        return d;
      });
      if (rest.filter((d) => d === -1).length > 1 || (target[0] === -1 && rest.includes(-1))) c.fail(n, `target shape [${target.join(', ')}] leaves the batch dimension ambiguous`);
      return [onnxOp(c, n, { op: 'reshape', attrs: { shape: rest } }, [x], false)];
    },
  },
  Transpose: {
    check: (n) => {
      const perm = ints(n, 'perm');
      return perm && perm[0] === 0 ? undefined : 'a transpose that moves the batch axis is not supported';
    },
    build(n, c) {
      const perm = ints(n, 'perm')!;
      const x = needSym(c, n, 0);
      // NCHW → NHWC of a map we already hold NHWC: the same numbers, now in ONNX's order as they stand.
      if (x.nhwc && perm.join() === '0,2,3,1') return [sym(x.s, false)];
      // NHWC → NCHW of a plain map (a model whose input is NHWC, as tf2onnx writes Keras models): hold it NHWC.
      if (!x.nhwc && x.s.shape.length === 4 && perm.join() === '0,3,1,2') return [sym(x.s, true)];
      return [onnxOp(c, n, { op: 'transpose', attrs: { perm } }, [toPlain(x)], false)];
    },
  },
  Pad: {
    check(n, c) {
      const mode = str(n, 'mode', 'constant');
      if (mode !== 'constant' && mode !== 'reflect') return `mode=${mode} is not supported (constant and reflect are)`;
      if (c.opset >= 11 && ![1, 2].every((i) => !has(n, i) || c.isConst(inputs(n)[i]))) return 'pads and constant_value must be constants';
      if (has(n, 3)) return 'the axes input is not supported';
      return undefined;
    },
    build(n, c) {
      const x = needSym(c, n, 0);
      const pads = c.opset >= 11 ? ints1(needConst(c, n, 1)) : ints(n, 'pads') ?? [];
      const value = c.opset >= 11 ? (has(n, 2) ? Number(needConst(c, n, 2).values[0]) : 0) : float(n, 'value', 0);
      const rank = x.s.shape.length;
      if (pads.length !== 2 * rank) c.fail(n, `${pads.length} pads for a ${rank}-D input`);
      if (pads[0] !== 0 || pads[rank] !== 0) c.fail(n, 'padding the batch axis is not supported');
      if (pads.some((p) => p < 0)) c.fail(n, 'negative pads (cropping) are not supported');
      const onnxPairs = Array.from({ length: rank }, (_, i) => [pads[i], pads[i + rank]] as [number, number]);
      const paddings = x.nhwc ? [0, 2, 3, 1].map((a) => onnxPairs[a]) : onnxPairs;
      return [onnxOp(c, n, { op: 'pad', attrs: { paddings, value, mode: str(n, 'mode', 'constant') as 'constant' | 'reflect' } }, [x], x.nhwc)];
    },
  },
  Softmax: {
    build(n, c) {
      const x = needSym(c, n, 0);
      const rank = x.s.shape.length;
      const axis = (int(n, 'axis', c.opset >= 13 ? -1 : 1) + rank) % rank;
      // Before opset 13 Softmax flattened from `axis` on; that is a softmax over the last axis only when it is the last.
      if (c.opset < 13 && axis !== rank - 1) c.fail(n, `Softmax (opset ${c.opset}) from axis ${axis} of a ${rank}-D input is not supported`);
      if (axis === 0) c.fail(n, 'a softmax over the batch axis is not supported');
      return [onnxOp(c, n, { op: 'softmax', attrs: { axis: x.nhwc ? NHWC_AXIS[axis] : axis } }, [x], x.nhwc)];
    },
  },
  Slice: {
    folds: true,
    check(n, c) {
      if (c.opset < 10) return 'Slice before opset 10 (attributes) is not supported';
      if (!inputs(n).slice(1).every((i) => !i || c.isConst(i))) return 'starts, ends, axes and steps must be constants';
      return undefined;
    },
    build(n, c) {
      const xv = c.value(inputs(n)[0]);
      // A slice of a constant (a Shape's [N, C] before a Resize's target size, as PyTorch exports interpolate).
      if (isConst(xv)) {
        const { begin, size } = sliceBounds(n, c, xv.t.dims, false);
        return [cst(fold(() => tf.slice(asTensor(xv.t), begin, size), xv.t.float))];
      }
      const x = xv;
      const { begin, size } = sliceBounds(n, c, onnxShape(x), true);
      const order = x.nhwc ? [0, 2, 3, 1] : begin.map((_, i) => i);
      return [onnxOp(c, n, { op: 'slice', attrs: { begin: order.map((a) => begin[a]), size: order.map((a) => size[a]) } }, [x], x.nhwc)];
    },
  },
  Resize: {
    check(n, c) {
      if (c.opset < 11) return 'Resize before opset 11 is not supported';
      const mode = str(n, 'mode', 'nearest');
      if (mode !== 'linear') return `mode=${mode} is not supported (bilinear, mode=linear, is)`;
      const ct = str(n, 'coordinate_transformation_mode', 'half_pixel');
      if (ct !== 'half_pixel' && ct !== 'pytorch_half_pixel') return `coordinate_transformation_mode=${ct} is not supported (half_pixel and pytorch_half_pixel are)`;
      if (int(n, 'antialias', 0) !== 0) return 'antialias=1 is not supported';
      if (ints(n, 'axes')) return 'the axes attribute is not supported';
      const target = has(n, 3) ? inputs(n)[3] : inputs(n)[2];
      if (!target || !c.isConst(target)) return 'scales or sizes must be constants (or foldable from Shape/Slice/Concat)';
      return undefined;
    },
    build(n, c) {
      const x = needSym(c, n, 0);
      const [, C, h, w] = onnxShape(x);
      if (x.s.shape.length !== 4 || h === null || w === null) c.fail(n, 'expects a 4-D (NCHW) input of known height and width');
      let H: number;
      let W: number;
      if (has(n, 3)) {
        const sizes = ints1(needConst(c, n, 3));
        // Sizes from the input's own Shape carry NaN for the batch; N and C must not change.
        if (sizes.length !== 4 || !(Number.isNaN(sizes[0]) || sizes[0] === x.s.shape[0]) || sizes[1] !== C) c.fail(n, `sizes [${sizes.join(', ')}]: only the height and width may change`);
        [H, W] = [sizes[2], sizes[3]];
      } else {
        const scales = Array.from(needConst(c, n, 2).values).map(Number);
        if (scales.length !== 4 || scales[0] !== 1 || scales[1] !== 1) c.fail(n, `scales [${scales.join(', ')}]: only the height and width may change`);
        // The layer samples at in/out; ONNX at 1/scale. They agree when the scaled size is whole.
        const exact = (v: number) => (Math.abs(v - Math.round(v)) < 1e-4 ? Math.round(v) : c.fail(n, `scales [${scales.join(', ')}] give a fractional size (${v}); give sizes instead`));
        [H, W] = [exact(h! * scales[2]), exact(w! * scales[3])];
      }
      // pytorch_half_pixel differs from half_pixel only for an output of one pixel.
      if (str(n, 'coordinate_transformation_mode', 'half_pixel') === 'pytorch_half_pixel' && (H === 1 || W === 1)) c.fail(n, 'pytorch_half_pixel to a size of 1 is not supported');
      if (H === h && W === w) return [x];
      return [sym(c.apply(n, new ResizeImages({ height: H, width: W }) as unknown as tfl.layers.Layer, [toNhwc(c, n, x).s]), true)];
    },
  },
  Shape: {
    folds: true,
    build(n, c) {
      const v = c.value(inputs(n)[0]);
      // An unknown dimension (the batch) folds to NaN; Reshape reads NaN in place 0 as "keep the batch".
      const dims = isConst(v) ? v.t.dims : onnxShape(v).map((d) => d ?? NaN);
      const rank = dims.length;
      const clampAxis = (a: number) => Math.min(rank, Math.max(0, a < 0 ? a + rank : a));
      const start = clampAxis(int(n, 'start', 0));
      const end = clampAxis(int(n, 'end', rank));
      const out = dims.slice(start, end);
      return [cst({ dims: [out.length], values: out, float: false })];
    },
  },
  Gather: {
    folds: true,
    check: (n, c) => (inputs(n).every((i) => c.isConst(i)) ? undefined : 'Gather on computed tensors is not supported (only on constants, e.g. shapes)'),
    build(n, c) {
      const data = needConst(c, n, 0);
      const idx = needConst(c, n, 1);
      const axis = int(n, 'axis', 0);
      const r = data.dims.length;
      const a = (axis + r) % r;
      const indices = ints1(idx).map((i) => (i < 0 ? i + data.dims[a] : i));
      return [cst(fold(() => tf.gather(asTensor(data), tf.tensor(indices, idx.dims, 'int32'), a), data.float))];
    },
  },
  Unsqueeze: {
    folds: true,
    check: (n, c) => (c.opset >= 13 && !c.isConst(inputs(n)[1]) ? 'axes must be a constant' : undefined),
    build(n, c) {
      const v = c.value(inputs(n)[0]);
      const axes = c.opset >= 13 ? ints1(needConst(c, n, 1)) : ints(n, 'axes') ?? [];
      const shape = isConst(v) ? v.t.dims : onnxShape(v);
      const rank = shape.length + axes.length;
      const norm = axes.map((a) => (a + rank) % rank).sort((p, q) => p - q);
      const out: (number | null)[] = [...shape];
      for (const a of norm) out.splice(a, 0, 1);
      if (isConst(v)) return [cst({ ...v.t, dims: out as number[] })];
      if (norm.includes(0)) c.fail(n, 'inserting an axis before the batch is not supported');
      return [onnxOp(c, n, { op: 'reshape', attrs: { shape: out.slice(1) as number[] } }, [toPlain(v)], false)];
    },
  },
  Squeeze: {
    folds: true,
    check: (n, c) => (c.opset >= 13 && has(n, 1) && !c.isConst(inputs(n)[1]) ? 'axes must be a constant' : undefined),
    build(n, c) {
      const v = c.value(inputs(n)[0]);
      const shape = isConst(v) ? v.t.dims : onnxShape(v);
      const given = c.opset >= 13 ? (has(n, 1) ? ints1(needConst(c, n, 1)) : undefined) : ints(n, 'axes');
      const axes = (given ?? shape.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0)).map((a) => (a + shape.length) % shape.length);
      const out = shape.filter((_, i) => !axes.includes(i));
      if (isConst(v)) return [cst({ ...v.t, dims: out as number[] })];
      if (axes.includes(0)) c.fail(n, 'squeezing the batch axis is not supported');
      return [onnxOp(c, n, { op: 'reshape', attrs: { shape: out.slice(1) as number[] } }, [toPlain(v)], false)];
    },
  },
  Cast: {
    folds: true,
    check: (n, c) => (c.isConst(inputs(n)[0]) || int(n, 'to', 1) === 1 ? undefined : 'casting a computed tensor to a non-float type is not supported'),
    build(n, c) {
      const v = c.value(inputs(n)[0]);
      const toFloat = [1, 10, 11].includes(int(n, 'to', 1));
      if (isConst(v)) return [cst({ dims: v.t.dims, values: toFloat ? Float32Array.from(v.t.values) : Array.from(v.t.values).map(Math.trunc), float: toFloat })];
      return [v];
    },
  },
};

function unary(c: BuildContext, n: onnx.INodeProto, layer: tfl.layers.Layer): Value[] {
  const x = needSym(c, n, 0);
  return [sym(c.apply(n, layer, [x.s]), x.nhwc)];
}

function dense(c: BuildContext, n: onnx.INodeProto, a: Sym, bMat: ConstTensor, transB: boolean, alpha: number, bias?: { t: ConstTensor; beta: number; units: number }): Value {
  const units = transB ? bMat.dims[0] : bMat.dims[1];
  const layer = tfl.layers.dense({ units, useBias: !!bias, kernelInitializer: 'zeros' });
  const out = c.apply(n, layer, [a.s]);
  c.weights(layer, () => {
    const kernel = tf.tidy(() => {
      const b = tf.tensor(bMat.values as Float32Array, bMat.dims);
      return tf.mul(transB ? tf.transpose(b) : b, alpha);
    });
    if (!bias) return [kernel];
    const vals = Float32Array.from(bias.t.values.length === 1 ? new Array<number>(units).fill(Number(bias.t.values[0])) : Array.from(bias.t.values));
    return [kernel, tf.tensor(vals.map((v) => v * bias.beta), [units])];
  });
  return sym(out, false);
}

// Constants in a node's attribute carry their data inline (external data is for initializers).
const decodeConstant = (t: onnx.ITensorProto, problems: string[]) => decodeTensor(t, '.', problems);

export const SUPPORTED_OPS = Object.keys(OPS).sort();
export const opSpec = (opType: string): OpSpec | undefined => OPS[opType];
