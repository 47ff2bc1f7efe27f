/**
 * What `ulearn clean` writes from its check results: the manifest (one action per sample, see
 * src/data/manifest.ts for the format and how loaders apply it) and issues.json (every check's summary and
 * flagged samples, worst first).
 */
import { MANIFEST_FORMAT, type Manifest, type ManifestAction, type ManifestEntry } from '../data/manifest.js';
import { writeJsonAtomic } from '../util/atomic.js';
import { SPLIT_NAMES, type CheckResult, type ImageSamples } from './types.js';

/** One entry per sample: excluded if any excluding check flags it, else unlabeled if a label check does. */
export function buildManifest(s: ImageSamples, results: CheckResult[], data: unknown, now = new Date()): Manifest {
  const n = s.ids.length;
  const action = new Uint8Array(n); // 0 keep, 1 unlabel, 2 exclude
  const reasons: (string[] | undefined)[] = new Array(n);
  for (const r of results) {
    for (let i = 0; i < n; i++) {
      if (!r.flags[i]) continue;
      (reasons[i] ??= []).push(r.reason ? r.reason(i) : r.name);
      if (r.action === 'exclude') action[i] = 2;
      else if (r.action === 'unlabel' && s.y[i] >= 0) action[i] = Math.max(action[i], 1);
    }
  }
  const names: ManifestAction[] = ['keep', 'unlabel', 'exclude'];
  const counts: Record<ManifestAction, number> = { keep: 0, exclude: 0, unlabel: 0 };
  const samples: ManifestEntry[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const a = names[action[i]];
    counts[a]++;
    samples[i] = reasons[i] ? { id: s.ids[i], split: SPLIT_NAMES[s.split[i]], action: a, reasons: reasons[i] } : { id: s.ids[i], split: SPLIT_NAMES[s.split[i]], action: a };
  }
  return { format: MANIFEST_FORMAT, version: 1, created: now.toISOString(), data, counts, samples };
}

/** issues.json: a summary per check and its flagged samples (worst first), for tools and for the report. */
export async function writeIssues(path: string, s: ImageSamples, results: CheckResult[], extra: Record<string, unknown>): Promise<void> {
  const checks: Record<string, unknown> = {};
  for (const r of results) {
    const flagged: number[] = [];
    for (let i = 0; i < r.flags.length; i++) if (r.flags[i]) flagged.push(i);
    flagged.sort((a, b) => (Number.isNaN(r.scores[b]) ? -1 : r.scores[b]) - (Number.isNaN(r.scores[a]) ? -1 : r.scores[a]));
    checks[r.name] = {
      description: r.description,
      action: r.action,
      ...(r.skipped ? { skipped: r.skipped } : {}),
      summary: r.summary,
      samples: flagged.map((i) => ({
        id: s.ids[i],
        split: SPLIT_NAMES[s.split[i]],
        score: Number.isFinite(r.scores[i]) ? Math.round(r.scores[i] * 1e4) / 1e4 : null,
        ...(r.related && r.related[i] >= 0 ? { related: { id: s.ids[r.related[i]], split: SPLIT_NAMES[s.split[r.related[i]]] } } : {}),
        ...(r.details ? r.details(i) : {}),
        reason: r.reason ? r.reason(i) : r.name,
      })),
    };
  }
  await writeJsonAtomic(path, { ...extra, checks });
}
