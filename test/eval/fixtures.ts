/**
 * A realistic sample report input (Fashion-MNIST-like, 10 classes, three methods, 50 pretraining epochs,
 * 1,500 embedded points), built deterministically so tests and the screenshot are stable.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Rng } from '../../src/engine/seed.js';
import type { ReportInput } from '../../src/eval/report.js';

export const CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

/** Test-artifact folder (gitignored) for files a person may want to look at after the run. */
export async function artifactDir(name: string): Promise<string> {
  const dir = join(import.meta.dirname, '..', '..', 'test-artifacts', name);
  await mkdir(dir, { recursive: true });
  return dir;
}

/** Confusion counts with the given recall per class; mistakes go mostly to the "neighbour" classes. */
function confusion(rng: Rng, recall: number[], perClass = 100): number[][] {
  const n = recall.length;
  return recall.map((r, t) => {
    const row = new Array<number>(n).fill(0);
    for (let i = 0; i < perClass; i++) {
      if (rng.random() < r) row[t]++;
      else {
        const off = rng.random() < 0.7 ? (rng.random() < 0.5 ? 1 : n - 1) : 1 + rng.int(n - 1);
        row[(t + off) % n]++;
      }
    }
    return row;
  });
}

function recallOf(m: number[][]): number[] {
  return m.map((row, i) => row[i] / row.reduce((s, v) => s + v, 0));
}

export function sampleReport(): ReportInput {
  const rng = new Rng(7);
  const base = [0.72, 0.9, 0.55, 0.68, 0.52, 0.8, 0.3, 0.78, 0.82, 0.85];
  const cmSup = confusion(rng, base);
  const cmLin = confusion(rng, base.map((r) => Math.min(0.98, r + 0.1)));
  const cmFt = confusion(rng, base.map((r) => Math.min(0.99, r + 0.15)));
  const epochs = Array.from({ length: 50 }, (_, i) => ({
    epoch: i + 1,
    loss: 5.2 * Math.exp(-i / 14) + 1.1 + 0.05 * rng.normal(),
    knnAcc: 0.78 - 0.5 * Math.exp(-i / 9) + 0.008 * rng.normal(),
    featureStd: 0.06 + 0.03 * (1 - Math.exp(-i / 6)),
  }));
  const x: number[] = [];
  const y: number[] = [];
  const label: number[] = [];
  for (let i = 0; i < 1500; i++) {
    const c = i % 10;
    const angle = (c / 10) * 2 * Math.PI;
    x.push(8 * Math.cos(angle) + rng.normal() * 1.1);
    y.push(8 * Math.sin(angle) + rng.normal() * 1.1);
    label.push(c);
  }
  return {
    title: 'Fashion-MNIST · 100 labels',
    dataset: 'fashion-mnist (60,000 train / 10,000 test)',
    labelsPerClass: 10,
    totalLabels: 100,
    backend: 'wasm (4 threads)',
    seed: 42,
    createdAt: '2025-03-14T09:26:53.000Z',
    classes: [...CLASSES], // a copy: tests edit class names
    baselineName: 'supervised-only',
    methods: [
      { name: 'supervised-only', acc: 0.6531, accStd: 0.0121, perClass: recallOf(cmSup), confusion: cmSup, notes: 'Reference CNN trained on the 100 labeled images only' },
      { name: 'SSL + linear probe', acc: 0.7684, accStd: 0.0093, perClass: recallOf(cmLin), confusion: cmLin, notes: 'Frozen SimCLR encoder, logistic regression head' },
      { name: 'SSL + fine-tune', acc: 0.8124, accStd: 0.0108, perClass: recallOf(cmFt), confusion: cmFt, notes: 'SimCLR encoder fine-tuned end to end' },
    ],
    pretrain: { method: 'SimCLR', epochs, seconds: 812 },
    embedding: { x, y, label },
  };
}
