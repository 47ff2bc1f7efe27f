/**
 * The check every ONNX export passes: onnxruntime (an independent implementation, CPU) runs the exported bytes
 * on the same inputs tfjs runs the model on (inference mode), and the largest absolute difference of the
 * outputs must stay within a tolerance (1e-4 by default). `exportModel` runs it on random inputs before it
 * writes anything; the tests also run it on real images, clips and rows.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { UlearnError } from '../errors.js';
import type { InputLayout } from './export-onnx.js';

export const EXPORT_TOLERANCE = 1e-4;

/** Runs `bytes` in onnxruntime on `x` ([batch, ...sample] in tfjs' channels-last layout). */
export async function runOnnx(bytes: Uint8Array, x: Float32Array, shape: number[], layout: InputLayout = 'nchw'): Promise<{ data: Float32Array; dims: number[] }> {
  // Loaded on first use: the native runtime is big, and every `ulearn` command would otherwise pay for it at start.
  const ort = await import('onnxruntime-node');
  const session = await ort.InferenceSession.create(bytes);
  try {
    const [input] = session.inputNames;
    const [output] = session.outputNames;
    const fed = shape.length === 4 && layout === 'nchw' ? nhwcToNchw(x, shape) : { data: x, dims: shape };
    const result = await session.run({ [input]: new ort.Tensor('float32', fed.data, fed.dims) });
    const out = result[output];
    return { data: out.data as Float32Array, dims: [...out.dims] };
  } finally {
    await session.release();
  }
}

export function nhwcToNchw(x: Float32Array, [n, h, w, c]: number[]): { data: Float32Array; dims: number[] } {
  const out = new Float32Array(x.length);
  for (let b = 0; b < n; b++)
    for (let i = 0; i < h; i++)
      for (let j = 0; j < w; j++)
        for (let k = 0; k < c; k++) out[((b * c + k) * h + i) * w + j] = x[((b * h + i) * w + j) * c + k];
  return { data: out, dims: [n, c, h, w] };
}

/** tfjs' inference-mode output of `model` on `x`. */
export function runTfjs(model: tfl.LayersModel, x: Float32Array, shape: number[]): Float32Array {
  const y = tf.tidy(() => model.predict(tf.tensor(x, shape)) as tf.Tensor);
  const data = y.dataSync() as Float32Array;
  y.dispose();
  return data;
}

export interface ExportCheck {
  maxAbsDiff: number;
  /** Largest |tfjs output|, for scale. */
  maxAbs: number;
  samples: number;
}

/** Max |tfjs − onnxruntime| over the outputs for `x`; an error when it is above `tolerance`. */
export async function checkOnnxExport(model: tfl.LayersModel, bytes: Uint8Array, x: Float32Array, shape: number[], opts: { layout?: InputLayout; tolerance?: number; what?: string } = {}): Promise<ExportCheck> {
  const tolerance = opts.tolerance ?? EXPORT_TOLERANCE;
  const expected = runTfjs(model, x, shape);
  const got = await runOnnx(bytes, x, shape, opts.layout);
  if (got.data.length !== expected.length) {
    throw new UlearnError(`ONNX export of '${model.name}': onnxruntime returned ${got.data.length} values [${got.dims}], tfjs ${expected.length}`, { code: 'E_EXPORT_CHECK' });
  }
  let maxAbsDiff = 0;
  let maxAbs = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(expected[i] - got.data[i]);
    // NaN anywhere is a failure, not a zero difference.
    maxAbsDiff = Number.isNaN(d) ? Infinity : Math.max(maxAbsDiff, d);
    maxAbs = Math.max(maxAbs, Math.abs(expected[i]));
  }
  if (!(maxAbsDiff <= tolerance)) {
    throw new UlearnError(`ONNX export of '${model.name}' does not match tfjs on ${opts.what ?? 'the check inputs'}: max abs difference ${maxAbsDiff.toExponential(2)} > ${tolerance}`, {
      code: 'E_EXPORT_CHECK',
      hint: 'this is a bug in the exporter for one of the model\'s layers; nothing was written',
    });
  }
  return { maxAbsDiff, maxAbs, samples: shape[0] };
}
