/**
 * The worker side of `audioFeaturesParallel` (audio-parallel.ts): computes the features of the clips it is
 * sent and sends them back (the buffer transferred, not copied). Runs until the pool closes it.
 */
import { parentPort } from 'node:worker_threads';
import { audioFeatures, type AudioFeatureConfig } from './audio-features.js';

interface Job {
  id: number;
  batch: Float32Array;
  samples: number;
  cfg: AudioFeatureConfig;
}

parentPort!.on('message', (job: Job) => {
  try {
    const out = audioFeatures(job.batch, job.samples, job.cfg);
    parentPort!.postMessage({ id: job.id, out }, [out.buffer as ArrayBuffer]);
  } catch (err) {
    parentPort!.postMessage({ id: job.id, error: (err as Error).message });
  }
});
