/**
 * What only the PostgreSQL store has: `label init --store postgres://…` from the command line (the password
 * never saved or printed), an unreachable database (a clear error, exit 2), and several stores (servers) on
 * one database writing at once, where the SQLite store's rules must still hold. The tests every store passes
 * are in store.test.ts, api.test.ts and crash.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { initProject } from '../../src/label/init.js';
import { maskUrl, withoutPassword } from '../../src/label/pg-store.js';
import { openStore, STORE_FILE, type LabelStore } from '../../src/label/store.js';
import { runUlearn } from '../cli/run-cli.js';
import { freePort } from '../support/ports.js';
import { skipPostgres, startPostgres } from '../support/postgres.js';
import { makeImageFolder, makeProject, tempDir } from './fixtures.js';

const cluster = await startPostgres();
after(() => cluster.stop());
const skip = skipPostgres();

test('URLs are shown with the password masked and saved without it, wherever pg would read one', () => {
  const cases: [string, string, string][] = [
    ['postgres://team:s3cr%21t@db.lan:5432/labels', 'postgres://team:***@db.lan:5432/labels', 'postgres://team@db.lan:5432/labels'],
    ['postgres://team:p@ss@db.lan/labels', 'postgres://team:***@db.lan/labels', 'postgres://team@db.lan/labels'],
    ['postgresql://db.lan/labels?password=pw&sslmode=require', 'postgresql://db.lan/labels?password=***&sslmode=require', 'postgresql://db.lan/labels?sslmode=require'],
    ['postgres://team@db.lan/labels', 'postgres://team@db.lan/labels', 'postgres://team@db.lan/labels'],
    ['postgres:///labels?host=/run/postgresql', 'postgres:///labels?host=/run/postgresql', 'postgres:///labels?host=/run/postgresql'],
  ];
  for (const [url, masked, saved] of cases) {
    assert.equal(maskUrl(url), masked, url);
    assert.equal(withoutPassword(url), saved, url);
  }
});

test('an unreachable PostgreSQL: one error naming the URL with the password masked, exit 2, nothing created', async () => {
  const root = tempDir('pg-down');
  const data = await makeImageFolder(root, 3);
  const port = await freePort(); // nothing listens there
  const dir = join(root, 'project');
  const r = runUlearn(['label', 'init', dir, '--data', data, '--classes', 'a,b', '--store', `postgres://team:s3cr%21t@127.0.0.1:${port}/labels`]);
  assert.equal(r.code, 2, r.err);
  assert.match(r.err, new RegExp(`^ulearn: error: cannot connect to PostgreSQL at postgres://team:\\*\\*\\*@127\\.0\\.0\\.1:${port}/labels: `, 'm'));
  assert.doesNotMatch(r.out + r.err, /s3cr/);
  assert.doesNotMatch(r.err, /\n\s+at /, 'no stack trace');
  assert.deepEqual(readdirSync(root).sort(), ['img'], 'no project folder');

  // A project whose database went away: the server says so the same way, and shows the password from
  // PGPASSWORD no more than one in the URL.
  mkdirSync(dir);
  writeFileSync(join(dir, STORE_FILE), JSON.stringify({ store: 'postgres', url: `postgres://team@127.0.0.1:${port}/labels`, schema: 'ulearn_project_00000000' }));
  process.env.PGPASSWORD = 'pgpass-s3cret';
  try {
    const e = runUlearn(['label', dir, '--port', '0']);
    assert.equal(e.code, 2, e.err);
    assert.match(e.err, new RegExp(`^ulearn: error: cannot connect to PostgreSQL at postgres://team@127\\.0\\.0\\.1:${port}/labels: `, 'm'));
    assert.doesNotMatch(e.out + e.err, /s3cret/);
  } finally {
    delete process.env.PGPASSWORD;
  }
});

describe('label init --store postgres://… from the command line', { skip }, async () => {
  if (skip) return;
  const url = await cluster.newDatabase();
  // The test cluster trusts loopback, so any password is accepted: enough to see where it ends up.
  const withPassword = url.replace('postgres@', 'postgres:hunter2@');
  const root = tempDir('pg-cli');
  const data = await makeImageFolder(root, 6);
  const dir = join(root, 'project');

  test('init keeps the labels in the database; store.json and every output are free of the password', () => {
    const init = runUlearn(['label', 'init', dir, '--data', data, '--classes', 'dark,light', '--store', withPassword]);
    assert.equal(init.code, 0, init.err);
    assert.match(init.out, /6 samples, classes dark, light; labels in postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/ulearn_test_\d+ \(schema ulearn_project_[0-9a-f]{8}\)/);
    const cfg = readFileSync(join(dir, STORE_FILE), 'utf8');
    assert.deepEqual(Object.keys(JSON.parse(cfg) as object).sort(), ['schema', 'store', 'url']);
    assert.ok(!readdirSync(dir).includes('project.db'), 'no SQLite database');
    const add = runUlearn(['label', 'add-annotator', 'alice', '--project', dir]);
    assert.equal(add.code, 0, add.err);
    for (const text of [cfg, init.out, init.err, add.out, add.err]) assert.doesNotMatch(text, /hunter2/);
  });

  test('a second project in the same database gets its own schema; export reads each back', async () => {
    const b = await initProject(join(root, 'other'), { data, classes: ['x', 'y', 'z'], store: url, log: () => undefined });
    const a = await openStore(dir);
    try {
      assert.deepEqual([a.meta.classes, b.meta.classes], [['dark', 'light'], ['x', 'y', 'z']]);
      const alice = (await a.annotators()).find((x) => x.name === 'alice')!;
      await a.label(2, 1, alice.id);
      assert.equal(await b.eventCount(), 0);
    } finally {
      await a.close();
      await b.close();
    }
    const csv = runUlearn(['label', 'export', '--project', dir]);
    assert.equal(csv.code, 0, csv.err);
    assert.match(csv.out, /^file,label,annotator,labeled_at\ns001\.png,light,alice,/);
  });
});

describe('several stores (servers) on one database', { skip }, async () => {
  if (skip) return;
  const { store, dir } = await makeProject(40, { store: await cluster.newDatabase() });
  const other = await openStore(dir);
  after(async () => {
    await store.close();
    await other.close();
  });
  const alice = (await store.annotatorByToken(await store.addAnnotator('alice')))!;
  const bob = (await store.annotatorByToken(await store.addAnnotator('bob')))!;

  /** Every sample's cached label is its latest event's. */
  async function consistent(s: LabelStore): Promise<void> {
    const latest = new Map<number, number | null>();
    for (const e of await s.events()) latest.set(e.sampleId, e.label);
    for (const [id, label] of latest) assert.equal((await s.sample(id))!.label, label, `sample ${id}`);
  }

  test('concurrent writers on the same samples: every write is an event, the current label is the latest', async () => {
    const before = await store.eventCount();
    const writes = Array.from({ length: 400 }, (_, i) => ((i % 2 ? store : other) as LabelStore).label(1 + (i % 5), i % 3, i % 4 < 2 ? alice.id : bob.id));
    const events = await Promise.all(writes);
    assert.equal(new Set(events.map((e) => e.id)).size, 400);
    assert.equal(await other.eventCount(), before + 400);
    await consistent(store);
  });

  test("an undo racing another annotator's label never overwrites it", async () => {
    // Alice labels, then undoes while Bob labels the same sample through the other server. Either the undo
    // lands first (and Bob's label follows it) or it is refused: Bob's label is the current one either way.
    for (let id = 11; id <= 30; id++) {
      await store.label(id, 0, alice.id);
      const [undo, bobs] = await Promise.allSettled([store.undo(alice.id), other.label(id, 2, bob.id)]);
      assert.equal(bobs.status, 'fulfilled');
      if (undo.status === 'rejected') assert.match(String(undo.reason), /labeled by bob since/);
      assert.equal((await store.sample(id))!.label, 2, `sample ${id}`);
    }
    await consistent(store);
  });

  test('two undos of one annotator at once undo two labels, never the same one twice', async () => {
    await store.label(31, 1, alice.id);
    await store.label(32, 1, alice.id);
    const [u1, u2] = await Promise.all([store.undo(alice.id), other.undo(alice.id)]);
    assert.deepEqual([u1.sampleId, u2.sampleId].sort(), [31, 32]);
    assert.equal((await store.sample(31))!.label, null);
    assert.equal((await store.sample(32))!.label, null);
  });
});
