import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { agreement } from '../../src/label/agreement.js';
import { exportLabels, importLabels, parseLabelFile } from '../../src/label/import-export.js';
import { PIXEL_SIDE } from '../../src/label/init.js';
import { retrain } from '../../src/label/retrain.js';
import { MIGRATIONS, PG_MIGRATIONS } from '../../src/label/schema.js';
import { DB_FILE, isHoldout, openStore, STORE_FILE, type LabelEvent, type LabelStore } from '../../src/label/store.js';
import { SqliteLabelStore } from '../../src/label/sqlite-store.js';
import { initBackend } from '../../src/engine/backend.js';
import { skipPostgres, startPostgres } from '../support/postgres.js';
import { makeProject, rawQuery, STORE_KINDS, tempDir, type StoreKind } from './fixtures.js';

const cluster = await startPostgres();
after(() => cluster.stop());
const skip = (kind: StoreKind) => (kind === 'postgres' ? skipPostgres() : false);
/** initProject's `store` for a kind: SQLite's default, or a fresh PostgreSQL database. */
const storeFor = async (kind: StoreKind) => (kind === 'postgres' ? cluster.newDatabase() : undefined);

test('both stores know the same migrations', () => {
  assert.equal(PG_MIGRATIONS.length, MIGRATIONS.length);
});

for (const kind of STORE_KINDS) {
  describe(`label store (${kind})`, { skip: skip(kind) }, async () => {
    if (skip(kind)) return;
    const { store, dir } = await makeProject(20, { store: await storeFor(kind) });
    after(() => store.close());
    const alice = await store.addAnnotator('alice');
    const bob = await store.addAnnotator('bob');
    const a = (await store.annotatorByToken(alice))!;
    const b = (await store.annotatorByToken(bob))!;

    test('init registers every file with its hash, and 16x16 pixel embeddings of each', async () => {
      assert.equal(store.kind, kind);
      assert.equal(await store.sampleCount(), 20);
      const s = (await store.sample(3))!;
      assert.equal(s.file, 's002.png');
      const bytes = readFileSync(join(store.meta.dataRoot, s.file));
      assert.equal(s.hash, createHash('sha256').update(bytes).digest('hex'));
      const ref = (await store.embeddings())!;
      assert.equal(ref.dim, PIXEL_SIDE * PIXEL_SIDE);
      const emb = new Float32Array(readFileSync(ref.path).buffer.slice(0));
      // Sample 3 (i = 2) is a flat image of value 22: every pixel of its embedding is 22/255.
      for (let j = 0; j < ref.dim; j++) assert.ok(Math.abs(emb[2 * ref.dim + j] - 22 / 255) < 1e-6);
    });

    test('tokens: only the hash is stored, a wrong token finds nobody', async () => {
      assert.equal(a.name, 'alice');
      assert.equal(await store.annotatorByToken(alice + 'x'), undefined);
      const raw = (await rawQuery(store, 'SELECT token_hash FROM annotators')) as { token_hash: string }[];
      assert.equal(raw.length, 2);
      assert.ok(raw.every((r) => r.token_hash !== alice && r.token_hash !== bob));
      await assert.rejects(() => store.addAnnotator('alice'), /already exists/);
      await assert.rejects(() => store.addAnnotator('../x'), /not allowed/);
    });

    test('the current label is the latest event; undo is a new event restoring the previous one', async () => {
      await store.label(1, 0, a.id);
      await store.label(1, 1, a.id);
      assert.equal((await store.sample(1))!.label, 1);
      const u1 = await store.undo(a.id);
      assert.equal(u1.kind, 'undo');
      assert.equal((await store.sample(1))!.label, 0);
      const u2 = await store.undo(a.id);
      assert.equal(u2.label, null);
      assert.equal((await store.sample(1))!.label, null);
      await assert.rejects(() => store.undo(a.id), /nothing to undo/);
      assert.equal(await store.eventCount(), 4);
      // Append-only: the database itself refuses to rewrite history.
      await assert.rejects(() => rawQuery(store, 'UPDATE label_events SET label = 2'), /append-only/);
      await assert.rejects(() => rawQuery(store, 'DELETE FROM label_events'), /append-only/);
      assert.equal(await store.eventCount(), 4);
    });

    test("undo refuses to overwrite another annotator's later label", async () => {
      await store.label(2, 0, a.id);
      await store.label(2, 1, b.id);
      await assert.rejects(() => store.undo(a.id), /labeled by bob since/);
      assert.equal((await store.sample(2))!.label, 1);
      await store.undo(b.id);
      assert.equal((await store.sample(2))!.label, 0);
    });

    test('bad labels and unknown samples are refused and change nothing', async () => {
      const before = await store.eventCount();
      await assert.rejects(() => store.label(3, 3, a.id), /not a class/);
      await assert.rejects(() => store.label(3, -1, a.id), /not a class/);
      await assert.rejects(() => store.label(999, 0, a.id), /no sample/);
      assert.equal(await store.eventCount(), before);
      assert.equal((await store.sample(3))!.label, null);
    });

    test('currentLabels and stats agree with a replay of the event log', async () => {
      await store.label(5, 2, b.id);
      const replay = new Int32Array(20).fill(-1);
      for (const e of await store.events()) replay[e.sampleId - 1] = e.label ?? -1;
      assert.deepEqual([...(await store.currentLabels())], [...replay]);
      const st = await store.stats();
      const perClass = [0, 0, 0];
      for (const l of replay) if (l >= 0) perClass[l]++;
      assert.deepEqual(st.perClass, perClass);
      assert.equal(st.labeled, perClass[0] + perClass[1] + perClass[2]);
    });

    test('export csv/json/jsonl, and import with a conflict report (all-or-nothing on bad rows)', async () => {
      const csv = await exportLabels(store, 'csv');
      const lines = csv.trim().split('\n');
      assert.equal(lines[0], 'file,label,annotator,labeled_at');
      assert.deepEqual(
        lines.slice(1).map((l) => l.split(',').slice(0, 3).join(',')),
        ['s001.png,dark,bob', 's004.png,other,bob'],
      );
      const json = JSON.parse(await exportLabels(store, 'json')) as { labels: { file: string; label: string }[] };
      assert.deepEqual(json.labels.map((l) => [l.file, l.label]), [['s001.png', 'dark'], ['s004.png', 'other']]);
      const events = (await exportLabels(store, 'jsonl')).trim().split('\n').map((l) => JSON.parse(l) as { kind: string });
      assert.equal(events.length, await store.eventCount());
      assert.equal(events.filter((e) => e.kind === 'undo').length, 3);

      const before = await store.eventCount();
      const bad = parseLabelFile('file,label\ns000.png,dark\nnope.png,dark\ns003.png,blue\n', 'x.csv');
      await assert.rejects(() => importLabels(store, bad, { source: 'x.csv', annotatorName: 'import:x' }), (err: Error) => /2 bad row\(s\)/.test(err.message) && /line 3: no sample 'nope.png'/.test(err.message) && /line 4: unknown class 'blue'/.test(err.message));
      assert.equal(await store.eventCount(), before);

      // s001 is 'dark' (unchanged), s004 is 'other' (conflict), s006 new.
      const rows = parseLabelFile('file,label\ns001.png,dark\ns004.png,light\ns006.png,light\n', 'y.csv');
      const r1 = await importLabels(store, rows, { source: 'y.csv', annotatorName: 'import:y' });
      assert.deepEqual({ added: r1.added, unchanged: r1.unchanged, conflicts: r1.conflicts }, { added: 1, unchanged: 1, conflicts: [{ line: 3, file: 's004.png', current: 'other', incoming: 'light' }] });
      assert.equal((await store.sampleByFile('s004.png'))!.label, 2);
      assert.equal((await store.sampleByFile('s006.png'))!.label, 1);
      const r2 = await importLabels(store, parseLabelFile(JSON.stringify([{ file: 's004.png', label: 'light' }]), 'z.json'), { source: 'z.json', annotatorName: 'import:z', overwrite: true });
      assert.equal(r2.conflicts.length, 1);
      assert.equal((await store.sampleByFile('s004.png'))!.label, 1);
      // The JSONL event history imports as its end state (undone labels are not resurrected).
      const fromEvents = parseLabelFile(await exportLabels(store, 'jsonl'), 'events.jsonl');
      assert.deepEqual(
        fromEvents.map((r) => [r.file, r.label]).sort(),
        (await store.currentLabelEvents()).map((x) => [x.sample.file, store.meta.classes[x.sample.label!]]).sort(),
      );
      // Round trip: an export imported into the same project changes nothing.
      const again = await importLabels(store, parseLabelFile(await exportLabels(store, 'csv'), 'e.csv'), { source: 'e.csv', annotatorName: 'import:e' });
      assert.equal(again.unchanged, again.rows);
    });

    test('an import planned against labels that changed meanwhile is refused whole', async () => {
      const before = await store.eventCount();
      // s008 (sample 9) was unlabeled when the import was planned; bob labeled it since.
      await store.label(9, 0, b.id);
      await assert.rejects(
        () => store.importLabels('import:late', [{ sampleId: 10, label: 1, expected: null }, { sampleId: 9, label: 1, expected: null }]),
        /labeled by someone else while the import ran/,
      );
      assert.equal(await store.eventCount(), before + 1);
      assert.equal((await store.sample(9))!.label, 0);
      assert.equal((await store.sample(10))!.label, null);
    });

    test('a project from a newer schema is refused', async () => {
      await store.close();
      if (kind === 'sqlite') {
        const db = new Database(join(dir, DB_FILE));
        db.pragma(`user_version = ${MIGRATIONS.length + 1}`);
        db.close();
      } else {
        const cfg = JSON.parse(readFileSync(join(dir, STORE_FILE), 'utf8')) as { url: string; schema: string };
        const c = new pg.Client({ connectionString: cfg.url });
        await c.connect();
        await c.query(`UPDATE ${cfg.schema}.schema_version SET version = ${PG_MIGRATIONS.length + 1}`);
        await c.end();
      }
      await assert.rejects(() => openStore(dir), /schema version/);
    });
  });
}

test('a schema-1 SQLite project (no file size and mtime) is migrated in place and keeps its samples', async () => {
  const old = join(tempDir('v1'), DB_FILE);
  const db = new Database(old);
  db.exec(MIGRATIONS[0]);
  db.pragma('user_version = 1');
  db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run('name', '"old"');
  db.prepare("INSERT INTO samples (file, hash, kind) VALUES ('a.png', 'h', 'image')").run();
  db.close();
  const st = await openStore(join(old, '..'));
  try {
    assert.ok(st instanceof SqliteLabelStore);
    assert.equal(st.db.pragma('user_version', { simple: true }), MIGRATIONS.length);
    assert.deepEqual(await st.sampleFile(1), { file: 'a.png', hash: 'h', size: null, mtimeMs: null });
  } finally {
    await st.close();
  }
});

test('a schema-1 PostgreSQL project is migrated in place and keeps its samples', { skip: skip('postgres') }, async () => {
  const url = await cluster.newDatabase();
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query('CREATE SCHEMA ulearn_old; SET search_path = ulearn_old; CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (1)');
    await c.query(PG_MIGRATIONS[0]);
    await c.query(`INSERT INTO meta (key, value) VALUES ('name', '"old"'); INSERT INTO samples (id, file, hash, kind) VALUES (1, 'a.png', 'h', 'image')`);
  } finally {
    await c.end();
  }
  const dir = tempDir('pgv1');
  writeFileSync(join(dir, STORE_FILE), JSON.stringify({ store: 'postgres', url, schema: 'ulearn_old' }));
  const st: LabelStore = await openStore(dir);
  try {
    assert.equal(st.kind, 'postgres');
    assert.deepEqual(await st.sampleFile(1), { file: 'a.png', hash: 'h', size: null, mtimeMs: null });
    assert.deepEqual(await rawQuery(st, 'SELECT version FROM schema_version'), [{ version: PG_MIGRATIONS.length }]);
  } finally {
    await st.close();
  }
});

describe('agreement', () => {
  const ev = (id: number, sampleId: number, label: number | null, annotatorId: number, kind: LabelEvent['kind'] = 'label', undoes: number | null = null): LabelEvent => ({
    id,
    sampleId,
    label,
    annotatorId,
    kind,
    undoes,
    createdAt: 0,
  });

  test("Cohen's kappa and observed agreement, by hand", () => {
    // Annotators 1 and 2 on 4 samples: labels (0,0) (1,1) (0,1) (1,1) -> po = 3/4.
    // p1 = [2/4, 2/4], p2 = [1/4, 3/4] -> pe = 2/16 + 6/16 = 1/2 -> kappa = (3/4 - 1/2) / (1/2) = 1/2.
    const events = [ev(1, 1, 0, 1), ev(2, 1, 0, 2), ev(3, 2, 1, 1), ev(4, 2, 1, 2), ev(5, 3, 0, 1), ev(6, 3, 1, 2), ev(7, 4, 1, 1), ev(8, 4, 1, 2), ev(9, 5, 0, 1)];
    const r = agreement(events, 2);
    assert.equal(r.multiplyLabeled, 4);
    assert.equal(r.pairs.length, 1);
    assert.equal(r.pairs[0].agreement, 0.75);
    assert.ok(Math.abs(r.pairs[0].kappa - 0.5) < 1e-12);
  });

  test('undone labels do not count; a relabel replaces the earlier judgment', () => {
    // Annotator 1 labels sample 1 as 0, then 1 (relabel); annotator 2 says 1, then undoes it and says 0.
    const events = [ev(1, 1, 0, 1), ev(2, 1, 1, 1), ev(3, 1, 1, 2), ev(4, 1, 1, 2, 'undo', 3), ev(5, 1, 0, 2)];
    const r = agreement(events, 2);
    assert.equal(r.pairs[0].shared, 1);
    assert.equal(r.pairs[0].agreement, 0);
  });
});

for (const kind of STORE_KINDS) {
  describe(`retrain (${kind})`, { skip: skip(kind) }, async () => {
    if (skip(kind)) return;
    await initBackend('cpu');
    const { store } = await makeProject(40, { classes: ['dark', 'light'], store: await storeFor(kind) });
    after(() => store.close());
    const a = (await store.annotatorByToken(await store.addAnnotator('alice')))!;

    test('fits on the non-held-out labels, scores the held-out ones, writes suggestions and a queue of unlabeled samples', async () => {
      // Label 24 of the 40 with their true group (even = dark, odd = light); the groups are separable.
      for (let id = 1; id <= 24; id++) await store.label(id, (id - 1) % 2, a.id);
      const r = await retrain(store);
      const held = Array.from({ length: 24 }, (_, i) => i + 1).filter((id) => isHoldout(id, 0));
      assert.equal(r.holdoutLabels, held.length);
      assert.equal(r.trainLabels, 24 - held.length);
      assert.ok(held.length > 0, 'the fixture needs at least one held-out sample');
      assert.equal(r.holdoutAccuracy, 1);
      assert.equal(r.queue.length, 16);
      assert.deepEqual([...r.queue].sort((x, y) => x - y), Array.from({ length: 16 }, (_, i) => 25 + i));
      for (let id = 25; id <= 40; id++) {
        const s = (await store.suggestion(id))!;
        assert.equal(s.label, (id - 1) % 2, `suggestion for sample ${id}`);
        assert.ok(s.confidence > 0.5);
      }
      assert.equal(await store.suggestion(1), undefined);
      // The UI's next samples come from the queue, in its order.
      assert.deepEqual((await store.nextSamples(5)).map((s) => s.id), r.queue.slice(0, 5));
    });
  });
}
