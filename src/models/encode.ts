/**
 * Encoder outputs for many samples, in batches, in inference mode (BN moving statistics, no augmentation, no
 * gradient tape): the one way ulearn turns samples into features, for the linear probe, LP-FT's head, label
 * propagation, the kNN monitor, clean's neighbours and the labeling app's embeddings.
 *
 * The forward pass runs through `inferencePlan` (models/inference.ts): each conv → BN → ReLU chain as one fused
 * conv with BN folded into its weights. Same outputs within float rounding, without the two passes over every
 * conv output that BN (wasm's FusedBatchNorm, single-threaded: over half of the time) and ReLU took: ResNet
 * 16-32-64 on native, 1 thread, batch 512, A/B interleaved on a shared machine: 904 -> 2073 img/s.
 *
 * Raw features by default, so a dense layer fitted on them can be dropped onto the encoder unchanged;
 * `normalize` gives L2-normalised rows, for comparisons by cosine (kNN monitor, clean's neighbours).
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { Progress } from '../util/progress.js';
import { inferencePlan } from './inference.js';

export interface EncodeOptions {
  /** Samples per forward pass; default 256. */
  batchSize?: number;
  /** L2-normalise each row (a zero row stays zero). Default false. */
  normalize?: boolean;
  /** A progress bar with this label (stderr), for long encodings. */
  progress?: string;
}

/**
 * The [n, dim] output both encoders fill batch by batch: allocated when the first batch tells the width, with
 * the progress bar and the optional L2 normalisation in one place.
 */
class FeatureRows {
  out = new Float32Array(0);
  private dim = 0;
  private readonly progress: Progress | undefined;

  constructor(
    private readonly n: number,
    private readonly opts: EncodeOptions,
  ) {
    this.progress = opts.progress ? new Progress(opts.progress, n) : undefined;
  }

  /** Rows `start`.. of `f` ([m, dim] row-major), normalised in place first when asked for. */
  put(start: number, m: number, f: Float32Array): void {
    if (start === 0) {
      this.dim = f.length / m;
      this.out = new Float32Array(this.n * this.dim);
    }
    if (this.opts.normalize) normalizeRows(f, this.dim);
    this.out.set(f, start * this.dim);
    this.progress?.tick(m);
  }

  done(): Float32Array {
    this.progress?.done();
    return this.out;
  }
}

/** L2-normalises each row of `f` ([n, dim] row-major) in place; a zero row stays zero. */
export function normalizeRows(f: Float32Array, dim: number): void {
  if (dim <= 0) return;
  for (let r = 0; r * dim < f.length; r++) {
    const row = f.subarray(r * dim, (r + 1) * dim);
    let ss = 0;
    for (const v of row) ss += v * v;
    const norm = Math.max(Math.sqrt(ss), 1e-12);
    for (let j = 0; j < dim; j++) row[j] /= norm;
  }
}

/** Features of every row of `x` (prod(inputShape) values each): [n, dim] row-major; no tensors left behind. */
export function encode(encoder: tfl.LayersModel, x: Float32Array, inputShape: readonly number[], opts: EncodeOptions = {}): Float32Array {
  const size = inputShape.reduce((a, b) => a * b, 1);
  const n = x.length / size;
  const batchSize = opts.batchSize ?? 256;
  const rows = new FeatureRows(n, opts);
  // Folded from the encoder's weights as they are now (the kNN monitor encodes between training steps).
  const plan = inferencePlan(encoder);
  try {
    for (let s = 0; s < n; s += batchSize) {
      const m = Math.min(batchSize, n - s);
      const f = tf.tidy(() => plan.apply(tf.tensor(x.subarray(s * size, (s + m) * size), [m, ...inputShape])) as tf.Tensor2D);
      rows.put(s, m, f.dataSync() as Float32Array);
      f.dispose();
    }
  } finally {
    plan.dispose();
  }
  return rows.done();
}

/** `encode` as an [n, dim] tensor (the caller disposes it), for code that continues on the backend. */
export function encodeTensor(encoder: tfl.LayersModel, x: Float32Array, inputShape: readonly number[], opts: EncodeOptions = {}): tf.Tensor2D {
  const f = encode(encoder, x, inputShape, opts);
  const size = inputShape.reduce((a, b) => a * b, 1);
  const n = x.length / size;
  return tf.tensor2d(f, [n, n === 0 ? 0 : f.length / n]);
}

/**
 * A faster way to the same features for an encoder whose weights have not changed since it was loaded: an
 * imported ONNX encoder carries one (onnxruntime on the ONNX graph cut at the same node, models/load-encoder.ts),
 * valid while every weight tensor is the one it was loaded with (training assigns new tensors, so a trained
 * encoder goes back to the tfjs path by itself).
 */
export interface FrozenFeatures {
  /** Features of `m` samples ([m, ...inputShape] NHWC, as `encode` takes them): [m, dim] row-major; undefined: not available (use tfjs). */
  run(x: Float32Array, m: number): Promise<Float32Array | undefined>;
}

const FROZEN = new WeakMap<tfl.LayersModel, { features: FrozenFeatures; weights: unknown[] }>();

const weightIds = (encoder: tfl.LayersModel): unknown[] => encoder.weights.map((w) => w.read().dataId);

/** Attaches `features` to `encoder` for `encodeFrozen`, valid while its weights stay as they are now. */
export function setFrozenFeatures(encoder: tfl.LayersModel, features: FrozenFeatures): void {
  FROZEN.set(encoder, { features, weights: weightIds(encoder) });
}

/** Whether `encodeFrozen` would take the attached fast path for `encoder` now. */
export function hasFrozenFeatures(encoder: tfl.LayersModel): boolean {
  const f = FROZEN.get(encoder);
  if (!f) return false;
  const now = weightIds(encoder);
  return now.length === f.weights.length && now.every((id, i) => id === f.weights[i]);
}

/**
 * `encode` for callers that can wait (label init, clean, the linear probe): the same features, through the
 * encoder's attached fast path when it has one and is untrained since (onnxruntime for imported ONNX models),
 * else exactly `encode`.
 */
export async function encodeFrozen(encoder: tfl.LayersModel, x: Float32Array, inputShape: readonly number[], opts: EncodeOptions = {}): Promise<Float32Array> {
  if (!hasFrozenFeatures(encoder)) return encode(encoder, x, inputShape, opts);
  const { features } = FROZEN.get(encoder)!;
  const size = inputShape.reduce((a, b) => a * b, 1);
  const n = x.length / size;
  const batchSize = opts.batchSize ?? 256;
  const rows = new FeatureRows(n, opts);
  for (let s = 0; s < n; s += batchSize) {
    const m = Math.min(batchSize, n - s);
    const f = await features.run(x.subarray(s * size, (s + m) * size), m);
    if (!f) {
      FROZEN.delete(encoder);
      rows.done();
      return encode(encoder, x, inputShape, opts);
    }
    rows.put(s, m, f);
  }
  return rows.done();
}
