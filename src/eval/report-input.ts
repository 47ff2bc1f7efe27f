/**
 * What a report is made of. Plain JSON (no Dates, typed arrays or Maps) because the same object is saved as
 * results.json next to report.html: the page is a view of that file, and the file is what scripts read.
 * Accuracies are fractions in [0, 1]; the page shows them as percentages.
 */
import { UlearnError } from '../errors.js';
import type { AccuracyEstimate } from './comparison.js';
import type { SpectrogramSection } from './spectrogram.js';
import { generatedReportProblems, type GeneratedReport } from './report-generated.js';

export interface ReportMethod {
  /** e.g. "supervised-only", "SSL + linear probe", "SSL + fine-tune". */
  name: string;
  /** Test accuracy (mean over seeds when several ran). */
  acc: number;
  /** Sample std of the accuracy over seeds. */
  accStd?: number;
  /** Recall per class, in `classes` order; null where the test split has no sample of that class. */
  perClass?: (number | null)[];
  /** counts[true][predicted], `classes.length` square. */
  confusion?: number[][];
  notes?: string;
  /** Optimizer steps taken (see comparison.ts: too few and the comparison is marked not meaningful). */
  steps?: number;
  /** Accuracy estimated from the labels alone before the final fit (k-fold cross-validation). */
  estimate?: AccuracyEstimate;
  /** The arm the estimates picked: the report's headline is about it, not about the best test number. */
  chosen?: boolean;
}

export interface ReportEpoch {
  epoch: number;
  loss: number;
  knnAcc?: number;
  featureStd?: number;
}

export interface ReportInput {
  title: string;
  dataset: string;
  labelsPerClass?: number;
  totalLabels: number;
  backend: string;
  seed: number;
  /** ISO 8601 timestamp. */
  createdAt: string;
  methods: ReportMethod[];
  /** Class names in label-index order. */
  classes: string[];
  pretrain?: { method: string; epochs: ReportEpoch[]; seconds: number };
  /** 2-D coordinates (e.g. from umap2d) and the true class of each point (-1: unlabeled). */
  embedding?: { x: number[]; y: number[]; label: number[] };
  /** The method the headline compares against (usually supervised-only); omitted: no comparison. */
  baselineName?: string;
  /** Said plainly when the estimates show SSL did not help (comparison.ts `sslVerdict`). */
  verdict?: string;
  /** Audio runs: one spectrogram thumbnail per class (./spectrogram.ts). */
  spectrograms?: SpectrogramSection;
  /** A line under the title about the data (e.g. that the speech is synthetic). */
  dataNote?: string;
  /** Generated samples: a gallery per class, their quality measures, how training used them (./report-generated.ts). */
  generated?: GeneratedReport;
}

/** Rejects inconsistent input up front, so a mistake is reported as such rather than as a garbled chart. */
export function checkReportInput(input: ReportInput): void {
  const n = input.classes.length;
  const bad = (msg: string) => new UlearnError(`report input: ${msg}`, { code: 'E_REPORT_INPUT' });
  for (const m of input.methods) {
    if (m.perClass && m.perClass.length !== n) throw bad(`method "${m.name}" has ${m.perClass.length} per-class values for ${n} classes`);
    if (m.confusion && (m.confusion.length !== n || m.confusion.some((row) => row.length !== n))) {
      throw bad(`method "${m.name}" confusion matrix is not ${n}×${n}`);
    }
  }
  const e = input.embedding;
  if (e && (e.x.length !== e.y.length || e.x.length !== e.label.length)) {
    throw bad(`embedding has ${e.x.length} x, ${e.y.length} y and ${e.label.length} labels`);
  }
  for (const t of input.spectrograms?.items ?? []) {
    if (!Number.isInteger(t.label) || t.label < 0 || t.label >= n) throw bad(`spectrogram thumbnail of class ${t.label}: there are ${n} classes`);
    if (!t.image.startsWith('data:image/png;base64,')) throw bad('spectrogram thumbnails must be PNG data: URIs');
  }
  const gen = input.generated ? generatedReportProblems(input.generated, n) : [];
  if (gen.length) throw bad(gen[0]);
  if (input.baselineName !== undefined && !input.methods.some((m) => m.name === input.baselineName)) {
    throw bad(`baseline "${input.baselineName}" is not one of the methods`);
  }
}
