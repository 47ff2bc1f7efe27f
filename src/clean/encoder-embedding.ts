/**
 * Embeddings from a pretrained encoder (`ulearn clean --encoder <run-dir | checkpoint | model folder | model.onnx>`):
 * loadEncoder rebuilds it at the images' size (a ResNet pools globally; the channels must match), and
 * `encode` gives L2-normalised rows, since the checks compare by cosine. Better neighbours than downscaled
 * pixels for label errors and outliers, at the cost of a forward pass over every sample.
 */
import { initBackend } from '../engine/backend.js';
import { UlearnError } from '../errors.js';
import { encodeFrozen } from '../models/encode.js';
import { loadEncoder, type LoadEncoderOptions } from '../models/load-encoder.js';
import type { ImageSamples } from './types.js';

export function encoderEmbedding(source: string, backend = 'auto', inputs: Pick<LoadEncoderOptions, 'preprocessing' | 'cutAt'> = {}) {
  return async (s: ImageSamples): Promise<{ vectors: Float32Array; dim: number }> => {
    await initBackend(backend);
    const inputShape = [s.height, s.width, s.channels];
    const { encoder } = await loadEncoder(source, { inputShape, ...inputs }).catch((err: unknown) => {
      throw new UlearnError(`--encoder ${source}: cannot use its encoder for ${inputShape.join('x')} images (${(err as Error).message})`, {
        code: 'E_CHECKPOINT',
        cause: err,
        hint: err instanceof UlearnError ? err.hint : undefined,
      });
    });
    const per = s.height * s.width * s.channels;
    const n = s.ids.length;
    // Pixels are bytes; scaled to [0, 1] a chunk at a time so the float copy stays small.
    const chunk = 4096;
    let vectors = new Float32Array(0);
    let dim = 0;
    try {
      for (let start = 0; start < n; start += chunk) {
        const m = Math.min(chunk, n - start);
        const x = new Float32Array(m * per);
        for (let j = 0; j < m * per; j++) x[j] = s.pixels[start * per + j] / 255;
        const rows = await encodeFrozen(encoder, x, inputShape, { normalize: true });
        if (start === 0) {
          dim = rows.length / m;
          vectors = new Float32Array(n * dim);
        }
        vectors.set(rows, start * dim);
      }
    } finally {
      encoder.dispose();
    }
    return { vectors, dim };
  };
}
