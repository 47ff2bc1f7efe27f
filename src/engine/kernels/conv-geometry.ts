/**
 * Geometry shared by the backward convolution kernels: resolve `pad` ('same' | 'valid' | number | explicit)
 * to the concrete top/left padding the forward pass used, exactly as tfjs computes it.
 */
import { backend_util, type NamedAttrMap } from '@tensorflow/tfjs-core';
import { unsupported } from './scope.js';

export interface ConvGeometry {
  batch: number;
  inH: number;
  inW: number;
  inC: number;
  outH: number;
  outW: number;
  outC: number;
  kH: number;
  kW: number;
  sH: number;
  sW: number;
  dH: number;
  dW: number;
  padTop: number;
  padLeft: number;
}

function pair(v: unknown, name: string, kernel: string): [number, number] {
  if (typeof v === 'number') return [v, v];
  if (Array.isArray(v) && v.length === 2 && v.every((x) => Number.isInteger(x) && x >= 1)) return [v[0], v[1]];
  if (v === undefined) return [1, 1];
  return unsupported(kernel, `${name} ${JSON.stringify(v)}`, `${name} as a positive integer or [h, w]`);
}

export function convGeometry(
  kernel: string,
  inShape: number[],
  filterShape: number[],
  attrs: NamedAttrMap,
  depthwise: boolean,
): ConvGeometry {
  const dataFormat = (attrs.dataFormat as string | undefined) ?? 'NHWC';
  if (dataFormat !== 'NHWC' && dataFormat !== 'channelsLast') {
    unsupported(kernel, `dataFormat '${dataFormat}'`, "'NHWC' (transpose NCHW inputs first)");
  }
  if (inShape.length !== 4 || filterShape.length !== 4) {
    unsupported(kernel, `shapes x=[${inShape}] filter=[${filterShape}]`, 'rank-4 input [N,H,W,C] and filter [kH,kW,Cin,Cout|mult]');
  }
  const strides = pair(attrs.strides, 'strides', kernel);
  const dilations = pair(attrs.dilations, 'dilations', kernel);
  if ((strides[0] > 1 || strides[1] > 1) && (dilations[0] > 1 || dilations[1] > 1)) {
    unsupported(kernel, `strides ${strides} together with dilations ${dilations}`, 'strides > 1 or dilations > 1, not both (as in tfjs conv2d)');
  }
  const pad = attrs.pad as backend_util.ExplicitPadding | 'same' | 'valid' | number;
  // NHWC ('channelsLast') either way; `depthwise` makes the filter's last dim a channel multiplier.
  const info = backend_util.computeConv2DInfo(
    inShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    strides,
    dilations,
    pad,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
    depthwise,
    'channelsLast',
  );
  const g: ConvGeometry = {
    batch: info.batchSize,
    inH: info.inHeight,
    inW: info.inWidth,
    inC: info.inChannels,
    outH: info.outHeight,
    outW: info.outWidth,
    outC: info.outChannels,
    kH: info.filterHeight,
    kW: info.filterWidth,
    sH: info.strideHeight,
    sW: info.strideWidth,
    dH: info.dilationHeight,
    dW: info.dilationWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
  };
  if (g.padTop > (g.kH - 1) * g.dH || g.padLeft > (g.kW - 1) * g.dW) {
    unsupported(kernel, `padding top=${g.padTop} left=${g.padLeft} larger than the dilated filter extent`, "'same', 'valid' or explicit padding up to (k-1)*dilation");
  }
  return g;
}
