/**
 * Entry of the background retrain process (forked by RetrainScheduler): opens the project with its own
 * database connection (SQLite's WAL, or PostgreSQL's MVCC, lets it read while the server writes), runs one
 * retrain, reports over IPC.
 *
 * A child process rather than a worker thread: the strategies load usearch's native addon, which hangs when
 * loaded in a worker thread on Node 20; a process also gets its own heap and a lower CPU priority.
 */
import { initBackend } from '../engine/backend.js';
import { retrain } from './retrain.js';
import { openStore } from './store.js';

const dir = process.argv[2];
const store = await openStore(dir);
try {
  // Strategies (k-means, distances) and label propagation's kNN graph run on tfjs; one wasm thread, so
  // the retrain leaves the other core to the server and the annotators' requests.
  await initBackend('wasm', { threads: 1 });
  process.send!({ ok: true, result: await retrain(store) });
} catch (err) {
  const message = err instanceof Error ? err.message : String(err);
  try {
    await store.saveModelRun(
      { createdAt: Date.now(), kind: store.meta.model, strategy: store.meta.strategy, lastEventId: await store.lastEventId(), trainLabels: 0, holdoutLabels: 0, holdoutAccuracy: null, seconds: 0, error: message },
      [],
      [],
    );
  } catch {
    // The error itself is what the server needs to hear about.
  }
  process.send!({ ok: false, error: message });
} finally {
  await store.close();
  process.disconnect();
}
