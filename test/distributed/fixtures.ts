/**
 * Tiny data and a tiny encoder for the distributed tests: `n` 8×8 gray PNGs and a ResNet checkpoint (widths
 * 4-8, one block), so a shard takes milliseconds and the tests time process start-up, not compute.
 */
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { initBackend } from '../../src/engine/backend.js';
import { buildEncoder } from '../../src/models/architecture.js';
import { classifierHead } from '../../src/models/resnet.js';
import { saveClassifier } from '../../src/predict/image-model.js';
import { saveCheckpoint } from '../../src/runs/checkpoint.js';
import { makeImageFolder, tempDir } from '../label/fixtures.js';
import { ULEARN_BIN } from '../cli/run-cli.js';

export async function encoderFixture(n: number): Promise<{ root: string; images: string; encoder: string; classifier: string }> {
  await initBackend('cpu');
  const root = tempDir('dist');
  const images = await makeImageFolder(root, n);
  const model = buildEncoder({ family: 'resnet', modality: 'image', inputShape: [8, 8, 1], widths: [4, 8], blocksPerStage: 1, method: 'none' }, 3);
  const encoder = join(root, 'encoder');
  await saveCheckpoint(encoder, model);
  // A classifier folder over the same encoder (8 features), for predict.
  const classifier = join(root, 'classifier');
  await saveClassifier(classifier, model, classifierHead(8, 2, { seed: 4 }), { classes: ['dark', 'light'], preprocessing: { inputShape: [8, 8, 1], resize: 'crop', scale: '1/255' }, method: 'supervised', training: {} });
  model.dispose();
  return { root, images, encoder, classifier };
}

/**
 * Worker flags for tests: the cpu backend, and short locks so a killed worker's shard is taken again within
 * seconds, long enough that a worker starved of CPU on a loaded machine keeps its lock (renewed every 1.5 s).
 * Hang guards are the test timeouts.
 */
export const FAST_WORKER = ['--backend', 'cpu', '--lock-duration', '3000', '--stalled-interval', '500'];

export interface Proc {
  child: ChildProcess;
  /** stdout + stderr so far. */
  text(): string;
  /** Resolves when the output contains `needle` (hang guard: the test's own timeout). */
  waitFor(needle: string): Promise<void>;
  exited: Promise<number | null>;
}

/** `ulearn args…` in a child process, its output collected. */
export function ulearnProc(args: string[], env: Record<string, string> = {}): Proc {
  const child = spawn(process.execPath, [ULEARN_BIN, ...args], { env: { ...process.env, ULEARN_FROM_SOURCE: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const waiters: { needle: string; resolve: () => void }[] = [];
  const onData = (d: Buffer) => {
    out += d.toString();
    for (const w of [...waiters]) {
      if (out.includes(w.needle)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    text: () => out,
    waitFor: (needle) => (out.includes(needle) ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ needle, resolve }))),
    exited,
  };
}

/** Stops a worker (SIGTERM: it finishes the shard in hand) and waits for it. */
export async function stopProc(p: Proc): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill('SIGTERM');
  await p.exited;
}
