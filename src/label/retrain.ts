/**
 * One retrain of the light model on a project's current labels, and the scheduler that runs it in a
 * background process after every K new labels.
 *
 * A retrain: the light model (src/active/light-model.ts) is fit on the labeled samples outside the
 * held-out slice (see `isHoldout`), measured on the held-out ones, its argmax + probability become every
 * unlabeled sample's suggestion, and the project's strategy (src/active/strategy.ts) picks the next queue.
 * Everything is written in one transaction, so the UI sees the old queue or the new one, never a mix.
 * With no labels yet there is no model; the strategy still runs (cold-start strategies need no model).
 */
import { readFileSync } from 'node:fs';
import { fork, type ChildProcess } from 'node:child_process';
import { setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import { trainLightModel } from '../active/light-model.js';
import { createStrategy } from '../active/strategy.js';
import { Rng } from '../engine/seed.js';
import { UlearnError } from '../errors.js';
import { isHoldout, type LabelStore } from './store.js';
import { argmaxRows } from '../eval/metrics.js';

/** How many samples the queue holds; refreshed long before an annotator gets through it. */
export const QUEUE_SIZE = 200;

export interface RetrainResult {
  runId: number;
  trainLabels: number;
  holdoutLabels: number;
  holdoutAccuracy: number | null;
  queue: number[];
  seconds: number;
}

export async function loadEmbeddings(store: LabelStore): Promise<{ embeddings: Float32Array; dim: number }> {
  const ref = await store.embeddings();
  if (!ref) throw new UlearnError(`${store.dir}: project has no embeddings`, { code: 'E_PROJECT' });
  const buf = readFileSync(ref.path);
  const n = await store.sampleCount();
  if (buf.byteLength !== n * ref.dim * 4) {
    throw new UlearnError(`${ref.path}: expected ${n} × ${ref.dim} float32 values (${n * ref.dim * 4} bytes), got ${buf.byteLength} bytes`, { code: 'E_PROJECT' });
  }
  // Copy into an aligned buffer: Buffer slices may start at an offset that is not a multiple of 4.
  const embeddings = new Float32Array(n * ref.dim);
  new Uint8Array(embeddings.buffer).set(buf);
  return { embeddings, dim: ref.dim };
}

export async function retrain(store: LabelStore): Promise<RetrainResult> {
  const t0 = performance.now();
  const { meta } = store;
  const C = meta.classes.length;
  const lastEventId = await store.lastEventId();
  const labels = await store.currentLabels();
  const { embeddings, dim } = await loadEmbeddings(store);
  const trainLabels = new Int32Array(labels.length).fill(-1);
  const holdout: number[] = [];
  let nTrain = 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] < 0) continue;
    if (isHoldout(i + 1, meta.seed)) holdout.push(i);
    else {
      trainLabels[i] = labels[i];
      nTrain++;
    }
  }
  let probs: Float32Array | undefined;
  let holdoutAccuracy: number | null = null;
  if (nTrain > 0) {
    const model = trainLightModel({ embeddings, dim, labels: trainLabels, numClasses: C, kind: meta.model, seed: meta.seed });
    probs = model.probs;
    if (holdout.length > 0) holdoutAccuracy = model.accuracyOn(holdout, holdout.map((i) => labels[i]));
  }
  const suggestions: { sampleId: number; label: number; confidence: number }[] = [];
  if (probs) {
    const best = argmaxRows(probs, C);
    for (let i = 0; i < labels.length; i++) {
      if (labels[i] < 0) suggestions.push({ sampleId: i + 1, label: best[i], confidence: probs[i * C + best[i]] });
    }
  }
  let unlabeled = 0;
  for (const l of labels) if (l < 0) unlabeled++;
  // A fresh stream per run (seeded by the project seed and the label count): reproducible, yet random
  // strategies do not return the same picks after every retrain.
  const rng = new Rng((meta.seed * 1000003 + lastEventId) >>> 0);
  const queue = unlabeled === 0 ? [] : createStrategy(meta.strategy).select({ embeddings, dim, labels, numClasses: C, probs, rng }, Math.min(QUEUE_SIZE, unlabeled));
  const seconds = (performance.now() - t0) / 1000;
  const runId = await store.saveModelRun(
    {
      createdAt: Date.now(),
      kind: probs ? meta.model : 'none',
      strategy: meta.strategy,
      lastEventId,
      trainLabels: nTrain,
      holdoutLabels: holdout.length,
      holdoutAccuracy,
      seconds,
      error: null,
    },
    suggestions,
    queue.map((i) => i + 1),
  );
  return { runId, trainLabels: nTrain, holdoutLabels: holdout.length, holdoutAccuracy, queue: queue.map((i) => i + 1), seconds };
}

/**
 * Starts a retrain in a background process after every `retrainEvery` label writes (and once at startup when
 * the project has never been trained). At most one runs at a time; writes that arrive meanwhile count
 * towards the next one. The server never waits for it.
 */
export class RetrainScheduler {
  private pending = 0;
  private child: ChildProcess | undefined;
  private closed = false;
  /**
   * Whether the project has embeddings (without them there is nothing to train on). start() looks; before
   * it, a retrain is tried, and fails in its process like any other (reported, recorded as a failed run).
   */
  private hasEmbeddings = true;
  /** Resolves when the running retrain (if any) ends; tests await it. */
  idle: Promise<void> = Promise.resolve();
  lastError: string | undefined;
  lastResult: RetrainResult | undefined;

  constructor(
    private readonly store: LabelStore,
    private readonly opts: { retrainEvery: number; onDone?: (r: RetrainResult | Error) => void } = { retrainEvery: store.meta.retrainEvery },
  ) {}

  get status() {
    return { running: this.child !== undefined, pendingLabels: this.pending, retrainEvery: this.opts.retrainEvery };
  }

  /**
   * At server start: retrains when there is no successful run yet (the first queue comes from the
   * strategy, model or not) or when K labels arrived since the last one (e.g. imported while stopped).
   */
  async start(): Promise<void> {
    this.hasEmbeddings = (await this.store.embeddings()) !== undefined;
    const last = (await this.store.modelRuns()).filter((r) => !r.error).at(-1);
    this.pending = last ? (await this.store.lastEventId()) - last.lastEventId : 0;
    if (!last || this.pending >= this.opts.retrainEvery) this.launch();
  }

  noteLabel(): void {
    this.pending++;
    if (this.pending >= this.opts.retrainEvery && !this.child) this.launch();
  }

  private launch(): void {
    if (this.closed || !this.hasEmbeddings) return;
    this.pending = 0;
    const ts = import.meta.url.endsWith('.ts');
    const entry = fileURLToPath(new URL(ts ? './retrain-child.ts' : './retrain-child.js', import.meta.url));
    // Under tsx the child is TypeScript too: give it tsx's loader.
    const child = fork(entry, [this.store.dir], { execArgv: ts ? ['--import', import.meta.resolve('tsx')] : [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    try {
      if (child.pid) setPriority(child.pid, 10);
    } catch {
      // Not allowed on some systems; the retrain then just competes at normal priority.
    }
    this.child = child;
    this.idle = new Promise((done) => {
      let settled = false;
      const finish = (r: RetrainResult | Error) => {
        if (settled) return;
        settled = true;
        this.child = undefined;
        if (r instanceof Error) this.lastError = r.message;
        else this.lastResult = r;
        this.opts.onDone?.(r);
        done();
        if (this.pending >= this.opts.retrainEvery) this.launch();
      };
      child.on('message', (m: { ok: true; result: RetrainResult } | { ok: false; error: string }) => finish(m.ok ? m.result : new Error(m.error)));
      child.on('error', (err) => finish(err));
      child.on('exit', (code, signal) => finish(new Error(`retrain process exited (${signal ?? `code ${code}`}) before reporting`)));
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.child?.kill('SIGKILL');
    await this.idle;
  }
}
