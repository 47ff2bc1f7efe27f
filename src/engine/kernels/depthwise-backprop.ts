/**
 * Backward passes of DepthwiseConv2dNative for the wasm backend, from its kernels.
 *
 * Input gradient: a depthwise conv of the spread/padded dy with the 180-degree-rotated filter (the same
 * construction as Conv2DBackpropInput), summing over the channel multiplier afterwards.
 * Filter gradient: per channel, a small GEMM between the kH*kW input views and dy, as one BatchMatMul
 * batched over channels.
 */
import type { KernelBackend, KernelConfig, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { convGeometry } from './conv-geometry.js';
import { composed } from './scope.js';
import { filterTaps, spreadAndPadGradient } from './conv2d-backprop.js';

export function depthwiseBackpropInput(args: { inputs: Record<string, TensorInfo>; backend: KernelBackend; attrs?: NamedAttrMap }): TensorInfo {
  const { dy, filter } = args.inputs;
  const attrs = args.attrs ?? {};
  const inputShape = attrs.inputShape as number[];
  const g = convGeometry('DepthwiseConv2dNativeBackpropInput', inputShape, filter.shape, attrs, true);
  const [kH, kW, C, mult] = filter.shape;
  return composed(args.backend, 'wasm', (s) => {
    const padded = spreadAndPadGradient(s, dy, g);
    const rotated = s.run('Reverse', { x: filter }, { dims: [0, 1] });
    const perChannel = s.reshape(rotated, [kH, kW, C * mult, 1]);
    const dx = s.run('DepthwiseConv2dNative', { x: padded, filter: perChannel }, {
      strides: [1, 1],
      pad: 'valid',
      dataFormat: 'NHWC',
      dilations: [g.dH, g.dW],
    });
    if (mult === 1) return dx;
    const split = s.reshape(dx, [g.batch, g.inH, g.inW, C, mult]);
    return s.run('Sum', { x: split }, { axis: [4], keepDims: false });
  });
}

export function depthwiseBackpropFilter(args: { inputs: Record<string, TensorInfo>; backend: KernelBackend; attrs?: NamedAttrMap }): TensorInfo {
  const { x, dy } = args.inputs;
  const attrs = args.attrs ?? {};
  const filterShape = attrs.filterShape as number[];
  const g = convGeometry('DepthwiseConv2dNativeBackpropFilter', x.shape, filterShape, attrs, true);
  const [kH, kW, C, mult] = filterShape;
  const M = g.batch * g.outH * g.outW;
  return composed(args.backend, 'wasm', (s) => {
    const taps = filterTaps(s, x, g).map((t) => s.reshape(t, [M, 1, C]));
    const cols = taps.length === 1 ? taps[0] : s.run('Concat', taps, { axis: 1 }); // [M, T, C]
    const colsByChannel = s.transpose(cols, [2, 1, 0]); // [C, T, M]
    const dyByChannel = s.transpose(s.reshape(dy, [M, C, mult]), [1, 0, 2]); // [C, M, mult]
    const dw = s.run('BatchMatMul', { a: colsByChannel, b: dyByChannel }, { transposeA: false, transposeB: false }); // [C, T, mult]
    return s.reshape(s.transpose(dw, [1, 0, 2]), [kH, kW, C, mult]);
  });
}

export const depthwiseBackpropInputConfig: KernelConfig = {
  kernelName: 'DepthwiseConv2dNativeBackpropInput',
  backendName: 'wasm',
  kernelFunc: depthwiseBackpropInput as unknown as KernelConfig['kernelFunc'],
};

export const depthwiseBackpropFilterConfig: KernelConfig = {
  kernelName: 'DepthwiseConv2dNativeBackpropFilter',
  backendName: 'wasm',
  kernelFunc: depthwiseBackpropFilter as unknown as KernelConfig['kernelFunc'],
};
