/**
 * What `ulearn clean` works on and what each check returns (in the spirit of cleanlab's Datalab: every check
 * gives a per-sample score, a per-sample flag and a dataset-level summary; the manifest is built from flags).
 * Image and table checks return the same `CheckResult`; only what they read differs (`CheckContext` holds the
 * images, `TableCheckContext` the table).
 *
 * Images are held as 8-bit pixels (a quarter of the memory of floats, and what files contain anyway), at one
 * common size; samples that could not be read keep zeros and `readable = 0`, so indices stay aligned with ids.
 */
import type { Rng } from '../engine/seed.js';
import type { Budget } from '../util/budget.js';
import type { TableProfile } from './tabular.js';

/** The kinds of data `ulearn clean` checks; each has its own checks in the registry. */
export const CLEAN_MODALITIES = ['image', 'table', 'audio'] as const;
export type CleanModality = (typeof CLEAN_MODALITIES)[number];

export const SPLIT_NAMES = ['train', 'test'] as const;
export type SplitName = (typeof SPLIT_NAMES)[number];

export interface ImageSamples {
  /** Where the samples came from (folder or dataset name), for the report. */
  source: string;
  /** Per sample: file path relative to its split's folder, or `${index}` for packed datasets. */
  ids: string[];
  /** Per sample: index into SPLIT_NAMES. */
  split: Uint8Array;
  /** Per sample: class index, -1 = unlabeled. */
  y: Int32Array;
  classes: string[];
  /** Size the checks work at (the common size, downscaled for large images). */
  height: number;
  width: number;
  /** The dataset's common stored size (what files should have); differs from height/width when downscaled. */
  storedHeight: number;
  storedWidth: number;
  channels: number;
  /** n * height * width * channels bytes, NHWC; zeros for unreadable samples. */
  pixels: Uint8Array;
  /** 1 if the sample decoded. */
  readable: Uint8Array;
  /** Why a sample could not be read (only for unreadable ones). */
  readError: Map<number, string>;
  /** Per sample: [height, width, channels] as stored, before conversion to the common size (0s if unreadable). */
  nativeShape: Int32Array;
  /** Per sample: 1 if the source held NaN or infinite values (packed float inputs only). */
  nonFinite: Uint8Array;
  /** Per sample: the source files's byte size (0 for packed datasets), for the report. */
  fileBytes?: Float64Array;
  /** Per split: the folder the ids are relative to (for thumbnails and messages). */
  roots?: Partial<Record<SplitName, string>>;
}

export function sampleCount(s: Pick<ImageSamples, 'ids'>): number {
  return s.ids.length;
}

/** What the manifest does with a flagged sample: drop it, or keep the sample but drop its (doubtful) label. */
export type Action = 'exclude' | 'unlabel' | 'none';

export interface CheckResult {
  /** Stable check name, the key in issues.json (e.g. 'exact_duplicate'). */
  name: string;
  /** One line: what a flag means. */
  description: string;
  /** Per sample; higher = more likely an issue (NaN where the check does not apply). */
  scores: Float32Array;
  /** Per sample: 1 = flagged. */
  flags: Uint8Array;
  /** Per sample: the other sample a flag relates to (the duplicate kept, the suggested class...), -1 if none. */
  related?: Int32Array;
  /** Per flagged sample, a short reason text for the manifest; default is the check name. */
  reason?: (i: number) => string;
  /** Per flagged sample, extra fields for issues.json (e.g. the suggested class). */
  details?: (i: number) => Record<string, unknown>;
  /** What the manifest does with this check's flags by default. */
  action: Action;
  /** Dataset-level numbers (counts, thresholds, per-class tables). */
  summary: Record<string, unknown>;
  /** Set when the check did not run (budget exhausted, nothing to check): the reason. */
  skipped?: string;
}

/** What every check is given, whatever the data. */
export interface BaseCheckContext {
  rng: Rng;
  budget: Budget;
  /** Progress/status lines (stderr in the CLI). */
  log: (line: string) => void;
  /** Results of the checks that ran before this one, by name. */
  results: Map<string, CheckResult>;
}

/** Lazily computed, shared between checks (the kNN graph serves near duplicates, outliers and label errors). */
export interface CheckContext extends BaseCheckContext {
  samples: ImageSamples;
  /** Shared kNN graph over usable samples; see neighbours.ts. */
  neighbours: () => Promise<import('./neighbours.js').NeighbourGraph>;
}

/**
 * A table as its checks see it. The rows stay in the file (a million-row CSV is streamed, not held): sample i
 * of a result is row i in file order, `lines[i]` its file line (the id in the manifest), and `eachRow`
 * streams the rows again for a check that needs the cells.
 */
export interface TableSamples {
  /** The file (or the name of in-memory columns). */
  source: string;
  rows: number;
  /** Per row: its line in the file (header on line 1). */
  lines: Int32Array;
  /** Column names, in file order. */
  columns: string[];
  /** Cells that count as missing ('', '?', 'NA', ...). */
  missing: ReadonlySet<string>;
  /** One more pass over the rows: each row's cells as text (null: no cell), with its row index i. */
  eachRow(f: (values: readonly (string | null)[], i: number) => void): Promise<void>;
}

/** What a table check is given: the table and the one-pass profile the built-in checks read. */
export interface TableCheckContext extends BaseCheckContext {
  table: TableSamples;
  /** Per-column statistics and per-row missing counts and duplicate keys, from the loading pass (tabular.ts). */
  profile: TableProfile;
}

/**
 * Audio clips as their checks see them (clean/run-audio.ts): the waveforms as the audio loader gives them
 * (16 kHz, fitted to the clip length) and, per file, numbers taken from the decoded samples before resampling
 * and fitting (level, clipping, content hash), so padding or resampling never hides a silent or clipped
 * recording. Unreadable files keep zeros and `readable = 0`, so indices stay aligned with ids.
 */
export interface AudioSamples {
  /** The train folder, for the report. */
  source: string;
  /** Per sample: file path relative to its split's folder. */
  ids: string[];
  /** Per sample: index into SPLIT_NAMES. */
  split: Uint8Array;
  /** Per sample: class index, -1 = unlabeled (and for unreadable files). */
  y: Int32Array;
  classes: string[];
  /** Samples per clip (16 kHz × seconds). */
  clipSamples: number;
  /** n * clipSamples, the loader's clips (centre-cropped or zero-padded); zeros for unreadable files. */
  waveforms: Float32Array;
  /** 1 if the file decoded. */
  readable: Uint8Array;
  /** Why a file could not be read (only for unreadable ones). */
  readError: Map<number, string>;
  /** Per sample, over the decoded file (NaN if unreadable): RMS level (full scale = 1). */
  rms: Float32Array;
  /** Per sample: share of the decoded samples with |x| >= CLIP_LEVEL (NaN if unreadable). */
  clippedShare: Float32Array;
  /** Per sample: the decoded file's length in seconds and its sample rate (0 if unreadable). */
  seconds: Float32Array;
  sampleRate: Int32Array;
  /** Per sample: sha-256 of the decoded mono samples and the rate ('' if unreadable): same sound, same hash. */
  contentHash: string[];
  /** Per split: the folder the ids are relative to. */
  roots: Partial<Record<SplitName, string>>;
}

/** What an audio check is given: the clips and, computed once and shared, their embedding and kNN graph. */
export interface AudioCheckContext extends BaseCheckContext {
  samples: AudioSamples;
  /**
   * 80 values per sample: mean and std over time of the 40-band log-mel (data/preprocess/audio-embedding.ts),
   * standardised per dimension over the usable clips; zero rows for clips not in the graph.
   */
  embedding: () => Promise<{ vectors: Float32Array; dim: number }>;
  /** Shared kNN graph (cosine) over the usable clips' embeddings; see neighbours.ts. */
  neighbours: () => Promise<import('./neighbours.js').NeighbourGraph>;
}

/** An image check (the default), a table check (`modality: 'table'`) or an audio check (`modality: 'audio'`); all return a `CheckResult`. */
export interface Check<C extends BaseCheckContext = CheckContext> {
  name: string;
  /** Which data the check runs on (default 'image'). */
  modality?: C extends TableCheckContext ? 'table' : C extends AudioCheckContext ? 'audio' : 'image';
  /** Cheap and needed for a correct manifest (e.g. corrupt files): runs even when the budget is exhausted. */
  always?: boolean;
  run(ctx: C): CheckResult | Promise<CheckResult>;
}

export type TableCheck = Check<TableCheckContext> & { modality: 'table' };
export type AudioCheck = Check<AudioCheckContext> & { modality: 'audio' };

/** A result for a check that did not run (flags nothing). */
export function skippedResult(name: string, description: string, n: number, why: string): CheckResult {
  return { name, description, scores: new Float32Array(n).fill(NaN), flags: new Uint8Array(n), action: 'none', summary: { flagged: 0 }, skipped: why };
}
