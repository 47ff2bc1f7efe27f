/**
 * `npm run bench engine`: how fast ulearn trains on its engine, next to PyTorch on the same machine.
 *
 *  - rows: training throughput (img/s, mean ± sample std over timed windows after warm-up) of the reference CNN
 *    and a small BN ResNet + linear classifier, on wasm with 2 and 1 threads, against PyTorch CPU with the same
 *    thread count, architecture, batch, optimizer (Adam 1e-3) and step counts (bench/pytorch/engine.py);
 *  - kernels: GFLOP/s of the forward Conv2D and of the gradient convolutions (ours vs tfjs' built-in
 *    Conv2DBackpropInput), with aten's kernels for the same shapes alongside;
 *  - memory: 1000 training steps of the reference CNN, RSS and live tensors at start and end (must be flat);
 *  - simclr: SimCLR pretraining steps (ResNet 16-32-64 + projection head, 28x28x1, batch 256, NT-Xent, Adam) as
 *    the SSL trainer runs them, with and without the augmentations, in pairs/s, next to PyTorch's step;
 *  - encode: the SSL encoder (ResNet 16-32-64 on 28x28x1) run over 70,000 images (Fashion-MNIST's size) in
 *    inference mode, img/s and total seconds, next to PyTorch's;
 *  - each on wasm and on native (wasm + the oneDNN kernels, when the add-on is built), side by side.
 *
 * initBackend starts once per process, so each thread setting runs in its own child process
 * (`node --import tsx bench/engine.ts --worker train|memory ...`), one after the other, never in parallel.
 * Results go to bench/results/engine.json (written atomically). See bench/README.md.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type * as tfcore from '@tensorflow/tfjs-core';
import type * as tflayers from '@tensorflow/tfjs-layers';
import { writeJsonAtomic } from '../src/util/atomic.js';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const repoDir = path.dirname(benchDir);
const thisFile = fileURLToPath(import.meta.url);
/** OMP_WAIT_POLICY as the user started the benchmark, before anything here changed it. */
const USER_OMP_WAIT_POLICY = process.env.OMP_WAIT_POLICY;

// ---------------------------------------------------------------------------------------------------------
// What is measured

type Method = 'manual' | 'fit';

export interface ModelSpec {
  /** Row name. */
  name: string;
  kind: 'ref-cnn' | 'resnet';
  inputShape: [number, number, number];
  classes: number;
  widths?: number[];
  blocksPerStage?: number;
  warmup: number;
  windowSteps: number;
  windows: number;
}

export interface KernelSpec {
  label: string;
  /** [N, H, W, Cin] */
  x: [number, number, number, number];
  /** [kH, kW, Cin, Cout]; stride 1, 'same' padding. */
  filter: [number, number, number, number];
  gflop: number;
  /** Also time tfjs' built-in wasm Conv2DBackpropInput (slow: only for the shape the table compares). */
  builtin: boolean;
}

export interface BenchConfig {
  batch: number;
  models: ModelSpec[];
  kernels: KernelSpec[];
  kernelWindows: number;
  /** Seconds a kernel timing window lasts at least (reps are chosen from one timed call). */
  kernelWindowS: number;
  memory: { batch: number; steps: number; sampleEvery: number };
  encode: { name: string; inputShape: [number, number, number]; widths: number[]; blocksPerStage: number; images: number; batch: number };
  simclr: SimclrSpec;
}

/** The SimCLR row: the pipeline's image encoder and SimCLR's defaults (src/ssl/simclr.ts). */
export interface SimclrSpec {
  name: string;
  inputShape: [number, number, number];
  widths: number[];
  blocksPerStage: number;
  /** Pairs per step (2 x batch images). */
  batch: number;
  projHidden: number;
  projOut: number;
  temperature: number;
  lr: number;
  warmup: number;
  windowSteps: number;
  windows: number;
}

function kernelSpec(x: KernelSpec['x'], cout: number, builtin: boolean): KernelSpec {
  const [n, h, w, cin] = x;
  return {
    label: `${n}x${h}x${w}x${cin}->${cout} k3 s1`,
    x,
    filter: [3, 3, cin, cout],
    gflop: (2 * n * h * w * 9 * cin * cout) / 1e9,
    builtin,
  };
}

export function defaultConfig(quick: boolean, batch = 128): BenchConfig {
  const small = (full: number, q: number) => (quick ? q : full);
  return {
    batch,
    models: [
      { name: 'ref-cnn', kind: 'ref-cnn', inputShape: [32, 32, 3], classes: 10, warmup: small(3, 1), windowSteps: small(10, 2), windows: small(5, 3) },
      {
        name: 'resnet-32-64-128-bn',
        kind: 'resnet',
        inputShape: [32, 32, 3],
        classes: 10,
        widths: [32, 64, 128],
        blocksPerStage: 1,
        warmup: small(2, 1),
        windowSteps: small(3, 1),
        windows: 3,
      },
    ],
    kernels: [kernelSpec([batch, 16, 16, 32], 64, true), kernelSpec([batch, 32, 32, 32], 32, false)],
    kernelWindows: 3,
    kernelWindowS: small(0.5, 0.05),
    memory: { batch: 32, steps: small(1000, 40), sampleEvery: small(100, 10) },
    encode: { name: 'resnet-16-32-64', inputShape: [28, 28, 1], widths: [16, 32, 64], blocksPerStage: 1, images: small(70000, 1024), batch: 512 },
    simclr: {
      name: 'resnet-16-32-64',
      inputShape: [28, 28, 1],
      widths: [16, 32, 64],
      blocksPerStage: 1,
      batch: 256,
      projHidden: 512,
      projOut: 128,
      temperature: 0.2,
      lr: 1e-3,
      warmup: small(2, 1),
      windowSteps: small(4, 1),
      windows: small(3, 2),
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// Small utilities

export function meanStd(xs: number[]): { mean: number; std: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const std = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1)) : 0;
  return { mean, std };
}

function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** CPU seconds all processes on the machine have been busy (Linux /proc/stat), or null elsewhere. */
function machineBusySeconds(): number | null {
  try {
    const fields = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, , , irq, softirq, steal] = fields;
    return (user + nice + system + irq + softirq + (steal ?? 0)) / 100; // USER_HZ is 100 on Linux
  } catch {
    return null;
  }
}

/** One measured child process: how long, how much CPU it used, and how many cores everything else kept busy. */
interface RunRecord {
  what: string;
  wall_s: number;
  cpu_s: number;
  others_cores: number | null;
}
const runRecords: RunRecord[] = [];

async function recorded<T extends { cpu_s: number }>(what: string, f: () => Promise<T>): Promise<T> {
  const busy0 = machineBusySeconds();
  const t0 = performance.now();
  const value = await f();
  const wall = (performance.now() - t0) / 1000;
  const busy1 = machineBusySeconds();
  const others = busy0 === null || busy1 === null ? null : Math.max(0, busy1 - busy0 - value.cpu_s) / wall;
  runRecords.push({ what, wall_s: wall, cpu_s: value.cpu_s, others_cores: others });
  if (others !== null && others > 0.25) log(`bench: WARNING other processes kept ${others.toFixed(2)} cores busy during '${what}': its timings are low and noisy`);
  return value;
}

/** Above this many cores used by other processes during a timed window, the window is measured again. */
const MAX_OTHERS_CORES = 0.1;
const WINDOW_RETRIES = 3;

/**
 * Runs `windows` timed windows of `body`. The machine may be shared: a window during which other processes
 * kept more than MAX_OTHERS_CORES cores busy (from /proc/stat minus this process' own CPU time) is measured
 * again, up to WINDOW_RETRIES times; after that it is kept, `others` shows how disturbed it was, and the
 * remaining windows are not retried (the machine is busy for longer than retrying can wait out).
 */
async function cleanWindows(windows: number, body: () => Promise<void>): Promise<{ seconds: number[]; others: Array<number | null>; retried: number }> {
  const seconds: number[] = [];
  const others: Array<number | null> = [];
  let retried = 0;
  let retries = WINDOW_RETRIES;
  for (let w = 0; w < windows; w++) {
    for (let attempt = 0; ; attempt++) {
      const busy0 = machineBusySeconds();
      const own0 = cpuSeconds();
      const t0 = performance.now();
      await body();
      const sec = (performance.now() - t0) / 1000;
      const busy1 = machineBusySeconds();
      const o = busy0 === null || busy1 === null ? null : Math.max(0, busy1 - busy0 - (cpuSeconds() - own0)) / sec;
      if (o === null || o <= MAX_OTHERS_CORES || attempt >= retries) {
        if (attempt >= retries) retries = 0;
        seconds.push(sec);
        others.push(o);
        break;
      }
      retried++;
      log(`  window disturbed (other processes used ${o.toFixed(2)} cores): measuring it again`);
    }
  }
  return { seconds, others, retried };
}

function log(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

/** Runs a child process; stderr goes to ours line by line with a prefix, stdout is returned. */
function runChild(cmd: string, args: string[], prefix: string, env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: repoDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let pending = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      pending += d.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      // Emscripten errors carry a 70 KB source line; keep what a reader can use.
      for (const line of lines) if (line.trim()) log(`${prefix} ${line.length > 400 ? `${line.slice(0, 400)}…` : line}`);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (pending.trim()) log(`${prefix} ${pending.slice(0, 400)}`);
      resolve({ code: code ?? 1, stdout });
    });
  });
}

// ---------------------------------------------------------------------------------------------------------
// Worker side: runs inside one process with one backend / thread setting

interface TrainResult {
  model: string;
  method: Method;
  params: number;
  trainable_params: number;
  img_s: number;
  img_s_std: number;
  windows: number[];
  loss_first: number;
  loss_last: number;
  /** Live tensors after the timed windows minus before them (0 = no leak per step). */
  tensors_delta: number;
  /** Per kept window: cores other processes kept busy meanwhile (see cleanWindows). */
  others_cores: Array<number | null>;
  windows_retried: number;
}

interface KernelRow {
  kernel: string;
  impl: string;
  shape: string;
  gflop: number;
  ms: number;
  ms_std: number;
  gflops: number;
  gflops_std: number;
  reps: number;
  others_cores: Array<number | null>;
  windows_retried: number;
}

interface DiagnosticRow {
  what: string;
  shape: string;
  ms: number;
  ms_std: number;
  note: string;
}

interface TrainWorkerResult {
  backend: string;
  describe: string;
  threads: number | null;
  training: TrainResult[];
  kernels: KernelRow[];
  diagnostics: DiagnosticRow[];
  encode: EncodeResult | null;
  simclr: SimclrResult | null;
  /** CPU seconds this process used (all its threads). */
  cpu_s: number;
}

interface PairsRate {
  pairs_s: number;
  pairs_s_std: number;
  windows: number[];
  loss_first: number;
  loss_last: number;
  tensors_delta: number;
  others_cores: Array<number | null>;
  windows_retried: number;
}

interface SimclrResult {
  params: number;
  /** trainSSL with SimCLR's augmentations: what pretraining runs at. */
  trainer: PairsRate;
  /** trainSSL with the batch itself as both views: the step without the augmentations. */
  no_augment: PairsRate;
}

interface EncodeResult {
  images: number;
  seconds: number;
  img_s: number;
}

interface MemorySample {
  step: number;
  rss_mb: number;
  heap_used_mb: number;
  num_tensors: number;
  num_bytes: number;
  wasm_memory_mb: number | null;
}

interface MemoryResult {
  model: string;
  backend: string;
  threads: number | null;
  method: Method;
  batch: number;
  steps: number;
  seconds: number;
  samples: MemorySample[];
  start: MemorySample;
  end: MemorySample;
  rss_growth_mb: number;
  tensors_growth: number;
  flat: boolean;
  loss_first: number;
  loss_last: number;
  cpu_s: number;
}

interface Engine {
  tf: typeof tfcore;
  backend: string;
  describe: string;
  threads: number | null;
}

async function startEngine(backend: string, threads: number | undefined): Promise<Engine> {
  const tf = await import('@tensorflow/tfjs-core');
  const { initBackend, describeBackend } = await import('../src/engine/index.js');
  const report = await initBackend(backend, { threads });
  return { tf, backend: report.name, describe: describeBackend(report), threads: report.threads ?? null };
}

async function buildModel(spec: ModelSpec): Promise<tflayers.LayersModel> {
  if (spec.kind === 'ref-cnn') {
    const { buildReferenceCnn } = await import('../src/models/reference-cnn.js');
    return buildReferenceCnn({ inputShape: spec.inputShape, classes: spec.classes, seed: 0 });
  }
  const { buildResNetEncoder, classifierHead, attachHead, featureDim } = await import('../src/models/resnet.js');
  const encoder = buildResNetEncoder({ inputShape: spec.inputShape, widths: spec.widths ?? [32, 64, 128], blocksPerStage: spec.blocksPerStage ?? 1, seed: 0 });
  return attachHead(encoder, classifierHead(featureDim(encoder), spec.classes, { seed: 0 }));
}

/**
 * A function that runs n training steps on a fixed random batch and returns the last loss, read back from the
 * device (so timing a call includes all its work, also on webgpu). `manual`: optimizer.minimize over the
 * model's trainable variables, BN in training mode. `fit`: model.fit on `n` copies of the batch.
 */
function makeTrainer(e: Engine, model: tflayers.LayersModel, spec: Pick<ModelSpec, 'inputShape' | 'classes'>, method: Method, batch: number, maxSteps: number) {
  const { tf } = e;
  const x = tf.randomNormal([batch, ...spec.inputShape], 0, 1, 'float32', 1);
  const y = tf.tidy(() => tf.oneHot(tf.randomUniform([batch], 0, spec.classes, 'int32', 2) as tfcore.Tensor1D, spec.classes));
  const optimizer = tf.train.adam(1e-3, 0.9, 0.999, 1e-8);
  const keep: tfcore.Tensor[] = [x, y];
  let steps: (n: number) => Promise<number>;
  if (method === 'manual') {
    const vars = model.trainableWeights.map((w) => w.read() as tfcore.Variable);
    const lossFn = () => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tfcore.Tensor) as tfcore.Scalar;
    steps = async (n) => {
      let last: tfcore.Scalar | null = null;
      for (let i = 0; i < n; i++) {
        last?.dispose();
        last = optimizer.minimize(lossFn, true, vars);
      }
      const v = (await last!.data())[0];
      last!.dispose();
      return v;
    };
  } else {
    model.compile({ optimizer, loss: (yt: tfcore.Tensor, yp: tfcore.Tensor) => tf.losses.softmaxCrossEntropy(yt, yp) });
    const xs = tf.tile(x, [maxSteps, 1, 1, 1]);
    const ys = tf.tile(y, [maxSteps, 1]);
    keep.push(xs, ys);
    steps = async (n) => {
      const [xn, yn] = n === maxSteps ? [xs, ys] : [tf.slice(xs, 0, n * batch), tf.slice(ys, 0, n * batch)];
      const h = await model.fit(xn, yn, { batchSize: batch, epochs: 1, shuffle: false, verbose: 0 });
      if (n !== maxSteps) tf.dispose([xn, yn]);
      return h.history.loss[0] as number;
    };
  }
  return { steps, dispose: () => (tf.dispose(keep), optimizer.dispose()) };
}

async function measureTraining(e: Engine, spec: ModelSpec, method: Method, batch: number): Promise<TrainResult> {
  const model = await buildModel(spec);
  const trainer = makeTrainer(e, model, spec, method, batch, spec.windowSteps);
  const losses = [await trainer.steps(spec.warmup)];
  const tensorsBefore = e.tf.memory().numTensors;
  const timed = await cleanWindows(spec.windows, async () => {
    losses.push(await trainer.steps(spec.windowSteps));
  });
  const rates = timed.seconds.map((sec) => (spec.windowSteps * batch) / sec);
  const tensorsDelta = e.tf.memory().numTensors - tensorsBefore;
  const { mean, std } = meanStd(rates);
  trainer.dispose();
  const result: TrainResult = {
    model: spec.name,
    method,
    params: model.countParams(),
    trainable_params: model.trainableWeights.reduce((a, w) => a + w.shape.reduce((p: number, d) => p * (d ?? 1), 1), 0),
    img_s: mean,
    img_s_std: std,
    windows: rates,
    loss_first: losses[0],
    loss_last: losses[losses.length - 1],
    tensors_delta: tensorsDelta,
    others_cores: timed.others,
    windows_retried: timed.retried,
  };
  model.dispose();
  log(`${spec.name} [${method}] ${mean.toFixed(1)} ± ${std.toFixed(1)} img/s (loss ${result.loss_first.toFixed(3)} -> ${result.loss_last.toFixed(3)})`);
  return result;
}

/** Times `op` (which returns its output) in windows of `reps` calls; reads the last output back per window. */
async function timeOp(
  e: Engine,
  op: () => tfcore.Tensor,
  windows: number,
  windowS: number,
): Promise<{ ms: number[]; reps: number; others: Array<number | null>; retried: number }> {
  const once = async () => {
    const t0 = performance.now();
    const y = op();
    await y.data();
    y.dispose();
    return performance.now() - t0;
  };
  await once();
  const one = await once();
  const reps = Math.max(1, Math.ceil((windowS * 1000) / Math.max(one, 1e-3)));
  const timed = await cleanWindows(windows, async () => {
    let y: tfcore.Tensor | null = null;
    for (let r = 0; r < reps; r++) {
      y?.dispose();
      y = op();
    }
    await y!.data();
    y!.dispose();
  });
  return { ms: timed.seconds.map((sec) => (sec * 1000) / reps), reps, others: timed.others, retried: timed.retried };
}

async function measureKernels(e: Engine, cfg: BenchConfig): Promise<{ kernels: KernelRow[]; diagnostics: DiagnosticRow[] }> {
  const { tf } = e;
  const { registerWasmKernels, restoreBuiltinWasmKernels } = await import('../src/engine/index.js');
  const kernels: KernelRow[] = [];
  const diagnostics: DiagnosticRow[] = [];
  const wasm = e.backend === 'wasm';
  for (const k of cfg.kernels) {
    const [n, h, w] = k.x;
    const cout = k.filter[3];
    const x = tf.randomNormal(k.x, 0, 1, 'float32', 3);
    const filter = tf.randomNormal(k.filter, 0, 1, 'float32', 4);
    const dy = tf.randomNormal([n, h, w, cout], 0, 1, 'float32', 5);
    const conv = { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', dilations: [1, 1] };
    const ops: Array<{ kernel: string; impl: string; op: () => tfcore.Tensor; builtin?: boolean }> = [
      { kernel: 'Conv2D', impl: wasm ? 'tfjs-wasm (XNNPACK)' : e.backend, op: () => tf.engine().runKernel('Conv2D', { x, filter }, conv) as tfcore.Tensor },
      {
        kernel: 'Conv2DBackpropFilter',
        impl: wasm ? 'ulearn' : e.backend,
        op: () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { ...conv, filterShape: k.filter }) as tfcore.Tensor,
      },
      {
        kernel: 'Conv2DBackpropInput',
        impl: wasm ? 'ulearn' : e.backend,
        op: () => tf.engine().runKernel('Conv2DBackpropInput', { dy, filter }, { ...conv, inputShape: k.x }) as tfcore.Tensor,
      },
    ];
    if (wasm && k.builtin) {
      ops.push({
        kernel: 'Conv2DBackpropInput',
        impl: 'tfjs-wasm built-in',
        builtin: true,
        op: () => tf.engine().runKernel('Conv2DBackpropInput', { dy, filter }, { ...conv, inputShape: k.x }) as tfcore.Tensor,
      });
    }
    for (const o of ops) {
      if (o.builtin) restoreBuiltinWasmKernels();
      try {
        const { ms, reps, others, retried } = await timeOp(e, o.op, cfg.kernelWindows, cfg.kernelWindowS);
        const t = meanStd(ms);
        const g = meanStd(ms.map((m) => k.gflop / (m / 1000)));
        kernels.push({
          kernel: o.kernel,
          impl: o.impl,
          shape: k.label,
          gflop: k.gflop,
          ms: t.mean,
          ms_std: t.std,
          gflops: g.mean,
          gflops_std: g.std,
          reps,
          others_cores: others,
          windows_retried: retried,
        });
        log(`kernel ${o.kernel} [${o.impl}] ${k.label}: ${t.mean.toFixed(1)} ms, ${g.mean.toFixed(1)} GFLOP/s`);
      } finally {
        if (o.builtin) registerWasmKernels();
      }
    }
    tf.dispose([x, filter, dy]);
  }
  // The BN gradient of tfjs-core (FusedBatchNorm_grad) tiles 1/sqrt(var) to the whole activation shape.
  {
    const [n, h, w, c] = [cfg.batch, 32, 32, 32];
    const v = tf.randomUniform([1, 1, 1, c], 0.5, 1, 'float32', 6);
    const { ms } = await timeOp(e, () => tf.tile(v, [n, h, w, 1]), cfg.kernelWindows, cfg.kernelWindowS);
    const t = meanStd(ms);
    diagnostics.push({
      what: 'Tile',
      shape: `[1,1,1,${c}] -> [${n},${h},${w},${c}]`,
      ms: t.mean,
      ms_std: t.std,
      note: "tfjs-core's FusedBatchNorm gradient tiles 1/sqrt(var + eps) to the activation shape: one such Tile per BN layer per step",
    });
    log(`diagnostic Tile [1,1,1,${c}] -> [${n},${h},${w},${c}]: ${t.mean.toFixed(1)} ms`);
    v.dispose();
  }
  return { kernels, diagnostics };
}

function wasmMemoryMb(e: Engine): number | null {
  const b = e.tf.backend() as unknown as { wasm?: { wasmMemory?: WebAssembly.Memory; HEAPU8?: Uint8Array } };
  const bytes = b.wasm?.wasmMemory?.buffer.byteLength ?? b.wasm?.HEAPU8?.buffer.byteLength;
  return bytes === undefined ? null : bytes / 2 ** 20;
}

async function memoryRun(e: Engine, cfg: BenchConfig, method: Method): Promise<MemoryResult> {
  const { batch, steps, sampleEvery } = cfg.memory;
  const spec = defaultConfig(false).models[0];
  const model = await buildModel(spec);
  const trainer = makeTrainer(e, model, spec, method, batch, sampleEvery);
  // A full GC before each sample: without it RSS follows V8's old space, which grows between major GCs with the
  // garbage of ~100 JS objects per op (measured over 1,500 steps: heapTotal 63 -> 81 MB, then flat, with tensors,
  // the wasm heap and external memory flat), and reads as a leak. The worker runs with --expose-gc.
  const gc = (globalThis as { gc?: () => void }).gc;
  const sample = (step: number): MemorySample => {
    gc?.();
    const m = e.tf.memory();
    const mu = process.memoryUsage();
    return { step, rss_mb: mu.rss / 2 ** 20, heap_used_mb: mu.heapUsed / 2 ** 20, num_tensors: m.numTensors, num_bytes: m.numBytes, wasm_memory_mb: wasmMemoryMb(e) };
  };
  const samples = [sample(0)];
  const t0 = performance.now();
  const lossFirst = await trainer.steps(1);
  samples.push(sample(1));
  let done = 1;
  let loss = lossFirst;
  while (done < steps) {
    const n = Math.min(sampleEvery - (done % sampleEvery), steps - done);
    loss = await trainer.steps(n);
    done += n;
    samples.push(sample(done));
    if (done % (sampleEvery * 2) === 0 || done === steps) log(`memory: step ${done}/${steps}, rss ${samples[samples.length - 1].rss_mb.toFixed(0)} MB, ${samples[samples.length - 1].num_tensors} tensors`);
  }
  const seconds = (performance.now() - t0) / 1000;
  trainer.dispose();
  model.dispose();
  // Start = after the first step (optimizer slots, kernel caches and the wasm heap exist from then on).
  const start = samples[1];
  const end = samples[samples.length - 1];
  const rssGrowth = end.rss_mb - start.rss_mb;
  const tensorsGrowth = end.num_tensors - start.num_tensors;
  return {
    model: spec.name,
    backend: e.backend,
    threads: e.threads,
    method,
    batch,
    steps,
    seconds,
    samples,
    start,
    end,
    rss_growth_mb: rssGrowth,
    tensors_growth: tensorsGrowth,
    flat: tensorsGrowth === 0 && rssGrowth < Math.max(32, 0.1 * start.rss_mb),
    loss_first: lossFirst,
    loss_last: loss,
    cpu_s: cpuSeconds(),
  };
}

/**
 * `encode` (src/models/encode.ts, the one inference pass: BN folded into the convs) over `images` images, in
 * `batch`-sized forward passes, as encoding a data set does. The images are one random batch repeated (values
 * do not change the cost), so no decoding is timed; copying them in and the features out is.
 */
async function measureEncode(e: Engine, cfg: BenchConfig): Promise<EncodeResult> {
  const c = cfg.encode;
  const { buildResNetEncoder } = await import('../src/models/resnet.js');
  const { encode } = await import('../src/models/encode.js');
  const { Rng } = await import('../src/engine/seed.js');
  const encoder = buildResNetEncoder({ inputShape: c.inputShape, widths: c.widths, blocksPerStage: c.blocksPerStage, seed: 0 });
  const size = c.inputShape.reduce((a, b) => a * b, 1);
  const rng = new Rng(3);
  const batch = Float32Array.from({ length: c.batch * size }, () => rng.random());
  const x = new Float32Array(c.images * size);
  for (let i = 0; i < c.images; i += c.batch) x.set(batch.subarray(0, Math.min(c.batch, c.images - i) * size), i * size);
  encode(encoder, batch, c.inputShape, { batchSize: c.batch }); // warm-up: primitives and packings are built on the first call
  const t0 = performance.now();
  encode(encoder, x, c.inputShape, { batchSize: c.batch });
  const seconds = (performance.now() - t0) / 1000;
  encoder.dispose();
  log(`encode: ${c.images} images in ${seconds.toFixed(1)} s (${(c.images / seconds).toFixed(0)} img/s)`);
  return { images: c.images, seconds, img_s: c.images / seconds };
}

/**
 * SimCLR pretraining as `trainSSL` (src/ssl/trainer.ts) runs it: seeded batches from a pool of random images,
 * SimCLR's two augmented views, the method's step (encoder + projection head, NT-Xent, Adam; the fused Adam
 * on native), timed in windows of `windowSteps` steps; then the same with the batch itself as both views, the
 * step without the augmentations (what PyTorch's peer does). Pairs/s = batch x steps / seconds.
 */
async function measureSimclr(e: Engine, cfg: BenchConfig): Promise<SimclrResult> {
  const { tf } = e;
  const c = cfg.simclr;
  const { buildResNetEncoder } = await import('../src/models/resnet.js');
  const { createSSLMethod, createSSLViews } = await import('../src/ssl/registry.js');
  const { trainSSL } = await import('../src/ssl/trainer.js');
  const { simclrAugment } = await import('../src/augment/presets.js');
  const { Rng } = await import('../src/engine/seed.js');
  const size = c.inputShape.reduce((a, b) => a * b, 1);
  const poolRng = new Rng(4);
  const pool = Float32Array.from({ length: 4 * c.batch * size }, () => poolRng.random());
  const rate = async (variant: 'trainer' | 'no_augment'): Promise<{ params: number; rate: PairsRate }> => {
    const encoder = buildResNetEncoder({ inputShape: c.inputShape, widths: c.widths, blocksPerStage: c.blocksPerStage, seed: 0 });
    const sslConfig = { encoder, inputShape: c.inputShape, augment: simclrAugment(c.inputShape), seed: 0, lr: c.lr, projHidden: c.projHidden, projOut: c.projOut, temperature: c.temperature };
    const method = createSSLMethod('simclr', sslConfig);
    const views = variant === 'trainer' ? createSSLViews('simclr', sslConfig) : (batch: tfcore.Tensor) => [tf.clone(batch), tf.clone(batch)];
    const rng = new Rng(5);
    const losses: number[] = [];
    const steps = async (n: number) => {
      // Each step's loss is read back by the method (dataSync), so a window's time includes all its work.
      await trainSSL({ method, views, x: pool, batchSize: c.batch, epochs: Infinity, maxSteps: n, rng, every: n, onCheckpoint: (k) => void losses.push(k.meanLoss) });
    };
    await steps(c.warmup);
    const tensorsBefore = tf.memory().numTensors;
    const timed = await cleanWindows(c.windows, () => steps(c.windowSteps));
    const tensorsDelta = tf.memory().numTensors - tensorsBefore;
    const rates = timed.seconds.map((sec) => (c.windowSteps * c.batch) / sec);
    const { mean, std } = meanStd(rates);
    const params = encoder.countParams() + (method.head?.countParams() ?? 0);
    method.dispose();
    encoder.dispose();
    log(`simclr [${variant}] ${mean.toFixed(1)} ± ${std.toFixed(1)} pairs/s (loss ${losses[0].toFixed(3)} -> ${losses[losses.length - 1].toFixed(3)})`);
    return {
      params,
      rate: { pairs_s: mean, pairs_s_std: std, windows: rates, loss_first: losses[0], loss_last: losses[losses.length - 1], tensors_delta: tensorsDelta, others_cores: timed.others, windows_retried: timed.retried },
    };
  };
  const trainer = await rate('trainer');
  const noAugment = await rate('no_augment');
  return { params: trainer.params, trainer: trainer.rate, no_augment: noAugment.rate };
}

interface WorkerArgs {
  mode: 'train' | 'memory';
  backend: string;
  threads?: number;
  config: BenchConfig;
  /** Per model name, the methods to measure. */
  methods: Record<string, Method[]>;
  memoryMethod: Method;
  kernels: boolean;
  encode: boolean;
  simclr: boolean;
  result: string;
}

async function workerMain(w: WorkerArgs): Promise<number> {
  const e = await startEngine(w.backend, w.threads);
  log(e.describe);
  if (w.mode === 'memory') {
    await writeJsonAtomic(w.result, await memoryRun(e, w.config, w.memoryMethod));
    return 0;
  }
  const training: TrainResult[] = [];
  for (const spec of w.config.models) {
    for (const method of w.methods[spec.name] ?? ['manual']) training.push(await measureTraining(e, spec, method, w.config.batch));
  }
  const { kernels, diagnostics } = w.kernels ? await measureKernels(e, w.config) : { kernels: [], diagnostics: [] };
  const encode = w.encode ? await measureEncode(e, w.config) : null;
  const simclr = w.simclr ? await measureSimclr(e, w.config) : null;
  const out: TrainWorkerResult = { backend: e.backend, describe: e.describe, threads: e.threads, training, kernels, diagnostics, encode, simclr, cpu_s: cpuSeconds() };
  await writeJsonAtomic(w.result, out);
  return 0;
}

async function spawnWorker<T>(w: Omit<WorkerArgs, 'result'>, label: string): Promise<T> {
  const result = path.join(os.tmpdir(), `ulearn-bench-${process.pid}-${Date.now()}.json`);
  const args = ['--expose-gc', '--import', 'tsx', thisFile, '--worker', JSON.stringify({ ...w, result })];
  const { code } = await runChild(process.execPath, args, `  [${label}]`);
  if (code !== 0 || !fs.existsSync(result)) throw new Error(`bench worker '${label}' failed (exit ${code})`);
  const value = JSON.parse(fs.readFileSync(result, 'utf8')) as T;
  fs.rmSync(result, { force: true });
  return value;
}

// ---------------------------------------------------------------------------------------------------------
// PyTorch side

interface TorchModelResult {
  model: string;
  params: number;
  img_s: number;
  img_s_std: number;
  windows: number[];
  loss_first: number;
  loss_last: number;
  others_cores: Array<number | null>;
  windows_retried: number;
  /** The faster memory format, whose numbers these are; both in by_format. */
  format: string;
  by_format: Record<string, { mean: number; std: number }>;
}

interface TorchKernelResult {
  kernel: string;
  shape: string;
  gflops: number;
  gflops_std: number;
  ms: number;
  others_cores: Array<number | null>;
  windows_retried: number;
  format: string;
  by_format: Record<string, { mean: number; std: number }>;
}

interface TorchResult {
  cpu_s: number;
  torch: string;
  python: string;
  threads: number;
  device: string;
  models: TorchModelResult[];
  kernels: TorchKernelResult[];
  encode?: { images: number; seconds: number; img_s: number };
  simclr?: TorchSimclrResult;
}

interface TorchSimclrResult {
  params: number;
  pairs_s: number;
  pairs_s_std: number;
  windows: number[];
  loss_first: number;
  loss_last: number;
  others_cores: Array<number | null>;
  windows_retried: number;
  format: string;
  by_format: Record<string, { mean: number; std: number }>;
}

/** What a PyTorch training measurement (a model row or the SimCLR step) shares with the others. */
type TorchPeer = Pick<TorchModelResult, 'params' | 'windows' | 'loss_first' | 'loss_last' | 'others_cores' | 'format' | 'by_format'>;

/**
 * The PyTorch columns every training row carries (null where PyTorch was skipped); each row adds its own rate
 * columns. Warns when the peer's parameter count differs from ulearn's: then the two did not train the same net.
 */
function peerColumns(p: TorchPeer | undefined, t: TorchResult | null | undefined, what: string, ulearnParams: number) {
  if (p && p.params !== ulearnParams) log(`bench: WARNING ${what}: ulearn has ${ulearnParams} parameters, PyTorch ${p.params}`);
  return {
    pytorch_windows: p?.windows ?? null,
    pytorch_threads: t?.threads ?? null,
    pytorch_params: p?.params ?? null,
    pytorch_format: p?.format ?? null,
    pytorch_by_format: p?.by_format ?? null,
    pytorch_loss: p ? [p.loss_first, p.loss_last] : null,
    pytorch_others_cores: p?.others_cores ?? null,
  };
}

/** A python3 that imports torch; installs Debian's python3-torch (as root) when none does. */
export function findTorchPython(install = true): { python: string; version: string } | { error: string } {
  const candidates = [...new Set([process.env.PYTHON, 'python3', '/usr/bin/python3'].filter((c): c is string => !!c))];
  const probe = () => {
    for (const python of candidates) {
      const r = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
      if (r.status === 0) return { python, version: r.stdout.trim() };
    }
    return undefined;
  };
  const found = probe();
  if (found || !install) return found ?? { error: 'no python3 here imports torch' };
  const root = process.getuid?.() === 0;
  const hasSudo = spawnSync('sudo', ['-n', 'true']).status === 0;
  if (!root && !hasSudo) return { error: 'no python3 here imports torch, and installing python3-torch needs root: apt-get install -y python3-torch' };
  const apt = (args: string[]) => {
    const [cmd, full] = root ? ['apt-get', args] : ['sudo', ['-n', 'apt-get', ...args]];
    log(`bench: ${cmd} ${full.join(' ')}`);
    return spawnSync(cmd, full, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }).status === 0;
  };
  if (!apt(['install', '-y', 'python3-torch'])) {
    apt(['update']);
    apt(['install', '-y', 'python3-torch']);
  }
  return probe() ?? { error: 'apt-get install python3-torch did not give a python3 that imports torch' };
}

async function runPytorch(python: string, cfg: BenchConfig, threads: number, device: string, encode: boolean, simclr: boolean): Promise<TorchResult> {
  const pyCfg = {
    batch: cfg.batch,
    models: cfg.models,
    kernels: cfg.kernels.map((k) => ({ label: k.label, x: k.x, filter: k.filter, gflop: k.gflop })),
    kernelWindows: cfg.kernelWindows,
    kernelWindowS: cfg.kernelWindowS,
    encode: encode ? cfg.encode : null,
    simclr: simclr ? cfg.simclr : null,
  };
  const script = path.join(benchDir, 'pytorch', 'engine.py');
  // PyTorch runs with its own OpenMP defaults: loading the native add-on in this process sets
  // OMP_WAIT_POLICY=PASSIVE (src/engine/native.ts), which must not leak into the peer we compare against.
  const env: NodeJS.ProcessEnv = { ...process.env, OMP_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads) };
  if (USER_OMP_WAIT_POLICY === undefined) delete env.OMP_WAIT_POLICY;
  else env.OMP_WAIT_POLICY = USER_OMP_WAIT_POLICY;
  const { code, stdout } = await runChild(python, [script, '--threads', String(threads), '--device', device, '--config', JSON.stringify(pyCfg)], `  [pytorch ${threads}t]`, env);
  const line = stdout.trim().split('\n').pop() ?? '';
  if (code !== 0 || !line.startsWith('{')) throw new Error(`bench/pytorch/engine.py failed (exit ${code})`);
  return JSON.parse(line) as TorchResult;
}

// ---------------------------------------------------------------------------------------------------------
// Parent: options, orchestration, report

interface Options {
  /** wasm and native share a results file (side by side); webgpu has its own. */
  backends: Array<'wasm' | 'native' | 'webgpu'>;
  threads: number[];
  quick: boolean;
  batch: number;
  out: string;
  pytorch: boolean;
  kernels: boolean;
  memory: boolean;
  encode: boolean;
  simclr: boolean;
}

const USAGE = `usage: npm run bench engine [-- options]
  --backend wasm,native   engines to measure, side by side (default wasm,native; native is left out, saying
                          why, where its add-on is not built); or webgpu (PyTorch uses CUDA when it has it)
  --threads 2,1           thread settings, one child process each (default 2,1)
  --batch N               training batch (default 128)
  --quick                 a few steps only (smoke test; numbers are not meaningful)
  --no-pytorch            skip the PyTorch side
  --no-kernels            skip the kernel rows
  --no-memory             skip the memory-flatness run
  --no-encode             skip the encode rows
  --no-simclr             skip the SimCLR pretraining rows
  --out FILE              default bench/results/engine.json (engine-webgpu.json for --backend webgpu)`;

export function parseOptions(args: string[]): Options {
  const o: Options = { backends: ['wasm', 'native'], threads: [2, 1], quick: false, batch: 128, out: '', pytorch: true, kernels: true, memory: true, encode: true, simclr: true };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const value = () => {
      const v = args[++i];
      if (v === undefined) throw new Error(`${a} needs a value\n${USAGE}`);
      return v;
    };
    if (a === '--backend') {
      const v = value().split(',');
      if (v.some((b) => b !== 'wasm' && b !== 'native' && b !== 'webgpu') || (v.includes('webgpu') && v.length > 1)) {
        throw new Error(`--backend takes wasm, native or both (wasm,native), or webgpu alone; got '${v.join(',')}'`);
      }
      o.backends = v as Options['backends'];
    } else if (a === '--threads') {
      o.threads = value()
        .split(',')
        .map((s) => Number(s));
      if (!o.threads.length || o.threads.some((t) => !Number.isInteger(t) || t < 1)) throw new Error('--threads takes positive integers, e.g. 2,1');
    } else if (a === '--batch') {
      o.batch = Number(value());
      if (!Number.isInteger(o.batch) || o.batch < 1) throw new Error('--batch takes a positive integer');
    } else if (a === '--quick') o.quick = true;
    else if (a === '--no-pytorch') o.pytorch = false;
    else if (a === '--no-kernels') o.kernels = false;
    else if (a === '--no-memory') o.memory = false;
    else if (a === '--no-encode') o.encode = false;
    else if (a === '--no-simclr') o.simclr = false;
    else if (a === '--out') o.out = path.resolve(value());
    else if (a === '--help' || a === '-h') throw new Error(USAGE);
    else throw new Error(`unknown option '${a}'\n${USAGE}`);
  }
  if (!o.out) o.out = path.join(benchDir, 'results', o.backends[0] === 'webgpu' ? 'engine-webgpu.json' : 'engine.json');
  return o;
}

function gitState(): { commit: string | null; dirty_engine_files: string[] } {
  const rev = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: repoDir, encoding: 'utf8' });
  const st = spawnSync('git', ['status', '--porcelain', 'src/engine', 'src/models'], { cwd: repoDir, encoding: 'utf8' });
  return {
    commit: rev.status === 0 ? rev.stdout.trim() : null,
    dirty_engine_files: st.status === 0 ? st.stdout.split('\n').filter(Boolean).map((l) => l.trim()) : [],
  };
}

function packageVersion(name: string): string | null {
  try {
    const file = path.join(repoDir, 'node_modules', ...name.split('/'), 'package.json');
    return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
  } catch {
    return null;
  }
}

export async function run(args: string[]): Promise<number> {
  let o: Options;
  try {
    o = parseOptions(args);
  } catch (e) {
    console.error((e as Error).message);
    return 2;
  }
  const cfg = defaultConfig(o.quick, o.batch);
  const started = Date.now();
  const webgpu = o.backends[0] === 'webgpu';
  const threadSettings: Array<number | undefined> = webgpu ? [undefined] : o.threads;
  let backends = o.backends;
  let nativeSkipped: string | null = null;
  if (backends.includes('native')) {
    const { loadNative } = await import('../src/engine/native.js');
    nativeSkipped = loadNative().why ?? null;
    if (nativeSkipped) {
      log(`bench: native rows skipped: ${nativeSkipped}`);
      backends = backends.filter((b) => b !== 'native');
    }
  }
  const load = [os.loadavg()[0]];
  if (load[0] > 0.5) log(`bench: WARNING the machine is busy (1-minute load average ${load[0].toFixed(2)}): timings will be low and noisy`);

  let torch: { python: string; version: string } | { error: string } = { error: 'skipped (--no-pytorch)' };
  if (o.pytorch) torch = findTorchPython();
  if ('error' in torch) log(`bench: PyTorch side skipped: ${torch.error}`);

  const rows: Array<Record<string, unknown>> = [];
  const kernels: Array<Record<string, unknown>> = [];
  const diagnostics: Array<Record<string, unknown>> = [];
  const methodsBy: Record<string, Record<string, Method[]>> = {};
  // PyTorch runs once per thread setting, whichever engines ulearn is measured on.
  const torchByThreads = new Map<number, TorchResult>();
  let describe: string[] = [];
  let torchInfo: Pick<TorchResult, 'torch' | 'python' | 'device'> | null = null;

  for (const backend of backends) {
    const methods: Record<string, Method[]> = Object.fromEntries(cfg.models.map((m) => [m.name, ['manual', 'fit'] as Method[]]));
  methodsBy[backend] = methods;
  for (const [ti, threads] of threadSettings.entries()) {
    const label = `${backend}${threads ? ` ${threads}t` : ''}`;
    log(`bench: ulearn on ${label}`);
    const u = await recorded(`ulearn ${label}`, () =>
      spawnWorker<TrainWorkerResult>({ mode: 'train', backend, threads, config: cfg, methods, memoryMethod: 'manual', kernels: o.kernels, encode: o.encode && ti === 0, simclr: o.simclr }, label),
    );
    describe = [...describe, u.describe];
    let t: TorchResult | null = null;
    if (!('error' in torch)) {
      const torchThreads = threads ?? 2;
      t = torchByThreads.get(torchThreads) ?? null;
      if (!t) {
        log(`bench: PyTorch with ${torchThreads} threads`);
        const python = torch.python;
        const measured = await recorded(`pytorch ${torchThreads}t`, () => runPytorch(python, cfg, torchThreads, webgpu ? 'auto' : 'cpu', o.encode, o.simclr));
        torchByThreads.set(torchThreads, measured);
        t = measured;
      }
      torchInfo = { torch: t.torch, python: t.python, device: t.device };
    }
    for (const spec of cfg.models) {
      const measured = u.training.filter((r) => r.model === spec.name);
      // The faster way to train is the one ulearn uses; the first thread setting measures both, later ones
      // only the winner.
      const best = measured.reduce((a, b) => (b.img_s > a.img_s ? b : a));
      methods[spec.name] = [best.method];
      const p = t?.models.find((m) => m.model === spec.name);
      rows.push({
        model: spec.name,
        backend: u.backend,
        threads: u.threads,
        task: 'train',
        batch: cfg.batch,
        method: best.method,
        params: best.params,
        ulearn_img_s: best.img_s,
        ulearn_img_s_std: best.img_s_std,
        ulearn_windows: best.windows,
        ulearn_by_method: Object.fromEntries(measured.map((r) => [r.method, { img_s: r.img_s, img_s_std: r.img_s_std }])),
        ulearn_loss: [best.loss_first, best.loss_last],
        ulearn_tensors_delta: best.tensors_delta,
        ulearn_others_cores: best.others_cores,
        ulearn_windows_retried: best.windows_retried,
        pytorch_img_s: p?.img_s ?? null,
        pytorch_img_s_std: p?.img_s_std ?? null,
        ...peerColumns(p, t, spec.name, best.params),
        pytorch_device: t?.device ?? null,
        pytorch_windows_retried: p?.windows_retried ?? null,
        ratio: p ? best.img_s / p.img_s : null,
      });
    }
    if (u.encode) {
      const pe = t?.encode;
      rows.push({
        model: cfg.encode.name,
        backend: u.backend,
        threads: u.threads,
        task: 'encode',
        batch: cfg.encode.batch,
        images: u.encode.images,
        ulearn_img_s: u.encode.img_s,
        pytorch_img_s: pe?.img_s ?? null,
        pytorch_threads: t?.threads ?? null,
        ratio: pe ? u.encode.img_s / pe.img_s : null,
        // Seconds for Fashion-MNIST's 70,000 images (extrapolated when fewer were run, as with --quick).
        encode_fashion_mnist_s: (u.encode.seconds * 70000) / u.encode.images,
      });
    }
    if (u.simclr) {
      const ps = t?.simclr;
      const c = cfg.simclr;
      rows.push({
        model: c.name,
        backend: u.backend,
        threads: u.threads,
        task: 'pretrain-simclr',
        batch: c.batch,
        params: u.simclr.params,
        // What pretraining runs at: trainSSL with SimCLR's augmentations (PyTorch's peer has none: see ratio_step).
        ulearn_pairs_s: u.simclr.trainer.pairs_s,
        ulearn_pairs_s_std: u.simclr.trainer.pairs_s_std,
        ulearn_windows: u.simclr.trainer.windows,
        ulearn_loss: [u.simclr.trainer.loss_first, u.simclr.trainer.loss_last],
        ulearn_tensors_delta: u.simclr.trainer.tensors_delta,
        ulearn_others_cores: u.simclr.trainer.others_cores,
        ulearn_windows_retried: u.simclr.trainer.windows_retried,
        // The same steps with the batch itself as both views: the step alone, like for like with PyTorch's.
        ulearn_step_pairs_s: u.simclr.no_augment.pairs_s,
        ulearn_step_pairs_s_std: u.simclr.no_augment.pairs_s_std,
        ulearn_step_windows: u.simclr.no_augment.windows,
        ulearn_step_tensors_delta: u.simclr.no_augment.tensors_delta,
        pytorch_pairs_s: ps?.pairs_s ?? null,
        pytorch_pairs_s_std: ps?.pairs_s_std ?? null,
        ...peerColumns(ps, t, 'simclr', u.simclr.params),
        ratio: ps ? u.simclr.trainer.pairs_s / ps.pairs_s : null,
        ratio_step: ps ? u.simclr.no_augment.pairs_s / ps.pairs_s : null,
      });
    }
    for (const k of u.kernels) {
      const p = t?.kernels.find((tk) => tk.kernel === k.kernel && tk.shape === k.shape);
      kernels.push({
        ...k,
        threads: u.threads,
        backend: u.backend,
        pytorch_gflops: p?.gflops ?? null,
        pytorch_gflops_std: p?.gflops_std ?? null,
        pytorch_ms: p?.ms ?? null,
        pytorch_format: p?.format ?? null,
        pytorch_by_format: p?.by_format ?? null,
        pytorch_others_cores: p?.others_cores ?? null,
      });
    }
    for (const d of u.diagnostics) diagnostics.push({ ...d, threads: u.threads, backend: u.backend });
    load.push(os.loadavg()[0]);
  }
  }

  // One memory-flatness run per engine: `memory` is the first engine's (wasm), `memory_by_backend` has all.
  const memoryBy: Record<string, MemoryResult> = {};
  if (o.memory) {
    const threads = threadSettings[0];
    for (const backend of backends) {
      const methods = methodsBy[backend];
      const method = methods['ref-cnn']?.[0] ?? 'manual';
      log(`bench: memory flatness on ${backend}, ${cfg.memory.steps} steps of ref-cnn at batch ${cfg.memory.batch} [${method}]`);
      memoryBy[backend] = await recorded(`memory ${backend}`, () =>
        spawnWorker<MemoryResult>({ mode: 'memory', backend, threads, config: cfg, methods, memoryMethod: method, kernels: false, encode: false, simclr: false }, `memory ${backend}`),
      );
      load.push(os.loadavg()[0]);
    }
  }
  const memory: MemoryResult | null = memoryBy[backends[0]] ?? null;

  const cpus = os.cpus();
  const result = {
    machine: {
      cpu: cpus[0]?.model ?? 'unknown',
      cores: os.availableParallelism(),
      memory_gb: os.totalmem() / 2 ** 30,
      node: process.version,
      tfjs: packageVersion('@tensorflow/tfjs-core'),
      tfjs_layers: packageVersion('@tensorflow/tfjs-layers'),
      tfjs_backend: packageVersion(`@tensorflow/tfjs-backend-${webgpu ? 'webgpu' : 'wasm'}`),
      native_skipped: nativeSkipped,
      engine: [...new Set(describe)],
      torch: torchInfo?.torch ?? ('error' in torch ? null : torch.version),
      torch_python: torchInfo?.python ?? null,
      torch_device: torchInfo?.device ?? null,
      pytorch_skipped: 'error' in torch ? torch.error : null,
      date: new Date().toISOString(),
      duration_s: (Date.now() - started) / 1000,
      loadavg_1m: load,
      /** Per child process: wall and CPU seconds, and the cores other processes kept busy meanwhile (should be ~0). */
      runs: runRecords,
      quick: o.quick,
      ...gitState(),
    },
    rows,
    kernels,
    diagnostics,
    memory,
    memory_by_backend: memoryBy,
  };
  fs.mkdirSync(path.dirname(o.out), { recursive: true });
  await writeJsonAtomic(o.out, result);
  printSummary(result.rows, kernels, Object.values(memoryBy));
  log(`bench: wrote ${path.relative(process.cwd(), o.out)} in ${result.machine.duration_s.toFixed(0)} s`);
  return 0;
}

/** Console table. Figures are truncated, never rounded up (ulearn's) or down (PyTorch's). */
function printSummary(rows: Array<Record<string, unknown>>, kernels: Array<Record<string, unknown>>, memories: MemoryResult[]): void {
  const down = (v: unknown, d = 1) => (typeof v === 'number' ? (Math.floor(v * 10 ** d) / 10 ** d).toFixed(d) : '-');
  const up = (v: unknown, d = 1) => (typeof v === 'number' ? (Math.ceil(v * 10 ** d) / 10 ** d).toFixed(d) : '-');
  console.log('\nmodel               backend threads method   ulearn img/s        pytorch img/s       ratio');
  for (const r of rows) {
    // SimCLR rows count pairs (two images each) per second: ulearn's with its augmentations, and the step alone.
    const pairs = r.task === 'pretrain-simclr';
    const [u, us, p, ps] = pairs ? [r.ulearn_pairs_s, r.ulearn_pairs_s_std, r.pytorch_pairs_s, r.pytorch_pairs_s_std] : [r.ulearn_img_s, r.ulearn_img_s_std, r.pytorch_img_s, r.pytorch_img_s_std];
    console.log(
      `${String(r.model).padEnd(20)}${String(r.backend).padEnd(8)}${String(r.threads ?? '-').padEnd(8)}${String(r.method ?? r.task).padEnd(8)} ` +
        `${`${down(u)} ± ${up(us)}`.padEnd(20)}${`${up(p)} ± ${up(ps)}`.padEnd(20)}${down(r.ratio, 3)}` +
        (pairs ? `  pairs/s; step alone ${down(r.ulearn_step_pairs_s)}, ratio ${down(r.ratio_step, 3)}` : ''),
    );
  }
  if (kernels.length) {
    console.log('\nkernel                 impl                  shape                      threads  GFLOP/s        pytorch GFLOP/s');
    for (const k of kernels) {
      console.log(
        `${String(k.kernel).padEnd(23)}${String(k.impl).padEnd(22)}${String(k.shape).padEnd(27)}${String(k.threads ?? '-').padEnd(9)}` +
          `${`${down(k.gflops)} ± ${up(k.gflops_std)}`.padEnd(15)}${up(k.pytorch_gflops)}`,
      );
    }
  }
  for (const memory of memories) {
    console.log(
      `\nmemory (${memory.backend}): ${memory.steps} steps ${memory.model} batch ${memory.batch}: rss ${memory.start.rss_mb.toFixed(1)} -> ${memory.end.rss_mb.toFixed(1)} MB, ` +
        `tensors ${memory.start.num_tensors} -> ${memory.end.num_tensors}, ${memory.flat ? 'flat' : 'NOT FLAT'}`,
    );
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const i = process.argv.indexOf('--worker');
  const main = i >= 0 ? workerMain(JSON.parse(process.argv[i + 1]) as WorkerArgs) : run(process.argv.slice(2));
  const code = await main.catch(async (err: unknown) => {
    const { describeError } = await import('../src/errors.js');
    console.error(`bench engine: error: ${describeError(err)}`);
    return 1;
  });
  process.exit(code);
}
