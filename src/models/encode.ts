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

/** Features of every row of `x` (prod(inputShape) values each): [n, dim] row-major; no tensors left behind. */
export function encode(encoder: tfl.LayersModel, x: Float32Array, inputShape: readonly number[], opts: EncodeOptions = {}): Float32Array {
  const size = inputShape.reduce((a, b) => a * b, 1);
  const n = x.length / size;
  const batchSize = opts.batchSize ?? 256;
  const progress = opts.progress ? new Progress(opts.progress, n) : undefined;
  let out = new Float32Array(0);
  let dim = 0;
  // Folded from the encoder's weights as they are now (the kNN monitor encodes between training steps).
  const plan = inferencePlan(encoder);
  try {
    for (let s = 0; s < n; s += batchSize) {
      const m = Math.min(batchSize, n - s);
      const f = tf.tidy(() => {
        const raw = plan.apply(tf.tensor(x.subarray(s * size, (s + m) * size), [m, ...inputShape])) as tf.Tensor2D;
        return opts.normalize ? tf.div(raw, tf.maximum(tf.norm(raw, 2, 1, true), 1e-12)) : raw;
      });
      if (s === 0) {
        dim = f.shape[1]!;
        out = new Float32Array(n * dim);
      }
      out.set(f.dataSync() as Float32Array, s * dim);
      f.dispose();
      progress?.tick(m);
    }
  } finally {
    plan.dispose();
  }
  progress?.done();
  return out;
}

/** `encode` as an [n, dim] tensor (the caller disposes it), for code that continues on the backend. */
export function encodeTensor(encoder: tfl.LayersModel, x: Float32Array, inputShape: readonly number[], opts: EncodeOptions = {}): tf.Tensor2D {
  const f = encode(encoder, x, inputShape, opts);
  const size = inputShape.reduce((a, b) => a * b, 1);
  const n = x.length / size;
  return tf.tensor2d(f, [n, n === 0 ? 0 : f.length / n]);
}
