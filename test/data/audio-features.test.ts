/**
 * Audio features: log-mel and MFCC against torchaudio 0.13 (MelSpectrogram + log, MFCC; float64) on three
 * clips (a voiced tone, a noise burst in digital silence, a chirp) at 40 and 64 mel bands; the FFT against a
 * float64 DFT at sizes with every kind of radix; batching; and the per-band normalisation fitted on a pool,
 * saved beside a model and loaded back.
 */
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { UlearnError } from '../../src/errors.js';
import type { Dataset } from '../../src/data/dataset.js';
import { decodeWav } from '../../src/data/wav.js';
import { audioFeatureConfig, audioFeatures, audioFeatureShape, type AudioFeatureOptions } from '../../src/data/preprocess/audio-features.js';
import { AudioPreprocessor } from '../../src/data/preprocess/audio.js';
import { ComplexFft, PowerSpectrum } from '../../src/data/preprocess/fft.js';
import { loadPreprocessor, preprocessorFromJSON, savePreprocessor } from '../../src/data/preprocess/index.js';
import { fixtureIndex, maxAbsDiff, readF32, readFixture } from './audio-fixtures.js';
import { tempDir } from './fixtures.js';

/**
 * Tolerances against torchaudio: the largest difference relative to the reference's largest magnitude.
 * The differences come from torchaudio's filter bank, computed in float32 before the cast to float64, and our
 * float32 output; the log magnifies them in the weakest bands. Measured: log-mel 1.8e-5 (2.4e-4 nats, the chirp's
 * edge bands), MFCC 1.0e-6.
 */
const LOGMEL_TOL = 1e-4;
const MFCC_TOL = 1e-5;

const relErr = (got: Float32Array, want: Float32Array) => maxAbsDiff(got, want) / want.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

test('log-mel and MFCC match torchaudio (40 and 64 mel bands; silence, noise, tones, chirp)', () => {
  assert.ok(fixtureIndex.features.length >= 4);
  for (const f of fixtureIndex.features) {
    const clip = decodeWav(readFixture(f.clip)).samples;
    const logmel = audioFeatureConfig({ kind: 'logmel', nMels: f.nMels });
    assert.deepEqual(audioFeatureShape(logmel, clip.length), [f.frames, f.nMels]);
    const lm = audioFeatures(clip, clip.length, logmel);
    const lmErr = relErr(lm, readF32(f.logmel));
    assert.ok(lmErr <= LOGMEL_TOL, `${f.clip} log-mel ${f.nMels}: relative error ${lmErr}`);
    const mfcc = audioFeatureConfig({ kind: 'mfcc', nMels: f.nMels, nMfcc: f.nMfcc });
    const mf = audioFeatures(clip, clip.length, mfcc);
    assert.equal(mf.length, f.frames * f.nMfcc);
    const mfErr = relErr(mf, readF32(f.mfcc));
    assert.ok(mfErr <= MFCC_TOL, `${f.clip} MFCC ${f.nMfcc}/${f.nMels}: relative error ${mfErr}`);
  }
});

test('one second at 16 kHz is 101 frames; the silent frames sit at the log floor', () => {
  const cfg = audioFeatureConfig();
  assert.deepEqual(cfg, { kind: 'logmel', sampleRate: 16000, nFft: 400, hop: 160, nMels: 40, nMfcc: 0 });
  assert.deepEqual(audioFeatureShape(cfg, 16000), [101, 40]);
  const silence = audioFeatures(new Float32Array(16000), 16000, cfg);
  assert.ok(silence.every((v) => v === Math.fround(Math.log(1e-6))));
});

test('a batch gives each clip the features it has alone (the MFCC floor is per clip)', () => {
  const a = decodeWav(readFixture('clip-voiced.wav')).samples.subarray(4000, 12000);
  const b = decodeWav(readFixture('clip-burst.wav')).samples;
  assert.equal(b.length, 8000);
  const batch = new Float32Array(16000);
  batch.set(a, 0);
  batch.set(b, 8000);
  for (const cfg of [audioFeatureConfig(), audioFeatureConfig({ kind: 'mfcc', nMfcc: 13 })]) {
    const both = audioFeatures(batch, 8000, cfg);
    const n = both.length / 2;
    assert.deepEqual(both.subarray(0, n), audioFeatures(a, 8000, cfg));
    assert.deepEqual(both.subarray(n), audioFeatures(b, 8000, cfg));
  }
});

/** Float64 DFT, the reference for the FFT. */
function dft(re: ArrayLike<number>, im: ArrayLike<number>): [Float64Array, Float64Array] {
  const n = re.length;
  const or = new Float64Array(n);
  const oi = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    for (let t = 0; t < n; t++) {
      const a = (-2 * Math.PI * ((k * t) % n)) / n;
      or[k] += re[t] * Math.cos(a) - im[t] * Math.sin(a);
      oi[k] += re[t] * Math.sin(a) + im[t] * Math.cos(a);
    }
  }
  return [or, oi];
}

test('the FFT matches a float64 DFT at sizes built from radices 4, 2, 3, 5 and other primes', () => {
  let seed = 1;
  const random = () => ((seed = (seed * 48271) % 2147483647) / 2147483647) * 2 - 1;
  for (const n of [1, 2, 3, 4, 5, 7, 8, 12, 49, 60, 200, 256, 2 * 3 * 5 * 7 * 11]) {
    const re = Float64Array.from({ length: n }, random);
    const im = Float64Array.from({ length: n }, random);
    const [wr, wi] = dft(re, im);
    new ComplexFft(n).transform(re, im);
    const err = Math.max(maxAbsDiff(re, wr), maxAbsDiff(im, wi));
    assert.ok(err <= 1e-10 * n, `complex FFT of size ${n}: error ${err}`);
  }
  for (const n of [16, 17, 400, 512, 441]) {
    const x = Float64Array.from({ length: n }, random);
    const [wr, wi] = dft(x, new Float64Array(n));
    const spectrum = new PowerSpectrum(n);
    const out = new Float64Array(spectrum.bins);
    spectrum.power(x, out);
    assert.equal(spectrum.bins, Math.floor(n / 2) + 1);
    const want = Array.from({ length: spectrum.bins }, (_, k) => wr[k] * wr[k] + wi[k] * wi[k]);
    assert.ok(maxAbsDiff(out, want) <= 1e-9 * n, `power spectrum of size ${n}: error ${maxAbsDiff(out, want)}`);
  }
});

test('settings that cannot work are refused with what to change', () => {
  assert.throws(() => audioFeatureConfig({ nMels: 128 }), (e: unknown) => e instanceof UlearnError && /mel band 0 of 128 covers no STFT bin/.test(e.message) && /fewer mel bands/.test(e.hint ?? ''));
  assert.throws(() => audioFeatureConfig({ kind: 'mfcc', nMels: 20, nMfcc: 30 }), /nMfcc must be an integer in \[1, nMels = 20\], got 30/);
  assert.throws(() => audioFeatureConfig({ kind: 'spectrogram' as never }), /kind must be 'logmel' or 'mfcc', got spectrogram/);
  assert.throws(() => audioFeatureConfig({ nMfcc: 13 }), /nMfcc is for kind 'mfcc'/);
  assert.throws(() => audioFeatures(new Float32Array(200), 200, audioFeatureConfig()), /clips must be longer than nFft\/2 = 200 samples/);
  assert.throws(() => audioFeatures(new Float32Array(1000), 300, audioFeatureConfig()), /1000 values, not a whole number of 300-sample clips/);
});

/** n half-second clips: a tone whose pitch and loudness vary by clip, with noise. */
function pool(n: number): Dataset {
  const samples = 8000;
  const x = new Float32Array(n * samples);
  let seed = 7;
  const random = () => ((seed = (seed * 48271) % 2147483647) / 2147483647) * 2 - 1;
  for (let c = 0; c < n; c++) {
    for (let i = 0; i < samples; i++) x[c * samples + i] = (0.1 + 0.1 * c) * Math.sin((2 * Math.PI * (300 + 200 * c) * i) / 16000) + 0.02 * random();
  }
  return { name: 'tones', modality: 'audio', inputShape: [samples], classes: [], size: n, ids: Array.from({ length: n }, (_, i) => `${i}.wav`), x, y: new Int32Array(n).fill(-1), split: 'train', source: 'memory' };
}

test('per-band normalisation: fitted on the pool it gives mean 0 and std 1 per band, and survives saving', async () => {
  const ds = pool(5);
  const settings: AudioFeatureOptions[] = [{}, { kind: 'mfcc', nMfcc: 13 }];
  for (const options of settings) {
    const pre = AudioPreprocessor.fit(ds, { ...options, cmn: false });
    const [frames, bins] = pre.outputShape;
    assert.deepEqual(pre.outputShape, [51, options.kind === 'mfcc' ? 13 : 40]);
    const f = pre.transform(ds.x);
    assert.equal(f.length, ds.size * frames * bins);
    for (let b = 0; b < bins; b++) {
      let s = 0;
      let q = 0;
      for (let r = 0; r < ds.size * frames; r++) {
        s += f[r * bins + b];
        q += f[r * bins + b] ** 2;
      }
      const mean = s / (ds.size * frames);
      assert.ok(Math.abs(mean) < 1e-4 && Math.abs(q / (ds.size * frames) - mean * mean - 1) < 1e-3, `band ${b}: mean ${mean}`);
    }
    const dir = join(await tempDir(), 'model');
    await mkdir(dir);
    await savePreprocessor(dir, pre);
    const loaded = await loadPreprocessor(dir);
    assert.ok(loaded instanceof AudioPreprocessor);
    assert.deepEqual(loaded.transform(ds.x.subarray(0, 8000)), f.subarray(0, frames * bins));
  }
});

test('cepstral mean normalisation (the default): each clip minus its own mean per band, against a float64 reference', async () => {
  const ds = pool(4);
  const plain = AudioPreprocessor.fit(ds, { cmn: false });
  const cmn = AudioPreprocessor.fit(ds);
  assert.equal(cmn.cmn, true);
  assert.equal(plain.cmn, false);
  const [frames, bins] = cmn.outputShape;
  const p = plain.transform(ds.x);
  const c = cmn.transform(ds.x);
  for (let clip = 0; clip < ds.size; clip++) {
    for (let b = 0; b < bins; b++) {
      let avg = 0;
      for (let t = 0; t < frames; t++) avg += p[(clip * frames + t) * bins + b];
      avg /= frames;
      for (let t = 0; t < frames; t++) {
        const i = (clip * frames + t) * bins + b;
        assert.ok(Math.abs(c[i] - (p[i] - avg)) < 1e-5, `clip ${clip} band ${b} frame ${t}`);
      }
    }
  }
  // A fixed colouring of one clip (a constant gain per band in the log domain) disappears.
  const louder = AudioPreprocessor.fit(ds).transform(ds.x.subarray(0, 8000).map((v) => v * 3));
  for (let i = 0; i < frames * bins; i++) assert.ok(Math.abs(louder[i] - c[i]) < 0.02, `frame ${Math.floor(i / bins)} band ${i % bins}`);
  // A version-1 file predates CMN, so it reads back without it.
  const v1 = { ...plain.toJSON(), version: 1 } as Record<string, unknown>;
  delete v1.cmn;
  const old = preprocessorFromJSON(v1, 'old.json') as AudioPreprocessor;
  assert.equal(old.cmn, false);
  assert.deepEqual(old.transform(ds.x), p);
});

test('a saved audio preprocessor that does not add up is refused, naming the file', () => {
  const json = AudioPreprocessor.fit(pool(2)).toJSON();
  const bad: [unknown, RegExp][] = [
    [{ ...json, version: 3 }, /p\.json: preprocessor version 3 is not supported \(expected 1 or 2\)/],
    [{ ...json, cmn: 'yes' }, /p\.json: cmn must be true or false, got yes/],
    [{ ...json, std: json.std.slice(1) }, /p\.json: mean and std must be 40 finite numbers each/],
    [{ ...json, std: json.std.map(() => 0) }, /std above 0/],
    [{ ...json, mean: json.mean.map(() => null) }, /mean and std must be 40 finite numbers/],
    [{ ...json, features: { ...json.features, nFft: 0 } }, /p\.json: features: nFft must be an integer in \[16, 65536\], got 0/],
    [{ ...json, features: undefined }, /p\.json: audio preprocessor without its feature settings/],
    [{ ...json, clipSamples: 100 }, /clipSamples must be an integer above nFft\/2, got 100/],
  ];
  for (const [value, message] of bad) assert.throws(() => preprocessorFromJSON(value, 'p.json'), (e: unknown) => e instanceof UlearnError && e.code === 'E_MODEL_IO' && message.test(e.message), String(message));
  assert.throws(() => AudioPreprocessor.fit({ ...pool(2), modality: 'image', inputShape: [8000] }), /audio features need an audio dataset of clips, got image samples/);
});
