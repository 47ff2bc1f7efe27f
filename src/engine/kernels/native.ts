/**
 * Kernels for the wasm backend that run oneDNN (the native add-on) in place on the wasm heap: convolutions and
 * their gradients (depthwise included), matmuls, pooling and its gradients. Each one falls back to the kernel it
 * replaced (ulearn's or tfjs' wasm kernel) for what it does not cover: NCHW, non-float32 dtypes, stride together
 * with dilation, geometry oneDNN cannot express, prelu/leaky activations. The input gradient of a conv with one
 * input channel (only ever the first layer, whose input gradient training never uses) also stays on wasm:
 * oneDNN runs it at a tenth of its usual rate.
 */
import {
  backend_util,
  getKernel,
  registerKernel,
  unregisterKernel,
  type KernelConfig,
  type KernelFunc,
  type NamedAttrMap,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { UlearnError } from '../../errors.js';
import { convGeometryOrWhy, type ConvGeometry } from './conv-geometry.js';
import { callNative, heapView, offsetOf, type NativeAddon, type WasmInternals } from '../native.js';

type Args = Parameters<KernelFunc>[0];

/** One spatial axis is expressible in oneDNN when its output size follows from the padding by floor division. */
function axisFits(inSize: number, outSize: number, k: number, s: number, d: number, before: number, after: number): boolean {
  const extent = (k - 1) * d + 1;
  return before >= 0 && after >= 0 && outSize >= 1 && Math.floor((inSize + before + after - extent) / s) + 1 === outSize;
}

/** The shared conv geometry (conv-geometry.ts), or undefined where oneDNN cannot run the conv the same way. */
function oneDnnGeometry(xShape: number[], filterShape: number[], attrs: NamedAttrMap, depthwise: boolean): ConvGeometry | undefined {
  const g = convGeometryOrWhy(xShape, filterShape, attrs, depthwise);
  if ('what' in g) return undefined;
  if (!axisFits(g.inH, g.outH, g.kH, g.sH, g.dH, g.padTop, g.padBottom) || !axisFits(g.inW, g.outW, g.kW, g.sW, g.dW, g.padLeft, g.padRight)) return undefined;
  if (g.batch * g.inH * g.inW * g.inC === 0 || g.batch * g.outH * g.outW * g.outC === 0) return undefined;
  return g;
}

const convParams = new Int32Array(25);

function runConv(
  addon: NativeAddon,
  backend: WasmInternals,
  kernel: string,
  kind: 0 | 1 | 2,
  g: ConvGeometry,
  groups: number,
  bias: boolean,
  relu: boolean,
  tensors: [TensorInfo, TensorInfo, TensorInfo | undefined],
  outShape: number[],
): TensorInfo {
  const out = backend.makeOutput(outShape, 'float32');
  const p = convParams;
  p.set([kind, g.batch, g.inH, g.inW, g.inC, g.outH, g.outW, g.outC, g.kH, g.kW, g.sH, g.sW, g.dH, g.dW, g.padTop, g.padLeft, g.padBottom, g.padRight, groups, bias ? 1 : 0, relu ? 1 : 0]);
  p[21] = offsetOf(backend, tensors[0]);
  p[22] = offsetOf(backend, tensors[1]);
  p[23] = tensors[2] ? offsetOf(backend, tensors[2]) : 0;
  p[24] = offsetOf(backend, out);
  try {
    callNative(kernel, () => addon.conv(heapView(backend), p));
  } catch (e) {
    backend.disposeData(out.dataId);
    throw e;
  }
  return out;
}

const allFloat = (...ts: Array<TensorInfo | undefined>): boolean => ts.every((t) => t === undefined || t.dtype === 'float32');

/** Builds the native kernels; `fallback(name)` is the kernel each replaces. */
export function nativeKernelConfigs(addon: NativeAddon, fallback: (name: string) => KernelFunc | undefined): KernelConfig[] {
  const configs: KernelConfig[] = [];
  const add = (name: string, body: (args: Args, wasmKernel: KernelFunc) => TensorInfo | undefined): void => {
    // Kernels wasm lacks (AvgPoolGrad) get a fallback that names what the native one could not run.
    const wasmKernel =
      fallback(name) ??
      ((args: Args): TensorInfo => {
        throw new UlearnError(`${name}: unsupported attributes for the native kernel, and wasm has no ${name}`, {
          code: 'E_KERNEL_ATTR',
          hint: `attributes: ${JSON.stringify(args.attrs ?? {})}`,
        });
      });
    configs.push({
      kernelName: name,
      backendName: 'wasm',
      kernelFunc: (args) => body(args, wasmKernel) ?? wasmKernel(args),
    });
  };
  const be = (args: Args): WasmInternals => args.backend as unknown as WasmInternals;
  const attrsOf = (args: Args): NamedAttrMap => (args.attrs ?? {}) as NamedAttrMap;

  const forward = (depthwise: boolean, fused: boolean) => (args: Args) => {
    const { x, filter, bias, preluActivationWeights } = args.inputs as Record<string, TensorInfo | undefined>;
    const attrs = attrsOf(args);
    const activation = (attrs.activation as string | undefined) ?? 'linear';
    if (fused && (preluActivationWeights || (activation !== 'linear' && activation !== 'relu'))) return undefined;
    if (!x || !filter || !allFloat(x, filter, bias)) return undefined;
    const g = oneDnnGeometry(x.shape, filter.shape, attrs, depthwise);
    if (!g) return undefined;
    if (bias && !(bias.shape.length === 1 && bias.shape[0] === g.outC)) return undefined;
    const name = fused ? (depthwise ? 'FusedDepthwiseConv2D' : 'FusedConv2D') : depthwise ? 'DepthwiseConv2dNative' : 'Conv2D';
    return runConv(addon, be(args), name, 0, g, depthwise ? g.inC : 1, !!bias, fused && activation === 'relu', [x, filter, bias], [g.batch, g.outH, g.outW, g.outC]);
  };
  add('Conv2D', forward(false, false));
  add('FusedConv2D', forward(false, true));
  add('DepthwiseConv2dNative', forward(true, false));
  add('FusedDepthwiseConv2D', forward(true, true));

  const backpropInput = (depthwise: boolean) => (args: Args) => {
    const { dy, filter } = args.inputs as Record<string, TensorInfo>;
    const attrs = attrsOf(args);
    const inputShape = attrs.inputShape as number[];
    if (!allFloat(dy, filter)) return undefined;
    const g = oneDnnGeometry(inputShape, filter.shape, attrs, depthwise);
    // One input channel: oneDNN's slowest case, and only the first layer's (unused) input gradient.
    if (!g || (!depthwise && g.inC === 1) || dy.shape.some((d, i) => d !== [g.batch, g.outH, g.outW, g.outC][i])) return undefined;
    return runConv(addon, be(args), depthwise ? 'DepthwiseConv2dNativeBackpropInput' : 'Conv2DBackpropInput', 1, g, depthwise ? g.inC : 1, false, false, [dy, filter, undefined], inputShape);
  };
  add('Conv2DBackpropInput', backpropInput(false));
  add('DepthwiseConv2dNativeBackpropInput', backpropInput(true));

  const backpropFilter = (depthwise: boolean) => (args: Args) => {
    const { x, dy } = args.inputs as Record<string, TensorInfo>;
    const attrs = attrsOf(args);
    const filterShape = attrs.filterShape as number[];
    if (!allFloat(x, dy)) return undefined;
    const g = oneDnnGeometry(x.shape, filterShape, attrs, depthwise);
    if (!g || dy.shape.some((d, i) => d !== [g.batch, g.outH, g.outW, g.outC][i])) return undefined;
    return runConv(addon, be(args), depthwise ? 'DepthwiseConv2dNativeBackpropFilter' : 'Conv2DBackpropFilter', 2, g, depthwise ? g.inC : 1, false, false, [x, dy, undefined], filterShape);
  };
  add('Conv2DBackpropFilter', backpropFilter(false));
  add('DepthwiseConv2dNativeBackpropFilter', backpropFilter(true));

  const matmulParams = new Int32Array(13);
  const matmul = (fused: boolean) => (args: Args) => {
    const { a, b, bias, preluActivationWeights } = args.inputs as Record<string, TensorInfo | undefined>;
    const attrs = attrsOf(args);
    const activation = (attrs.activation as string | undefined) ?? 'linear';
    if (fused && (preluActivationWeights || (activation !== 'linear' && activation !== 'relu'))) return undefined;
    if (!a || !b || !allFloat(a, b, bias) || a.shape.length < 2 || b.shape.length < 2) return undefined;
    const tA = !!attrs.transposeA;
    const tB = !!attrs.transposeB;
    const ra = a.shape.length;
    const rb = b.shape.length;
    const M = tA ? a.shape[ra - 1] : a.shape[ra - 2];
    const K = tA ? a.shape[ra - 2] : a.shape[ra - 1];
    const Kb = tB ? b.shape[rb - 1] : b.shape[rb - 2];
    const N = tB ? b.shape[rb - 2] : b.shape[rb - 1];
    if (K !== Kb) return undefined;
    const batchA = a.shape.slice(0, -2);
    const batchB = b.shape.slice(0, -2);
    const Ba = batchA.reduce((s, d) => s * d, 1);
    const Bb = batchB.reduce((s, d) => s * d, 1);
    // Equal batch shapes, or one side without batch (broadcast); tfjs' general broadcasting stays on wasm.
    let outBatch: number[];
    if (Ba === 1 && batchA.length <= batchB.length) outBatch = batchB;
    else if (Bb === 1 && batchB.length <= batchA.length) outBatch = batchA;
    else if (batchA.length === batchB.length && batchA.every((d, i) => d === batchB[i])) outBatch = batchA;
    else return undefined;
    if (bias && !(bias.shape.reduce((s, d) => s * d, 1) === N && bias.shape[bias.shape.length - 1] === N)) return undefined;
    if (M * N * K === 0) return undefined;
    const backend = be(args);
    const out = backend.makeOutput([...outBatch, M, N], 'float32');
    const p = matmulParams;
    p.set([Ba, Bb, M, K, N, tA ? 1 : 0, tB ? 1 : 0, bias ? 1 : 0, fused && activation === 'relu' ? 1 : 0]);
    p[9] = offsetOf(backend, a);
    p[10] = offsetOf(backend, b);
    p[11] = bias ? offsetOf(backend, bias) : 0;
    p[12] = offsetOf(backend, out);
    try {
      callNative(fused ? '_FusedMatMul' : 'BatchMatMul', () => addon.matmul(heapView(backend), p));
    } catch (e) {
      backend.disposeData(out.dataId);
      throw e;
    }
    return out;
  };
  add('BatchMatMul', matmul(false));
  add('_FusedMatMul', matmul(true));

  const poolParams = new Int32Array(18);
  const pool = (kind: 0 | 1 | 2 | 3) => (args: Args) => {
    const inputs = args.inputs as Record<string, TensorInfo>;
    const x = kind < 2 ? inputs.x : inputs.input;
    const dy = kind < 2 ? undefined : inputs.dy;
    const attrs = attrsOf(args);
    if (!x || x.shape.length !== 4 || !allFloat(x, dy)) return undefined;
    const dilations = attrs.dilations as number | [number, number] | undefined;
    if (dilations !== undefined && !(dilations === 1 || (Array.isArray(dilations) && dilations.every((d) => d === 1)))) return undefined;
    const info = backend_util.computePool2DInfo(
      x.shape as [number, number, number, number],
      attrs.filterSize as number | [number, number],
      attrs.strides as number | [number, number],
      1,
      attrs.pad as 'same' | 'valid' | number | backend_util.ExplicitPadding,
      attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
    );
    const pi = info.padInfo;
    const [N, H, W, C] = x.shape;
    const { outHeight: OH, outWidth: OW, filterHeight: kH, filterWidth: kW, strideHeight: sH, strideWidth: sW } = info;
    if (!axisFits(H, OH, kH, sH, 1, pi.top, pi.bottom) || !axisFits(W, OW, kW, sW, 1, pi.left, pi.right)) return undefined;
    // oneDNN refuses a window lying wholly in the padding; tfjs' 'same' never makes one, explicit pads could.
    if (pi.top >= kH || pi.bottom >= kH || pi.left >= kW || pi.right >= kW) return undefined;
    if (N * H * W * C === 0) return undefined;
    if (dy && dy.shape.some((d, i) => d !== [N, OH, OW, C][i])) return undefined;
    const backend = be(args);
    const out = backend.makeOutput(kind < 2 ? [N, OH, OW, C] : x.shape, 'float32');
    const p = poolParams;
    p.set([kind, N, H, W, C, OH, OW, kH, kW, sH, sW, pi.top, pi.left, pi.bottom, pi.right]);
    p[15] = offsetOf(backend, x);
    p[16] = dy ? offsetOf(backend, dy) : offsetOf(backend, out);
    p[17] = offsetOf(backend, out);
    try {
      callNative(['MaxPool', 'AvgPool', 'MaxPoolGrad', 'AvgPoolGrad'][kind], () => addon.pool(heapView(backend), p));
    } catch (e) {
      backend.disposeData(out.dataId);
      throw e;
    }
    return out;
  };
  // Batch norm in training: ulearn's own ops (FastBatchNormalization uses them while the native kernels are on);
  // x is viewed as [M, C], statistics over M.
  const bnParams = new Int32Array(11);
  const bnShape = (x: TensorInfo): [number, number] => {
    const C = x.shape[x.shape.length - 1];
    return [x.shape.reduce((a, b) => a * b, 1) / C, C];
  };
  configs.push({
    kernelName: BATCH_NORM_TRAIN,
    backendName: 'wasm',
    kernelFunc: (args) => {
      const { x, gamma, beta } = args.inputs as Record<string, TensorInfo>;
      const backend = be(args);
      const [M, C] = bnShape(x);
      const outs = [backend.makeOutput(x.shape, 'float32'), backend.makeOutput([C], 'float32'), backend.makeOutput([C], 'float32')];
      const p = bnParams.subarray(0, 9);
      p.set([x.shape[0], M, C, ...[x, gamma, beta, ...outs].map((t) => offsetOf(backend, t))]);
      try {
        callNative(BATCH_NORM_TRAIN, () => addon.bnForward(heapView(backend), p, attrsOf(args).epsilon as number));
      } catch (e) {
        for (const o of outs) backend.disposeData(o.dataId);
        throw e;
      }
      return outs;
    },
  });
  configs.push({
    kernelName: BATCH_NORM_GRAD,
    backendName: 'wasm',
    kernelFunc: (args) => {
      const { x, mean, variance, gamma, dy } = args.inputs as Record<string, TensorInfo>;
      const backend = be(args);
      const [M, C] = bnShape(x);
      const outs = [backend.makeOutput(x.shape, 'float32'), backend.makeOutput([C], 'float32'), backend.makeOutput([C], 'float32')];
      bnParams.set([x.shape[0], M, C, ...[x, mean, variance, gamma, dy, ...outs].map((t) => offsetOf(backend, t))]);
      try {
        callNative(BATCH_NORM_GRAD, () => addon.bnBackward(heapView(backend), bnParams, attrsOf(args).epsilon as number));
      } catch (e) {
        for (const o of outs) backend.disposeData(o.dataId);
        throw e;
      }
      return outs;
    },
  });

  add('MaxPool', pool(0));
  add('AvgPool', pool(1));
  add('MaxPoolGrad', pool(2));
  add('AvgPoolGrad', pool(3));
  return configs;
}

/** ulearn's batch-norm training ops: (x, gamma, beta) -> (y, mean, variance) and its gradient. */
export const BATCH_NORM_TRAIN = 'UlearnBatchNormTrain';
export const BATCH_NORM_GRAD = 'UlearnBatchNormGrad';

/** The kernels the native ones replaced, by name, to put back when the native kernels are switched off. */
const replaced = new Map<string, KernelConfig>();
let active: KernelConfig[] = [];

/** Registers the native kernels over the current wasm kernels (call after registerWasmKernels). */
export function registerNativeKernels(addon: NativeAddon): string[] {
  if (active.length) return active.map((k) => k.kernelName);
  const configs = nativeKernelConfigs(addon, (name) => {
    const k = getKernel(name, 'wasm');
    if (k) replaced.set(name, k);
    return k?.kernelFunc;
  });
  for (const c of configs) {
    if (getKernel(c.kernelName, 'wasm')) unregisterKernel(c.kernelName, 'wasm');
    registerKernel(c);
  }
  active = configs;
  return configs.map((k) => k.kernelName);
}

/** Puts back the kernels the native ones replaced (tests compare the two on one backend). */
export function unregisterNativeKernels(): void {
  for (const c of active) {
    if (getKernel(c.kernelName, 'wasm') === c) unregisterKernel(c.kernelName, 'wasm');
    const before = replaced.get(c.kernelName);
    if (before && !getKernel(c.kernelName, 'wasm')) registerKernel(before);
  }
  active = [];
  replaced.clear();
}

export function nativeKernelsActive(): boolean {
  return active.length > 0;
}
