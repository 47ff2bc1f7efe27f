import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { exportLabels } from '../../src/label/import-export.js';
import { buildServer } from '../../src/label/server.js';
import { skipPostgres, startPostgres } from '../support/postgres.js';
import { makeProject, STORE_KINDS } from './fixtures.js';

const cluster = await startPostgres();
after(() => cluster.stop());

// The HTTP API over each store: concurrent writers included.
for (const kind of STORE_KINDS) {
  describe(`label API (${kind})`, { skip: kind === 'postgres' ? skipPostgres() : false }, async () => {
    if (kind === 'postgres' && skipPostgres()) return;
    const { store } = await makeProject(30, { store: kind === 'postgres' ? await cluster.newDatabase() : undefined });
    const alice = await store.addAnnotator('alice');
    const bob = await store.addAnnotator('bob');
    const app = buildServer(store, { host: '127.0.0.1' });
    after(async () => {
      await app.close();
      await store.close();
    });
    const auth = (t: string) => ({ authorization: `Bearer ${t}` });
    /** Everything a request could change: the event log and the current labels. */
    const snapshot = async () => (await exportLabels(store, 'jsonl')) + (await exportLabels(store, 'csv'));

    test('a label write with a valid token is stored and acknowledged with its event id', async () => {
      const r = await app.inject({ method: 'POST', url: '/api/labels', headers: auth(alice), payload: { sampleId: 4, label: 'light' } });
      assert.equal(r.statusCode, 201);
      assert.equal(r.json().eventId, 1);
      assert.equal((await store.sample(4))!.label, 1);
      const s = await app.inject({ url: '/api/samples/4' });
      assert.equal(s.json().label, 'light');
    });

    test('refused, and nothing changes: bad tokens, unknown samples, unknown classes, bad bodies, oversized bodies', async () => {
      const before = await snapshot();
      const cases: { name: string; status: number; headers?: Record<string, string>; payload?: unknown; body?: string; url?: string }[] = [
        { name: 'no token', status: 401, payload: { sampleId: 1, label: 'dark' } },
        { name: 'wrong token', status: 401, headers: auth('not-a-token'), payload: { sampleId: 1, label: 'dark' } },
        { name: 'malformed auth header', status: 401, headers: { authorization: `Basic ${alice}` }, payload: { sampleId: 1, label: 'dark' } },
        { name: 'unknown sample', status: 404, headers: auth(alice), payload: { sampleId: 999, label: 'dark' } },
        { name: 'unknown class', status: 400, headers: auth(alice), payload: { sampleId: 1, label: 'purple' } },
        { name: 'class by index instead of name', status: 400, headers: auth(alice), payload: { sampleId: 1, label: 0 } },
        { name: 'extra field', status: 400, headers: auth(alice), payload: { sampleId: 1, label: 'dark', annotator: 'bob' } },
        { name: 'negative id', status: 400, headers: auth(alice), payload: { sampleId: -1, label: 'dark' } },
        { name: 'not JSON', status: 400, headers: { ...auth(alice), 'content-type': 'application/json' }, body: '{"sampleId": 1,' },
        { name: 'oversized body', status: 413, headers: { ...auth(alice), 'content-type': 'application/json' }, body: JSON.stringify({ sampleId: 1, label: 'x'.repeat(20000) }) },
        { name: 'undo without token', status: 401, url: '/api/undo', payload: {} },
        { name: 'undo with nothing to undo', status: 409, url: '/api/undo', headers: auth(bob), payload: {} },
      ];
      for (const c of cases) {
        const r = await app.inject({ method: 'POST', url: c.url ?? '/api/labels', headers: c.headers, payload: (c.body ?? c.payload) as string });
        assert.equal(r.statusCode, c.status, `${c.name}: ${r.body}`);
        assert.ok(typeof r.json().error === 'string' && r.json().error.length > 0, `${c.name}: has a message`);
      }
      assert.equal(await snapshot(), before);
    });

    test('media: only registered files by sample id; ../ paths and other names are refused', async () => {
      const ok = await app.inject({ url: '/media/1' });
      assert.equal(ok.statusCode, 200);
      assert.equal(ok.headers['content-type'], 'image/png');
      assert.deepEqual([...ok.rawPayload.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
      const part = await app.inject({ url: '/media/1', headers: { range: 'bytes=1-3' } });
      assert.equal(part.statusCode, 206);
      assert.equal(part.headers['content-range'], `bytes 1-3/${ok.rawPayload.length}`);
      assert.deepEqual([...part.rawPayload], [...ok.rawPayload.subarray(1, 4)]);
      const tail = await app.inject({ url: '/media/1', headers: { range: 'bytes=-2' } });
      assert.deepEqual([...tail.rawPayload], [...ok.rawPayload.subarray(ok.rawPayload.length - 2)]);
      assert.equal((await app.inject({ url: '/media/1', headers: { range: `bytes=${ok.rawPayload.length}-` } })).statusCode, 416);
      for (const url of ['/media/../project.db', '/media/..%2fproject.db', '/media/%2e%2e%2f%2e%2e%2fetc%2fpasswd', '/media/1/../../project.db', '/media/0', '/media/31', '/media/1abc', '/media/s000.png', '/../../etc/passwd', '/project.db']) {
        const r = await app.inject({ url });
        assert.ok(r.statusCode === 400 || r.statusCode === 404, `${url} -> ${r.statusCode}`);
        assert.ok(!r.rawPayload.includes(Buffer.from('SQLite format')), `${url} leaked the database`);
      }
    });

    test('queue and grid validate their queries', async () => {
      assert.equal((await app.inject({ url: '/api/queue?limit=0' })).statusCode, 400);
      assert.equal((await app.inject({ url: '/api/queue?exclude=1,x' })).statusCode, 400);
      assert.equal((await app.inject({ url: '/api/samples?filter=weird' })).statusCode, 400);
      const q = (await app.inject({ url: '/api/queue?limit=5&exclude=1,2' })).json() as { samples: { id: number; label: string | null }[] };
      assert.equal(q.samples.length, 5);
      assert.ok(q.samples.every((s) => s.id !== 1 && s.id !== 2 && s.id !== 4 && s.label === null));
      const g = (await app.inject({ url: '/api/samples?filter=labeled' })).json() as { total: number; samples: { id: number }[] };
      assert.equal(g.total, (await store.stats()).labeled);
      assert.deepEqual(g.samples.map((s) => s.id), [4]);
      assert.equal((await app.inject({ url: '/api/samples?filter=unlabeled' })).json().total, 29);
    });

    test('bound to a non-loopback address, reads need a token too', async () => {
      const lan = buildServer(store, { host: '0.0.0.0' });
      try {
        for (const url of ['/api/project', '/api/queue', '/api/export', '/media/1']) assert.equal((await lan.inject({ url })).statusCode, 401, url);
        assert.equal((await lan.inject({ url: '/api/project', headers: auth('nope') })).statusCode, 401);
        const r = await lan.inject({ url: '/api/project', headers: auth(bob) });
        assert.equal(r.statusCode, 200);
        assert.equal(r.json().annotator, 'bob');
        // The UI's cookie authenticates GETs (media in <img>), never writes.
        assert.equal((await lan.inject({ url: '/media/1', headers: { cookie: `x=1; ulearn_token=${bob}` } })).statusCode, 200);
        assert.equal((await lan.inject({ url: '/media/1', headers: { cookie: 'ulearn_token=wrong' } })).statusCode, 401);
        const before = await store.eventCount();
        const w = await lan.inject({ method: 'POST', url: '/api/labels', headers: { cookie: `ulearn_token=${bob}` }, payload: { sampleId: 2, label: 'dark' } });
        assert.equal(w.statusCode, 401);
        assert.equal(await store.eventCount(), before);
      } finally {
        await lan.close();
      }
    });

    test('two annotators writing concurrently over HTTP (600 writes) lose nothing', async () => {
      const server = buildServer(store, { host: '127.0.0.1' });
      const address = await server.listen({ port: 0, host: '127.0.0.1' });
      try {
        const before = await store.eventCount();
        const classes = store.meta.classes;
        const write = async (token: string, i: number, who: number) => {
          const sampleId = 1 + ((i * 7 + who) % 30);
          const label = classes[(i + who) % classes.length];
          const r = await fetch(`${address}/api/labels`, { method: 'POST', headers: { ...auth(token), 'content-type': 'application/json' }, body: JSON.stringify({ sampleId, label }) });
          assert.equal(r.status, 201);
          return ((await r.json()) as { eventId: number }).eventId;
        };
        // Each annotator keeps 10 requests in flight, 300 writes each.
        const run = async (token: string, who: number) => {
          const ids: number[] = [];
          for (let start = 0; start < 300; start += 10) ids.push(...(await Promise.all(Array.from({ length: 10 }, (_, j) => write(token, start + j, who)))));
          return ids;
        };
        const [ia, ib] = await Promise.all([run(alice, 0), run(bob, 1)]);
        const acked = new Set([...ia, ...ib]);
        assert.equal(acked.size, 600, 'every write got its own event id');
        assert.equal(await store.eventCount(), before + 600);
        const stored = new Set([...(await store.events(0))].map((e) => e.id));
        for (const id of acked) assert.ok(stored.has(id), `acknowledged event ${id} is stored`);
        // Every sample's current label is the label of its latest event.
        const latest = new Map<number, number | null>();
        for (const e of (await store.events())) latest.set(e.sampleId, e.label);
        for (const [id, label] of latest) assert.equal((await store.sample(id))!.label, label);
      } finally {
        await server.close();
      }
    });
  });
}

test('second opinions: labeled overlap samples come first for other annotators, blind, and feed the agreement', async () => {
  const { store } = await makeProject(12, { overlap: 1 });
  const app = buildServer(store, { host: '127.0.0.1' });
  try {
    const alice = await store.addAnnotator('alice');
    const bob = await store.addAnnotator('bob');
    const post = (t: string, sampleId: number, label: string) => app.inject({ method: 'POST', url: '/api/labels', headers: { authorization: `Bearer ${t}` }, payload: { sampleId, label } });
    assert.equal((await post(alice, 3, 'dark')).statusCode, 201);
    assert.equal((await post(alice, 5, 'light')).statusCode, 201);
    type Q = { samples: { id: number; label: string | null; suggestion: unknown; secondOpinion: boolean }[] };
    const forBob = (await app.inject({ url: '/api/queue?limit=4', headers: { authorization: `Bearer ${bob}` } })).json() as Q;
    assert.deepEqual(forBob.samples.slice(0, 2).map((s) => [s.id, s.label, s.suggestion, s.secondOpinion]), [[3, null, null, true], [5, null, null, true]]);
    assert.ok(forBob.samples.slice(2).every((s) => !s.secondOpinion && s.id !== 3 && s.id !== 5));
    // Alice never gets her own labels back; anonymous readers get no second opinions.
    const forAlice = (await app.inject({ url: '/api/queue?limit=4', headers: { authorization: `Bearer ${alice}` } })).json() as Q;
    assert.ok(forAlice.samples.every((s) => !s.secondOpinion && s.id !== 3 && s.id !== 5));
    assert.ok(((await app.inject({ url: '/api/queue?limit=4' })).json() as Q).samples.every((s) => !s.secondOpinion));
    await post(bob, 3, 'dark');
    await post(bob, 5, 'other');
    const forBobAgain = (await app.inject({ url: '/api/queue?limit=4', headers: { authorization: `Bearer ${bob}` } })).json() as Q;
    assert.ok(forBobAgain.samples.every((s) => !s.secondOpinion));
    const o = (await app.inject({ url: '/api/overview' })).json() as { annotators: { name: string; labels: number }[]; agreement: { multiplyLabeled: number; overall: number; pairs: { a: string; b: string; shared: number; agreement: number }[] } };
    assert.deepEqual(o.annotators, [{ name: 'alice', labels: 2 }, { name: 'bob', labels: 2 }]);
    assert.equal(o.agreement.multiplyLabeled, 2);
    assert.deepEqual(o.agreement.pairs.map((p) => [p.a, p.b, p.shared, p.agreement]), [['alice', 'bob', 2, 0.5]]);
  } finally {
    await app.close();
    await store.close();
  }
});
