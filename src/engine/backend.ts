/**
 * Backend choice. `auto` = tfjs-node if the user has it installed, else webgpu if a GPU adapter answers,
 * else native (wasm with the oneDNN kernels, when the add-on loads and passes its self-check), else wasm. An explicitly requested backend that cannot start is an error that says why: never a silent fall
 * back (a silent fall back to `cpu` makes a GPU job take hours instead of minutes).
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
// tfjs-core's Node build registers no gradient functions; tfjs-layers' Node build registers all of them.
// Without this import tf.grad/optimizer.minimize fail with 'gradient function not found'.
import '@tensorflow/tfjs-layers';
import { UlearnError } from '../errors.js';
import { probeAdapterInChild, vulkanLoaderPresent } from './gpu-probe.js';
import { withThreadedWasm } from './wasm-threads.js';
import { registerWasmKernels } from './kernels/register.js';
import { loadNative } from './native.js';
import { registerNativeKernels, unregisterNativeKernels } from './kernels/native.js';
import { installFusedAdam } from './kernels/fused-adam.js';

export const BACKENDS = ['auto', 'native', 'wasm', 'webgpu', 'cpu', 'tensorflow'] as const;
export type BackendName = (typeof BACKENDS)[number];

export interface BackendReport {
  /** The tfjs backend actually in use. */
  name: Exclude<BackendName, 'auto'>;
  /** What was asked for. */
  requested: BackendName;
  /** Compute threads (wasm); undefined where the backend manages its own. */
  threads?: number;
  /** Free-form details: SIMD, adapter name, why auto skipped a choice. */
  details: string[];
  /** The tfjs backend underneath (native runs its kernels over wasm). */
  over?: string;
}

export interface BackendOptions {
  /** wasm thread pool size; default: all cores. 1 = the single-threaded SIMD binary. */
  threads?: number;
}

let current: BackendReport | undefined;

export function isBackendName(s: string): s is BackendName {
  return (BACKENDS as readonly string[]).includes(s);
}

/** One line a user reads at the start of every command, e.g. `engine: wasm (SIMD, 2 threads), tfjs 4.22.0`. */
export function describeBackend(r: BackendReport): string {
  const parts = [...r.details];
  if (r.threads !== undefined) parts.push(`${r.threads} thread${r.threads === 1 ? '' : 's'}`);
  const asked = r.requested === 'auto' ? ' [auto]' : '';
  const over = r.over ? ` over ${r.over}` : '';
  return `engine: ${r.name}${parts.length ? ` (${parts.join(', ')})` : ''}${over}${asked}, tfjs ${tf.version_core}`;
}

/** The backend in use, or undefined before `initBackend`. */
export function currentBackend(): BackendReport | undefined {
  return current;
}

async function activate(name: string): Promise<void> {
  let ok = false;
  let cause: unknown;
  try {
    ok = await tf.setBackend(name);
    await tf.ready();
  } catch (e) {
    cause = e;
  }
  if (!ok || tf.getBackend() !== name) {
    throw new UlearnError(`backend '${name}' could not start${cause ? `: ${String((cause as Error).message ?? cause)}` : ''}`, {
      code: 'E_BACKEND',
      cause,
      hint: `available here: ${await availableBackends()}`,
    });
  }
}

async function startWasm(requested: BackendName, opts: BackendOptions): Promise<BackendReport> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const cores = (await import('node:os')).availableParallelism();
  const threads = Math.max(1, Math.floor(opts.threads ?? cores));
  const details: string[] = [];
  if (threads > 1) {
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
    wasm.setThreadsCount(threads);
    try {
      await withThreadedWasm(threads, () => activate('wasm'));
    } catch (e) {
      // The threaded binary depends on shims around Emscripten (see wasm-threads.ts); if they ever break, the
      // user gets the reason and the way around it rather than a silently slower run.
      throw new UlearnError(`wasm backend could not start with ${threads} threads: ${(e as Error).message}`, {
        code: 'E_BACKEND',
        cause: e,
        hint: 'run with --threads 1 for the single-threaded SIMD binary',
      });
    }
  } else {
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    await activate('wasm');
  }
  if (tf.env().getBool('WASM_HAS_SIMD_SUPPORT')) details.unshift('SIMD');
  registerWasmKernels();
  return { name: 'wasm', requested, threads: wasm.getThreadsCount(), details };
}

/**
 * The native kernels (oneDNN, see native.ts) over a started wasm backend. Throws a UlearnError saying why when
 * the add-on is missing or fails its self-check; the wasm backend then stays as it was.
 */
function addNative(wasmReport: BackendReport, requested: BackendName): BackendReport {
  const load = loadNative();
  if (!load.addon) {
    throw new UlearnError(`backend 'native' unavailable: ${load.why}`, {
      code: 'E_BACKEND',
      hint: 'build it with scripts/setup.sh (needs libdnnl-dev and a C++ compiler), or use --backend wasm',
    });
  }
  const addon = load.addon;
  const threads = wasmReport.threads ?? 1;
  addon.setThreads(threads);
  const problem = selfCheck(() => registerNativeKernels(addon));
  if (problem) {
    unregisterNativeKernels();
    throw new UlearnError(`backend 'native' failed its self-check: ${problem}`, {
      code: 'E_BACKEND',
      hint: 'report this with the engine line; --backend wasm runs without the native kernels',
    });
  }
  installFusedAdam(addon);
  const info = addon.info();
  return { name: 'native', requested, threads, over: 'wasm', details: [`oneDNN ${info.version}`, info.isa, ...wasmReport.details] };
}

/**
 * One small strided, padded conv and its two gradients, on wasm and then through `register` (the native
 * kernels): undefined when they agree, else what differs. A broken libdnnl or a wrong heap pointer shows here,
 * at start-up, instead of as a silently wrong model.
 */
function selfCheck(register: () => void): string | undefined {
  const run = () =>
    tf.tidy(() => {
      const x = tf.tensor4d(Array.from({ length: 2 * 7 * 7 * 3 }, (_, i) => Math.sin(i * 0.7)), [2, 7, 7, 3]);
      const w = tf.tensor4d(Array.from({ length: 3 * 3 * 3 * 4 }, (_, i) => Math.cos(i * 1.3)), [3, 3, 3, 4]);
      const f = (a: tf.Tensor4D, b: tf.Tensor4D) => tf.sum(tf.square(tf.conv2d(a, b, 2, 'same')));
      const [dx, dw] = tf.grads(f as (...t: tf.Tensor[]) => tf.Tensor)([x, w]);
      return [tf.conv2d(x, w, 2, 'same'), dx, dw].map((t) => t.dataSync() as Float32Array);
    });
  try {
    const want = run();
    register();
    const got = run();
    for (let k = 0; k < want.length; k++) {
      for (let i = 0; i < want[k].length; i++) {
        const tol = 1e-4 * Math.max(1, Math.abs(want[k][i]));
        if (!(Math.abs(got[k][i] - want[k][i]) <= tol)) return `${['conv', 'input gradient', 'filter gradient'][k]}[${i}] = ${got[k][i]}, wasm gives ${want[k][i]}`;
      }
    }
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/** Makes Dawn's WebGPU visible to tfjs under Node; returns the adapter description or throws why not. */
async function probeWebGpu(): Promise<string> {
  let mod: { create: (opts: string[]) => GPU; globals: Record<string, unknown> };
  try {
    mod = (await import('webgpu')) as unknown as typeof mod;
  } catch (e) {
    throw new UlearnError(`webgpu backend unavailable: the optional package 'webgpu' (Dawn) is not installed`, {
      code: 'E_BACKEND',
      cause: e,
      hint: 'npm install webgpu @tensorflow/tfjs-backend-webgpu',
    });
  }
  const g = globalThis as unknown as { navigator?: { gpu?: GPU } };
  if (!g.navigator?.gpu && !vulkanLoaderPresent()) {
    // Checked before Dawn starts: Dawn would print its own Vulkan warning to stderr on every command.
    throw new UlearnError('webgpu backend unavailable: no GPU adapter found (libvulkan.so.1, the Vulkan loader, is not installed)', {
      code: 'E_NO_GPU',
      hint: 'use --backend wasm on machines without a GPU; with a GPU, install its driver and the Vulkan loader (Debian: libvulkan1)',
    });
  }
  if (!g.navigator?.gpu && process.platform === 'linux') {
    // Dawn writes to stderr while it turns down software Vulkan drivers: ask in a child first (gpu-probe.ts).
    const probe = probeAdapterInChild();
    if (!probe.found) {
      throw new UlearnError(`webgpu backend unavailable: no GPU adapter found (${probe.why})`, { code: 'E_NO_GPU', hint: 'use --backend wasm on machines without a GPU' });
    }
  }
  if (!g.navigator?.gpu) {
    Object.assign(globalThis, mod.globals);
    Object.defineProperty(globalThis, 'navigator', { value: { gpu: mod.create([]) }, configurable: true, writable: true });
  }
  const adapter = await g.navigator!.gpu!.requestAdapter();
  if (!adapter) {
    throw new UlearnError('webgpu backend unavailable: no GPU adapter found (Dawn found no Vulkan/Metal/D3D12 device)', {
      code: 'E_NO_GPU',
      hint: 'use --backend wasm on machines without a GPU',
    });
  }
  const info = (adapter as unknown as { info?: { vendor?: string; architecture?: string; device?: string } }).info;
  return [info?.vendor, info?.architecture, info?.device].filter(Boolean).join(' ') || 'GPU adapter';
}

async function startWebGpu(requested: BackendName): Promise<BackendReport> {
  const adapter = await probeWebGpu();
  try {
    await import('@tensorflow/tfjs-backend-webgpu');
  } catch (e) {
    throw new UlearnError(`webgpu backend unavailable: '@tensorflow/tfjs-backend-webgpu' is not installed`, {
      code: 'E_BACKEND',
      cause: e,
      hint: 'npm install @tensorflow/tfjs-backend-webgpu',
    });
  }
  await activate('webgpu');
  return { name: 'webgpu', requested, details: [adapter] };
}

async function startTfjsNode(requested: BackendName): Promise<BackendReport> {
  try {
    // Optional and never a dependency: its install downloads libtensorflow. Module name kept in a variable so
    // bundlers and TypeScript do not try to resolve it.
    const modName = '@tensorflow/tfjs-node';
    await import(modName);
  } catch (e) {
    throw new UlearnError(`backend 'tensorflow' unavailable: @tensorflow/tfjs-node is not installed`, {
      code: 'E_BACKEND',
      cause: e,
      hint: 'npm install @tensorflow/tfjs-node (downloads libtensorflow), or use --backend wasm',
    });
  }
  await activate('tensorflow');
  return { name: 'tensorflow', requested, details: ['libtensorflow'] };
}

/** Lists the backends that could start here, for error messages. Cheap: does not start any. */
export async function availableBackends(): Promise<string> {
  const names = ['wasm', 'cpu'];
  for (const [mod, name] of [
    ['webgpu', 'webgpu (if a GPU adapter exists)'],
    ['@tensorflow/tfjs-node', 'tensorflow'],
  ] as const) {
    try {
      import.meta.resolve(mod);
      names.push(name);
    } catch {
      /* not installed */
    }
  }
  return names.join(', ');
}

/**
 * Starts the requested backend (once per process) and returns what runs. Throws a UlearnError naming the
 * reason when an explicitly requested backend cannot start.
 */
export async function initBackend(requested: string = 'auto', opts: BackendOptions = {}): Promise<BackendReport> {
  if (!isBackendName(requested)) {
    throw new UlearnError(`unknown backend '${requested}'`, {
      code: 'E_BACKEND',
      hint: `choose one of: ${BACKENDS.join(', ')}`,
    });
  }
  if (current) {
    if (requested === 'auto' || requested === current.name) return current;
    // Tests start wasm and then ask for native (or the reverse) on the same wasm backend: the kernels switch.
    if (current.name === 'wasm' && requested === 'native') return (current = addNative(current, requested));
    if (current.name === 'native' && requested === 'wasm') {
      unregisterNativeKernels();
      return (current = { ...current, name: 'wasm', requested, over: undefined, details: current.details.slice(2) });
    }
    throw new UlearnError(`backend already started as '${current.name}'; cannot switch to '${requested}' in one process`, {
      code: 'E_BACKEND',
    });
  }
  let report: BackendReport;
  switch (requested) {
    case 'wasm':
      report = await startWasm(requested, opts);
      break;
    case 'native':
      // Checked before wasm starts, so a missing add-on fails fast; addNative checks again after.
      if (!loadNative().addon) addNative({ name: 'wasm', requested, details: [] }, requested);
      report = addNative(await startWasm(requested, opts), requested);
      break;
    case 'webgpu':
      report = await startWebGpu(requested);
      break;
    case 'tensorflow':
      report = await startTfjsNode(requested);
      break;
    case 'cpu':
      await activate('cpu');
      report = { name: 'cpu', requested, details: ['pure JS, about 30x slower than wasm'] };
      break;
    case 'auto': {
      const skipped: string[] = [];
      report = await startTfjsNode(requested).catch(async () => {
        skipped.push('no tfjs-node');
        return startWebGpu(requested).catch(async (e: unknown) => {
          skipped.push(e instanceof UlearnError && e.code === 'E_NO_GPU' ? 'no GPU' : 'no webgpu');
          const wasmReport = await startWasm(requested, opts);
          try {
            return addNative(wasmReport, requested);
          } catch (n) {
            // Never silently: the engine line says why the native kernels are not in use.
            skipped.push(`no native: ${(n as Error).message.replace(/^backend 'native' (unavailable: )?/, '')}`);
            return wasmReport;
          }
        });
      });
      report.details.push(...skipped);
      break;
    }
  }
  current = report;
  return report;
}
