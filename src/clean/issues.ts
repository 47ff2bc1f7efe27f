/**
 * What `ulearn clean` writes from its check results, for images and tables alike: the manifest (an action per
 * sample, see src/data/manifest.ts for the format and how loaders apply it) and issues.json (every check's
 * summary and flagged samples, worst first).
 */
import { MANIFEST_FORMAT, type Manifest, type ManifestAction, type ManifestEntry } from '../data/manifest.js';
import { writeJsonAtomic } from '../util/atomic.js';
import { SPLIT_NAMES, type CheckResult, type ImageSamples, type TableSamples } from './types.js';

/** How results' sample indices map to manifest ids and splits. */
export interface SampleIndex {
  count: number;
  id(i: number): string;
  split(i: number): string;
  /** Whether the sample has a label an `unlabel` action could remove. */
  labeled(i: number): boolean;
}

export function imageIndex(s: Pick<ImageSamples, 'ids' | 'split' | 'y'>): SampleIndex {
  return { count: s.ids.length, id: (i) => s.ids[i], split: (i) => SPLIT_NAMES[s.split[i]], labeled: (i) => s.y[i] >= 0 };
}

/** A table's rows: ids are file lines (as the table loader uses them), in no split yet ('*'). */
export function tableIndex(t: TableSamples): SampleIndex {
  return { count: t.rows, id: (i) => String(t.lines[i]), split: () => '*', labeled: () => true };
}

/**
 * Excluded if any excluding check flags a sample, else unlabeled if a label check does. Images list every
 * sample; `listKept: false` (tables, which may have millions of rows) lists only those acted on, and every
 * unlisted sample is kept.
 */
export function buildManifest(s: SampleIndex, results: CheckResult[], data: unknown, opts: { now?: Date; listKept?: boolean } = {}): Manifest {
  const n = s.count;
  const action = new Uint8Array(n); // 0 keep, 1 unlabel, 2 exclude
  const reasons: (string[] | undefined)[] = new Array(n);
  for (const r of results) {
    for (let i = 0; i < n; i++) {
      if (!r.flags[i]) continue;
      (reasons[i] ??= []).push(r.reason ? r.reason(i) : r.name);
      if (r.action === 'exclude') action[i] = 2;
      else if (r.action === 'unlabel' && s.labeled(i)) action[i] = Math.max(action[i], 1);
    }
  }
  const names: ManifestAction[] = ['keep', 'unlabel', 'exclude'];
  const counts: Record<ManifestAction, number> = { keep: 0, exclude: 0, unlabel: 0 };
  const samples: ManifestEntry[] = [];
  for (let i = 0; i < n; i++) {
    const a = names[action[i]];
    counts[a]++;
    if (a === 'keep' && opts.listKept === false) continue;
    samples.push(reasons[i] ? { id: s.id(i), split: s.split(i), action: a, reasons: reasons[i] } : { id: s.id(i), split: s.split(i), action: a });
  }
  return { format: MANIFEST_FORMAT, version: 1, created: (opts.now ?? new Date()).toISOString(), data, counts, samples };
}

/**
 * issues.json: a summary per check and its flagged samples (worst first), for tools and for the report. With
 * `maxListed`, a check lists at most that many (the worst) and says how many it flagged in `samples_total`.
 */
export async function writeIssues(path: string, s: SampleIndex, results: CheckResult[], extra: Record<string, unknown>, opts: { maxListed?: number } = {}): Promise<void> {
  const checks: Record<string, unknown> = {};
  for (const r of results) {
    const flagged: number[] = [];
    for (let i = 0; i < r.flags.length; i++) if (r.flags[i]) flagged.push(i);
    flagged.sort((a, b) => (Number.isNaN(r.scores[b]) ? -1 : r.scores[b]) - (Number.isNaN(r.scores[a]) ? -1 : r.scores[a]));
    const listed = opts.maxListed !== undefined && flagged.length > opts.maxListed ? flagged.slice(0, opts.maxListed) : flagged;
    checks[r.name] = {
      description: r.description,
      action: r.action,
      ...(r.skipped ? { skipped: r.skipped } : {}),
      summary: r.summary,
      samples: listed.map((i) => ({
        id: s.id(i),
        split: s.split(i),
        score: Number.isFinite(r.scores[i]) ? Math.round(r.scores[i] * 1e4) / 1e4 : null,
        ...(r.related && r.related[i] >= 0 ? { related: { id: s.id(r.related[i]), split: s.split(r.related[i]) } } : {}),
        ...(r.details ? r.details(i) : {}),
        reason: r.reason ? r.reason(i) : r.name,
      })),
      ...(listed.length < flagged.length ? { samples_total: flagged.length } : {}),
    };
  }
  await writeJsonAtomic(path, { ...extra, checks });
}
