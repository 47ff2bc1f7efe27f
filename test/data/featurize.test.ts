/** featurize and fitFeaturize: [frames, 1, bins] samples, the same numbers on any number of threads, and checks. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Dataset } from '../../src/data/dataset.js';
import { AudioPreprocessor, audioInputShape, featurize, isFeaturized } from '../../src/data/preprocess/audio.js';
import { Rng } from '../../src/engine/seed.js';
import { UlearnError } from '../../src/errors.js';

function clips(n: number, samples = 4000, seed = 1): Dataset {
  const r = new Rng(seed);
  const x = new Float32Array(n * samples);
  for (let c = 0; c < n; c++) {
    const f = 100 + 50 * c;
    for (let i = 0; i < samples; i++) x[c * samples + i] = 0.3 * Math.sin((2 * Math.PI * f * i) / 16000) + 0.01 * r.normal();
  }
  return { name: 'tones', modality: 'audio', inputShape: [samples], classes: ['a'], size: n, ids: Array.from({ length: n }, (_, i) => `${i}.wav`), x, y: new Int32Array(n), split: 'train', source: 'memory' };
}

test('featurize gives transform’s numbers as [frames, 1, bins] samples, identical on 1 and 2 threads', async () => {
  const ds = clips(80);
  const pre = AudioPreprocessor.fit(ds);
  const one = await featurize(ds, pre, 1);
  const two = await featurize(ds, pre, 2);
  assert.deepEqual(one.inputShape, [26, 1, 40]);
  assert.deepEqual(audioInputShape(pre), [26, 1, 40]);
  assert.ok(isFeaturized(one) && !isFeaturized(ds));
  assert.deepEqual(one.x, pre.transform(ds.x));
  assert.deepEqual(two.x, one.x, 'threads change the time, never the numbers');
  assert.deepEqual(one.ids, ds.ids);
  assert.equal(one.featureStats?.mean.length, 40);
});

test('fitFeaturize is fit then featurize in one pass', async () => {
  const ds = clips(70, 4000, 2);
  const { pre, data } = await AudioPreprocessor.fitFeaturize(ds, {}, 2);
  const pre2 = AudioPreprocessor.fit(ds);
  assert.deepEqual(pre.toJSON(), pre2.toJSON());
  assert.deepEqual(data.x, (await featurize(ds, pre2, 1)).x);
});

test('clips of another length, or data that is not clips, are clear errors', async () => {
  const pre = AudioPreprocessor.fit(clips(3));
  await assert.rejects(featurize(clips(3, 8000), pre), (e: unknown) => e instanceof UlearnError && /8000 samples.*4000/.test(e.message));
  await assert.rejects(featurize({ ...clips(3), modality: 'image', inputShape: [10, 10, 40] , x: new Float32Array(12000) }, pre), /audio dataset of clips/);
});
