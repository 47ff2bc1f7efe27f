/**
 * Conv geometry shared by ulearn's wasm convolution kernels and the native (oneDNN) ones: resolve `pad`
 * ('same' | 'valid' | number | explicit) to the concrete padding on each side that the forward pass used,
 * exactly as tfjs computes it, and refuse what neither kernel family takes (NCHW, strides together with
 * dilations, padding beyond the dilated filter).
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
  padBottom: number;
  padRight: number;
}

/** Why a conv's attributes are not taken: what they are, and what is supported. */
export interface Unsupported {
  what: string;
  supported: string;
}

function pair(v: unknown): [number, number] | undefined {
  if (typeof v === 'number') return [v, v];
  if (Array.isArray(v) && v.length === 2 && v.every((x) => Number.isInteger(x) && x >= 1)) return [v[0], v[1]];
  if (v === undefined) return [1, 1];
  return undefined;
}

/** The geometry of a conv, or an `E_KERNEL_ATTR` UlearnError naming the attribute `kernel` does not take. */
export function convGeometry(kernel: string, inShape: number[], filterShape: number[], attrs: NamedAttrMap, depthwise: boolean): ConvGeometry {
  const g = convGeometryOrWhy(inShape, filterShape, attrs, depthwise);
  return 'what' in g ? unsupported(kernel, g.what, g.supported) : g;
}

/** The geometry of a conv, or why it is not taken (for kernels that hand such a conv to another kernel). */
export function convGeometryOrWhy(inShape: number[], filterShape: number[], attrs: NamedAttrMap, depthwise: boolean): ConvGeometry | Unsupported {
  const dataFormat = (attrs.dataFormat as string | undefined) ?? 'NHWC';
  if (dataFormat !== 'NHWC' && dataFormat !== 'channelsLast') {
    return { what: `dataFormat '${dataFormat}'`, supported: "'NHWC' (transpose NCHW inputs first)" };
  }
  if (inShape.length !== 4 || filterShape.length !== 4) {
    return { what: `shapes x=[${inShape}] filter=[${filterShape}]`, supported: 'rank-4 input [N,H,W,C] and filter [kH,kW,Cin,Cout|mult]' };
  }
  const strides = pair(attrs.strides);
  const dilations = pair(attrs.dilations);
  for (const [name, v] of [['strides', strides], ['dilations', dilations]] as const) {
    if (!v) return { what: `${name} ${JSON.stringify(attrs[name])}`, supported: `${name} as a positive integer or [h, w]` };
  }
  if ((strides![0] > 1 || strides![1] > 1) && (dilations![0] > 1 || dilations![1] > 1)) {
    return { what: `strides ${strides} together with dilations ${dilations}`, supported: 'strides > 1 or dilations > 1, not both (as in tfjs conv2d)' };
  }
  const pad = attrs.pad as backend_util.ExplicitPadding | 'same' | 'valid' | number;
  // NHWC ('channelsLast') either way; `depthwise` makes the filter's last dim a channel multiplier.
  const info = backend_util.computeConv2DInfo(
    inShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    strides!,
    dilations!,
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
    padBottom: info.padInfo.bottom,
    padRight: info.padInfo.right,
  };
  if (g.padTop > (g.kH - 1) * g.dH || g.padLeft > (g.kW - 1) * g.dW) {
    return { what: `padding top=${g.padTop} left=${g.padLeft} larger than the dilated filter extent`, supported: "'same', 'valid' or explicit padding up to (k-1)*dilation" };
  }
  return g;
}
