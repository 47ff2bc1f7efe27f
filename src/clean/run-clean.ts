/**
 * `ulearn clean` as a library call: load or scan the data, run the checks in order (each sees the results
 * before it), and write issues.json, manifest.json/.csv and report.html into `outDir`. Nothing under the
 * data's folders is written. Every output is written atomically, and only after all checks finished, so an
 * interrupted or failed run leaves no half report.
 */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Rng } from '../engine/seed.js';
import { currentBackend, initBackend } from '../engine/backend.js';
import { DEFAULT_EXACT_LIMIT } from '../neighbors/knn.js';
import { UlearnError } from '../errors.js';
import { loadDataset, DATASET_NAMES } from '../data/load.js';
import { Budget } from '../util/budget.js';
import type { NearDuplicateOptions } from './checks/duplicates.js';
import { writeManifest, type Manifest } from '../data/manifest.js';
import { buildManifest, imageIndex, writeIssues } from './issues.js';
import { buildNeighbourGraph, type NeighbourGraph } from './neighbours.js';
import { checkNames, createChecks } from './registry.js';
import { runChecks } from './run-checks.js';
import { writeCleanReport } from './report.js';
import { scanImageFolders, samplesFromSplits, type ScanFolderOptions } from './scan.js';
import type { CheckContext, CheckResult, ImageSamples, SplitName } from './types.js';

export interface CleanOptions {
  /** Dataset name or train folder. */
  data: string;
  /** Test folder (folders only; named datasets bring their test split). */
  testData?: string;
  outDir: string;
  /** Check names to run (default: every registered check, see registry.ts). */
  checks?: string[];
  near?: NearDuplicateOptions;
  /** Neighbours per sample in the shared kNN graph (default 10). */
  k?: number;
  /** Precomputed embedding rows, one per sample in scan order (e.g. from an SSL encoder). */
  embed?: (s: ImageSamples) => Promise<{ vectors: Float32Array; dim: number }>;
  scan?: ScanFolderOptions;
  /**
   * Scans image folders in place of `scanImageFolders` (same arguments, same result), e.g. sharded over
   * workers (`distributedScan`, src/distributed/clean-scan.ts). Named datasets are loaded as always.
   */
  scanSamples?: (folders: Partial<Record<SplitName, string>>, opts: ScanFolderOptions) => Promise<ImageSamples>;
  seed?: number;
  /** tfjs backend for exact kNN and encoders, if none is running yet (default 'auto'). */
  backend?: string;
  budget?: Budget;
  log?: (line: string) => void;
  /** Write report.html (default true). */
  html?: boolean;
}

export interface CleanOutcome {
  samples: ImageSamples;
  results: CheckResult[];
  manifest: Manifest;
  /** Seconds per stage (load, each check, the kNN graph, writing). */
  timings: Record<string, number>;
  seconds: number;
  peakRssMb: number;
  paths: { issues: string; manifest: string; manifestCsv: string; report?: string };
}

export async function runClean(o: CleanOptions): Promise<CleanOutcome> {
  const t0 = performance.now();
  const log = o.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const budget = o.budget ?? new Budget(undefined);
  const timings: Record<string, number> = {};
  const rss = peakRss();
  const known = checkNames();
  const unknown = (o.checks ?? []).filter((c) => !known.includes(c));
  if (unknown.length > 0) throw new UlearnError(`unknown check(s) ${unknown.join(', ')}; known: ${known.join(', ')}`, { code: 'E_ARG' });

  let t = performance.now();
  const { samples, data } = await loadSamples(o);
  timings.load = (performance.now() - t) / 1000;
  rss.sample();
  const checkedAt = samples.height !== samples.storedHeight || samples.width !== samples.storedWidth ? ` (checked at ${samples.height}x${samples.width})` : '';
  log(`clean: ${samples.ids.length} samples, ${samples.storedHeight}x${samples.storedWidth}x${samples.channels}${checkedAt}, ${samples.classes.length} classes (${timings.load.toFixed(1)} s to read)`);

  let graph: NeighbourGraph | undefined;
  const ctx: CheckContext = {
    samples,
    rng: new Rng(o.seed ?? 0),
    budget,
    log,
    results: new Map(),
    neighbours: async () => {
      if (!graph) {
        // Exact search (small datasets) and encoders run on tfjs; HNSW over a large dataset needs no backend.
        if (!currentBackend() && (o.embed || samples.ids.length <= DEFAULT_EXACT_LIMIT)) await initBackend(o.backend ?? 'auto');
        const te = performance.now();
        const embedding = o.embed ? await o.embed(samples) : undefined;
        if (o.embed) timings.embedding = (performance.now() - te) / 1000;
        graph = buildNeighbourGraph(samples, { k: o.k, embedding });
        timings.knn_graph = graph.seconds;
        log(`clean: kNN graph (k=${graph.k}, ${graph.dim}-d, ${graph.exact ? 'exact' : 'HNSW'}) in ${graph.seconds.toFixed(1)} s`);
      }
      return graph;
    },
  };
  const results = await runChecks(createChecks({ near: o.near }), ctx, {
    count: samples.ids.length,
    only: o.checks,
    timings,
    sharedSeconds: () => (timings.knn_graph ?? 0) + (timings.embedding ?? 0),
    after: rss.sample,
  });

  t = performance.now();
  await mkdir(o.outDir, { recursive: true });
  const index = imageIndex(samples);
  const manifest = buildManifest(index, results, data);
  const paths = { issues: join(o.outDir, 'issues.json'), manifest: join(o.outDir, 'manifest.json'), manifestCsv: join(o.outDir, 'manifest.csv'), report: undefined as string | undefined };
  const seconds = (performance.now() - t0) / 1000;
  const run = {
    data,
    samples: samples.ids.length,
    shape: [samples.height, samples.width, samples.channels],
    classes: samples.classes,
    manifest: manifest.counts,
    seconds_before_writing: seconds,
    peak_rss_mb: rss.peakMb(),
    timings,
  };
  await writeIssues(paths.issues, index, results, { created: manifest.created, run });
  await writeManifest(manifest, paths.manifest, paths.manifestCsv);
  if (o.html !== false) {
    paths.report = join(o.outDir, 'report.html');
    await writeCleanReport(paths.report, samples, results, manifest, run);
  }
  timings.write = (performance.now() - t) / 1000;
  rss.sample();
  return { samples, results, manifest, timings, seconds: (performance.now() - t0) / 1000, peakRssMb: rss.peakMb(), paths };
}

async function loadSamples(o: CleanOptions): Promise<{ samples: ImageSamples; data: unknown }> {
  if (DATASET_NAMES.includes(o.data as (typeof DATASET_NAMES)[number]) && !o.data.includes('/')) {
    if (o.testData) throw new UlearnError(`--test-data is for folders; '${o.data}' brings its own test split`, { code: 'E_ARG' });
    return { samples: samplesFromSplits(await loadDataset(o.data), o.data), data: o.data };
  }
  const samples = await (o.scanSamples ?? scanImageFolders)({ train: o.data, test: o.testData }, { progress: true, ...o.scan });
  // The spec loadDataset needs to reproduce exactly these samples: skip the undecodable files (the manifest
  // excludes them anyway) and pin the size and channels chosen here.
  const data: Record<string, unknown> = { folder: resolve(o.data), skipBad: true, channels: samples.channels };
  if (o.testData) data.test = resolve(o.testData);
  if (samples.storedHeight === samples.storedWidth) data.size = samples.storedHeight;
  if (o.scan?.csv) data.csv = o.scan.csv;
  return { samples, data };
}

/** Peak resident memory: the OS's own maximum where it has one (Linux ru_maxrss), else sampled. */
function peakRss() {
  let peak = 0;
  const sample = () => {
    peak = Math.max(peak, process.memoryUsage.rss(), process.resourceUsage().maxRSS * 1024);
  };
  sample();
  return { sample, peakMb: () => (sample(), peak / 2 ** 20) };
}
