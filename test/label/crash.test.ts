import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { LabelStore } from '../../src/label/store.js';
import { makeProject } from './fixtures.js';

/** Starts `ulearn label <dir> --port 0` as a real process and resolves with it and its address. */
export async function startServer(dir: string): Promise<{ proc: ReturnType<typeof spawn>; address: string }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'label', dir, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const address = await new Promise<string>((resolve, reject) => {
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    proc.once('exit', (code) => reject(new Error(`server exited with ${code}: ${err}`)));
  });
  return { proc, address };
}

test('kill -9 of the server mid-stream loses no acknowledged label', async () => {
  const { store, dir } = await makeProject(50);
  const token = store.addAnnotator('alice');
  store.close();
  const { proc, address } = await startServer(dir);
  const acked: { eventId: number; sampleId: number; label: string }[] = [];
  let killed = false;
  const classes = ['dark', 'light', 'other'];
  // 4 writers stream labels until the server dies; the kill lands while requests are in flight.
  const writer = async (w: number) => {
    for (let i = 0; ; i++) {
      const sampleId = 1 + ((i * 4 + w) % 50);
      const label = classes[(i + w) % 3];
      try {
        const r = await fetch(`${address}/api/labels`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ sampleId, label }) });
        if (r.status !== 201) throw new Error(`status ${r.status}`);
        acked.push({ eventId: ((await r.json()) as { eventId: number }).eventId, sampleId, label });
        if (acked.length === 150 && !killed) {
          killed = true;
          proc.kill('SIGKILL');
        }
      } catch (err) {
        if (killed) return; // connection refused/reset after the kill: expected, not acknowledged
        throw err;
      }
    }
  };
  await Promise.all([0, 1, 2, 3].map(writer));
  if (proc.exitCode === null && proc.signalCode === null) await once(proc, 'exit');
  assert.equal(proc.signalCode, 'SIGKILL');
  assert.ok(acked.length >= 150);

  const after = LabelStore.open(dir);
  try {
    const events = new Map([...after.events()].map((e) => [e.id, e]));
    for (const a of acked) {
      const e = events.get(a.eventId);
      assert.ok(e, `acknowledged event ${a.eventId} survived`);
      assert.equal(e.sampleId, a.sampleId);
      assert.equal(after.meta.classes[e.label!], a.label);
    }
    // The cached current label still matches the log after the crash.
    const latest = new Map<number, number | null>();
    for (const e of events.values()) latest.set(e.sampleId, e.label);
    for (const [id, label] of latest) assert.equal(after.sample(id)!.label, label);
  } finally {
    after.close();
  }
});
