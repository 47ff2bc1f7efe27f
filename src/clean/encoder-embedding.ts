/**
 * Embeddings from a pretrained run's encoder (`ulearn clean --encoder <run-dir>`): the run's config gives the
 * architecture, its pretrain-encoder checkpoint the weights, and encodeAll the features (L2-normalised rows,
 * since the checks compare by cosine). Better neighbours than downscaled pixels for label errors and outliers,
 * at the cost of a forward pass over every sample.
 */
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../engine/backend.js';
import { UlearnError } from '../errors.js';
import { buildResNetEncoder } from '../models/resnet.js';
import { pipelineConfig, type PipelineConfigInput } from '../pipeline/config.js';
import { loadCheckpoint } from '../runs/checkpoint.js';
import { RunDir } from '../runs/run-dir.js';
import { encodeAll } from '../train/features.js';
import type { ImageSamples } from './types.js';

export function encoderEmbedding(runDir: string, backend = 'auto') {
  return async (s: ImageSamples): Promise<{ vectors: Float32Array; dim: number }> => {
    await initBackend(backend);
    const run = await RunDir.open(runDir);
    const cfg = pipelineConfig(run.config as PipelineConfigInput);
    const inputShape: [number, number, number] = [s.height, s.width, s.channels];
    const encoder = buildResNetEncoder({ inputShape, widths: cfg.encoder.widths, blocksPerStage: cfg.encoder.blocksPerStage, seed: cfg.seed });
    try {
      await loadCheckpoint(join(runDir, 'checkpoints', 'pretrain-encoder'), encoder);
    } catch (err) {
      throw new UlearnError(`--encoder ${runDir}: cannot use its encoder for ${inputShape.join('x')} images (${(err as Error).message})`, { code: 'E_CHECKPOINT', cause: err });
    }
    const per = s.height * s.width * s.channels;
    const n = s.ids.length;
    const chunk = 4096;
    let vectors: Float32Array | undefined;
    let dim = 0;
    for (let start = 0; start < n; start += chunk) {
      const m = Math.min(chunk, n - start);
      const x = new Float32Array(m * per);
      for (let j = 0; j < m * per; j++) x[j] = s.pixels[start * per + j] / 255;
      const feats = encodeAll(encoder, x, inputShape);
      const normed = tf.tidy(() => tf.div(feats, tf.maximum(tf.norm(feats, 2, 1, true), 1e-12)));
      const rows = normed.dataSync() as Float32Array;
      dim = feats.shape[1];
      feats.dispose();
      normed.dispose();
      vectors ??= new Float32Array(n * dim);
      vectors.set(rows, start * dim);
    }
    encoder.dispose();
    return { vectors: vectors!, dim };
  };
}
