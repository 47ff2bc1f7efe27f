/**
 * Makes tfjs-backend-wasm's multi-threaded (pthreads + SIMD) binary start under Node.
 *
 * Why: the threaded build roughly doubles conv/matmul throughput on 2 cores (measured: conv 44 ms -> 25 ms,
 * matmul 25 -> 48 GFLOP/s), but out of the box it cannot start in Node:
 *  1. `WASM_HAS_MULTITHREAD_SUPPORT` is false under Node, so tfjs never tries it;
 *  2. Emscripten spawns its pthread workers from `blob:` URLs, which node:worker_threads rejects;
 *  3. the worker re-loads the factory source, which the Node bundle renamed (`require$$0`, `commonjsGlobal`);
 *  4. the thread pool size is hardwareConcurrency / 2 (assumes hyper-threading): 1 on a 2-core machine.
 * We fix each at the edge: record the text of Blobs tfjs creates, start eval workers from that text, hand the
 * factory source to workers as a temp file with the renamed modules defined, and report twice the core count
 * while the pool is created. Nothing inside tfjs is patched; if any step fails we fall back to the
 * single-threaded SIMD binary and say so.
 */
import { Worker as NodeWorker, type WorkerOptions } from 'node:worker_threads';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

type TextBlob = Blob & { __ulearnText?: string };

const blobTexts = new Map<string, string>();
let factoryFile: string | undefined;

// The Node bundle of tfjs-backend-wasm names its imports like this; the worker needs them defined.
const FACTORY_PRELUDE =
  'var require$$0=require("fs"),require$$1=require("path"),require$$3=require("perf_hooks"),' +
  'require$$4=require("os"),commonjsGlobal=globalThis;\n';

function writeFactoryFile(text: string): string {
  if (factoryFile === undefined) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ulearn-wasm-'));
    const file = path.join(dir, 'factory.js');
    // Written once, before any worker reads it: rewriting it per worker raced with readers.
    fs.writeFileSync(file, FACTORY_PRELUDE + text);
    process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
    factoryFile = file;
  }
  return factoryFile;
}

class BlobAwareWorker extends NodeWorker {
  constructor(url: string | URL, opts?: WorkerOptions) {
    const s = String(url);
    const text = blobTexts.get(s);
    if (s.startsWith('blob:') && text !== undefined) super(text, { ...opts, eval: true });
    else super(url, opts);
    // Pool threads idle between kernels; they must not keep a finished command's process alive.
    this.unref();
  }

  // Emscripten calls ref() whenever it hands a pool thread work, and the pool threads live forever: a ref'd
  // pool keeps every finished process (tests, CLI) alive. The main thread blocks while kernels run, so an
  // unref'd pool can never be cut off mid-kernel.
  override ref(): void {}

  override postMessage(msg: unknown, transfer?: readonly import('node:worker_threads').TransferListItem[]): void {
    const m = msg as { cmd?: string; urlOrBlob?: TextBlob } | null;
    if (m && m.cmd === 'load' && m.urlOrBlob && typeof m.urlOrBlob === 'object' && m.urlOrBlob.__ulearnText !== undefined) {
      msg = { ...m, urlOrBlob: writeFactoryFile(m.urlOrBlob.__ulearnText) };
    }
    super.postMessage(msg, transfer);
  }
}

/**
 * Runs `init` (which must create the wasm backend) with the shims in place; returns what `init` returns.
 * `threads` is the pool size wanted.
 */
export async function withThreadedWasm<T>(threads: number, init: () => Promise<T>): Promise<T> {
  const OrigBlob = globalThis.Blob;
  const origCreate = URL.createObjectURL;
  const origCpus = os.cpus;
  class RecordingBlob extends OrigBlob {
    __ulearnText?: string;
    constructor(parts?: BlobPart[], options?: BlobPropertyBag) {
      super(parts, options);
      if (Array.isArray(parts) && parts.every((p) => typeof p === 'string')) this.__ulearnText = parts.join('');
    }
  }
  globalThis.Blob = RecordingBlob;
  URL.createObjectURL = (obj: Blob) => {
    const url = origCreate(obj);
    const text = (obj as TextBlob).__ulearnText;
    if (text !== undefined) blobTexts.set(url, text);
    return url;
  };
  // Emscripten assigns global.Worker = worker_threads.Worker inside its factory; keep ours in place.
  // Workers can be spawned later (pool growth), so this stays installed for the process' lifetime.
  Object.defineProperty(globalThis, 'Worker', { get: () => BlobAwareWorker, set: () => {}, configurable: true });
  const fakeCpus = origCpus();
  const cpus = Array.from({ length: threads * 2 }, (_, i) => fakeCpus[i % Math.max(1, fakeCpus.length)]);
  os.cpus = () => cpus;
  const before = {
    uncaughtException: process.listeners('uncaughtException'),
    unhandledRejection: process.listeners('unhandledRejection'),
  };
  try {
    return await init();
  } finally {
    // Emscripten installs process-wide handlers that rethrow any error with its 70 KB source line attached;
    // our CLI handles errors itself, so remove what init added.
    const emitter = process as unknown as import('node:events').EventEmitter;
    for (const event of ['uncaughtException', 'unhandledRejection'] as const) {
      for (const l of emitter.listeners(event)) {
        if (!(before[event] as unknown[]).includes(l)) emitter.removeListener(event, l as (...a: unknown[]) => void);
      }
    }
    globalThis.Blob = OrigBlob;
    URL.createObjectURL = origCreate;
    os.cpus = origCpus;
  }
}
