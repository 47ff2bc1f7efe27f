/**
 * The SQLite store (the default): `<project-dir>/project.db` via better-sqlite3, next to the media and
 * embeddings files. The LabelStore interface is asynchronous for PostgreSQL's sake; here every call runs
 * synchronously and returns a settled promise, so its behaviour is what it always was.
 *
 * Durability: WAL with synchronous=FULL, so a label is fsynced before the write call returns and a label
 * the server acknowledged survives `kill -9` and power loss. (NORMAL would survive a process kill but could
 * lose the last commits on power loss; labels are people's time, and one fsync per label is cheap.)
 * busy_timeout lets the retrain worker's connection and the server's wait for each other instead of failing.
 * Write transactions are IMMEDIATE: they take the write lock before reading, so a check (undo's "nobody
 * labeled it since", import's "still the label the import was planned against") holds until the commit.
 */
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UlearnError } from '../errors.js';
import { migrate } from './schema.js';
import {
  checkAnnotatorName,
  checkLabel,
  classIndexOf,
  DB_FILE,
  hashToken,
  importConflict,
  isOverlap,
  metaFromRows,
  SAMPLE_WHERE,
  STORE_FILE,
  undoConflict,
  toEvent,
  toModelRun,
  type Annotator,
  type EmbeddingsRef,
  type EventRow,
  type ImportLabel,
  type LabelEvent,
  type LabelStore,
  type ModelRun,
  type NewSample,
  type ProjectMeta,
  type ProjectStats,
  type SampleFile,
  type SampleFilter,
  type SampleRow,
  type Suggestion,
} from './store.js';

export class SqliteLabelStore implements LabelStore {
  readonly kind = 'sqlite';
  readonly meta: ProjectMeta;
  readonly location: string;

  private constructor(
    readonly dir: string,
    readonly db: Database.Database,
  ) {
    this.location = join(dir, DB_FILE);
    const rows = db.prepare('SELECT key, value FROM meta').all() as { key: string; value: string }[];
    const classes = (db.prepare('SELECT name FROM classes ORDER BY idx').all() as { name: string }[]).map((r) => r.name);
    this.meta = metaFromRows(rows, classes, this.location);
  }

  /** Creates `<dir>/project.db` (createStore has checked that the folder holds no project). */
  static create(abs: string, meta: ProjectMeta): SqliteLabelStore {
    mkdirSync(abs, { recursive: true });
    const db = SqliteLabelStore.connect(join(abs, DB_FILE));
    db.transaction(() => {
      const put = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)');
      const { classes, ...rest } = meta;
      for (const [k, v] of Object.entries(rest)) put.run(k, JSON.stringify(v));
      const cls = db.prepare('INSERT INTO classes (idx, name) VALUES (?, ?)');
      classes.forEach((c, i) => cls.run(i, c));
    })();
    return new SqliteLabelStore(abs, db);
  }

  static open(dir: string): SqliteLabelStore {
    const abs = resolve(dir);
    const file = join(abs, DB_FILE);
    if (!existsSync(file)) {
      throw new UlearnError(`${abs} is not a label project (no ${DB_FILE} or ${STORE_FILE})`, { code: 'E_PROJECT', hint: 'create one with `ulearn label init <project-dir> --data ... --classes ...`' });
    }
    return new SqliteLabelStore(abs, SqliteLabelStore.connect(file));
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

  async close(): Promise<void> {
    this.db.close();
  }

  // ---- samples -------------------------------------------------------------------------------------------

  async addSamples(samples: NewSample[]): Promise<void> {
    const ins = this.db.prepare('INSERT INTO samples (file, hash, kind, meta, size, mtime_ms) VALUES (?, ?, ?, ?, ?, ?)');
    this.db.transaction(() => {
      for (const s of samples) ins.run(s.file, s.hash, s.kind, JSON.stringify(s.meta ?? {}), s.size, s.mtimeMs);
    })();
  }

  async sampleCount(): Promise<number> {
    return this.count();
  }

  private count(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM samples').get() as { n: number }).n;
  }

  async sample(id: number): Promise<SampleRow | undefined> {
    return this.sampleNow(id);
  }

  private sampleNow(id: number): SampleRow | undefined {
    return this.db.prepare('SELECT id, file, hash, kind, meta, label FROM samples WHERE id = ?').get(id) as SampleRow | undefined;
  }

  async sampleByFile(file: string): Promise<SampleRow | undefined> {
    return this.db.prepare('SELECT id, file, hash, kind, meta, label FROM samples WHERE file = ?').get(file) as SampleRow | undefined;
  }

  async listSamples(offset: number, limit: number, filter: SampleFilter = 'all'): Promise<SampleRow[]> {
    return this.db.prepare(`SELECT id, file, hash, kind, meta, label FROM samples ${SAMPLE_WHERE[filter]} ORDER BY id LIMIT ? OFFSET ?`).all(limit, offset) as SampleRow[];
  }

  async countSamples(filter: SampleFilter = 'all'): Promise<number> {
    return (this.db.prepare(`SELECT count(*) AS n FROM samples ${SAMPLE_WHERE[filter]}`).get() as { n: number }).n;
  }

  async currentLabels(): Promise<Int32Array> {
    const out = new Int32Array(this.count()).fill(-1);
    for (const r of this.db.prepare('SELECT id, label FROM samples WHERE label IS NOT NULL').iterate() as Iterable<{ id: number; label: number }>) {
      out[r.id - 1] = r.label;
    }
    return out;
  }

  async sampleFile(id: number): Promise<SampleFile | undefined> {
    return this.db.prepare('SELECT file, hash, size, mtime_ms AS mtimeMs FROM samples WHERE id = ?').get(id) as SampleFile | undefined;
  }

  async recordFileStat(id: number, size: number, mtimeMs: number): Promise<void> {
    this.db.prepare('UPDATE samples SET size = ?, mtime_ms = ? WHERE id = ?').run(size, mtimeMs, id);
  }

  // ---- annotators ----------------------------------------------------------------------------------------

  async addAnnotator(name: string): Promise<string> {
    checkAnnotatorName(name);
    if (this.db.prepare('SELECT 1 FROM annotators WHERE name = ?').get(name)) {
      throw new UlearnError(`annotator '${name}' already exists`, { code: 'E_ARG' });
    }
    const token = randomBytes(24).toString('base64url');
    this.db.prepare('INSERT INTO annotators (name, token_hash, created_at) VALUES (?, ?, ?)').run(name, hashToken(token), Date.now());
    return token;
  }

  async annotatorByToken(token: string): Promise<Annotator | undefined> {
    return this.db.prepare('SELECT id, name FROM annotators WHERE token_hash = ?').get(hashToken(token)) as Annotator | undefined;
  }

  /** The pseudo-annotator that imported labels are attributed to (no token: nobody can write as it). */
  private importAnnotator(name: string): Annotator {
    const found = this.db.prepare('SELECT id, name FROM annotators WHERE name = ?').get(name) as Annotator | undefined;
    if (found) return found;
    const r = this.db.prepare('INSERT INTO annotators (name, token_hash, created_at) VALUES (?, NULL, ?)').run(name, Date.now());
    return { id: Number(r.lastInsertRowid), name };
  }

  async annotators(): Promise<Annotator[]> {
    return this.db.prepare('SELECT id, name FROM annotators ORDER BY id').all() as Annotator[];
  }

  // ---- label events --------------------------------------------------------------------------------------

  classIndex(name: string): number | undefined {
    return classIndexOf(this.meta, name);
  }

  async label(sampleId: number, label: number, annotatorId: number): Promise<LabelEvent> {
    checkLabel(this.meta, label);
    return this.db.transaction(() => {
      if (!this.sampleNow(sampleId)) throw new UlearnError(`no sample with id ${sampleId}`, { code: 'E_NOT_FOUND' });
      return this.append(sampleId, label, annotatorId, 'label', null);
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

  async undo(annotatorId: number): Promise<LabelEvent> {
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
      if (other) throw undoConflict(target.sample_id, other.name);
      const before = this.db.prepare('SELECT label FROM label_events WHERE sample_id = ? AND id < ? ORDER BY id DESC LIMIT 1').get(target.sample_id, target.id) as
        | { label: number | null }
        | undefined;
      return this.append(target.sample_id, before?.label ?? null, annotatorId, 'undo', target.id);
    }).immediate();
  }

  async importLabels(annotatorName: string, labels: ImportLabel[]): Promise<void> {
    for (const l of labels) checkLabel(this.meta, l.label);
    this.db.transaction(() => {
      const who = this.importAnnotator(annotatorName);
      for (const l of labels) {
        const s = this.sampleNow(l.sampleId);
        if (!s) throw new UlearnError(`no sample with id ${l.sampleId}`, { code: 'E_NOT_FOUND' });
        if (s.label !== l.expected) throw importConflict(l.sampleId);
        this.append(l.sampleId, l.label, who.id, 'import', null);
      }
    }).immediate();
  }

  async labelsPerAnnotator(): Promise<{ annotatorId: number; labels: number }[]> {
    return this.db.prepare("SELECT annotator_id AS annotatorId, count(*) AS labels FROM label_events WHERE kind != 'undo' GROUP BY annotator_id ORDER BY annotator_id").all() as {
      annotatorId: number;
      labels: number;
    }[];
  }

  async eventCount(): Promise<number> {
    return (this.db.prepare('SELECT count(*) AS n FROM label_events').get() as { n: number }).n;
  }

  async lastEventId(): Promise<number> {
    return (this.db.prepare('SELECT coalesce(max(id), 0) AS n FROM label_events').get() as { n: number }).n;
  }

  async events(afterId = 0): Promise<LabelEvent[]> {
    return (this.db.prepare('SELECT * FROM label_events WHERE id > ? ORDER BY id').all(afterId) as EventRow[]).map(toEvent);
  }

  async currentLabelEvents(): Promise<{ sample: SampleRow; event: LabelEvent }[]> {
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

  async stats(): Promise<ProjectStats> {
    const perClass = new Array<number>(this.meta.classes.length).fill(0);
    for (const r of this.db.prepare('SELECT label, count(*) AS n FROM samples WHERE label IS NOT NULL GROUP BY label').all() as { label: number; n: number }[]) {
      perClass[r.label] = r.n;
    }
    return { total: this.count(), labeled: perClass.reduce((a, b) => a + b, 0), target: this.meta.target, perClass, events: await this.eventCount() };
  }

  // ---- model output (written by the retrain worker) ------------------------------------------------------

  async suggestion(sampleId: number): Promise<Suggestion | undefined> {
    return this.db.prepare('SELECT label, confidence FROM suggestions WHERE sample_id = ?').get(sampleId) as Suggestion | undefined;
  }

  async nextSamples(limit: number, exclude: number[] = []): Promise<SampleRow[]> {
    const ex = JSON.stringify(exclude);
    return this.db
      .prepare(
        `SELECT s.id, s.file, s.hash, s.kind, s.meta, s.label FROM samples s LEFT JOIN queue q ON q.sample_id = s.id
          WHERE s.label IS NULL AND s.id NOT IN (SELECT value FROM json_each(?))
          ORDER BY q.position IS NULL, q.position, (s.id * 2654435761) % 4294967296 LIMIT ?`,
      )
      .all(ex, limit) as SampleRow[];
  }

  async secondOpinions(annotatorId: number, limit: number, exclude: number[] = []): Promise<SampleRow[]> {
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

  async saveModelRun(run: Omit<ModelRun, 'id'>, suggestions: { sampleId: number; label: number; confidence: number }[], queue: number[]): Promise<number> {
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

  async modelRuns(): Promise<ModelRun[]> {
    return (this.db.prepare('SELECT * FROM model_runs ORDER BY id').all() as Record<string, unknown>[]).map(toModelRun);
  }

  // ---- embeddings ----------------------------------------------------------------------------------------

  async setEmbeddings(path: string, dim: number, count: number, source: string): Promise<void> {
    this.db.prepare('INSERT INTO embeddings (path, dim, count, source, created_at) VALUES (?, ?, ?, ?, ?)').run(path, dim, count, source, Date.now());
  }

  async embeddings(): Promise<EmbeddingsRef | undefined> {
    const r = this.db.prepare('SELECT path, dim, count, source FROM embeddings ORDER BY id DESC LIMIT 1').get() as EmbeddingsRef | undefined;
    return r ? { ...r, path: resolve(this.dir, r.path) } : undefined;
  }
}
