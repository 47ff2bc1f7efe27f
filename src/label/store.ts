/**
 * A labeling project's store: the one interface every reader and writer of labels goes through, with two
 * implementations that keep the same append-only event schema, migrations and guarantees:
 *
 * - SQLite (sqlite-store.ts): `<project-dir>/project.db`, the default; one machine, one server.
 * - PostgreSQL (pg-store.ts): a schema of its own in a database named by a `postgres://` URL given to
 *   `label init --store`, recorded (without its password) in `<project-dir>/store.json`; several label
 *   servers on one database serve one team.
 *
 * Either way the project folder stays the home of the embeddings and (for Fashion-MNIST) the media, and
 * every method is asynchronous, because PostgreSQL's client is. Guarantees both keep: a label write is
 * durable when it is acknowledged (survives `kill -9`), label events are never updated or deleted (the
 * database refuses it), a sample's cached current label is always its latest event's, and no write
 * silently overwrites another annotator's label (undo and import refuse instead).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UlearnError } from '../errors.js';

/** The SQLite store's file in the project folder. */
export const DB_FILE = 'project.db';
/** Where a project kept in PostgreSQL records its URL (never its password) and schema. */
export const STORE_FILE = 'store.json';

export interface ProjectMeta {
  name: string;
  classes: string[];
  /** Absolute folder the samples' `file` paths are relative to; media is served only from there. */
  dataRoot: string;
  /** Labels wanted in total (progress bar). */
  target: number;
  seed: number;
  /** Retrain the light model after this many new labels. */
  retrainEvery: number;
  strategy: string;
  model: 'linear' | 'label-propagation';
  /** Fraction of samples that, once labeled, are shown to each other annotator too (blind) for agreement. */
  overlap: number;
}

export type SampleFilter = 'all' | 'labeled' | 'unlabeled';
export const SAMPLE_WHERE: Record<SampleFilter, string> = { all: '', labeled: 'WHERE label IS NOT NULL', unlabeled: 'WHERE label IS NULL' };

export interface SampleRow {
  id: number;
  file: string;
  hash: string;
  kind: 'image' | 'audio';
  meta: string;
  /** Current label (class index) or null. */
  label: number | null;
}

export interface NewSample {
  file: string;
  hash: string;
  kind: 'image' | 'audio';
  /** Size in bytes and mtime when registered: a file that no longer matches is not served (see media.ts). */
  size: number;
  mtimeMs: number;
  meta?: Record<string, unknown>;
}

/** What was recorded about a sample's file at import; size and mtime are null for projects from before. */
export interface SampleFile {
  file: string;
  hash: string;
  size: number | null;
  mtimeMs: number | null;
}

export interface LabelEvent {
  id: number;
  sampleId: number;
  label: number | null;
  annotatorId: number;
  kind: 'label' | 'undo' | 'import';
  undoes: number | null;
  createdAt: number;
}

export interface Annotator {
  id: number;
  name: string;
}

export interface Suggestion {
  label: number;
  confidence: number;
}

export interface ModelRun {
  id: number;
  createdAt: number;
  kind: string;
  strategy: string;
  lastEventId: number;
  trainLabels: number;
  holdoutLabels: number;
  holdoutAccuracy: number | null;
  seconds: number;
  error: string | null;
}

export interface ProjectStats {
  total: number;
  labeled: number;
  target: number;
  perClass: number[];
  events: number;
}

/** One imported label: applied only if the sample's current label is still `expected` (see importLabels). */
export interface ImportLabel {
  sampleId: number;
  label: number;
  expected: number | null;
}

export interface EmbeddingsRef {
  /** Absolute path of the float32 file (rows in sample-id order). */
  path: string;
  dim: number;
  count: number;
  source: string;
}

export interface LabelStore {
  readonly kind: 'sqlite' | 'postgres';
  /** The project folder (embeddings, media, and for SQLite the database). */
  readonly dir: string;
  readonly meta: ProjectMeta;
  /** Where the labels live, for messages: the database file, or the URL with its password masked. */
  readonly location: string;
  close(): Promise<void>;

  /** Adds samples in one transaction; ids are assigned 1, 2, … in order (embedding row i is sample i + 1). */
  addSamples(samples: NewSample[]): Promise<void>;
  sampleCount(): Promise<number>;
  sample(id: number): Promise<SampleRow | undefined>;
  sampleByFile(file: string): Promise<SampleRow | undefined>;
  listSamples(offset: number, limit: number, filter?: SampleFilter): Promise<SampleRow[]>;
  countSamples(filter?: SampleFilter): Promise<number>;
  /** Current label per sample, indexed by sample id - 1; -1 = unlabeled (the `Dataset.y` convention). */
  currentLabels(): Promise<Int32Array>;
  sampleFile(id: number): Promise<SampleFile | undefined>;
  /** Records a file's size and mtime after its content was checked against the registered hash. */
  recordFileStat(id: number, size: number, mtimeMs: number): Promise<void>;

  /** Registers an annotator and returns their token (shown once; only its hash is stored). */
  addAnnotator(name: string): Promise<string>;
  annotatorByToken(token: string): Promise<Annotator | undefined>;
  annotators(): Promise<Annotator[]>;

  classIndex(name: string): number | undefined;
  /** Appends a label event and updates the sample's current label, atomically; durable when it returns. */
  label(sampleId: number, label: number, annotatorId: number): Promise<LabelEvent>;
  /**
   * Undoes the annotator's latest label that is not undone yet: appends an 'undo' event restoring the
   * sample's label from just before it. Refused when someone else labeled the sample since, because
   * restoring the old label would silently overwrite their work.
   */
  undo(annotatorId: number): Promise<LabelEvent>;
  /**
   * Appends 'import' events of the pseudo-annotator `annotatorName` (created if new, with no token: nobody
   * can write as it), all in one transaction. A sample whose current label is no longer the one the
   * import was planned against (someone labeled it meanwhile) refuses the whole import: E_CONFLICT.
   */
  importLabels(annotatorName: string, labels: ImportLabel[]): Promise<void>;
  /** Label and import events per annotator (undo events not counted). */
  labelsPerAnnotator(): Promise<{ annotatorId: number; labels: number }[]>;
  eventCount(): Promise<number>;
  lastEventId(): Promise<number>;
  /** Events after `afterId`, in id order. */
  events(afterId?: number): Promise<LabelEvent[]>;
  /** Event that set each sample's current label (annotator and time for exports). */
  currentLabelEvents(): Promise<{ sample: SampleRow; event: LabelEvent }[]>;
  stats(): Promise<ProjectStats>;

  suggestion(sampleId: number): Promise<Suggestion | undefined>;
  /**
   * Up to `limit` unlabeled samples to show next: the active-learning queue first, then (before the first
   * model run, or when the queue is used up) the rest in a fixed pseudo-random order, so annotators never
   * page through a folder in file order.
   */
  nextSamples(limit: number, exclude?: number[]): Promise<SampleRow[]>;
  /**
   * Labeled samples in the overlap set that `annotatorId` has never judged, for a blind second opinion;
   * served before new samples so that agreement builds up from the start.
   */
  secondOpinions(annotatorId: number, limit: number, exclude?: number[]): Promise<SampleRow[]>;
  /** Replaces the model's suggestions and the queue, and records the run, in one transaction. */
  saveModelRun(run: Omit<ModelRun, 'id'>, suggestions: { sampleId: number; label: number; confidence: number }[], queue: number[]): Promise<number>;
  modelRuns(): Promise<ModelRun[]>;

  /** Records the embeddings file (`path` relative to the project folder). */
  setEmbeddings(path: string, dim: number, count: number, source: string): Promise<void>;
  embeddings(): Promise<EmbeddingsRef | undefined>;
}

export interface EventRow {
  id: number;
  sample_id: number;
  label: number | null;
  annotator_id: number;
  kind: LabelEvent['kind'];
  undoes: number | null;
  created_at: number;
}

export const toEvent = (r: EventRow): LabelEvent => ({
  id: r.id,
  sampleId: r.sample_id,
  label: r.label,
  annotatorId: r.annotator_id,
  kind: r.kind,
  undoes: r.undoes,
  createdAt: r.created_at,
});

export const toModelRun = (r: Record<string, unknown>): ModelRun => ({
  id: r.id as number,
  createdAt: r.created_at as number,
  kind: r.kind as string,
  strategy: r.strategy as string,
  lastEventId: r.last_event_id as number,
  trainLabels: r.train_labels as number,
  holdoutLabels: r.holdout_labels as number,
  holdoutAccuracy: r.holdout_accuracy as number | null,
  seconds: r.seconds as number,
  error: r.error as string | null,
});

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * Every fifth labeled sample (by a seeded hash of its id, so the slice is fixed for the project's life) is
 * held out from the light model's training and only used to measure its accuracy.
 */
export function isHoldout(sampleId: number, seed: number): boolean {
  return sampleHash(sampleId, seed, 0x9e3779b9) % 5 === 0;
}

/**
 * Whether a labeled sample is also shown to other annotators for a second opinion (the source of the
 * agreement numbers): a fixed `fraction` of samples, by a seeded hash independent of the held-out one.
 */
export function isOverlap(sampleId: number, seed: number, fraction: number): boolean {
  return sampleHash(sampleId, seed, 0x632be5ab) % 10000 < Math.round(fraction * 10000);
}

function sampleHash(sampleId: number, seed: number, salt: number): number {
  let h = (Math.imul(sampleId ^ salt, 0x85ebca6b) ^ Math.imul(seed + 1, 0xc2b2ae35)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d) >>> 0;
  h ^= h >>> 15;
  return h >>> 0;
}

// ---- rules both stores apply the same way ---------------------------------------------------------------

export function checkNewProject(meta: ProjectMeta): void {
  if (meta.classes.length < 2) throw new UlearnError(`a project needs at least 2 classes, got ${meta.classes.length}`, { code: 'E_ARG' });
  if (new Set(meta.classes).size !== meta.classes.length) throw new UlearnError(`class names must be distinct: ${meta.classes.join(', ')}`, { code: 'E_ARG' });
}

export function checkAnnotatorName(name: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/.test(name)) {
    throw new UlearnError(`annotator name '${name}' is not allowed`, { code: 'E_ARG', hint: 'letters, digits, _ . @ -, at most 64 characters' });
  }
}

export function checkLabel(meta: ProjectMeta, label: number): void {
  if (!Number.isInteger(label) || label < 0 || label >= meta.classes.length) {
    throw new UlearnError(`label ${label} is not a class of this project (0..${meta.classes.length - 1})`, { code: 'E_LABEL' });
  }
}

export function classIndexOf(meta: ProjectMeta, name: string): number | undefined {
  const i = meta.classes.indexOf(name);
  return i < 0 ? undefined : i;
}

/** The meta table's rows (JSON values) and the class names, as a ProjectMeta. */
export function metaFromRows(rows: { key: string; value: string }[], classes: string[], where: string): ProjectMeta {
  const m = Object.fromEntries(rows.map((r) => [r.key, JSON.parse(r.value) as unknown]));
  if (typeof m.name !== 'string') throw new UlearnError(`${where}: not a ulearn label project (no meta)`, { code: 'E_PROJECT' });
  const stored = m as unknown as ProjectMeta;
  return { ...stored, overlap: stored.overlap ?? 0, classes };
}

export function newerSchemaError(where: string, version: number, known: number): UlearnError {
  return new UlearnError(`${where}: project database is schema version ${version}, this ulearn knows up to ${known}`, {
    code: 'E_PROJECT',
    hint: 'upgrade ulearn to open this project',
  });
}

export const undoConflict = (sampleId: number, by: string) => new UlearnError(`cannot undo: sample ${sampleId} was labeled by ${by} since`, { code: 'E_CONFLICT' });
export const importConflict = (sampleId: number) =>
  new UlearnError(`sample ${sampleId} was labeled by someone else while the import ran; nothing imported`, { code: 'E_CONFLICT', hint: 'run the import again: its report will list the new conflicts' });

// ---- opening and creating -------------------------------------------------------------------------------

/** `store.json` of a project kept in PostgreSQL. */
export interface StoreConfig {
  store: 'postgres';
  /** Connection URL without a password (the password comes from PGPASSWORD or ~/.pgpass). */
  url: string;
  /** The project's PostgreSQL schema. */
  schema: string;
}

export const isPostgresUrl = (s: string) => /^postgres(ql)?:\/\//i.test(s);

/** Opens the project in `dir`, whichever store it is kept in. */
export async function openStore(dir: string): Promise<LabelStore> {
  const abs = resolve(dir);
  const cfgFile = join(abs, STORE_FILE);
  if (existsSync(cfgFile)) {
    const cfg = readStoreConfig(cfgFile);
    const { PgLabelStore } = await import('./pg-store.js');
    return PgLabelStore.open(abs, cfg);
  }
  const { SqliteLabelStore } = await import('./sqlite-store.js');
  return SqliteLabelStore.open(abs);
}

/**
 * Creates a project's store: SQLite in `dir` (the default), or, with a `postgres://` URL, a new schema in
 * that database plus `dir/store.json` pointing at it. Refuses a folder that already holds a project.
 */
export async function createStore(dir: string, meta: ProjectMeta, store?: string): Promise<LabelStore> {
  const abs = resolve(dir);
  for (const f of [DB_FILE, STORE_FILE]) {
    if (existsSync(join(abs, f))) throw new UlearnError(`${join(abs, f)} already exists`, { code: 'E_PROJECT', hint: 'pick a new project directory' });
  }
  checkNewProject(meta);
  if (store !== undefined && store !== 'sqlite') {
    if (!isPostgresUrl(store)) throw new UlearnError(`--store: expected 'sqlite' or a postgres:// URL, got '${store.slice(0, 40)}'`, { code: 'E_ARG' });
    const { PgLabelStore } = await import('./pg-store.js');
    return PgLabelStore.create(abs, meta, store);
  }
  const { SqliteLabelStore } = await import('./sqlite-store.js');
  return SqliteLabelStore.create(abs, meta);
}

function readStoreConfig(file: string): StoreConfig {
  let cfg: Partial<StoreConfig>;
  try {
    cfg = JSON.parse(readFileSync(file, 'utf8')) as Partial<StoreConfig>;
  } catch (err) {
    throw new UlearnError(`${file}: unreadable (${(err as Error).message})`, { code: 'E_PROJECT' });
  }
  if (cfg.store !== 'postgres' || typeof cfg.url !== 'string' || !isPostgresUrl(cfg.url) || typeof cfg.schema !== 'string') {
    throw new UlearnError(`${file}: expected {"store": "postgres", "url": "postgres://…", "schema": "…"}`, { code: 'E_PROJECT' });
  }
  return cfg as StoreConfig;
}
