/**
 * Works around a tfjs-backend-wasm 4.22 bug: forward convolutions with pad 'same' give wrong results when
 * a filter dimension is smaller than its stride and the padding is asymmetric (e.g. kernel 3x1, stride 2 on
 * a 10x8 input: max error 6.3 against the cpu backend), while the same padding given explicitly is right.
 * We resolve 'same' to explicit numbers exactly as tfjs does and call the built-in kernel.
 */
import { backend_util, type KernelConfig, type KernelFunc, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';

const DEPTHWISE = new Set(['DepthwiseConv2dNative', 'FusedDepthwiseConv2D']);
export const SAME_PADDING_KERNELS = ['Conv2D', 'FusedConv2D', 'DepthwiseConv2dNative', 'FusedDepthwiseConv2D'];

export function explicitSamePadding(kernelName: string, attrs: NamedAttrMap, xShape: number[], filterShape: number[]): NamedAttrMap {
  if (attrs.pad !== 'same' || xShape.length !== 4) return attrs;
  const format = (attrs.dataFormat as string | undefined) ?? 'NHWC';
  if (format !== 'NHWC' && format !== 'channelsLast') return attrs;
  const info = backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides as number | [number, number],
    (attrs.dilations as number | [number, number] | undefined) ?? 1,
    'same',
    undefined,
    DEPTHWISE.has(kernelName),
  );
  const p = info.padInfo;
  return { ...attrs, pad: [[0, 0], [p.top, p.bottom], [p.left, p.right], [0, 0]] };
}

export function samePaddingFixConfig(kernelName: string, builtin: KernelFunc): KernelConfig {
  return {
    kernelName,
    backendName: 'wasm',
    kernelFunc: (args) => {
      const { x, filter } = args.inputs as Record<string, TensorInfo>;
      return builtin({ ...args, attrs: explicitSamePadding(kernelName, (args.attrs ?? {}) as NamedAttrMap, x.shape, filter.shape) });
    },
  };
}
