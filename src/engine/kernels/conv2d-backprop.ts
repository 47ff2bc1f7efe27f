/**
 * Backward passes of Conv2D for the wasm backend, built from its XNNPACK kernels.
 *
 * Filter gradient = a forward Conv2D with batch and channels swapped (or im2col + GEMM for few input
 * channels); see filterGradBySwappedConv.
 *
 * Input gradient = a forward Conv2D: dx is the correlation of dy (with stride-1 zeros inserted between its
 * rows/columns when stride > 1) and the filter rotated 180 degrees with in/out channels swapped, padded so
 * that the output is exactly the input's size. For stride 1 this runs at the forward rate; for stride s it
 * spends s*s times the FLOPs on zeros, which is still far faster than the built-in kernel.
 */
import type { KernelBackend, KernelConfig, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { convGeometry, type ConvGeometry } from './conv-geometry.js';
import { composed, type KernelScope } from './scope.js';

/**
 * The kH*kW views of the (zero-padded) input that each filter tap sees, as [N, outH, outW, C] tensors.
 * Shared with the depthwise filter gradient.
 */
export function filterTaps(s: KernelScope, x: TensorInfo, g: ConvGeometry): TensorInfo[] {
  const C = x.shape[3];
  const spanH = (g.outH - 1) * g.sH + 1;
  const spanW = (g.outW - 1) * g.sW + 1;
  const needH = spanH + (g.kH - 1) * g.dH;
  const needW = spanW + (g.kW - 1) * g.dW;
  const xp = s.pad(x, [
    [0, 0],
    [g.padTop, Math.max(0, needH - g.inH - g.padTop)],
    [g.padLeft, Math.max(0, needW - g.inW - g.padLeft)],
    [0, 0],
  ]);
  const taps: TensorInfo[] = [];
  for (let i = 0; i < g.kH; i++) {
    for (let j = 0; j < g.kW; j++) {
      const top = i * g.dH;
      const left = j * g.dW;
      if (g.sH === 1 && g.sW === 1) {
        taps.push(s.run('Slice', { x: xp }, { begin: [0, top, left, 0], size: [g.batch, g.outH, g.outW, C] }));
      } else {
        taps.push(
          s.run('StridedSlice', { x: xp }, {
            begin: [0, top, left, 0],
            end: [g.batch, top + spanH, left + spanW, C],
            strides: [1, g.sH, g.sW, 1],
            beginMask: 0,
            endMask: 0,
            ellipsisMask: 0,
            newAxisMask: 0,
            shrinkAxisMask: 0,
          }),
        );
      }
    }
  }
  return taps;
}

/** Inserts (s-1) zeros between rows/columns of dy and pads it so a stride-1 conv yields the input's size. */
export function spreadAndPadGradient(s: KernelScope, dy: TensorInfo, g: ConvGeometry): TensorInfo {
  const [N, oh, ow, C] = dy.shape;
  let spread = dy;
  let rows = oh;
  let cols = ow;
  if (g.sH > 1 || g.sW > 1) {
    const r6 = s.reshape(dy, [N, oh, 1, ow, 1, C]);
    const p6 = s.pad(r6, [
      [0, 0],
      [0, 0],
      [0, g.sH - 1],
      [0, 0],
      [0, g.sW - 1],
      [0, 0],
    ]);
    spread = s.reshape(p6, [N, oh * g.sH, ow * g.sW, C]);
    rows = oh * g.sH;
    cols = ow * g.sW;
  }
  // Full correlation: pad (k-1)*d - padTop before; whatever makes the output inH long after.
  const before = [(g.kH - 1) * g.dH - g.padTop, (g.kW - 1) * g.dW - g.padLeft];
  let after = [g.inH - rows - before[0] + (g.kH - 1) * g.dH, g.inW - cols - before[1] + (g.kW - 1) * g.dW];
  if (after[0] < 0 || after[1] < 0) {
    // Only the trailing zeros that stride spreading added can be in excess: cut them.
    rows += Math.min(0, after[0]);
    cols += Math.min(0, after[1]);
    spread = s.run('Slice', { x: spread }, { begin: [0, 0, 0, 0], size: [N, rows, cols, C] });
    after = [Math.max(0, after[0]), Math.max(0, after[1])];
  }
  return s.pad(spread, [
    [0, 0],
    [before[0], after[0]],
    [before[1], after[1]],
    [0, 0],
  ]);
}

export function conv2DBackpropFilter(args: { inputs: Record<string, TensorInfo>; backend: KernelBackend; attrs?: NamedAttrMap }): TensorInfo {
  const { x, dy } = args.inputs;
  const attrs = args.attrs ?? {};
  const filterShape = attrs.filterShape as number[];
  const g = convGeometry('Conv2DBackpropFilter', x.shape, filterShape, attrs, false);
  return composed(args.backend, 'wasm', (s) => (g.inC >= 8 ? filterGradBySwappedConv(s, x, dy, g) : filterGradByIm2col(s, x, dy, g, attrs)));
}

/**
 * dW as a forward convolution with batch and channels swapped: dW[i,j,c,o] = sum_{n,p,q} xpad[n, p*s + i*d,
 * q*s + j*d, c] * dy[n,p,q,o] is a 'valid' conv of x^T [Cin, H, W, N] (batch = Cin, channels = N) with dy^T
 * [outH, outW, N, Cout] as the filter, stride = the forward dilation and dilation = the forward stride.
 * Measured on 2 threads it runs close to the forward conv (e.g. 21 vs 18 ms at 64x28x28x16->16), 2-4x faster
 * than im2col + GEMM, because XNNPACK's conv avoids tfjs' slow transposed BatchMatMul and big packings.
 */
function filterGradBySwappedConv(s: KernelScope, x: TensorInfo, dy: TensorInfo, g: ConvGeometry): TensorInfo {
  const needH = (g.kH - 1) * g.dH + (g.outH - 1) * g.sH + 1;
  const needW = (g.kW - 1) * g.dW + (g.outW - 1) * g.sW + 1;
  const xp = s.pad(x, [
    [0, 0],
    [g.padTop, Math.max(0, needH - g.inH - g.padTop)],
    [g.padLeft, Math.max(0, needW - g.inW - g.padLeft)],
    [0, 0],
  ]);
  const xT = s.transpose(xp, [3, 1, 2, 0]); // [Cin, Hp, Wp, N]
  const dyT = s.transpose(dy, [1, 2, 0, 3]); // [outH, outW, N, Cout]
  let dw = s.run('Conv2D', { x: xT, filter: dyT }, {
    strides: [g.dH, g.dW],
    pad: 'valid',
    dataFormat: 'NHWC',
    dilations: [g.sH, g.sW],
  }); // [Cin, >= kH, >= kW, Cout]: rows past the input's used extent give extra outputs, cut below
  if (dw.shape[1] !== g.kH || dw.shape[2] !== g.kW) {
    dw = s.run('Slice', { x: dw }, { begin: [0, 0, 0, 0], size: [g.inC, g.kH, g.kW, g.outC] });
  }
  return s.transpose(dw, [1, 2, 0, 3]);
}

/**
 * dW by im2col + GEMM, for few input channels (the first layer), where the swapped conv has too little work
 * per output (measured 48 vs 38 ms at 128x32x32x3->32).
 */
function filterGradByIm2col(s: KernelScope, x: TensorInfo, dy: TensorInfo, g: ConvGeometry, attrs: NamedAttrMap): TensorInfo {
  const M = g.batch * g.outH * g.outW;
  const T = g.kH * g.kW;
  // im2col as a depthwise conv with one-hot filters: XNNPACK handles stride, dilation and padding exactly
  // as in the forward pass, and the result comes out as [M, Cin*T] (channel-major, tap-minor).
  // (Slicing taps instead ran in JS at ~170 M floats/s and dominated the kernel.)
  const cols = s.run('DepthwiseConv2dNative', { x, filter: oneHotTapFilter(s.backend, g.kH, g.kW, g.inC) }, {
    strides: [g.sH, g.sW],
    pad: attrs.pad,
    dilations: [g.dH, g.dW],
    dimRoundingMode: attrs.dimRoundingMode,
    dataFormat: 'NHWC',
  });
  // dW = cols^T @ dy as [Cin*T, M] @ [M, Cout]. tfjs-wasm's BatchMatMul runs XNNPACK only without
  // transposes (2.4 vs 40-60 GFLOP/s) and re-packs its right operand on every call at ~60 M floats/s, so
  // we transpose the columns ourselves (~200 M floats/s) and let the smaller dy be the packed operand.
  const colsT = s.transpose(s.reshape(cols, [M, g.inC * T]), [1, 0]);
  const dw = s.run('BatchMatMul', { a: colsT, b: s.reshape(dy, [M, g.outC]) }, { transposeA: false, transposeB: false });
  // [Cin, kH, kW, Cout] -> [kH, kW, Cin, Cout]
  return s.transpose(s.reshape(dw, [g.inC, g.kH, g.kW, g.outC]), [1, 2, 0, 3]);
}

/**
 * The depthwise filter [kH, kW, C, kH*kW] with filter[i, j, c, t] = (t == i*kW + j): output channel c*T + t is
 * input channel c seen through tap t. Built once per shape and kept (it is small, and keeping the same data
 * lets XNNPACK reuse its packed operator).
 */
const tapFilters = new Map<string, TensorInfo>();
function oneHotTapFilter(backend: KernelBackend, kH: number, kW: number, C: number): TensorInfo {
  const key = `${kH}x${kW}x${C}`;
  let f = tapFilters.get(key);
  if (!f) {
    const T = kH * kW;
    const values = new Float32Array(kH * kW * C * T);
    for (let t = 0; t < T; t++) for (let c = 0; c < C; c++) values[(t * C + c) * T + t] = 1;
    const shape = [kH, kW, C, T];
    f = { dataId: backend.write(values, shape, 'float32'), shape, dtype: 'float32' };
    tapFilters.set(key, f);
  }
  return f;
}

export function conv2DBackpropInput(args: { inputs: Record<string, TensorInfo>; backend: KernelBackend; attrs?: NamedAttrMap }): TensorInfo {
  const { dy, filter } = args.inputs;
  const attrs = args.attrs ?? {};
  const inputShape = attrs.inputShape as number[];
  const g = convGeometry('Conv2DBackpropInput', inputShape, filter.shape, attrs, false);
  return composed(args.backend, 'wasm', (s) => {
    const padded = spreadAndPadGradient(s, dy, g);
    const rotated = s.run('Reverse', { x: filter }, { dims: [0, 1] });
    const swapped = s.transpose(rotated, [0, 1, 3, 2]);
    return s.run('Conv2D', { x: padded, filter: swapped }, {
      strides: [1, 1],
      pad: 'valid',
      dataFormat: 'NHWC',
      dilations: [g.dH, g.dW],
      dimRoundingMode: undefined as unknown as string,
    });
  });
}

export const conv2DBackpropFilterConfig: KernelConfig = {
  kernelName: 'Conv2DBackpropFilter',
  backendName: 'wasm',
  kernelFunc: conv2DBackpropFilter as unknown as KernelConfig['kernelFunc'],
};

export const conv2DBackpropInputConfig: KernelConfig = {
  kernelName: 'Conv2DBackpropInput',
  backendName: 'wasm',
  kernelFunc: conv2DBackpropInput as unknown as KernelConfig['kernelFunc'],
};
