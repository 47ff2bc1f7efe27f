import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { RetrainScheduler, type RetrainResult } from '../../src/label/retrain.js';
import { buildServer } from '../../src/label/server.js';
import { skipPostgres, startPostgres } from '../support/postgres.js';
import { makeProject, STORE_KINDS } from './fixtures.js';

const cluster = await startPostgres();
after(() => cluster.stop());

// The retrain process opens the project itself: from project.db, or through store.json from PostgreSQL.
for (const kind of STORE_KINDS) {
  test(`every K labels through the API start one background retrain; the server keeps answering meanwhile (${kind})`, { skip: kind === 'postgres' ? skipPostgres() : false }, async () => {
    const { store } = await makeProject(40, { classes: ['dark', 'light'], store: kind === 'postgres' ? await cluster.newDatabase() : undefined });
    const token = await store.addAnnotator('alice');
    const done: (RetrainResult | Error)[] = [];
    const scheduler = new RetrainScheduler(store, { retrainEvery: 6, onDone: (r) => done.push(r) });
    const app = buildServer(store, { host: '127.0.0.1', onLabel: () => scheduler.noteLabel(), modelStatus: () => scheduler.status });
    try {
      const label = (id: number) =>
        app.inject({ method: 'POST', url: '/api/labels', headers: { authorization: `Bearer ${token}` }, payload: { sampleId: id, label: (id - 1) % 2 === 0 ? 'dark' : 'light' } });
      for (let id = 1; id <= 5; id++) assert.equal((await label(id)).statusCode, 201);
      assert.equal(scheduler.status.running, false, 'not before K labels');
      assert.equal(scheduler.status.pendingLabels, 5);
      assert.equal((await label(6)).statusCode, 201);
      assert.equal(scheduler.status.running, true, 'the 6th label starts a retrain');
      // While the retrain process runs, writes and reads are served (the retrain is another process).
      let servedDuringRetrain = 0;
      for (let id = 7; id <= 12; id++) {
        assert.equal((await label(id)).statusCode, 201);
        assert.equal((await app.inject({ url: '/api/queue?limit=5' })).statusCode, 200);
        if (scheduler.status.running) servedDuringRetrain++;
      }
      assert.ok(servedDuringRetrain > 0, 'some requests were served while the retrain ran');
      await scheduler.idle;
      // The 6 labels that arrived during the first run trigger a second one as soon as it ends.
      if (scheduler.status.running) await scheduler.idle;
      assert.equal(done.length, 2, `two retrains: ${done.map((d) => (d instanceof Error ? d.message : 'ok'))}`);
      const runs = await store.modelRuns();
      assert.equal(runs.length, 2);
      assert.ok(runs.every((r) => r.error === null));
      assert.equal(runs[1].lastEventId, 12);
      assert.equal(runs[1].trainLabels + runs[1].holdoutLabels, 12);
      // Suggestions for every unlabeled sample, and the queue holds only unlabeled samples.
      for (let id = 13; id <= 40; id++) assert.ok(await store.suggestion(id), `suggestion for ${id}`);
      const q = (await app.inject({ url: '/api/queue?limit=50' })).json() as { samples: { id: number; suggestion: { label: string } }[] };
      assert.equal(q.samples.length, 28);
      assert.ok(q.samples.every((s) => s.id > 12 && s.suggestion));
      // The separable groups: the light model's suggestions are right.
      assert.ok(q.samples.every((s) => s.suggestion.label === ((s.id - 1) % 2 === 0 ? 'dark' : 'light')));
    } finally {
      await scheduler.close();
      await app.close();
      await store.close();
    }
  });
}
