/** The distributed steps as a library namespace (`import { distributed } from 'ulearn'`); docs/scale.md. */
export { distributedEncode, distributedPredict, type DistributedOptions } from './steps.js';
export { runWorker, type WorkerOptions } from './worker.js';
export { maskUrl, maskSecrets } from './redis.js';
