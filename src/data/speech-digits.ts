/**
 * `speech-digits`: a spoken-word corpus synthesized offline with the text-to-speech engines Debian ships
 * (espeak-ng, flite, festival), for the speech case study. THE SPEECH IS SYNTHETIC: every clip is a TTS
 * voice, not a person, and meta.json says so.
 *
 * Classes: the words `zero` … `nine`, plus `unknown` (distractor words, none a digit or a near-homophone of one).
 * Every clip is one word, 16 kHz mono, exactly one second, 16-bit WAV.
 *
 * Speakers. A speaker is a timbre identity: an espeak-ng voice variant (read with any of the 8 English accents
 * and a grid of pitches and rates), or a recorded person behind flite's and festival's voices. The same person
 * behind two engines' voices is one speaker group (CMU's "kal" is flite's kal and kal16 and festival's
 * kal_diphone; "slt" is flite's slt and festival's cmu_us_slt_arctic_hts), so leave-voice-out holds out people,
 * not file names. Test speakers never occur in training: about a fifth of the espeak variants and at least one
 * flite and one festival voice are held out (drawn from the seed; the lists are in meta.json).
 *
 * The unlabeled pool: one-second windows of espeak-ng reading strings of pseudo-words (random syllables, none
 * an English target word) in 40+ non-English languages, with the training speakers' variants only (so
 * pretraining never hears a test voice) and the same augmentations.
 *
 * Augmentation, per clip from its own seeded stream: trim the TTS silence, change speed by 0.9–1.1 (one
 * resampling that also brings the engine's rate to 16 kHz), reverb on a third of the clips (convolution with an
 * exponentially decaying noise impulse response), gain ±6 dB, a random place inside the second, and white or
 * pink noise at 5–30 dB SNR.
 *
 * Determinism: every random draw happens in this process from the seed (the plan of every clip first, then one
 * stream per clip), the engines are deterministic, and clips are written to names fixed by the plan, so the
 * order in which the parallel child processes finish changes nothing: the same seed gives the same bytes.
 *
 * Cache: `<cacheDir>/speech-digits/<key>/`, key = hash of the generator version, sizes, seed and the engines'
 * versions and voice lists; built in a temporary sibling folder and renamed into place (synthetic.ts).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Rng } from '../engine/seed.js';
import { UlearnError } from '../errors.js';
import { writeJsonAtomic } from '../util/atomic.js';
import { mapLimit } from '../util/pool.js';
import { loadAudioFolder } from './audio-folder.js';
import type { Dataset, DatasetSplits } from './dataset.js';
import { cacheDir as defaultCacheDir } from './download.js';
import { ComplexFft } from './preprocess/fft.js';
import { resample, SAMPLE_RATE } from './resample.js';
import { checkCount, checkSeed, nonEmptyDir, publishBuild, readMeta, tempBuildDir } from './synthetic.js';
import { decodeWav, encodeWav } from './wav.js';

const run = promisify(execFile);

export const SPEECH_DIGITS = 'speech-digits';
/** Bumped whenever the output changes for the same parameters and engines. */
const VERSION = 1;
export const DIGIT_WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];
/** Label order: the digit's value is its label, `unknown` is 10. */
export const SPEECH_CLASSES = [...DIGIT_WORDS, 'unknown'];
/**
 * Distractors for `unknown`: Speech Commands' auxiliary words and a few more, minus anything that sounds like a
 * digit (tree ~ three, for ~ four, won ~ one, ate ~ eight, fine/nein ~ nine, sex/sticks ~ six, heaven ~ seven).
 */
export const UNKNOWN_WORDS = [
  'yes', 'no', 'up', 'down', 'left', 'right', 'on', 'off', 'stop', 'go', 'house', 'bird', 'bed', 'cat', 'dog', 'happy',
  'wow', 'marvin', 'sheila', 'follow', 'learn', 'visual', 'backward', 'apple', 'window', 'music', 'orange', 'table',
  'yellow', 'purple', 'water', 'garden',
];
/** espeak-ng's English accents (its `en*` languages without the mbrola voices). */
export const ENGLISH_ACCENTS = ['en-us', 'en-gb', 'en-gb-scotland', 'en-gb-x-rp', 'en-gb-x-gbclan', 'en-gb-x-gbcwmd', 'en-029', 'en-us-nyc'];
const ESPEAK_PITCHES = [25, 40, 55, 70, 85];
const ESPEAK_RATES = [130, 155, 180, 205];
/** flite and festival: duration stretch (their pitch controls differ per voice type; speed also moves pitch). */
const STRETCHES = [0.8, 0.9, 1, 1.12, 1.25];
/**
 * Pool languages: espeak-ng languages written in Latin, Cyrillic or Greek letters, which read our pseudo-words
 * with their own rules (a Latin word given to, say, the Hindi voice is read by its English fallback instead).
 */
export const POOL_LANGUAGES = [
  'af', 'an', 'bs', 'ca', 'cs', 'cy', 'da', 'de', 'eo', 'es', 'et', 'eu', 'fi', 'fr-fr', 'ga', 'gd', 'hr', 'ht', 'hu', 'ia',
  'id', 'io', 'is', 'it', 'la', 'lb', 'lt', 'lv', 'mt', 'nb', 'nl', 'pl', 'pt', 'pt-br', 'ro', 'sk', 'sl', 'sq', 'sv', 'sw',
  'tn', 'tr', 'uz', 'vi', 'ru', 'uk', 'bg', 'mk', 'el',
];
const CYRILLIC = new Set(['ru', 'uk', 'bg', 'mk']);
/** Engine shares of labeled clips (of the speakers a split has). */
const ENGINE_SHARE = { espeak: 0.6, flite: 0.2, festival: 0.2 } as const;
/** Share of espeak variants held out for test. */
const TEST_VARIANT_SHARE = 0.2;
const SPEECH_NOTE =
  'The speech is synthetic: every clip was generated by a text-to-speech engine (espeak-ng, flite or festival), not recorded from a person; results on it say how a method does on synthetic voices.';
const APT_LINE = 'apt-get install espeak-ng flite festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts (bash scripts/setup.sh installs them)';

export type Engine = 'espeak' | 'flite' | 'festival';

export interface Speaker {
  /** e.g. 'espeak:Alicia', 'flite:slt', 'festival:kal_diphone'. */
  id: string;
  engine: Engine;
  /** The engine's name for the voice (espeak variant file, flite voice, festival voice). */
  voice: string;
  /** The person (or espeak variant) behind it: the unit of the train/test split. */
  group: string;
}

export interface SpeechDigitsOptions {
  /** Training clips per class (default 300). */
  perClass?: number;
  /** Test clips per class, held-out speakers (default 100). */
  testPerClass?: number;
  /** Unlabeled multilingual pool clips (default 10000). */
  poolSize?: number;
  /** Seed for the split and every drawn parameter (default 0). */
  seed?: number;
  /** Cache root (default `$ULEARN_CACHE` or `~/.cache/ulearn`). */
  cacheDir?: string;
  /** Build into (or read from) exactly this folder instead of the cache. */
  dir?: string;
  /** Synthesis processes at once (default 2). */
  jobs?: number;
  /** Told about the build (default: nothing is printed). */
  log?: (line: string) => void;
}

export const SPEECH_DIGITS_DEFAULTS = { perClass: 300, testPerClass: 100, poolSize: 10_000 } as const;

/** One clip's provenance, as meta.json records it. */
export interface ClipInfo {
  file: string;
  /** The word said (train/test) or the text read (pool). */
  text: string;
  speaker: string;
  /** espeak: the accent or pool language; flite/festival: the engine. */
  lang: string;
  /** espeak pitch (0–99) and rate (words/min); flite/festival: duration stretch as rate, pitch 0. */
  pitch: number;
  rate: number;
  speed: number;
  snrDb: number;
  noise: 'white' | 'pink';
  gainDb: number;
  reverb: boolean;
}

export interface SpeechDigitsMeta {
  name: typeof SPEECH_DIGITS;
  version: number;
  key: string;
  synthetic: true;
  note: string;
  seed: number;
  perClass: number;
  testPerClass: number;
  poolSize: number;
  classes: string[];
  words: { digits: string[]; unknown: string[] };
  sampleRate: number;
  clipSamples: number;
  counts: { train: number; test: number; pool: number };
  /** Speaker ids per split; train and test share none (nor a speaker group). */
  speakers: { train: string[]; test: string[]; pool: string[] };
  /** Speaker groups held out for test. */
  testGroups: string[];
  accents: string[];
  poolLanguages: string[];
  engines: Record<string, string>;
  buildSeconds: number;
  clips: { train: ClipInfo[]; test: ClipInfo[]; pool: ClipInfo[] };
}

// ---------------------------------------------------------------------------------------------------------
// Engines

interface Engines {
  versions: Record<Engine, string>;
  speakers: Speaker[];
}

/** Runs an engine; `anyExit`: its output is wanted whatever its status (flite --version and -lv exit 1). */
async function tool(cmd: string, args: string[], anyExit = false): Promise<string> {
  try {
    const { stdout, stderr } = await run(cmd, args, { maxBuffer: 16 << 20 });
    return `${stdout}${stderr}`;
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stdout?: string; stderr?: string };
    if (anyExit && typeof err.code === 'number') return `${err.stdout ?? ''}${err.stderr ?? ''}`;
    if (err.code === 'ENOENT') {
      throw new UlearnError(`speech-digits: ${cmd} is not installed (the corpus is synthesized with espeak-ng, flite and festival)`, { code: 'E_DATA_MISSING', hint: APT_LINE });
    }
    throw new UlearnError(`speech-digits: ${cmd} ${args.join(' ')} failed: ${err.message.split('\n')[0]}`, { code: 'E_DATA', hint: APT_LINE, cause: e });
  }
}

const FESTIVAL_VOICE_DIR = '/usr/share/festival/voices';
/** The person behind a voice, where two engines ship the same recordings. */
const PERSON: Record<string, string> = { kal: 'kal', kal16: 'kal', kal_diphone: 'kal', slt: 'slt', cmu_us_slt_arctic_hts: 'slt' };

/** The installed engines' versions and voices, sorted so the list (and the split drawn from it) is stable. */
export async function listSpeakers(): Promise<Engines> {
  const espeakVersion = (await tool('espeak-ng', ['--version'])).match(/text-to-speech:\s*(\S+)/)?.[1] ?? '?';
  const variants = (await tool('espeak-ng', ['--voices=variant']))
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[4])
    .filter((f): f is string => f !== undefined && f.startsWith('!v/'))
    .map((f) => f.slice(3))
    .sort();
  const fliteVersion = (await tool('flite', ['--version'], true)).match(/version:\s*(\S+)/)?.[1] ?? '?';
  // `awb_time` only says times of day.
  const fliteVoices = ((await tool('flite', ['-lv'], true)).split(':')[1] ?? '')
    .trim()
    .split(/\s+/)
    .filter((v) => v && !v.endsWith('_time'))
    .sort();
  const festivalVersion = (await tool('festival', ['--version'])).match(/System:\s*(\S+)/)?.[1] ?? '?';
  const festivalVoices: string[] = [];
  for (const lang of (await readdir(FESTIVAL_VOICE_DIR).catch(() => [] as string[])).sort()) {
    for (const v of (await readdir(join(FESTIVAL_VOICE_DIR, lang)).catch(() => [] as string[])).sort()) festivalVoices.push(v);
  }
  const missing = [variants.length < 5 && 'espeak-ng voice variants', fliteVoices.length < 2 && 'two flite voices', festivalVoices.length < 2 && 'two festival voices'].filter(Boolean);
  if (missing.length > 0) {
    throw new UlearnError(`speech-digits: need ${missing.join(', ')} to hold voices out of training; found ${variants.length} variants, flite ${fliteVoices.join(' ') || 'none'}, festival ${festivalVoices.join(' ') || 'none'}`, {
      code: 'E_DATA_MISSING',
      hint: APT_LINE,
    });
  }
  const speakers: Speaker[] = [
    ...variants.map((v) => ({ id: `espeak:${v}`, engine: 'espeak' as const, voice: v, group: `espeak:${v}` })),
    ...fliteVoices.map((v) => ({ id: `flite:${v}`, engine: 'flite' as const, voice: v, group: PERSON[v] ?? `flite:${v}` })),
    ...festivalVoices.sort().map((v) => ({ id: `festival:${v}`, engine: 'festival' as const, voice: v, group: PERSON[v] ?? `festival:${v}` })),
  ];
  return { versions: { espeak: espeakVersion, flite: fliteVersion, festival: festivalVersion }, speakers };
}

/**
 * Held-out speaker groups, by seed: a fifth of the espeak variants (at least one), and flite/festival groups
 * until test has a voice of each engine, never taking an engine's last training voice.
 */
export function splitSpeakers(speakers: readonly Speaker[], seed: number): { train: Speaker[]; test: Speaker[]; testGroups: string[] } {
  const rng = new Rng(seed).fork('speech-split');
  const espeakGroups = [...new Set(speakers.filter((s) => s.engine === 'espeak').map((s) => s.group))].sort();
  const test = new Set(rng.shuffle(espeakGroups.slice()).slice(0, Math.max(1, Math.round(TEST_VARIANT_SHARE * espeakGroups.length))));
  const others = rng.shuffle([...new Set(speakers.filter((s) => s.engine !== 'espeak').map((s) => s.group))].sort());
  const count = (engine: Engine, inTest: boolean) => speakers.filter((s) => s.engine === engine && test.has(s.group) === inTest).length;
  for (const g of others) {
    const engines = new Set(speakers.filter((s) => s.group === g).map((s) => s.engine));
    const adds = [...engines].some((e) => count(e, true) === 0);
    test.add(g);
    const keepsTrain = (['flite', 'festival'] as const).every((e) => count(e, false) > 0);
    if (!adds || !keepsTrain) test.delete(g);
    if (count('flite', true) > 0 && count('festival', true) > 0) break;
  }
  return {
    train: speakers.filter((s) => !test.has(s.group)),
    test: speakers.filter((s) => test.has(s.group)),
    testGroups: [...test].sort(),
  };
}

// ---------------------------------------------------------------------------------------------------------
// The plan: every clip's text, voice and augmentation, drawn before anything runs

interface Synth {
  speaker: Speaker;
  text: string;
  lang: string;
  pitch: number;
  rate: number;
}

/** One clip's drawn augmentation (see the header); `seed` drives its noise, impulse response and placement. */
export interface ClipAugmentation {
  seed: number;
  speed: number;
  snrDb: number;
  noise: 'white' | 'pink';
  gainDb: number;
  reverb: { rt60: number; drrDb: number } | undefined;
}

interface PlannedClip {
  split: 'train' | 'test' | 'pool';
  file: string;
  synth: Synth;
  aug: ClipAugmentation;
}

function drawAug(r: Rng): ClipAugmentation {
  const u = (lo: number, hi: number) => lo + (hi - lo) * r.random();
  return {
    seed: Math.floor(r.random() * 2 ** 32),
    speed: u(0.9, 1.1),
    snrDb: u(5, 30),
    noise: r.random() < 0.5 ? 'white' : 'pink',
    gainDb: u(-6, 6),
    reverb: r.random() < 1 / 3 ? { rt60: u(0.15, 0.6), drrDb: u(0, 10) } : undefined,
  };
}

function drawVoice(r: Rng, speakers: readonly Speaker[]): Omit<Synth, 'text'> {
  const by = (e: Engine) => speakers.filter((s) => s.engine === e);
  const present = (['espeak', 'flite', 'festival'] as const).filter((e) => by(e).length > 0);
  const total = present.reduce((a, e) => a + ENGINE_SHARE[e], 0);
  let x = r.random() * total;
  let engine = present[present.length - 1];
  for (const e of present) {
    if ((x -= ENGINE_SHARE[e]) < 0) {
      engine = e;
      break;
    }
  }
  const pool = by(engine);
  const speaker = pool[r.int(pool.length)];
  if (engine === 'espeak') {
    return { speaker, lang: ENGLISH_ACCENTS[r.int(ENGLISH_ACCENTS.length)], pitch: ESPEAK_PITCHES[r.int(ESPEAK_PITCHES.length)], rate: ESPEAK_RATES[r.int(ESPEAK_RATES.length)] };
  }
  return { speaker, lang: 'en', pitch: 0, rate: STRETCHES[r.int(STRETCHES.length)] };
}

const ONSETS = ['', 'b', 'd', 'f', 'g', 'k', 'l', 'm', 'n', 'p', 'r', 's', 't', 'v', 'z'];
const VOWELS = ['a', 'e', 'i', 'o', 'u'];
const CODAS = ['', '', '', 'n', 'l', 'r', 's'];
const TO_CYRILLIC: Record<string, string> = { b: 'б', d: 'д', f: 'ф', g: 'г', k: 'к', l: 'л', m: 'м', n: 'н', p: 'п', r: 'р', s: 'с', t: 'т', v: 'в', z: 'з', a: 'а', e: 'е', i: 'и', o: 'о', u: 'у' };
const TO_GREEK: Record<string, string> = { b: 'μπ', d: 'ντ', f: 'φ', g: 'γκ', k: 'κ', l: 'λ', m: 'μ', n: 'ν', p: 'π', r: 'ρ', s: 'σ', t: 'τ', v: 'β', z: 'ζ', a: 'α', e: 'ε', i: 'ι', o: 'ο', u: 'ου' };

/**
 * A string of 4–7 pseudo-words (1–3 random syllables each) in the language's script. Words that spell an
 * English target word ('go', 'no', 'one' …) are drawn again, so the pool never says a labeled word as text.
 */
export function pseudoSentence(r: Rng, lang: string): string {
  const banned = new Set([...DIGIT_WORDS, ...UNKNOWN_WORDS]);
  const words: string[] = [];
  const n = 4 + r.int(4);
  while (words.length < n) {
    let w = '';
    const syllables = 1 + r.int(3);
    for (let i = 0; i < syllables; i++) w += ONSETS[r.int(ONSETS.length)] + VOWELS[r.int(VOWELS.length)] + CODAS[r.int(CODAS.length)];
    if (banned.has(w)) continue;
    words.push(w);
  }
  const map = CYRILLIC.has(lang) ? TO_CYRILLIC : lang === 'el' ? TO_GREEK : undefined;
  const text = words.join(' ');
  return map ? [...text].map((c) => map[c] ?? c).join('') : text;
}

function plan(params: { perClass: number; testPerClass: number; poolSize: number; seed: number }, split: ReturnType<typeof splitSpeakers>): PlannedClip[] {
  const rng = new Rng(params.seed);
  const clips: PlannedClip[] = [];
  for (const [which, perClass, speakers] of [['train', params.perClass, split.train], ['test', params.testPerClass, split.test]] as const) {
    const r = rng.fork(`speech-${which}`);
    const labels = r.shuffle(SPEECH_CLASSES.flatMap((_, c) => Array.from({ length: perClass }, () => c)));
    labels.forEach((c, i) => {
      const text = c < DIGIT_WORDS.length ? DIGIT_WORDS[c] : UNKNOWN_WORDS[r.int(UNKNOWN_WORDS.length)];
      const voice = drawVoice(r, speakers);
      clips.push({ split: which, file: `${which}/${SPEECH_CLASSES[c]}/${String(i).padStart(6, '0')}.wav`, synth: { ...voice, text }, aug: drawAug(r) });
    });
  }
  const r = rng.fork('speech-pool');
  const variants = split.train.filter((s) => s.engine === 'espeak');
  for (let i = 0; i < params.poolSize; i++) {
    const lang = POOL_LANGUAGES[r.int(POOL_LANGUAGES.length)];
    const speaker = variants[r.int(variants.length)];
    const synth: Synth = { speaker, lang, pitch: ESPEAK_PITCHES[r.int(ESPEAK_PITCHES.length)], rate: ESPEAK_RATES[r.int(ESPEAK_RATES.length)], text: pseudoSentence(r, lang) };
    clips.push({ split: 'pool', file: `pool/${String(i).padStart(6, '0')}.wav`, synth, aug: drawAug(r) });
  }
  return clips;
}

// ---------------------------------------------------------------------------------------------------------
// Synthesis (child processes) and augmentation (here)

/**
 * Clips per child process. Festival starts slowly (about 0.2 s): one scheme script per batch. espeak-ng and flite
 * take 10–20 ms a word, about what spawning a process from Node costs (Node forks its whole, large process), so
 * they too run as one `sh` script of many commands: a small shell forks cheaply.
 */
const FESTIVAL_BATCH = 200;
const SHELL_BATCH = 64;

/** Runs the engines for `clips` (a festival batch, or an espeak-ng/flite one), writing raw WAVs `<scratch>/<index>.wav`. */
async function synthesize(clips: readonly { index: number; synth: Synth }[], scratch: string): Promise<void> {
  const out = (i: number) => join(scratch, `${i}.wav`);
  const { engine } = clips[0].synth.speaker;
  if (engine === 'festival') {
    const quote = (s: string) => `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
    const lines = clips.flatMap(({ index, synth }) => [
      `(voice_${synth.speaker.voice})`,
      `(Parameter.set 'Duration_Stretch ${synth.rate})`,
      `(utt.save.wave (utt.synth (Utterance Text ${quote(synth.text)})) ${quote(out(index))} 'riff)`,
    ]);
    const script = join(scratch, `batch-${clips[0].index}.scm`);
    await writeFile(script, `${lines.join('\n')}\n`);
    await tool('festival', ['-b', script]);
    return;
  }
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const lines = clips.map(({ index, synth }) =>
    synth.speaker.engine === 'espeak'
      ? `espeak-ng -v ${q(`${synth.lang}+${synth.speaker.voice}`)} -p ${synth.pitch} -s ${synth.rate} -w ${q(out(index))} -- ${q(synth.text)}`
      : `flite -voice ${q(synth.speaker.voice)} --setf duration_stretch=${synth.rate} -t ${q(synth.text)} -o ${q(out(index))}`,
  );
  const script = join(scratch, `batch-${clips[0].index}.sh`);
  // `set -e`: the first failing command stops the batch, and its message is the error.
  await writeFile(script, `set -e\n${lines.join('\n')}\n`);
  await tool('sh', [script]);
}

/** The speech part of a TTS clip: from the first to the last sample above -40 dB of its peak, plus 10 ms. */
export function trimSilence(x: Float32Array, rate: number): Float32Array {
  let peak = 0;
  for (let i = 0; i < x.length; i++) peak = Math.max(peak, Math.abs(x[i]));
  if (peak === 0) return x.subarray(0, 0);
  const t = 0.01 * peak;
  let a = 0;
  while (a < x.length && Math.abs(x[a]) < t) a++;
  let b = x.length - 1;
  while (b > a && Math.abs(x[b]) < t) b--;
  const pad = Math.round(0.01 * rate);
  return x.subarray(Math.max(0, a - pad), Math.min(x.length, b + 1 + pad));
}

/**
 * Speed change by resampling: the clip read as if recorded at `rate × speed` and resampled to 16 kHz plays
 * `speed` times as fast (pitch moves with it, as in Ko et al. 2015's speed perturbation). That rate is rounded
 * to a multiple of 200 Hz, so 16 kHz / gcd stays small (≤ 80 kernel phases); the speed actually applied is
 * returned.
 */
export function speedResample(x: Float32Array, rate: number, speed: number): { samples: Float32Array; speed: number } {
  const from = speedRate(rate, speed);
  return { samples: resample(x, from, SAMPLE_RATE), speed: from / rate };
}

function speedRate(rate: number, speed: number): number {
  return Math.max(200, Math.round((rate * speed) / 200) * 200);
}

const ffts = new Map<number, ComplexFft>();

/** Linear convolution x * h (length |x| + |h| − 1), through one FFT size ≥ that length. */
export function convolve(x: Float32Array, h: Float32Array): Float32Array {
  const len = x.length + h.length - 1;
  let n = 1;
  while (n < len) n *= 2;
  let fft = ffts.get(n);
  if (!fft) ffts.set(n, (fft = new ComplexFft(n)));
  // Both real signals in one complex transform: z = x + i·h, then X and H from z's conjugate symmetry.
  const re = new Float64Array(n);
  const im = new Float64Array(n);
  re.set(x);
  im.set(h);
  fft.transform(re, im);
  const pr = new Float64Array(n);
  const pi = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const j = (n - k) % n;
    const xr = (re[k] + re[j]) / 2;
    const xi = (im[k] - im[j]) / 2;
    const hr = (im[k] + im[j]) / 2;
    const hi = -(re[k] - re[j]) / 2;
    // Conjugated product, so the forward transform below is an inverse one (conj(FFT(conj(Y))) / n).
    pr[k] = xr * hr - xi * hi;
    pi[k] = -(xr * hi + xi * hr);
  }
  fft.transform(pr, pi);
  const out = new Float32Array(len);
  for (let t = 0; t < len; t++) out[t] = pr[t] / n;
  return out;
}

/** An exponentially decaying noise impulse response: 1 at t = 0 (the direct sound), then a tail `drrDb` below it. */
function impulseResponse(r: Rng, rt60: number, drrDb: number): Float32Array {
  const len = Math.round(Math.min(rt60, 0.4) * SAMPLE_RATE);
  const h = new Float32Array(len);
  let energy = 0;
  for (let t = 1; t < len; t++) {
    h[t] = r.normal() * Math.exp((-6.908 * t) / (rt60 * SAMPLE_RATE)); // -60 dB (ln 1000) at rt60
    energy += h[t] * h[t];
  }
  const k = Math.sqrt(10 ** (-drrDb / 10) / energy);
  for (let t = 1; t < len; t++) h[t] *= k;
  h[0] = 1;
  return h;
}

function rms(x: Float32Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return Math.sqrt(s / Math.max(1, x.length));
}

/** sqrt(Σ h[n]²) of Kellet's pink filter below (h: its impulse response, summed to n = 200,000). */
const PINK_GAIN = 3.0525;

/** Peak level of speech before the gain: ±6 dB around it stays below full scale (0.4 × 2 = 0.8). */
const BASE_PEAK = 0.4;

/**
 * One clip: the engine's samples (at `rate`) in, one second at 16 kHz out. Pool clips take a random second of
 * a longer sentence; a word longer than a second (rare: slow rates) keeps its centre.
 */
export function augment(raw: Float32Array, rate: number, aug: ClipAugmentation, isPool: boolean): { clip: Float32Array; speed: number } {
  const r = new Rng(aug.seed);
  let words = trimSilence(raw, rate);
  if (isPool) {
    // A random second of the sentence, cut before resampling (which then handles a second, not the sentence):
    // `from` input samples give 16000 output samples; a few more keep the resampler's edge taper outside it.
    const need = speedRate(rate, aug.speed) + 32;
    if (words.length > need) {
      const start = r.int(words.length - need + 1);
      words = words.subarray(start, start + need);
    }
  }
  const { samples, speed } = speedResample(words, rate, aug.speed);
  let speech = samples;
  if (speech.length === 0) throw new Error('the engine produced silence');
  if (speech.length > SAMPLE_RATE) {
    // Pool: the window above, cut to the second. A word longer than a second (rare: slow rates) keeps its centre.
    const start = isPool ? 0 : Math.floor((speech.length - SAMPLE_RATE) / 2);
    speech = speech.slice(start, start + SAMPLE_RATE);
  }
  if (aug.reverb) speech = convolve(speech, impulseResponse(r, aug.reverb.rt60, aug.reverb.drrDb)).subarray(0, Math.min(SAMPLE_RATE, speech.length + Math.round(0.3 * SAMPLE_RATE)));
  let peak = 0;
  for (let i = 0; i < speech.length; i++) peak = Math.max(peak, Math.abs(speech[i]));
  const g = (BASE_PEAK / peak) * 10 ** (aug.gainDb / 20);
  const clip = new Float32Array(SAMPLE_RATE);
  const offset = r.int(SAMPLE_RATE - speech.length + 1);
  for (let i = 0; i < speech.length; i++) clip[offset + i] = speech[i] * g;
  // Noise relative to the speech's level (over its own samples, not the padded second).
  const sigma = (rms(speech) * g) / 10 ** (aug.snrDb / 20);
  let b0 = 0, b1 = 0, b2 = 0, b3 = 0, b4 = 0, b5 = 0, b6 = 0;
  for (let i = 0; i < SAMPLE_RATE; i++) {
    const w = r.normal();
    let v = w;
    if (aug.noise === 'pink') {
      // Paul Kellet's pink filter (−3 dB/octave within 0.05 dB above 9 Hz at 44.1 kHz; close enough at 16 kHz),
      // divided by its gain on white noise (the root sum of squares of its impulse response) for unit variance.
      b0 = 0.99886 * b0 + w * 0.0555179;
      b1 = 0.99332 * b1 + w * 0.0750759;
      b2 = 0.969 * b2 + w * 0.153852;
      b3 = 0.8665 * b3 + w * 0.3104856;
      b4 = 0.55 * b4 + w * 0.5329522;
      b5 = -0.7616 * b5 - w * 0.016898;
      v = (b0 + b1 + b2 + b3 + b4 + b5 + b6 + w * 0.5362) / PINK_GAIN;
      b6 = w * 0.115926;
    }
    clip[i] += sigma * v;
  }
  return { clip, speed };
}

// ---------------------------------------------------------------------------------------------------------
// Build, cache, load

/** Builds the corpus unless an identical build is on disk; returns its folder and meta. */
export async function ensureSpeechDigits(opts: SpeechDigitsOptions = {}): Promise<{ dir: string; meta: SpeechDigitsMeta; built: boolean }> {
  const params = {
    perClass: checkCount(opts.perClass ?? SPEECH_DIGITS_DEFAULTS.perClass, 'perClass'),
    testPerClass: checkCount(opts.testPerClass ?? SPEECH_DIGITS_DEFAULTS.testPerClass, 'testPerClass'),
    poolSize: checkCount(opts.poolSize ?? SPEECH_DIGITS_DEFAULTS.poolSize, 'poolSize'),
    seed: checkSeed(opts.seed ?? 0),
  };
  const jobs = opts.jobs ?? 2;
  if (!Number.isInteger(jobs) || jobs < 1) throw new UlearnError(`jobs must be a positive integer, got ${String(opts.jobs)}`, { code: 'E_CONFIG' });
  const engines = await listSpeakers();
  const key = createHash('sha256')
    .update(JSON.stringify({ name: SPEECH_DIGITS, version: VERSION, ...params, engines }))
    .digest('hex')
    .slice(0, 16);
  const dir = opts.dir ?? join(opts.cacheDir ?? defaultCacheDir(), SPEECH_DIGITS, key);
  const existing = await readMeta<SpeechDigitsMeta>(dir);
  if (existing) {
    if (existing.key === key) return { dir, meta: existing, built: false };
    throw new UlearnError(`${dir}: already holds a different ${String(existing.name)} build (seed ${existing.seed}, ${existing.perClass}/${existing.testPerClass} per class, pool ${existing.poolSize})`, {
      code: 'E_EXISTS',
      hint: opts.dir === undefined ? 'delete this folder to rebuild' : 'choose another folder, or delete this one to rebuild',
    });
  }
  if (opts.dir !== undefined && (await nonEmptyDir(dir))) {
    throw new UlearnError(`${dir}: exists and is not a ${SPEECH_DIGITS} build; not writing into it`, { code: 'E_EXISTS', hint: 'give an empty or new folder' });
  }
  const log = opts.log ?? (() => undefined);
  const t0 = Date.now();
  const split = splitSpeakers(engines.speakers, params.seed);
  const clips = plan(params, split);
  const tmp = await tempBuildDir(dir, key);
  try {
    const scratch = join(tmp, '.raw');
    await mkdir(scratch);
    for (const d of [...SPEECH_CLASSES.flatMap((c) => [`train/${c}`, `test/${c}`]), 'pool']) await mkdir(join(tmp, d), { recursive: true });
    // Tasks: batches of clips, each one child process (festival first: its batches are the longest).
    const indexed = clips.map((c, index) => ({ index, synth: c.synth }));
    const festival = indexed.filter((c) => c.synth.speaker.engine === 'festival');
    const shell = indexed.filter((c) => c.synth.speaker.engine !== 'festival');
    const tasks: (typeof indexed)[] = [];
    for (let i = 0; i < festival.length; i += FESTIVAL_BATCH) tasks.push(festival.slice(i, i + FESTIVAL_BATCH));
    for (let i = 0; i < shell.length; i += SHELL_BATCH) tasks.push(shell.slice(i, i + SHELL_BATCH));
    const info: ClipInfo[] = new Array(clips.length);
    let done = 0;
    let told = 0;
    await mapLimit(tasks, jobs, async (task) => {
      await synthesize(task, scratch);
      for (const { index } of task) {
        const c = clips[index];
        const rawPath = join(scratch, `${index}.wav`);
        let result: ReturnType<typeof augment>;
        try {
          const wav = decodeWav(await readFile(rawPath));
          result = augment(wav.samples, wav.sampleRate, c.aug, c.split === 'pool');
        } catch (e) {
          throw new UlearnError(`speech-digits: ${c.synth.speaker.id} (${c.synth.lang}) saying ${JSON.stringify(c.synth.text)}: ${(e as Error).message}`, { code: 'E_DATA', cause: e });
        }
        await writeFile(join(tmp, c.file), encodeWav(result.clip, SAMPLE_RATE, 'pcm16'));
        await rm(rawPath);
        const s = c.synth;
        info[index] = {
          file: c.file,
          text: s.text,
          speaker: s.speaker.id,
          lang: s.lang,
          pitch: s.pitch,
          rate: s.rate,
          speed: Number(result.speed.toFixed(4)),
          snrDb: Number(c.aug.snrDb.toFixed(2)),
          noise: c.aug.noise,
          gainDb: Number(c.aug.gainDb.toFixed(2)),
          reverb: c.aug.reverb !== undefined,
        };
        done++;
      }
      if (done - told >= clips.length / 10) {
        told = done;
        log(`speech-digits: ${done}/${clips.length} clips (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
      }
    });
    await rm(scratch, { recursive: true });
    const ids = (xs: readonly Speaker[]) => xs.map((s) => s.id);
    const poolSpeakers = [...new Set(clips.filter((c) => c.split === 'pool').map((c) => c.synth.speaker.id))].sort();
    const meta: SpeechDigitsMeta = {
      name: SPEECH_DIGITS,
      version: VERSION,
      key,
      synthetic: true,
      note: SPEECH_NOTE,
      ...params,
      classes: SPEECH_CLASSES,
      words: { digits: DIGIT_WORDS, unknown: UNKNOWN_WORDS },
      sampleRate: SAMPLE_RATE,
      clipSamples: SAMPLE_RATE,
      counts: { train: SPEECH_CLASSES.length * params.perClass, test: SPEECH_CLASSES.length * params.testPerClass, pool: params.poolSize },
      speakers: { train: ids(split.train), test: ids(split.test), pool: poolSpeakers },
      testGroups: split.testGroups,
      accents: ENGLISH_ACCENTS,
      poolLanguages: POOL_LANGUAGES,
      engines: { 'espeak-ng': engines.versions.espeak, flite: engines.versions.flite, festival: engines.versions.festival },
      buildSeconds: (Date.now() - t0) / 1000,
      clips: {
        train: info.filter((_, i) => clips[i].split === 'train'),
        test: info.filter((_, i) => clips[i].split === 'test'),
        pool: info.filter((_, i) => clips[i].split === 'pool'),
      },
    };
    // meta.json last: its presence marks a finished build.
    await writeJsonAtomic(join(tmp, 'meta.json'), meta);
    await publishBuild(tmp, dir);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  const meta = (await readMeta<SpeechDigitsMeta>(dir))!;
  return { dir, meta, built: true };
}

/** Labeled train and test (held-out speakers) as audio datasets, [16000] per clip; labels index SPEECH_CLASSES. */
export async function loadSpeechDigits(opts: SpeechDigitsOptions = {}): Promise<DatasetSplits> {
  const { dir } = await ensureSpeechDigits(opts);
  const [train, test] = await Promise.all((['train', 'test'] as const).map(async (split) => {
    const { dataset } = await loadAudioFolder(join(dir, split), { split, name: `${SPEECH_DIGITS}/${split}` });
    return inClassOrder(dataset);
  }));
  return { train, test };
}

/** The unlabeled multilingual pool as one dataset (y = -1 everywhere, split 'train'), [16000] per clip. */
export async function loadSpeechPool(opts: SpeechDigitsOptions = {}): Promise<Dataset> {
  const { dir } = await ensureSpeechDigits(opts);
  const { dataset } = await loadAudioFolder(join(dir, 'pool'), { labels: 'none', split: 'train', name: `${SPEECH_DIGITS}/pool` });
  return { ...dataset, classes: SPEECH_CLASSES };
}

/** Folder classes come in name order; relabel so label = digit value and `unknown` = 10. */
function inClassOrder(ds: Dataset): Dataset {
  const index = new Map(SPEECH_CLASSES.map((c, i) => [c, i]));
  const y = ds.y.map((c) => (c < 0 ? -1 : index.get(ds.classes[c])!));
  return { ...ds, classes: SPEECH_CLASSES, y };
}
