export { initBackend, describeBackend, currentBackend, availableBackends, BACKENDS, isBackendName } from './backend.js';
export type { BackendName, BackendReport, BackendOptions } from './backend.js';
export { Rng, mulberry32 } from './seed.js';
export { registerWasmKernels, restoreBuiltinWasmKernels, WASM_KERNELS } from './kernels/register.js';
export { loadNative } from './native.js';
export { registerNativeKernels, unregisterNativeKernels, nativeKernelsActive } from './kernels/native.js';
