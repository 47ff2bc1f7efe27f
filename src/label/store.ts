/**
 * A labeling project on disk: `<project-dir>/project.db` (SQLite via better-sqlite3) plus media and
 * embeddings files next to it. All reads and writes of labels go through this class.
 *
 * Durability: WAL with synchronous=FULL, so a label is fsynced before the write call returns and a label
 * the server acknowledged survives `kill -9` and power loss. (NORMAL would survive a process kill but could
 * lose the last commits on power loss; labels are people's time, and one fsync per label is cheap.)
 * busy_timeout lets the retrain worker's connection and the server's wait for each other instead of failing.
 */
import Database from 'better-sqlite3';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UlearnError } from '../errors.js';
import { migrate } from './schema.js';

export const DB_FILE = 'project.db';

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
const WHERE: Record<SampleFilter, string> = { all: '', labeled: 'WHERE label IS NOT NULL', unlabeled: 'WHERE label IS NULL' };

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

interface EventRow {
  id: number;
  sample_id: number;
  label: number | null;
  annotator_id: number;
  kind: LabelEvent['kind'];
  undoes: number | null;
  created_at: number;
}

const toEvent = (r: EventRow): LabelEvent => ({
  id: r.id,
  sampleId: r.sample_id,
  label: r.label,
  annotatorId: r.annotator_id,
  kind: r.kind,
  undoes: r.undoes,
  createdAt: r.created_at,
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

export class LabelStore {
  readonly meta: ProjectMeta;

  private constructor(
    readonly dir: string,
    readonly db: Database.Database,
  ) {
    const rows = db.prepare('SELECT key, value FROM meta').all() as { key: string; value: string }[];
    const m = Object.fromEntries(rows.map((r) => [r.key, JSON.parse(r.value) as unknown]));
    if (typeof m.name !== 'string') throw new UlearnError(`${join(dir, DB_FILE)}: not a ulearn label project (no meta)`, { code: 'E_PROJECT' });
    const classes = (db.prepare('SELECT name FROM classes ORDER BY idx').all() as { name: string }[]).map((r) => r.name);
    const stored = m as unknown as ProjectMeta;
    this.meta = { ...stored, overlap: stored.overlap ?? 0, classes };
  }

  /** Creates `<dir>/project.db`; refuses a directory that already has one. */
  static create(dir: string, meta: ProjectMeta): LabelStore {
    const abs = resolve(dir);
    const file = join(abs, DB_FILE);
    if (existsSync(file)) throw new UlearnError(`${file} already exists`, { code: 'E_PROJECT', hint: 'pick a new project directory' });
    if (meta.classes.length < 2) throw new UlearnError(`a project needs at least 2 classes, got ${meta.classes.length}`, { code: 'E_ARG' });
    if (new Set(meta.classes).size !== meta.classes.length) throw new UlearnError(`class names must be distinct: ${meta.classes.join(', ')}`, { code: 'E_ARG' });
    mkdirSync(abs, { recursive: true });
    const db = LabelStore.connect(file);
    db.transaction(() => {
      const put = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)');
      const { classes, ...rest } = meta;
      for (const [k, v] of Object.entries(rest)) put.run(k, JSON.stringify(v));
      const cls = db.prepare('INSERT INTO classes (idx, name) VALUES (?, ?)');
      classes.forEach((c, i) => cls.run(i, c));
    })();
    return new LabelStore(abs, db);
  }

  static open(dir: string): LabelStore {
    const abs = resolve(dir);
    const file = join(abs, DB_FILE);
    if (!existsSync(file)) {
      throw new UlearnError(`${abs} is not a label project (no ${DB_FILE})`, { code: 'E_PROJECT', hint: 'create one with `ulearn label init <project-dir> --data ... --classes ...`' });
    }
    return new LabelStore(abs, LabelStore.connect(file));
  }

  private static connect(file: string): Database.Database {
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('busy_timeout = 10000');
    db.pragma('foreign_keys = ON');
    migrate(db, file);
    return db;
  }

  close(): void {
    this.db.close();
  }

  // ---- samples -------------------------------------------------------------------------------------------

  /** Adds samples in one transaction; ids are assigned 1, 2, … in order (embedding row i is sample i + 1). */
  addSamples(samples: NewSample[]): void {
    const ins = this.db.prepare('INSERT INTO samples (file, hash, kind, meta, size, mtime_ms) VALUES (?, ?, ?, ?, ?, ?)');
    this.db.transaction(() => {
      for (const s of samples) ins.run(s.file, s.hash, s.kind, JSON.stringify(s.meta ?? {}), s.size, s.mtimeMs);
    })();
  }

  sampleCount(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM samples').get() as { n: number }).n;
  }

  sample(id: number): SampleRow | undefined {
    return this.db.prepare('SELECT id, file, hash, kind, meta, label FROM samples WHERE id = ?').get(id) as SampleRow | undefined;
  }

  sampleByFile(file: string): SampleRow | undefined {
    return this.db.prepare('SELECT id, file, hash, kind, meta, label FROM samples WHERE file = ?').get(file) as SampleRow | undefined;
  }

  listSamples(offset: number, limit: number, filter: SampleFilter = 'all'): SampleRow[] {
    return this.db.prepare(`SELECT id, file, hash, kind, meta, label FROM samples ${WHERE[filter]} ORDER BY id LIMIT ? OFFSET ?`).all(limit, offset) as SampleRow[];
  }

  countSamples(filter: SampleFilter = 'all'): number {
    return (this.db.prepare(`SELECT count(*) AS n FROM samples ${WHERE[filter]}`).get() as { n: number }).n;
  }

  /** Current label per sample, indexed by sample id - 1; -1 = unlabeled (the `Dataset.y` convention). */
  currentLabels(): Int32Array {
    const out = new Int32Array(this.sampleCount()).fill(-1);
    for (const r of this.db.prepare('SELECT id, label FROM samples WHERE label IS NOT NULL').iterate() as Iterable<{ id: number; label: number }>) {
      out[r.id - 1] = r.label;
    }
    return out;
  }

  sampleFile(id: number): SampleFile | undefined {
    return this.db.prepare('SELECT file, hash, size, mtime_ms AS mtimeMs FROM samples WHERE id = ?').get(id) as SampleFile | undefined;
  }

  /** Records a file's size and mtime after its content was checked against the registered hash. */
  recordFileStat(id: number, size: number, mtimeMs: number): void {
    this.db.prepare('UPDATE samples SET size = ?, mtime_ms = ? WHERE id = ?').run(size, mtimeMs, id);
  }

  // ---- annotators ----------------------------------------------------------------------------------------

  /** Registers an annotator and returns their token (shown once; only its hash is stored). */
  addAnnotator(name: string): string {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/.test(name)) {
      throw new UlearnError(`annotator name '${name}' is not allowed`, { code: 'E_ARG', hint: 'letters, digits, _ . @ -, at most 64 characters' });
    }
    if (this.db.prepare('SELECT 1 FROM annotators WHERE name = ?').get(name)) {
      throw new UlearnError(`annotator '${name}' already exists`, { code: 'E_ARG' });
    }
    const token = randomBytes(24).toString('base64url');
    this.db.prepare('INSERT INTO annotators (name, token_hash, created_at) VALUES (?, ?, ?)').run(name, hashToken(token), Date.now());
    return token;
  }

  annotatorByToken(token: string): Annotator | undefined {
    return this.db.prepare('SELECT id, name FROM annotators WHERE token_hash = ?').get(hashToken(token)) as Annotator | undefined;
  }

  /** The pseudo-annotator that imported labels are attributed to (no token: nobody can write as it). */
  importAnnotator(name: string): Annotator {
    const found = this.db.prepare('SELECT id, name FROM annotators WHERE name = ?').get(name) as Annotator | undefined;
    if (found) return found;
    const r = this.db.prepare('INSERT INTO annotators (name, token_hash, created_at) VALUES (?, NULL, ?)').run(name, Date.now());
    return { id: Number(r.lastInsertRowid), name };
  }

  annotators(): Annotator[] {
    return this.db.prepare('SELECT id, name FROM annotators ORDER BY id').all() as Annotator[];
  }

  // ---- label events --------------------------------------------------------------------------------------

  classIndex(name: string): number | undefined {
    const i = this.meta.classes.indexOf(name);
    return i < 0 ? undefined : i;
  }

  /** Appends a label event and updates the sample's current label, atomically. */
  label(sampleId: number, label: number, annotatorId: number, kind: 'label' | 'import' = 'label'): LabelEvent {
    if (!Number.isInteger(label) || label < 0 || label >= this.meta.classes.length) {
      throw new UlearnError(`label ${label} is not a class of this project (0..${this.meta.classes.length - 1})`, { code: 'E_LABEL' });
    }
    return this.db.transaction(() => {
      if (!this.sample(sampleId)) throw new UlearnError(`no sample with id ${sampleId}`, { code: 'E_NOT_FOUND' });
      return this.append(sampleId, label, annotatorId, kind, null);
    }).immediate();
  }

  private append(sampleId: number, label: number | null, annotatorId: number, kind: LabelEvent['kind'], undoes: number | null): LabelEvent {
    const createdAt = Date.now();
    const r = this.db
      .prepare('INSERT INTO label_events (sample_id, label, annotator_id, kind, undoes, created_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(sampleId, label, annotatorId, kind, undoes, createdAt);
    const id = Number(r.lastInsertRowid);
    this.db.prepare('UPDATE samples SET label = ?, label_event = ? WHERE id = ?').run(label, id, sampleId);
    return { id, sampleId, label, annotatorId, kind, undoes, createdAt };
  }

  /**
   * Undoes the annotator's latest label that is not undone yet: appends an 'undo' event restoring the
   * sample's label from just before it. Refused when someone else labeled the sample since, because
   * restoring the old label would silently overwrite their work.
   */
  undo(annotatorId: number): LabelEvent {
    return this.db.transaction(() => {
      const target = this.db
        .prepare(
          `SELECT * FROM label_events e WHERE e.annotator_id = ? AND e.kind = 'label'
             AND NOT EXISTS (SELECT 1 FROM label_events u WHERE u.undoes = e.id) ORDER BY e.id DESC LIMIT 1`,
        )
        .get(annotatorId) as EventRow | undefined;
      if (!target) throw new UlearnError('nothing to undo', { code: 'E_CONFLICT' });
      const other = this.db
        .prepare('SELECT a.name FROM label_events e JOIN annotators a ON a.id = e.annotator_id WHERE e.sample_id = ? AND e.id > ? AND e.annotator_id != ? LIMIT 1')
        .get(target.sample_id, target.id, annotatorId) as { name: string } | undefined;
      if (other) throw new UlearnError(`cannot undo: sample ${target.sample_id} was labeled by ${other.name} since`, { code: 'E_CONFLICT' });
      const before = this.db.prepare('SELECT label FROM label_events WHERE sample_id = ? AND id < ? ORDER BY id DESC LIMIT 1').get(target.sample_id, target.id) as
        | { label: number | null }
        | undefined;
      return this.append(target.sample_id, before?.label ?? null, annotatorId, 'undo', target.id);
    }).immediate();
  }

  /** Label and import events per annotator (undo events not counted). */
  labelsPerAnnotator(): { annotatorId: number; labels: number }[] {
    return this.db.prepare("SELECT annotator_id AS annotatorId, count(*) AS labels FROM label_events WHERE kind != 'undo' GROUP BY annotator_id ORDER BY annotator_id").all() as {
      annotatorId: number;
      labels: number;
    }[];
  }

  eventCount(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM label_events').get() as { n: number }).n;
  }

  lastEventId(): number {
    return (this.db.prepare('SELECT coalesce(max(id), 0) AS n FROM label_events').get() as { n: number }).n;
  }

  events(afterId = 0): IterableIterator<LabelEvent> {
    const it = this.db.prepare('SELECT * FROM label_events WHERE id > ? ORDER BY id').iterate(afterId) as IterableIterator<EventRow>;
    return (function* () {
      for (const r of it) yield toEvent(r);
    })();
  }

  /** Event that set each sample's current label (annotator and time for exports). */
  currentLabelEvents(): { sample: SampleRow; event: LabelEvent }[] {
    const rows = this.db
      .prepare(
        `SELECT s.id, s.file, s.hash, s.kind, s.meta, s.label, e.id AS eid, e.annotator_id, e.kind AS ekind, e.undoes, e.created_at
           FROM samples s JOIN label_events e ON e.id = s.label_event WHERE s.label IS NOT NULL ORDER BY s.id`,
      )
      .all() as (SampleRow & { eid: number; annotator_id: number; ekind: LabelEvent['kind']; undoes: number | null; created_at: number })[];
    return rows.map((r) => ({
      sample: { id: r.id, file: r.file, hash: r.hash, kind: r.kind, meta: r.meta, label: r.label },
      event: { id: r.eid, sampleId: r.id, label: r.label, annotatorId: r.annotator_id, kind: r.ekind, undoes: r.undoes, createdAt: r.created_at },
    }));
  }

  stats(): ProjectStats {
    const perClass = new Array<number>(this.meta.classes.length).fill(0);
    for (const r of this.db.prepare('SELECT label, count(*) AS n FROM samples WHERE label IS NOT NULL GROUP BY label').all() as { label: number; n: number }[]) {
      perClass[r.label] = r.n;
    }
    return { total: this.sampleCount(), labeled: perClass.reduce((a, b) => a + b, 0), target: this.meta.target, perClass, events: this.eventCount() };
  }

  // ---- model output (written by the retrain worker) ------------------------------------------------------

  suggestion(sampleId: number): Suggestion | undefined {
    return this.db.prepare('SELECT label, confidence FROM suggestions WHERE sample_id = ?').get(sampleId) as Suggestion | undefined;
  }

  /**
   * Up to `limit` unlabeled samples to show next: the active-learning queue first, then (before the first
   * model run, or when the queue is used up) the rest in a fixed pseudo-random order, so annotators never
   * page through a folder in file order.
   */
  nextSamples(limit: number, exclude: number[] = []): SampleRow[] {
    const ex = JSON.stringify(exclude);
    return this.db
      .prepare(
        `SELECT s.id, s.file, s.hash, s.kind, s.meta, s.label FROM samples s LEFT JOIN queue q ON q.sample_id = s.id
          WHERE s.label IS NULL AND s.id NOT IN (SELECT value FROM json_each(?))
          ORDER BY q.position IS NULL, q.position, (s.id * 2654435761) % 4294967296 LIMIT ?`,
      )
      .all(ex, limit) as SampleRow[];
  }

  /**
   * Labeled samples in the overlap set that `annotatorId` has never judged, for a blind second opinion;
   * served before new samples so that agreement builds up from the start.
   */
  secondOpinions(annotatorId: number, limit: number, exclude: number[] = []): SampleRow[] {
    const { seed, overlap } = this.meta;
    if (!(overlap > 0)) return [];
    const out: SampleRow[] = [];
    const rows = this.db
      .prepare(
        `SELECT s.id, s.file, s.hash, s.kind, s.meta, s.label FROM samples s
          WHERE s.label IS NOT NULL AND s.id NOT IN (SELECT value FROM json_each(?))
            AND NOT EXISTS (SELECT 1 FROM label_events e WHERE e.sample_id = s.id AND e.annotator_id = ?)
          ORDER BY s.label_event`,
      )
      .iterate(JSON.stringify(exclude), annotatorId) as IterableIterator<SampleRow>;
    for (const r of rows) {
      if (!isOverlap(r.id, seed, overlap)) continue;
      out.push(r);
      if (out.length >= limit) break;
    }
    return out;
  }

  /** Replaces the model's suggestions and the queue, and records the run, in one transaction. */
  saveModelRun(run: Omit<ModelRun, 'id'>, suggestions: { sampleId: number; label: number; confidence: number }[], queue: number[]): number {
    return this.db.transaction(() => {
      const r = this.db
        .prepare(
          `INSERT INTO model_runs (created_at, kind, strategy, last_event_id, train_labels, holdout_labels, holdout_accuracy, seconds, error)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(run.createdAt, run.kind, run.strategy, run.lastEventId, run.trainLabels, run.holdoutLabels, run.holdoutAccuracy, run.seconds, run.error);
      if (!run.error) {
        this.db.exec('DELETE FROM suggestions; DELETE FROM queue;');
        const s = this.db.prepare('INSERT INTO suggestions (sample_id, label, confidence) VALUES (?, ?, ?)');
        for (const x of suggestions) s.run(x.sampleId, x.label, x.confidence);
        const q = this.db.prepare('INSERT INTO queue (position, sample_id) VALUES (?, ?)');
        queue.forEach((id, i) => q.run(i, id));
      }
      return Number(r.lastInsertRowid);
    }).immediate();
  }

  modelRuns(): ModelRun[] {
    return (this.db.prepare('SELECT * FROM model_runs ORDER BY id').all() as Record<string, unknown>[]).map((r) => ({
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
    }));
  }

  // ---- embeddings ----------------------------------------------------------------------------------------

  setEmbeddings(path: string, dim: number, count: number, source: string): void {
    this.db.prepare('INSERT INTO embeddings (path, dim, count, source, created_at) VALUES (?, ?, ?, ?, ?)').run(path, dim, count, source, Date.now());
  }

  embeddings(): { path: string; dim: number; count: number; source: string } | undefined {
    const r = this.db.prepare('SELECT path, dim, count, source FROM embeddings ORDER BY id DESC LIMIT 1').get() as
      | { path: string; dim: number; count: number; source: string }
      | undefined;
    return r ? { ...r, path: resolve(this.dir, r.path) } : undefined;
  }
}
