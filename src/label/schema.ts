/**
 * The project database's schema, as numbered migrations, for SQLite (`MIGRATIONS`) and PostgreSQL
 * (`PG_MIGRATIONS`, the same tables and rules in PostgreSQL's types; migration N of one is migration N of
 * the other, so a schema version means the same thing in both stores).
 *
 * SQLite: `PRAGMA user_version` records how many have run,
 * so opening an older project upgrades it in place (each migration in its own transaction) and opening a
 * project written by a newer ulearn is refused instead of silently misread.
 *
 * Label events are append-only (triggers refuse UPDATE and DELETE): the current label of a sample is its
 * latest event, undo is a new event, and the whole history can be exported or replayed. `samples.label` is a
 * cache of the latest event's label, written in the same transaction as the event.
 */
import type Database from 'better-sqlite3';
import { newerSchemaError } from './store.js';

export const MIGRATIONS: readonly string[] = [
  // 1: the first schema.
  `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE classes (idx INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
  CREATE TABLE samples (
    id INTEGER PRIMARY KEY,
    file TEXT NOT NULL UNIQUE,          -- path relative to the project's data root
    hash TEXT NOT NULL,                 -- sha256 of the file's bytes
    kind TEXT NOT NULL CHECK (kind IN ('image', 'audio')),
    meta TEXT NOT NULL DEFAULT '{}',    -- JSON
    label INTEGER REFERENCES classes(idx),
    label_event INTEGER
  );
  CREATE TABLE annotators (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    token_hash TEXT UNIQUE,             -- sha256 of the token; NULL for import pseudo-annotators
    created_at INTEGER NOT NULL
  );
  CREATE TABLE label_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sample_id INTEGER NOT NULL REFERENCES samples(id),
    label INTEGER REFERENCES classes(idx),   -- NULL: the sample is unlabeled again (an undo of its first label)
    annotator_id INTEGER NOT NULL REFERENCES annotators(id),
    kind TEXT NOT NULL CHECK (kind IN ('label', 'undo', 'import')),
    undoes INTEGER REFERENCES label_events(id),
    created_at INTEGER NOT NULL
  );
  CREATE INDEX label_events_by_sample ON label_events(sample_id, id);
  CREATE INDEX label_events_by_annotator ON label_events(annotator_id, id);
  CREATE UNIQUE INDEX label_events_undone ON label_events(undoes) WHERE undoes IS NOT NULL;
  CREATE TRIGGER label_events_no_update BEFORE UPDATE ON label_events BEGIN SELECT RAISE(ABORT, 'label_events is append-only'); END;
  CREATE TRIGGER label_events_no_delete BEFORE DELETE ON label_events BEGIN SELECT RAISE(ABORT, 'label_events is append-only'); END;
  CREATE TABLE embeddings (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL,                 -- relative to the project dir; float32 little-endian, rows in sample-id order
    dim INTEGER NOT NULL,
    count INTEGER NOT NULL,
    source TEXT NOT NULL,               -- 'pixels:16x16' or 'encoder:<run dir>'
    created_at INTEGER NOT NULL
  );
  CREATE TABLE model_runs (
    id INTEGER PRIMARY KEY,
    created_at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    strategy TEXT NOT NULL,
    last_event_id INTEGER NOT NULL,     -- labels up to this event were used
    train_labels INTEGER NOT NULL,
    holdout_labels INTEGER NOT NULL,
    holdout_accuracy REAL,              -- NULL when the held-out slice is empty
    seconds REAL NOT NULL,
    error TEXT
  );
  CREATE TABLE suggestions (sample_id INTEGER PRIMARY KEY REFERENCES samples(id), label INTEGER NOT NULL, confidence REAL NOT NULL);
  CREATE TABLE queue (position INTEGER PRIMARY KEY, sample_id INTEGER NOT NULL UNIQUE REFERENCES samples(id));
  `,
  // 2: each file's size and mtime at import, so the server can refuse a file changed since (issue 17 #3).
  // NULL for samples registered before: the server then checks the sha256 once and records them.
  `
  ALTER TABLE samples ADD COLUMN size INTEGER;
  ALTER TABLE samples ADD COLUMN mtime_ms REAL;
  `,
];

export function migrate(db: Database.Database, file: string): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > MIGRATIONS.length) throw newerSchemaError(file, version, MIGRATIONS.length);
  for (let v = version; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}

/**
 * PostgreSQL: each project is a schema of its own; `schema_version` (one row) records how many migrations
 * have run, like SQLite's user_version (pg-store.ts runs them under an advisory lock, so servers starting
 * together migrate once). Ids are bigint; times are epoch milliseconds (bigint), as in SQLite. Sample ids
 * are given by the store (1, 2, … in order, the embedding rows), not by a sequence, whose gaps after a
 * rollback would break that. The append-only rule is a trigger that raises on UPDATE, DELETE and TRUNCATE.
 */
export const PG_MIGRATIONS: readonly string[] = [
  // 1: the first schema.
  `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE classes (idx INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
  CREATE TABLE samples (
    id BIGINT PRIMARY KEY,
    file TEXT NOT NULL UNIQUE,
    hash TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('image', 'audio')),
    meta TEXT NOT NULL DEFAULT '{}',
    label INTEGER REFERENCES classes(idx),
    label_event BIGINT
  );
  CREATE TABLE annotators (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    token_hash TEXT UNIQUE,
    created_at BIGINT NOT NULL
  );
  CREATE TABLE label_events (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sample_id BIGINT NOT NULL REFERENCES samples(id),
    label INTEGER REFERENCES classes(idx),
    annotator_id BIGINT NOT NULL REFERENCES annotators(id),
    kind TEXT NOT NULL CHECK (kind IN ('label', 'undo', 'import')),
    undoes BIGINT REFERENCES label_events(id),
    created_at BIGINT NOT NULL
  );
  CREATE INDEX label_events_by_sample ON label_events(sample_id, id);
  CREATE INDEX label_events_by_annotator ON label_events(annotator_id, id);
  CREATE UNIQUE INDEX label_events_undone ON label_events(undoes) WHERE undoes IS NOT NULL;
  CREATE FUNCTION label_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'label_events is append-only'; END $$;
  CREATE TRIGGER label_events_no_change BEFORE UPDATE OR DELETE ON label_events FOR EACH ROW EXECUTE FUNCTION label_events_append_only();
  CREATE TRIGGER label_events_no_truncate BEFORE TRUNCATE ON label_events FOR EACH STATEMENT EXECUTE FUNCTION label_events_append_only();
  CREATE TABLE embeddings (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    path TEXT NOT NULL,
    dim INTEGER NOT NULL,
    count INTEGER NOT NULL,
    source TEXT NOT NULL,
    created_at BIGINT NOT NULL
  );
  CREATE TABLE model_runs (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    strategy TEXT NOT NULL,
    last_event_id BIGINT NOT NULL,
    train_labels INTEGER NOT NULL,
    holdout_labels INTEGER NOT NULL,
    holdout_accuracy DOUBLE PRECISION,
    seconds DOUBLE PRECISION NOT NULL,
    error TEXT
  );
  CREATE TABLE suggestions (sample_id BIGINT PRIMARY KEY REFERENCES samples(id), label INTEGER NOT NULL, confidence DOUBLE PRECISION NOT NULL);
  CREATE TABLE queue (position INTEGER PRIMARY KEY, sample_id BIGINT NOT NULL UNIQUE REFERENCES samples(id));
  `,
  // 2: each file's size and mtime at import (see MIGRATIONS[1]).
  `
  ALTER TABLE samples ADD COLUMN size BIGINT;
  ALTER TABLE samples ADD COLUMN mtime_ms DOUBLE PRECISION;
  `,
];
