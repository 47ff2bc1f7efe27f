/**
 * speech-digits: a tiny build (2 clips per class, 1 test clip per class, a pool of 8) checked for determinism,
 * leave-voice-out, layout and meta, and loading; the signal processing against plain references.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, test } from 'node:test';
import { Rng } from '../../src/engine/seed.js';
import { loadDataset } from '../../src/data/load.js';
import {
  augment,
  convolve,
  DIGIT_WORDS,
  ensureSpeechDigits,
  listSpeakers,
  pseudoSentence,
  POOL_LANGUAGES,
  SPEECH_CLASSES,
  speedResample,
  splitSpeakers,
  UNKNOWN_WORDS,
  type SpeechDigitsMeta,
} from '../../src/data/speech-digits.js';
import { decodeWav } from '../../src/data/wav.js';
import { UlearnError } from '../../src/errors.js';
import { ulearn } from '../cli/run-cli.js';

const tiny = { perClass: 2, testPerClass: 1, poolSize: 8, seed: 3 };
let root: string;
let dirA: string;
let metaA: SpeechDigitsMeta;

async function wavFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      if (e.isDirectory()) await walk(join(d, e.name));
      else if (e.name.endsWith('.wav')) out.push(relative(dir, join(d, e.name)));
    }
  };
  await walk(dir);
  return out.sort();
}

async function dataHash(dir: string): Promise<string> {
  const h = createHash('sha256');
  for (const f of await wavFiles(dir)) h.update(f).update(await readFile(join(dir, f)));
  return h.digest('hex');
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'ulearn-speech-'));
  ({ dir: dirA, meta: metaA } = await ensureSpeechDigits({ ...tiny, dir: join(root, 'a') }));
});

after(() => rm(root, { recursive: true, force: true }));

test('the same seed gives the same bytes; another seed other bytes; a finished build is reused', async () => {
  const b = await ensureSpeechDigits({ ...tiny, dir: join(root, 'b') });
  assert.equal(b.built, true);
  assert.equal(await dataHash(b.dir), await dataHash(dirA));
  const strip = (m: SpeechDigitsMeta) => ({ ...m, buildSeconds: 0 });
  assert.deepEqual(strip(b.meta), strip(metaA));
  const c = await ensureSpeechDigits({ ...tiny, seed: 4, dir: join(root, 'c') });
  assert.notEqual(await dataHash(c.dir), await dataHash(dirA));
  const again = await ensureSpeechDigits({ ...tiny, dir: dirA });
  assert.equal(again.built, false);
  // A different build in the same folder is refused, not overwritten.
  await assert.rejects(ensureSpeechDigits({ ...tiny, seed: 5, dir: dirA }), (e: unknown) => e instanceof UlearnError && /already holds a different speech-digits build \(seed 3/.test(e.message));
});

test('leave-voice-out: no speaker (nor the person behind one) is in both train and test; the pool uses training voices', async () => {
  const train = new Set(metaA.speakers.train);
  const test = new Set(metaA.speakers.test);
  assert.deepEqual(metaA.speakers.train.filter((s) => test.has(s)), []);
  for (const c of metaA.clips.train) assert.ok(train.has(c.speaker), `${c.file}: ${c.speaker} is not a training speaker`);
  for (const c of metaA.clips.test) assert.ok(test.has(c.speaker), `${c.file}: ${c.speaker} is not a test speaker`);
  for (const c of metaA.clips.pool) assert.ok(train.has(c.speaker) && c.speaker.startsWith('espeak:'), `${c.file}: ${c.speaker}`);
  // Every engine is on both sides; a fifth of the espeak variants is held out.
  for (const engine of ['espeak:', 'flite:', 'festival:']) {
    assert.ok(metaA.speakers.train.some((s) => s.startsWith(engine)), `train has no ${engine} voice`);
    assert.ok(metaA.speakers.test.some((s) => s.startsWith(engine)), `test has no ${engine} voice`);
  }
  const variants = [...train, ...test].filter((s) => s.startsWith('espeak:')).length;
  const held = [...test].filter((s) => s.startsWith('espeak:')).length;
  assert.ok(Math.abs(held - 0.2 * variants) <= 1, `${held} of ${variants} variants held out`);

  // The split by person, over seeds: the same recordings behind two engines' voices never straddle it.
  const { speakers } = await listSpeakers();
  for (let seed = 0; seed < 20; seed++) {
    const s = splitSpeakers(speakers, seed);
    const testGroups = new Set(s.test.map((x) => x.group));
    assert.deepEqual(s.train.filter((x) => testGroups.has(x.group)), [], `seed ${seed}`);
    assert.equal(s.train.length + s.test.length, speakers.length);
    for (const e of ['espeak', 'flite', 'festival']) {
      assert.ok(s.test.some((x) => x.engine === e) && s.train.some((x) => x.engine === e), `seed ${seed}: ${e} on one side only`);
    }
  }
  const kal = speakers.filter((x) => x.group === 'kal').map((x) => x.id);
  assert.ok(kal.includes('flite:kal') && kal.includes('festival:kal_diphone'), kal.join(' '));
});

test('layout and meta: one-second 16 kHz 16-bit clips in train/<class>, test/<class> and pool; marked synthetic', async () => {
  const files = await wavFiles(dirA);
  assert.equal(files.length, 11 * 2 + 11 * 1 + 8);
  for (const split of ['train', 'test'] as const) {
    const per = split === 'train' ? 2 : 1;
    for (const c of SPEECH_CLASSES) assert.equal(files.filter((f) => f.startsWith(`${split}/${c}/`)).length, per, `${split}/${c}`);
  }
  assert.equal(files.filter((f) => f.startsWith('pool/')).length, 8);
  for (const f of [files[0], files.at(-1)!]) {
    const bytes = await readFile(join(dirA, f));
    const wav = decodeWav(bytes);
    assert.equal(wav.sampleRate, 16000);
    assert.equal(wav.samples.length, 16000);
    assert.equal(bytes.readUInt16LE(34), 16, 'bits per sample');
    let peak = 0;
    for (const v of wav.samples) peak = Math.max(peak, Math.abs(v));
    assert.ok(peak > 0.1 && peak <= 1, `${f}: peak ${peak}`);
  }
  assert.equal(metaA.synthetic, true);
  assert.match(metaA.note, /synthetic/);
  assert.deepEqual(metaA.classes, [...DIGIT_WORDS, 'unknown']);
  assert.deepEqual(metaA.counts, { train: 22, test: 11, pool: 8 });
  assert.deepEqual([metaA.seed, metaA.perClass, metaA.testPerClass, metaA.poolSize], [3, 2, 1, 8]);
  assert.ok(Object.values(metaA.engines).every((v) => v !== '?'), JSON.stringify(metaA.engines));
  assert.ok(metaA.poolLanguages.length >= 30);
  // Each clip says the word of its folder (unknown: a distractor word), and no pool text says a target word.
  for (const c of [...metaA.clips.train, ...metaA.clips.test]) {
    const cls = c.file.split('/')[1];
    assert.ok(cls === 'unknown' ? UNKNOWN_WORDS.includes(c.text) : c.text === cls, `${c.file}: ${c.text}`);
  }
  const targets = new Set([...DIGIT_WORDS, ...UNKNOWN_WORDS]);
  for (const c of metaA.clips.pool) assert.ok(!c.text.split(' ').some((w) => targets.has(w)), c.text);
  assert.ok(metaA.buildSeconds > 0);
});

test('loads through loadDataset: audio [16000], 11 classes in digit order, train and test labeled; the pool unlabeled', async () => {
  const spec = { name: 'speech-digits' as const, ...tiny, dir: dirA };
  const { train, test: testSplit } = await loadDataset(spec);
  assert.ok(testSplit);
  for (const [ds, n] of [[train, 22], [testSplit, 11]] as const) {
    assert.equal(ds.modality, 'audio');
    assert.deepEqual(ds.inputShape, [16000]);
    assert.deepEqual(ds.classes, SPEECH_CLASSES);
    assert.equal(ds.size, n);
    assert.equal(ds.x.length, n * 16000);
    // Label = index of the folder's class in SPEECH_CLASSES (so 'seven' is 7).
    ds.ids.forEach((id, i) => assert.equal(SPEECH_CLASSES[ds.y[i]], id.split('/')[0], id));
  }
  assert.equal(train.split, 'train');
  assert.equal(testSplit.split, 'test');
  const pool = await loadDataset({ ...spec, split: 'pool' });
  assert.equal(pool.test, undefined);
  assert.equal(pool.train.size, 8);
  assert.deepEqual(pool.train.inputShape, [16000]);
  assert.ok(pool.train.y.every((v) => v === -1));
  await assert.rejects(loadDataset({ ...spec, split: 'all' } as never), /split/);
});

test('ulearn data speech-digits: counts, speakers per split, build time, folder, and that the speech is synthetic', () => {
  const out = join(root, 'cli');
  const r = ulearn('data', 'speech-digits', '--per-class', '1', '--test-per-class', '1', '--pool-size', '2', '--seed', '2', '--out', out);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^speech-digits: 11 train \+ 11 test clips, 11 classes \(zero one two three four five six seven eight nine unknown\), \+ 2 unlabeled pool clips; 1 s at 16 kHz; built in [\d.]+ s$/m);
  assert.match(r.out, /^speakers: train \d+, test \d+ \(held out: espeak:.*\), pool \d+ \(training voices, \d+ languages\)$/m);
  assert.match(r.out, /^SYNTHETIC: The speech is synthetic/m);
  assert.match(r.out, new RegExp(`^folder: ${out}$`, 'm'));
  const again = ulearn('data', 'speech-digits', '--per-class', '1', '--test-per-class', '1', '--pool-size', '2', '--seed', '2', '--out', out);
  assert.match(again.out, /already built/);
});

test('espeak-ng missing: a clear error with the apt-get line', async () => {
  const path = process.env.PATH;
  process.env.PATH = join(root, 'no-such-bin');
  try {
    await assert.rejects(listSpeakers(), (e: unknown) => e instanceof UlearnError && /espeak-ng is not installed/.test(e.message) && /apt-get install espeak-ng flite festival/.test(e.hint ?? ''));
  } finally {
    process.env.PATH = path;
  }
});

test('convolve matches direct convolution', () => {
  const r = new Rng(1);
  const x = Float32Array.from({ length: 300 }, () => r.normal());
  const h = Float32Array.from({ length: 77 }, () => r.normal());
  const y = convolve(x, h);
  assert.equal(y.length, 376);
  for (let t = 0; t < y.length; t++) {
    let s = 0;
    for (let k = 0; k < h.length; k++) if (t - k >= 0 && t - k < x.length) s += h[k] * x[t - k];
    assert.ok(Math.abs(y[t] - s) < 1e-4, `t=${t}: ${y[t]} vs ${s}`);
  }
});

test('speed change by resampling: a 22.05 kHz tone comes out at 16 kHz, shorter and higher by the speed', () => {
  const rate = 22050;
  const tone = Float32Array.from({ length: rate }, (_, i) => Math.sin((2 * Math.PI * 440 * i) / rate));
  const { samples, speed } = speedResample(tone, rate, 1.08);
  assert.ok(Math.abs(speed - 1.08) < 0.01, String(speed));
  assert.equal(samples.length, Math.ceil((16000 * rate) / Math.round(rate * speed)));
  // Zero crossings over the middle give the frequency: 440 × speed.
  let crossings = 0;
  const a = 2000;
  const b = samples.length - 2000;
  for (let i = a + 1; i < b; i++) if (samples[i - 1] < 0 !== samples[i] < 0) crossings++;
  const hz = crossings / 2 / ((b - a) / 16000);
  assert.ok(Math.abs(hz - 440 * speed) < 3, `${hz} Hz`);
});

test('augment: the word lands whole inside the second, with noise at the drawn SNR', () => {
  const rate = 16000;
  const word = new Float32Array(8000);
  for (let i = 2000; i < 6000; i++) word[i] = 0.3 * Math.sin((2 * Math.PI * 300 * i) / rate);
  const aug = { seed: 7, speed: 1, snrDb: 20, noise: 'white' as const, gainDb: 0, reverb: undefined };
  const { clip } = augment(word, rate, aug, false);
  assert.equal(clip.length, 16000);
  // The tone (trimmed, with its 10 ms margins) is 4320 samples; find where it is by its energy.
  const e = (i: number) => clip[i] * clip[i];
  let best = 0;
  let at = 0;
  for (let s = 0, i = 0; i < 16000; i++) {
    s += e(i) - (i >= 4000 ? e(i - 4000) : 0);
    if (s > best) [best, at] = [s, i - 3999];
  }
  const rmsOf = (a: ArrayLike<number>) => Math.sqrt(Array.from(a).reduce((s, v) => s + v * v, 0) / a.length);
  // The speech level is measured over the trimmed word with its 10 ms margins (4320 samples), so the tone's own
  // RMS is sqrt(4320 / 4000) above it: the SNR read from the tone is 0.33 dB above the drawn one.
  const expected = 20 + 10 * Math.log10(4320 / 4000);
  for (const noise of ['white', 'pink'] as const) {
    const c = noise === 'white' ? clip : augment(word, rate, { ...aug, noise }, false).clip;
    const outside = [...c.subarray(0, Math.max(0, at - 200)), ...c.subarray(at + 4200)];
    const snr = 20 * Math.log10(rmsOf(c.subarray(at, at + 4000)) / rmsOf(outside));
    // Pink noise's slow components make one second's level vary more (over 40 seeds its mean SNR is within 0.01 dB).
    assert.ok(Math.abs(snr - expected) < (noise === 'white' ? 0.4 : 1), `${noise}: SNR ${snr.toFixed(2)} dB, expected ${expected.toFixed(2)}`);
  }
  // Gain: the word's peak is 0.4 at 0 dB, so +6 dB puts it at 0.4 × 10^(6/20) (noise 80 dB down).
  const loud = augment(word, rate, { ...aug, snrDb: 80, gainDb: 6 }, false).clip;
  const peak = loud.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  assert.ok(Math.abs(peak - 0.4 * 10 ** (6 / 20)) < 2e-3, `peak ${peak}`);
});

test('pseudo-sentences: 4-7 words in the language script, never a target word', () => {
  const r = new Rng(2);
  const targets = new Set([...DIGIT_WORDS, ...UNKNOWN_WORDS]);
  for (let i = 0; i < 500; i++) {
    const s = pseudoSentence(r, 'pl');
    const words = s.split(' ');
    assert.ok(words.length >= 4 && words.length <= 7, s);
    assert.ok(!words.some((w) => targets.has(w)), s);
  }
  assert.match(pseudoSentence(r, 'ru'), /^[\u0400-\u04ff ]+$/);
  assert.match(pseudoSentence(r, 'el'), /^[\u0370-\u03ff ]+$/);
  assert.ok(POOL_LANGUAGES.length >= 30 && !POOL_LANGUAGES.some((l) => l.startsWith('en')));
});
