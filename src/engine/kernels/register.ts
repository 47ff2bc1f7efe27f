/**
 * Registers ulearn's wasm kernels: the gradient kernels tfjs-backend-wasm lacks (training a conv net on wasm
 * fails without them), a replacement for its slow Conv2DBackpropInput, and wrappers that spare built-ins a
 * slow path or a copy (Tile, Identity, Cast, Sum/Mean, BatchMatMul, 'same' padding). Idempotent.
 */
import { getKernel, registerKernel, unregisterKernel, type KernelConfig } from '@tensorflow/tfjs-core';
import { conv2DBackpropFilterConfig, conv2DBackpropInputConfig } from './conv2d-backprop.js';
import { depthwiseBackpropFilterConfig, depthwiseBackpropInputConfig } from './depthwise-backprop.js';
import { maxPoolGradConfig } from './max-pool-grad.js';
import { SAME_PADDING_KERNELS, samePaddingFixConfig } from './same-padding.js';
import { tileConfig } from './tile.js';
import { castConfig, identityConfig } from './identity.js';
import { channelReduceConfig } from './reduce.js';
import { batchMatMulConfig } from './batch-matmul.js';

export const WASM_KERNELS: KernelConfig[] = [
  conv2DBackpropFilterConfig,
  conv2DBackpropInputConfig,
  depthwiseBackpropFilterConfig,
  depthwiseBackpropInputConfig,
  maxPoolGradConfig,
];

/** The kernels that were registered before ours, by name (kept so benchmarks can compare against them). */
export const builtinWasmKernels = new Map<string, KernelConfig>();

export function registerWasmKernels(): void {
  if (!WASM_KERNELS.some((k) => k.kernelName === 'Conv2D')) {
    // Wrappers around built-in kernels (see same-padding.ts), made once the built-ins are registered.
    for (const name of SAME_PADDING_KERNELS) {
      const builtin = getKernel(name, 'wasm');
      if (builtin) WASM_KERNELS.push(samePaddingFixConfig(name, builtin.kernelFunc));
    }
    const tile = getKernel('Tile', 'wasm');
    if (tile) WASM_KERNELS.push(tileConfig(tile.kernelFunc));
    const identity = getKernel('Identity', 'wasm');
    if (identity) WASM_KERNELS.push(identityConfig(identity.kernelFunc));
    const cast = getKernel('Cast', 'wasm');
    if (cast) WASM_KERNELS.push(castConfig(cast.kernelFunc));
    const matmul = getKernel('BatchMatMul', 'wasm');
    if (matmul) WASM_KERNELS.push(batchMatMulConfig(matmul.kernelFunc));
    for (const name of ['Sum', 'Mean'] as const) {
      const builtin = getKernel(name, 'wasm');
      if (builtin) WASM_KERNELS.push(channelReduceConfig(name, builtin.kernelFunc));
    }
  }
  for (const config of WASM_KERNELS) {
    const existing = getKernel(config.kernelName, 'wasm');
    if (existing === config) continue;
    if (existing) {
      if (!builtinWasmKernels.has(config.kernelName)) builtinWasmKernels.set(config.kernelName, existing);
      unregisterKernel(config.kernelName, 'wasm');
    }
    registerKernel(config);
  }
}

/** Puts the built-in kernels back (benchmarks measure ours against them). */
export function restoreBuiltinWasmKernels(): void {
  for (const config of WASM_KERNELS) {
    if (getKernel(config.kernelName, 'wasm') === config) unregisterKernel(config.kernelName, 'wasm');
    const builtin = builtinWasmKernels.get(config.kernelName);
    if (builtin) registerKernel(builtin);
  }
}
