/**
 * `label init` on a folder of audio clips: every clip gets the 80-d pooled log-mel embedding (so the light
 * model and active learning work as for images); a file that cannot be decoded is logged by name and reason
 * and stands at the average clip (a zero row after normalisation).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initProject } from '../../src/label/init.js';
import { retrain } from '../../src/label/retrain.js';
import { initBackend } from '../../src/engine/backend.js';
import { sineWav, tempDir } from './fixtures.js';

test('label init embeds audio clips with the pooled log-mel; an undecodable file is logged and gets the average row', async () => {
  const root = tempDir('audio-init');
  const clips = join(root, 'clips');
  mkdirSync(clips);
  for (let i = 0; i < 6; i++) writeFileSync(join(clips, `c${i}.wav`), sineWav(i % 2 ? 2000 : 250, 0.5));
  writeFileSync(join(clips, 'x.mp3'), Buffer.from('ID3 not really an mp3'));
  const lines: string[] = [];
  const store = await initProject(join(root, 'project'), { data: clips, classes: ['low', 'high'], overlap: 0, strategy: 'random', log: (l) => lines.push(l) });
  try {
    const ref = (await store.embeddings())!;
    assert.equal(ref.dim, 80);
    assert.equal(ref.source, 'audio:logmel40-mean-std');
    assert.ok(lines.some((l) => /x\.mp3: no embedding \(MP3 is not decoded, only WAV\)/.test(l)), lines.join('\n'));
    const buf = readFileSync(join(store.dir, 'embeddings.f32'));
    const e = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
    const row = (id: number) => e.subarray((id - 1) * 80, id * 80);
    const mp3 = (await store.sampleByFile('x.mp3'))!.id;
    assert.ok(row(mp3).every((v) => v === 0));
    // Clips of one pitch sit together, far from the other pitch.
    const dist = (a: number, b: number) => Math.hypot(...row(a).map((v, d) => v - row(b)[d]));
    const ids = new Map((await store.listSamples(0, 100)).map((s) => [s.file, s.id]));
    const id = (f: string) => ids.get(f)!;
    assert.ok(dist(id('c0.wav'), id('c2.wav')) < dist(id('c0.wav'), id('c1.wav')) / 10);
    // The light model trains on them and suggests.
    await initBackend('cpu');
    const bob = (await store.annotatorByToken(await store.addAnnotator('bob')))!;
    // Four labels: the retrain holds some out for its accuracy, by sample id.
    for (const [f, c] of [['c0.wav', 0], ['c1.wav', 1], ['c2.wav', 0], ['c3.wav', 1]] as const) await store.label(id(f), c, bob.id);
    await retrain(store);
    assert.equal((await store.suggestion(id('c4.wav')))?.label, 0);
    assert.equal((await store.suggestion(id('c5.wav')))?.label, 1);
  } finally {
    await store.close();
  }
});
