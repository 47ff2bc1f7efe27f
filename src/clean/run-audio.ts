/**
 * `ulearn clean <audio folder>`: the registered audio checks (clean/registry.ts; the built-ins in
 * checks/audio.ts, a user's own next to them) over one loading pass, then issues.json, manifest.json/.csv and
 * report.html, as for images (run-clean.ts): the checks run through `runChecks`, nothing is written until they
 * finished, every file is written atomically, and the data's folders are only read.
 *
 * Loading is the audio loader's own (data/audio-folder.ts, with `skipBad`): the manifest's data spec then
 * reproduces exactly these samples, and what the checks see is what training will see. Unreadable files
 * become samples with `readable = 0` and the reason (the `corrupt` check); level, clipping and the content
 * hash come from each file's decoded samples (`onDecoded`), before resampling and fitting to the clip length.
 */
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Rng } from '../engine/seed.js';
import { currentBackend, initBackend } from '../engine/backend.js';
import { DEFAULT_EXACT_LIMIT } from '../neighbors/knn.js';
import { UlearnError } from '../errors.js';
import { loadAudioFolder } from '../data/audio-folder.js';
import type { WavAudio } from '../data/wav.js';
import { writeManifest, type Manifest } from '../data/manifest.js';
import { audioFeatureConfig, audioFeatureShape, audioFeatures } from '../data/preprocess/audio-features.js';
import { pooledLogMel, standardizeEmbedding, AUDIO_EMBEDDING_DIM } from '../data/preprocess/audio-embedding.js';
import { spectrogramPng } from '../eval/spectrogram.js';
import { count, esc } from '../eval/format.js';
import { writeFileAtomic } from '../util/atomic.js';
import { Budget } from '../util/budget.js';
import { audioUsable, CLIP_LEVEL } from './checks/audio.js';
import { buildManifest, imageIndex, writeIssues } from './issues.js';
import { graphOverEmbedding, type NeighbourGraph } from './neighbours.js';
import { checkNames, createChecks } from './registry.js';
import { checkSection, cleanPage, type ExampleView } from './report.js';
import { runChecks } from './run-checks.js';
import { SPLIT_NAMES, type AudioCheckContext, type AudioSamples, type CheckResult } from './types.js';

export interface AudioCleanOptions {
  /** The folder of clips (labels from subfolders or a labels.csv, as the audio loader reads them). */
  data: string;
  /** A test folder, checked for leakage against the training folder. */
  testData?: string;
  outDir: string;
  /** Audio check names to run (default: every registered one). */
  checks?: string[];
  /** Near duplicates: embedding cosine similarity threshold (default AUDIO_NEAR_THRESHOLD). */
  nearThreshold?: number;
  /** Neighbours per clip in the shared kNN graph (default 10). */
  k?: number;
  /** Clip length in seconds, as the loader fits clips (default 1). */
  seconds?: number;
  /** A `file,label` CSV (default: labels.csv in the folder, else class subfolders). */
  csv?: string;
  seed?: number;
  /** tfjs backend for the exact kNN search of a small set, if none is running yet (default 'auto'). */
  backend?: string;
  budget?: Budget;
  log?: (line: string) => void;
  /** Write report.html (default true). */
  html?: boolean;
}

export interface AudioCleanOutcome {
  samples: AudioSamples;
  results: CheckResult[];
  manifest: Manifest;
  /** Checks that ran (or were skipped by the budget), and the registered ones not asked for. */
  checksRun: string[];
  checksNotRun: string[];
  timings: Record<string, number>;
  seconds: number;
  paths: { issues: string; manifest: string; manifestCsv: string; report?: string };
}

export async function runAudioClean(o: AudioCleanOptions): Promise<AudioCleanOutcome> {
  const t0 = performance.now();
  const log = o.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const known = checkNames('audio');
  const unknown = (o.checks ?? []).filter((c) => !known.includes(c));
  if (unknown.length > 0) throw new UlearnError(`unknown audio check(s) ${unknown.join(', ')}; known: ${known.join(', ')}`, { code: 'E_ARG' });
  const timings: Record<string, number> = {};
  const samples = await scanAudioFolders({ train: o.data, test: o.testData }, { seconds: o.seconds, csv: o.csv });
  timings.load = (performance.now() - t0) / 1000;
  log(`clean: ${samples.ids.length} audio files, ${samples.readError.size} unreadable, clips of ${samples.clipSamples} samples at 16 kHz, ${samples.classes.length} classes (${timings.load.toFixed(1)} s to read)`);

  let embedding: { vectors: Float32Array; dim: number } | undefined;
  let graph: NeighbourGraph | undefined;
  const usable = audioUsable(samples);
  const embed = async () => {
    if (!embedding) {
      const t = performance.now();
      const vectors = pooledLogMel(samples.waveforms, samples.clipSamples);
      standardizeEmbedding(vectors, AUDIO_EMBEDDING_DIM, usable);
      embedding = { vectors, dim: AUDIO_EMBEDDING_DIM };
      timings.embedding = (performance.now() - t) / 1000;
    }
    return embedding;
  };
  const ctx: AudioCheckContext = {
    samples,
    rng: new Rng(o.seed ?? 0),
    budget: o.budget ?? new Budget(undefined),
    log,
    results: new Map(),
    embedding: embed,
    neighbours: async () => {
      if (!graph) {
        // Exact search (small sets) runs on tfjs; HNSW over a large set needs no backend.
        if (!currentBackend() && samples.ids.length <= DEFAULT_EXACT_LIMIT) await initBackend(o.backend ?? 'auto');
        graph = graphOverEmbedding(usable, await embed(), { k: o.k });
        timings.knn_graph = graph.seconds;
        log(`clean: kNN graph (k=${graph.k}, ${graph.dim}-d pooled log-mel, ${graph.exact ? 'exact' : 'HNSW'}) in ${graph.seconds.toFixed(1)} s`);
      }
      return graph;
    },
  };
  const checks = createChecks({ audioNear: { threshold: o.nearThreshold } }, 'audio');
  const results = await runChecks(checks, ctx, {
    count: samples.ids.length,
    only: o.checks,
    timings,
    sharedSeconds: () => (timings.knn_graph ?? 0) + (timings.embedding ?? 0),
  });
  const checksRun = results.map((r) => r.name);
  const checksNotRun = known.filter((c) => !checksRun.includes(c));

  const t = performance.now();
  await mkdir(o.outDir, { recursive: true });
  const index = imageIndex(samples);
  const data: Record<string, unknown> = { audio: resolve(o.data), skipBad: true };
  if (o.testData) data.test = resolve(o.testData);
  if (o.seconds !== undefined) data.seconds = o.seconds;
  if (o.csv) data.csv = resolve(o.csv);
  const manifest = buildManifest(index, results, data);
  const paths = { issues: join(o.outDir, 'issues.json'), manifest: join(o.outDir, 'manifest.json'), manifestCsv: join(o.outDir, 'manifest.csv'), report: undefined as string | undefined };
  const seconds = (performance.now() - t0) / 1000;
  const run = {
    data,
    modality: 'audio',
    samples: samples.ids.length,
    clip_samples: samples.clipSamples,
    classes: samples.classes,
    checks_run: checksRun,
    checks_not_run: checksNotRun,
    manifest: manifest.counts,
    seconds_before_writing: seconds,
    timings,
  };
  await writeIssues(paths.issues, index, results, { created: manifest.created, run });
  await writeManifest(manifest, paths.manifest, paths.manifestCsv);
  if (o.html !== false) {
    paths.report = join(o.outDir, 'report.html');
    await writeFileAtomic(paths.report, await audioReport(samples, results, manifest, { seconds, checksRun, checksNotRun }));
  }
  timings.write = (performance.now() - t) / 1000;
  return { samples, results, manifest, checksRun, checksNotRun, timings, seconds: (performance.now() - t0) / 1000, paths };
}

interface FileStats {
  rms: number;
  clippedShare: number;
  seconds: number;
  sampleRate: number;
  hash: string;
}

function fileStats(wav: WavAudio): FileStats {
  const x = wav.samples;
  let sq = 0;
  let clipped = 0;
  for (let i = 0; i < x.length; i++) {
    sq += x[i] * x[i];
    if (Math.abs(x[i]) >= CLIP_LEVEL) clipped++;
  }
  const rate = new Uint8Array(new Uint32Array([wav.sampleRate]).buffer);
  const hash = createHash('sha256').update(rate).update(new Uint8Array(x.buffer, x.byteOffset, x.byteLength)).digest('hex');
  return { rms: Math.sqrt(sq / x.length), clippedShare: clipped / x.length, seconds: x.length / wav.sampleRate, sampleRate: wav.sampleRate, hash };
}

/**
 * The train folder (and a test folder) as AudioSamples: the loader's clips, then the files it could not read.
 * Test classes are matched to the train classes by name; a class only the test folder has is added at the end.
 */
export async function scanAudioFolders(folders: { train: string; test?: string }, o: { seconds?: number; csv?: string } = {}): Promise<AudioSamples> {
  const parts: { split: number; ids: string[]; y: number[]; x: Float32Array; clipSamples: number; errors: Map<number, string>; stats: (FileStats | undefined)[] }[] = [];
  const classes: string[] = [];
  const roots: AudioSamples['roots'] = {};
  for (const [split, root] of [[0, folders.train], [1, folders.test]] as const) {
    if (root === undefined) continue;
    roots[SPLIT_NAMES[split]] = resolve(root);
    const stats = new Map<string, FileStats>();
    const { dataset, skipped } = await loadAudioFolder(root, { skipBad: true, seconds: o.seconds, csv: split === 0 ? o.csv : undefined, split: split === 0 ? 'train' : 'test', onDecoded: (file, wav) => stats.set(file, fileStats(wav)) });
    const classIndex = dataset.classes.map((c) => {
      if (!classes.includes(c)) classes.push(c);
      return classes.indexOf(c);
    });
    const ids = [...dataset.ids, ...skipped.map((s) => s.file)];
    const errors = new Map(skipped.map((s, k) => [dataset.size + k, s.reason]));
    const y = ids.map((_, i) => (i < dataset.size && dataset.y[i] >= 0 ? classIndex[dataset.y[i]] : -1));
    parts.push({ split, ids, y, x: dataset.x, clipSamples: dataset.inputShape[0], errors, stats: ids.map((id) => stats.get(id)) });
  }
  const n = parts.reduce((s, p) => s + p.ids.length, 0);
  const clipSamples = parts[0].clipSamples;
  const s: AudioSamples = {
    source: folders.train,
    ids: [],
    split: new Uint8Array(n),
    y: new Int32Array(n),
    classes,
    clipSamples,
    // The loader's array itself when it holds every clip (a second of audio is 64 KB: no second copy).
    waveforms: parts.length === 1 && parts[0].x.length === n * clipSamples ? parts[0].x : new Float32Array(n * clipSamples),
    readable: new Uint8Array(n),
    readError: new Map(),
    rms: new Float32Array(n).fill(NaN),
    clippedShare: new Float32Array(n).fill(NaN),
    seconds: new Float32Array(n),
    sampleRate: new Int32Array(n),
    contentHash: new Array<string>(n).fill(''),
    roots,
  };
  let at = 0;
  for (const p of parts) {
    if (s.waveforms !== p.x) s.waveforms.set(p.x, at * clipSamples);
    p.ids.forEach((id, k) => {
      const i = at + k;
      s.ids.push(id);
      s.split[i] = p.split;
      s.y[i] = p.y[k];
      const err = p.errors.get(k);
      const st = p.stats[k];
      if (err !== undefined || !st) {
        s.readError.set(i, err ?? 'unreadable');
        return;
      }
      s.readable[i] = 1;
      s.rms[i] = st.rms;
      s.clippedShare[i] = st.clippedShare;
      s.seconds[i] = st.seconds;
      s.sampleRate[i] = st.sampleRate;
      s.contentHash[i] = st.hash;
    });
    at += p.ids.length;
  }
  return s;
}

async function audioReport(s: AudioSamples, results: CheckResult[], manifest: Manifest, run: { seconds: number; checksRun: string[]; checksNotRun: string[] }): Promise<string> {
  const cfg = audioFeatureConfig({ kind: 'logmel', nMels: 40 });
  const [frames, bins] = audioFeatureShape(cfg, s.clipSamples);
  const view: ExampleView = {
    // The clip's log-mel as the embedding sees it; inlined, because the report is one self-contained page.
    thumb: (i) => {
      if (!s.readable[i]) return '<span class="none">?</span>';
      const png = spectrogramPng(audioFeatures(s.waveforms.subarray(i * s.clipSamples, (i + 1) * s.clipSamples), s.clipSamples, cfg), frames, bins, 1);
      return `<img class="spec" alt="log-mel of ${esc(s.ids[i])}" src="data:image/png;base64,${Buffer.from(png).toString('base64')}">`;
    },
    name: (i) => `${SPLIT_NAMES[s.split[i]]}/${s.ids[i]}`,
    cardClass: 'wide',
  };
  const sections: string[] = [];
  for (const r of results) sections.push(await checkSection(s, r, view));
  const notRun = run.checksNotRun.length ? ` Not run (not asked for): ${run.checksNotRun.map(esc).join(', ')}.` : '';
  return cleanPage({
    kicker: 'ulearn clean · audio',
    source: s.source,
    meta: [
      ['Clips', count(s.ids.length)],
      ['Clip length', `${(s.clipSamples / 16000).toFixed(2)} s at 16 kHz`],
      ['Classes', String(s.classes.length)],
    ],
    seconds: run.seconds,
    results,
    manifest,
    noun: 'clips',
    css: '\n.ex.wide { grid-column: span 2; } .ex.wide .pics { flex-wrap: wrap; } .ex img.spec { width: auto; height: 80px; image-rendering: auto; }',
    afterHeadline: `<p class="sub" id="checks-run">Checks run: ${run.checksRun.map(esc).join(', ') || 'none'}.${notRun}</p>`,
    checksSub: 'Excluded clips are left out by later steps that read manifest.json; "label removed" keeps the clip as unlabeled data. Your files are not changed. Pictures are 40-band log-mel spectrograms of the clip as loaded (16 kHz, fitted to the clip length).',
    sections,
    footer: 'issues.json holds every flagged clip; manifest.json / manifest.csv say what later steps use.',
  });
}
