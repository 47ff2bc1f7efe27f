/**
 * Audio features on every core: the clips of a batch split into one contiguous share per thread, the main
 * thread computing one share and worker threads the others. Each clip's features depend on that clip alone
 * (audio-features.ts), so the result is the same, bit for bit, for any number of threads; only the time changes.
 * Workers are started once, on first use, and do not keep the process alive.
 *
 * In a checkout the sources are TypeScript run through tsx (bin/ulearn.js registers it in the main thread
 * only), so a worker first registers tsx itself before loading audio-worker.ts; the installed package runs
 * the compiled audio-worker.js directly.
 */
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { audioFeatures, audioFeatureShape, type AudioFeatureConfig } from './audio-features.js';

/** Below this many clips a share, starting to hand work out costs more than it saves. */
const MIN_CLIPS_PER_SHARE = 32;

interface Pending {
  resolve: (out: Float32Array) => void;
  reject: (err: Error) => void;
}

class FeatureWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private next = 0;

  constructor() {
    const here = import.meta.url;
    const ts = here.endsWith('.ts');
    const entry = new URL(`./audio-worker.${ts ? 'ts' : 'js'}`, here).href;
    const tsx = ts ? import.meta.resolve('tsx/esm/api') : '';
    const boot = `(async () => { if (${JSON.stringify(tsx)}) (await import(${JSON.stringify(tsx)})).register(); await import(${JSON.stringify(entry)}); })();`;
    this.worker = new Worker(boot, { eval: true });
    this.worker.unref();
    this.worker.on('message', (m: { id: number; out?: Float32Array; error?: string }) => {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (this.pending.size === 0) this.worker.unref();
      if (m.error !== undefined) p?.reject(new Error(m.error));
      else p?.resolve(m.out!);
    });
    this.worker.on('error', (err) => {
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    });
  }

  run(batch: Float32Array, samples: number, cfg: AudioFeatureConfig): Promise<Float32Array> {
    const id = this.next++;
    // Referenced while it has work, so the process waits for the answer.
    this.worker.ref();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const copy = batch.slice();
      this.worker.postMessage({ id, batch: copy, samples, cfg }, [copy.buffer]);
    });
  }
}

const pool: FeatureWorker[] = [];

/** The threads features use by default: every core the process may use. */
export function featureThreads(): number {
  return Math.max(1, typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length);
}

/** `audioFeatures` of a batch of clips, on `threads` threads (default: every core). */
export async function audioFeaturesParallel(batch: Float32Array, samples: number, cfg: AudioFeatureConfig, threads = featureThreads()): Promise<Float32Array> {
  const clips = batch.length / samples;
  const shares = Math.max(1, Math.min(threads, Math.floor(clips / MIN_CLIPS_PER_SHARE)));
  if (shares === 1 || !Number.isInteger(clips)) return audioFeatures(batch, samples, cfg);
  while (pool.length < shares - 1) pool.push(new FeatureWorker());
  const [frames, bins] = audioFeatureShape(cfg, samples);
  const per = frames * bins;
  const bounds = Array.from({ length: shares + 1 }, (_, i) => Math.round((i * clips) / shares));
  const out = new Float32Array(clips * per);
  const jobs = bounds.slice(1, -1).map((start, k) => {
    const end = bounds[k + 2];
    return pool[k].run(batch.subarray(start * samples, end * samples), samples, cfg).then((f) => out.set(f, start * per));
  });
  // The main thread's share: the first.
  out.set(audioFeatures(batch.subarray(0, bounds[1] * samples), samples, cfg), 0);
  await Promise.all(jobs);
  return out;
}
