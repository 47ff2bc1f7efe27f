/**
 * The PostgreSQL store: a project's labels in a schema of its own (so several projects share a database),
 * reached through a pool of connections; several `ulearn label` servers on one database serve one team.
 *
 * Where things live: `label init --store postgres://user[:password]@host[:port]/db` creates the schema and
 * writes `<project-dir>/store.json` with the URL *without* its password and the schema's name. Every later
 * command (the servers, the retrain worker, export, import) takes the password from PGPASSWORD or ~/.pgpass,
 * as libpq does; a URL is only ever shown with its password masked.
 *
 * Guarantees, the SQLite store's under concurrent writers from many processes:
 * - durability: a label is acknowledged after COMMIT, which with PostgreSQL's default synchronous_commit=on
 *   has flushed the WAL; it survives `kill -9` of the server (and of PostgreSQL);
 * - the cached current label is the latest event's: a write locks the sample's row *before* its event takes
 *   an id, so writers of one sample queue there and their ids follow commit order;
 * - no silent overwrite: undo locks the annotator's row (one undo of theirs at a time) and then the
 *   sample's, so "nobody labeled it since" still holds at commit; import locks every sample it writes and
 *   refuses if one changed since its plan;
 * - append-only: a trigger refuses UPDATE, DELETE and TRUNCATE of label_events.
 * Row locks are FOR NO KEY UPDATE, which the foreign-key checks of concurrent inserts (FOR KEY SHARE) do not
 * wait for: the lock order is always annotator, then samples in id order, so writers cannot deadlock.
 */
import pg from 'pg';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UlearnError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic.js';
import { PG_MIGRATIONS } from './schema.js';
import {
  checkAnnotatorName,
  checkLabel,
  classIndexOf,
  hashToken,
  importConflict,
  isOverlap,
  metaFromRows,
  newerSchemaError,
  SAMPLE_WHERE,
  STORE_FILE,
  toEvent,
  toModelRun,
  undoConflict,
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
  type StoreConfig,
  type Suggestion,
} from './store.js';

/** How long a connection attempt may take before the command fails (an unreachable host would hang). */
export const CONNECT_TIMEOUT_MS = 10_000;
/** A project schema's name: also what store.json may say, so nothing else reaches the SQL. */
const SCHEMA = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * A postgres:// URL's parts, read the way node-postgres reads them (the user info ends at the authority's
 * last `@`), without URL's validation: whatever pg accepts must also be masked.
 */
function urlParts(url: string): { scheme: string; user?: string; password?: string; host: string; rest: string } | undefined {
  const m = /^(postgres(?:ql)?:\/\/)([^/?#]*)(.*)$/is.exec(url);
  if (!m) return undefined;
  const [, scheme, authority, rest] = m;
  const at = authority.lastIndexOf('@');
  if (at < 0) return { scheme, host: authority, rest };
  const info = authority.slice(0, at);
  const colon = info.indexOf(':');
  return { scheme, user: colon < 0 ? info : info.slice(0, colon), password: colon < 0 ? undefined : info.slice(colon + 1), host: authority.slice(at + 1), rest };
}

/** A `password=` query parameter (pg reads those too). */
const QUERY_PASSWORD = /([?&])password=[^&#]*/gi;

/** The URL with its password (in the user info or a query parameter) replaced by `***`: the only form a URL is shown in. */
export function maskUrl(url: string): string {
  const p = urlParts(url);
  if (!p) return '<not a postgres:// URL>';
  const user = p.user === undefined ? '' : `${p.user}${p.password === undefined ? '' : ':***'}@`;
  return `${p.scheme}${user}${p.host}${p.rest.replace(QUERY_PASSWORD, '$1password=***')}`;
}

/** The URL as store.json keeps it: no password at all. */
export function withoutPassword(url: string): string {
  const p = urlParts(url)!;
  const q = p.rest.indexOf('?');
  const params = q < 0 ? [] : p.rest.slice(q + 1).split('&').filter((kv) => kv !== '' && !/^password=/i.test(kv));
  const rest = (q < 0 ? p.rest : p.rest.slice(0, q)) + (params.length ? `?${params.join('&')}` : '');
  return `${p.scheme}${p.user ? `${p.user}@` : ''}${p.host}${rest}`;
}

/** Every password the URL or the environment holds, to scrub from messages. */
function secretsOf(url: string): string[] {
  const p = urlParts(url);
  const out = [p?.password, ...[...(p?.rest ?? '').matchAll(/[?&]password=([^&#]*)/gi)].map((m) => m[1]), process.env.PGPASSWORD].filter((s): s is string => !!s);
  return [...new Set([...out, ...out.map((s) => safeDecode(s))])].sort((a, b) => b.length - a.length);
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** ids, counts and times are bigint; as JS numbers (exact up to 2^53, far beyond any project). */
const types = {
  getTypeParser: ((oid: number, format?: string) => (oid === pg.types.builtins.INT8 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text'))) as typeof pg.types.getTypeParser,
};

/** A connected pool, or a UlearnError naming the (masked) URL: exit code 2 at the CLI. */
async function connect(url: string, schema: string): Promise<pg.Pool> {
  if (!urlParts(url)) throw new UlearnError('--store: expected a postgres:// URL', { code: 'E_ARG' });
  const secrets = secretsOf(url);
  const clean = (msg: string) => secrets.reduce((m, s) => m.split(s).join('***'), msg);
  const pool = new pg.Pool({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, options: `-c search_path=${schema}`, max: 8, types });
  // An idle connection that breaks (PostgreSQL restarted) is dropped by the pool; without a listener the
  // error would end the process.
  pool.on('error', (err) => console.error(`label: PostgreSQL connection to ${maskUrl(url)} lost: ${clean(err.message)}`));
  try {
    const c = await pool.connect();
    c.release();
  } catch (err) {
    await pool.end().catch(() => undefined);
    const e = err as Error & { code?: string };
    throw new UlearnError(`cannot connect to PostgreSQL at ${maskUrl(url)}: ${clean(e.message || e.code || String(err))}`, {
      code: 'E_STORE',
      hint: 'is PostgreSQL running and reachable from here? The password comes from PGPASSWORD or ~/.pgpass (store.json keeps none)',
    });
  }
  return pool;
}

/** Connects once and disconnects: the clear error of `connect`, before a command does slow work. */
export async function probePostgres(url: string): Promise<void> {
  await (await connect(url, 'public')).end();
}

type Client = pg.PoolClient;

async function tx<T>(pool: pg.Pool, fn: (c: Client) => Promise<T>): Promise<T> {
  const c = await pool.connect();
  let broken = false;
  try {
    await c.query('BEGIN');
    const r = await fn(c);
    await c.query('COMMIT');
    return r;
  } catch (err) {
    await c.query('ROLLBACK').catch(() => (broken = true));
    throw err;
  } finally {
    c.release(broken);
  }
}

const SAMPLE_COLS = 's.id, s.file, s.hash, s.kind, s.meta, s.label';

export class PgLabelStore implements LabelStore {
  readonly kind = 'postgres';

  private constructor(
    readonly dir: string,
    readonly pool: pg.Pool,
    readonly schema: string,
    readonly location: string,
    readonly meta: ProjectMeta,
  ) {}

  /** Creates the project's schema (all in one transaction) and `<dir>/store.json` pointing at it. */
  static async create(abs: string, meta: ProjectMeta, url: string): Promise<PgLabelStore> {
    const slug = meta.name.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 40);
    // A random suffix: two projects of the same name (in different folders) may share the database.
    const schema = `ulearn_${slug || 'project'}_${randomBytes(4).toString('hex')}`;
    const pool = await connect(url, schema);
    const location = `${maskUrl(url)} (schema ${schema})`;
    try {
      await tx(pool, async (c) => {
        await c.query(`CREATE SCHEMA ${schema}`);
        await c.query('CREATE TABLE schema_version (version INTEGER NOT NULL)');
        for (const m of PG_MIGRATIONS) await c.query(m);
        await c.query('INSERT INTO schema_version (version) VALUES ($1)', [PG_MIGRATIONS.length]);
        const { classes, ...rest } = meta;
        for (const [k, v] of Object.entries(rest)) await c.query('INSERT INTO meta (key, value) VALUES ($1, $2)', [k, JSON.stringify(v)]);
        for (let i = 0; i < classes.length; i++) await c.query('INSERT INTO classes (idx, name) VALUES ($1, $2)', [i, classes[i]]);
      });
      mkdirSync(abs, { recursive: true });
      const cfg: StoreConfig = { store: 'postgres', url: withoutPassword(url), schema };
      await writeFileAtomic(join(abs, STORE_FILE), JSON.stringify(cfg, null, 2) + '\n');
    } catch (err) {
      await pool.end();
      throw err;
    }
    return new PgLabelStore(abs, pool, schema, location, meta);
  }

  static async open(dir: string, cfg: StoreConfig): Promise<PgLabelStore> {
    const abs = resolve(dir);
    if (!SCHEMA.test(cfg.schema)) throw new UlearnError(`${join(abs, STORE_FILE)}: '${cfg.schema}' is not a schema name ulearn makes`, { code: 'E_PROJECT' });
    const location = `${maskUrl(cfg.url)} (schema ${cfg.schema})`;
    const pool = await connect(cfg.url, cfg.schema);
    try {
      if (!(await pool.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [cfg.schema])).rowCount) {
        throw new UlearnError(`${location}: no such schema; the project's labels are not in this database`, { code: 'E_PROJECT', hint: `check the URL in ${join(abs, STORE_FILE)}` });
      }
      await migrate(pool, location);
      const rows = (await pool.query<{ key: string; value: string }>('SELECT key, value FROM meta')).rows;
      const classes = (await pool.query<{ name: string }>('SELECT name FROM classes ORDER BY idx')).rows.map((r) => r.name);
      return new PgLabelStore(abs, pool, cfg.schema, location, metaFromRows(rows, classes, location));
    } catch (err) {
      await pool.end();
      throw err;
    }
  }

  private closed = false;

  /** Idempotent, like SQLite's close (pg's Pool.end refuses a second call). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  private async one<T extends object>(sql: string, params: unknown[] = []): Promise<T | undefined> {
    return (await this.pool.query<T>(sql, params)).rows[0];
  }

  private async all<T extends object>(sql: string, params: unknown[] = []): Promise<T[]> {
    return (await this.pool.query<T>(sql, params)).rows;
  }

  // ---- samples -------------------------------------------------------------------------------------------

  async addSamples(samples: NewSample[]): Promise<void> {
    await tx(this.pool, async (c) => {
      // Ids continue from the largest, without gaps (they are embedding rows): one adder at a time.
      await c.query('LOCK TABLE samples IN EXCLUSIVE MODE');
      const next = Number((await c.query<{ n: number }>('SELECT coalesce(max(id), 0) + 1 AS n FROM samples')).rows[0].n);
      await c.query(
        `INSERT INTO samples (id, file, hash, kind, meta, size, mtime_ms)
         SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::float8[])`,
        [samples.map((_, i) => next + i), samples.map((s) => s.file), samples.map((s) => s.hash), samples.map((s) => s.kind), samples.map((s) => JSON.stringify(s.meta ?? {})), samples.map((s) => s.size), samples.map((s) => s.mtimeMs)],
      );
    });
  }

  async sampleCount(): Promise<number> {
    return (await this.one<{ n: number }>('SELECT count(*) AS n FROM samples'))!.n;
  }

  async sample(id: number): Promise<SampleRow | undefined> {
    return this.one<SampleRow>(`SELECT ${SAMPLE_COLS} FROM samples s WHERE id = $1`, [id]);
  }

  async sampleByFile(file: string): Promise<SampleRow | undefined> {
    return this.one<SampleRow>(`SELECT ${SAMPLE_COLS} FROM samples s WHERE file = $1`, [file]);
  }

  async listSamples(offset: number, limit: number, filter: SampleFilter = 'all'): Promise<SampleRow[]> {
    return this.all<SampleRow>(`SELECT ${SAMPLE_COLS} FROM samples s ${SAMPLE_WHERE[filter]} ORDER BY id LIMIT $1 OFFSET $2`, [limit, offset]);
  }

  async countSamples(filter: SampleFilter = 'all'): Promise<number> {
    return (await this.one<{ n: number }>(`SELECT count(*) AS n FROM samples ${SAMPLE_WHERE[filter]}`))!.n;
  }

  async currentLabels(): Promise<Int32Array> {
    const out = new Int32Array(await this.sampleCount()).fill(-1);
    for (const r of await this.all<{ id: number; label: number }>('SELECT id, label FROM samples WHERE label IS NOT NULL')) out[r.id - 1] = r.label;
    return out;
  }

  async sampleFile(id: number): Promise<SampleFile | undefined> {
    return this.one<SampleFile>('SELECT file, hash, size, mtime_ms AS "mtimeMs" FROM samples WHERE id = $1', [id]);
  }

  async recordFileStat(id: number, size: number, mtimeMs: number): Promise<void> {
    await this.pool.query('UPDATE samples SET size = $1, mtime_ms = $2 WHERE id = $3', [size, mtimeMs, id]);
  }

  // ---- annotators ----------------------------------------------------------------------------------------

  async addAnnotator(name: string): Promise<string> {
    checkAnnotatorName(name);
    const token = randomBytes(24).toString('base64url');
    // The unique name decides, not a look-up first: two `add-annotator`s of one name at once get one row.
    const r = await this.pool.query('INSERT INTO annotators (name, token_hash, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING', [name, hashToken(token), Date.now()]);
    if (r.rowCount === 0) throw new UlearnError(`annotator '${name}' already exists`, { code: 'E_ARG' });
    return token;
  }

  async annotatorByToken(token: string): Promise<Annotator | undefined> {
    return this.one<Annotator>('SELECT id, name FROM annotators WHERE token_hash = $1', [hashToken(token)]);
  }

  async annotators(): Promise<Annotator[]> {
    return this.all<Annotator>('SELECT id, name FROM annotators ORDER BY id');
  }

  // ---- label events --------------------------------------------------------------------------------------

  classIndex(name: string): number | undefined {
    return classIndexOf(this.meta, name);
  }

  async label(sampleId: number, label: number, annotatorId: number): Promise<LabelEvent> {
    checkLabel(this.meta, label);
    return tx(this.pool, async (c) => {
      if (!(await c.query('SELECT 1 FROM samples WHERE id = $1 FOR NO KEY UPDATE', [sampleId])).rowCount) {
        throw new UlearnError(`no sample with id ${sampleId}`, { code: 'E_NOT_FOUND' });
      }
      return this.append(c, sampleId, label, annotatorId, 'label', null);
    });
  }

  /** The caller holds the sample's row lock. */
  private async append(c: Client, sampleId: number, label: number | null, annotatorId: number, kind: LabelEvent['kind'], undoes: number | null): Promise<LabelEvent> {
    const createdAt = Date.now();
    const r = await c.query<{ id: number }>('INSERT INTO label_events (sample_id, label, annotator_id, kind, undoes, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id', [
      sampleId,
      label,
      annotatorId,
      kind,
      undoes,
      createdAt,
    ]);
    const id = r.rows[0].id;
    await c.query('UPDATE samples SET label = $1, label_event = $2 WHERE id = $3', [label, id, sampleId]);
    return { id, sampleId, label, annotatorId, kind, undoes, createdAt };
  }

  async undo(annotatorId: number): Promise<LabelEvent> {
    return tx(this.pool, async (c) => {
      // One undo per annotator at a time: two at once would pick the same label.
      await c.query('SELECT 1 FROM annotators WHERE id = $1 FOR NO KEY UPDATE', [annotatorId]);
      const target = (
        await c.query<EventRow>(
          `SELECT * FROM label_events e WHERE e.annotator_id = $1 AND e.kind = 'label'
             AND NOT EXISTS (SELECT 1 FROM label_events u WHERE u.undoes = e.id) ORDER BY e.id DESC LIMIT 1`,
          [annotatorId],
        )
      ).rows[0];
      if (!target) throw new UlearnError('nothing to undo', { code: 'E_CONFLICT' });
      // With the sample locked nobody can label it until the undo commits; each statement below then sees
      // every label committed before the lock was granted (READ COMMITTED).
      await c.query('SELECT 1 FROM samples WHERE id = $1 FOR NO KEY UPDATE', [target.sample_id]);
      const other = (
        await c.query<{ name: string }>('SELECT a.name FROM label_events e JOIN annotators a ON a.id = e.annotator_id WHERE e.sample_id = $1 AND e.id > $2 AND e.annotator_id != $3 LIMIT 1', [
          target.sample_id,
          target.id,
          annotatorId,
        ])
      ).rows[0];
      if (other) throw undoConflict(target.sample_id, other.name);
      const before = (await c.query<{ label: number | null }>('SELECT label FROM label_events WHERE sample_id = $1 AND id < $2 ORDER BY id DESC LIMIT 1', [target.sample_id, target.id])).rows[0];
      return this.append(c, target.sample_id, before?.label ?? null, annotatorId, 'undo', target.id);
    });
  }

  async importLabels(annotatorName: string, labels: ImportLabel[]): Promise<void> {
    for (const l of labels) checkLabel(this.meta, l.label);
    await tx(this.pool, async (c) => {
      await c.query('INSERT INTO annotators (name, token_hash, created_at) VALUES ($1, NULL, $2) ON CONFLICT (name) DO NOTHING', [annotatorName, Date.now()]);
      const who = (await c.query<{ id: number }>('SELECT id FROM annotators WHERE name = $1', [annotatorName])).rows[0].id;
      // Every sample written is locked first, in id order (the order all writers lock in).
      const ids = labels.map((l) => l.sampleId);
      const current = new Map(
        (await c.query<{ id: number; label: number | null }>('SELECT id, label FROM samples WHERE id = ANY($1::bigint[]) ORDER BY id FOR NO KEY UPDATE', [ids])).rows.map((r) => [r.id, r.label]),
      );
      for (const l of labels) {
        if (!current.has(l.sampleId)) throw new UlearnError(`no sample with id ${l.sampleId}`, { code: 'E_NOT_FOUND' });
        if (current.get(l.sampleId) !== l.expected) throw importConflict(l.sampleId);
        await this.append(c, l.sampleId, l.label, who, 'import', null);
        current.set(l.sampleId, l.label);
      }
    });
  }

  async labelsPerAnnotator(): Promise<{ annotatorId: number; labels: number }[]> {
    return this.all("SELECT annotator_id AS \"annotatorId\", count(*) AS labels FROM label_events WHERE kind != 'undo' GROUP BY annotator_id ORDER BY annotator_id");
  }

  async eventCount(): Promise<number> {
    return (await this.one<{ n: number }>('SELECT count(*) AS n FROM label_events'))!.n;
  }

  async lastEventId(): Promise<number> {
    return (await this.one<{ n: number }>('SELECT coalesce(max(id), 0) AS n FROM label_events'))!.n;
  }

  async events(afterId = 0): Promise<LabelEvent[]> {
    return (await this.all<EventRow>('SELECT * FROM label_events WHERE id > $1 ORDER BY id', [afterId])).map(toEvent);
  }

  async currentLabelEvents(): Promise<{ sample: SampleRow; event: LabelEvent }[]> {
    const rows = await this.all<SampleRow & { eid: number; annotator_id: number; ekind: LabelEvent['kind']; undoes: number | null; created_at: number }>(
      `SELECT ${SAMPLE_COLS}, e.id AS eid, e.annotator_id, e.kind AS ekind, e.undoes, e.created_at
         FROM samples s JOIN label_events e ON e.id = s.label_event WHERE s.label IS NOT NULL ORDER BY s.id`,
    );
    return rows.map((r) => ({
      sample: { id: r.id, file: r.file, hash: r.hash, kind: r.kind, meta: r.meta, label: r.label },
      event: { id: r.eid, sampleId: r.id, label: r.label, annotatorId: r.annotator_id, kind: r.ekind, undoes: r.undoes, createdAt: r.created_at },
    }));
  }

  async stats(): Promise<ProjectStats> {
    const perClass = new Array<number>(this.meta.classes.length).fill(0);
    for (const r of await this.all<{ label: number; n: number }>('SELECT label, count(*) AS n FROM samples WHERE label IS NOT NULL GROUP BY label')) perClass[r.label] = r.n;
    return { total: await this.sampleCount(), labeled: perClass.reduce((a, b) => a + b, 0), target: this.meta.target, perClass, events: await this.eventCount() };
  }

  // ---- model output (written by the retrain worker) ------------------------------------------------------

  async suggestion(sampleId: number): Promise<Suggestion | undefined> {
    return this.one<Suggestion>('SELECT label, confidence FROM suggestions WHERE sample_id = $1', [sampleId]);
  }

  async nextSamples(limit: number, exclude: number[] = []): Promise<SampleRow[]> {
    return this.all<SampleRow>(
      `SELECT ${SAMPLE_COLS} FROM samples s LEFT JOIN queue q ON q.sample_id = s.id
        WHERE s.label IS NULL AND NOT (s.id = ANY($1::bigint[]))
        ORDER BY q.position IS NULL, q.position, (s.id * 2654435761) % 4294967296 LIMIT $2`,
      [exclude, limit],
    );
  }

  async secondOpinions(annotatorId: number, limit: number, exclude: number[] = []): Promise<SampleRow[]> {
    const { seed, overlap } = this.meta;
    if (!(overlap > 0)) return [];
    const rows = await this.all<SampleRow>(
      `SELECT ${SAMPLE_COLS} FROM samples s
        WHERE s.label IS NOT NULL AND NOT (s.id = ANY($1::bigint[]))
          AND NOT EXISTS (SELECT 1 FROM label_events e WHERE e.sample_id = s.id AND e.annotator_id = $2)
        ORDER BY s.label_event`,
      [exclude, annotatorId],
    );
    return rows.filter((r) => isOverlap(r.id, seed, overlap)).slice(0, limit);
  }

  async saveModelRun(run: Omit<ModelRun, 'id'>, suggestions: { sampleId: number; label: number; confidence: number }[], queue: number[]): Promise<number> {
    return tx(this.pool, async (c) => {
      // Retrains of several servers replace the queue one after the other, never interleaved.
      await c.query('LOCK TABLE suggestions, queue IN SHARE ROW EXCLUSIVE MODE');
      const r = await c.query<{ id: number }>(
        `INSERT INTO model_runs (created_at, kind, strategy, last_event_id, train_labels, holdout_labels, holdout_accuracy, seconds, error)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
        [run.createdAt, run.kind, run.strategy, run.lastEventId, run.trainLabels, run.holdoutLabels, run.holdoutAccuracy, run.seconds, run.error],
      );
      if (!run.error) {
        await c.query('DELETE FROM suggestions');
        await c.query('DELETE FROM queue');
        await c.query('INSERT INTO suggestions (sample_id, label, confidence) SELECT * FROM unnest($1::bigint[], $2::int[], $3::float8[])', [
          suggestions.map((x) => x.sampleId),
          suggestions.map((x) => x.label),
          suggestions.map((x) => x.confidence),
        ]);
        await c.query('INSERT INTO queue (position, sample_id) SELECT * FROM unnest($1::int[], $2::bigint[])', [queue.map((_, i) => i), queue]);
      }
      return r.rows[0].id;
    });
  }

  async modelRuns(): Promise<ModelRun[]> {
    return (await this.all<Record<string, unknown>>('SELECT * FROM model_runs ORDER BY id')).map(toModelRun);
  }

  // ---- embeddings ----------------------------------------------------------------------------------------

  async setEmbeddings(path: string, dim: number, count: number, source: string): Promise<void> {
    await this.pool.query('INSERT INTO embeddings (path, dim, count, source, created_at) VALUES ($1, $2, $3, $4, $5)', [path, dim, count, source, Date.now()]);
  }

  async embeddings(): Promise<EmbeddingsRef | undefined> {
    const r = await this.one<EmbeddingsRef>('SELECT path, dim, count, source FROM embeddings ORDER BY id DESC LIMIT 1');
    return r ? { ...r, path: resolve(this.dir, r.path) } : undefined;
  }
}

/**
 * Runs the migrations a project's schema lacks, each in its own transaction under an advisory lock on the
 * schema, so servers that start together migrate once; a schema from a newer ulearn is refused.
 */
async function migrate(pool: pg.Pool, location: string): Promise<void> {
  for (;;) {
    const done = await tx(pool, async (c) => {
      await c.query("SELECT pg_advisory_xact_lock(hashtext('ulearn:' || current_schema()))");
      const version = (await c.query<{ version: number }>('SELECT version FROM schema_version')).rows[0]?.version ?? 0;
      if (version > PG_MIGRATIONS.length) throw newerSchemaError(location, version, PG_MIGRATIONS.length);
      if (version === PG_MIGRATIONS.length) return true;
      await c.query(PG_MIGRATIONS[version]);
      await c.query('UPDATE schema_version SET version = $1', [version + 1]);
      return false;
    });
    if (done) return;
  }
}
