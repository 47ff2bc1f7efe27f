/**
 * The cleaned manifest: which samples later steps use (keep), drop (exclude) or use without their label
 * (unlabel), and why. It names the data it describes (`data`, a dataset spec), so a manifest path can stand
 * wherever a dataset goes: `ulearn pretrain runs/clean/manifest.json` loads that data and applies it. The
 * user's files are never touched; cleaning is only ever this list.
 */
import { readFile } from 'node:fs/promises';
import { UlearnError } from '../errors.js';
import type { Dataset, DatasetSplits } from './dataset.js';
import { subset } from './dataset.js';
import { writeFileAtomic } from '../util/atomic.js';
import { checkManifestData } from './spec.js';

export const MANIFEST_FORMAT = 'ulearn-clean-manifest';

export type ManifestAction = 'keep' | 'exclude' | 'unlabel';

export interface ManifestEntry {
  id: string;
  split: string;
  action: ManifestAction;
  /** Every flag the sample got, including report-only ones (outlier, wrong_shape). */
  reasons?: string[];
}

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  version: 1;
  created: string;
  /** The dataset spec the ids refer to (what loadDataset takes). */
  data: unknown;
  counts: Record<ManifestAction, number>;
  samples: ManifestEntry[];
}

/** manifest.json (one sample per line, so it diffs and greps well) and manifest.csv, each written atomically. */
export async function writeManifest(m: Manifest, jsonPath: string, csvPath?: string): Promise<void> {
  const { samples, ...head } = m;
  const headText = JSON.stringify(head, null, 2);
  const body = samples.map((e) => '    ' + JSON.stringify(e)).join(',\n');
  await writeFileAtomic(jsonPath, `${headText.slice(0, -2)},\n  "samples": [\n${body}\n  ]\n}\n`);
  if (csvPath) {
    const q = (v: string) => (/[",\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);
    const lines = ['id,split,action,reasons', ...samples.map((e) => [e.id, e.split, e.action, (e.reasons ?? []).join('; ')].map(q).join(','))];
    await writeFileAtomic(csvPath, lines.join('\n') + '\n');
  }
}

export async function readManifest(path: string): Promise<Manifest> {
  const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new UlearnError(`${path}: ${err.code === 'ENOENT' ? 'manifest not found' : `cannot read (${err.code})`}`, { code: 'E_DATA_MISSING', cause: err });
  });
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch (err) {
    throw new UlearnError(`${path}: not valid JSON (${(err as Error).message})`, { code: 'E_DATA' });
  }
  return checkManifest(m, path);
}

export function isManifest(v: unknown): boolean {
  return typeof v === 'object' && v !== null && (v as { format?: unknown }).format === MANIFEST_FORMAT;
}

function checkManifest(m: unknown, path: string): Manifest {
  if (!isManifest(m)) throw new UlearnError(`${path}: not a ulearn clean manifest (expected "format": "${MANIFEST_FORMAT}")`, { code: 'E_DATA' });
  const man = m as Manifest;
  if (man.version !== 1) throw new UlearnError(`${path}: manifest version ${String(man.version)} is not supported (expected 1)`, { code: 'E_DATA' });
  man.data = checkManifestData(man.data, path);
  if (!Array.isArray(man.samples)) throw new UlearnError(`${path}: "samples" must be an array`, { code: 'E_DATA' });
  man.samples.forEach((e, k) => {
    if (typeof e?.id !== 'string' || typeof e.split !== 'string' || !['keep', 'exclude', 'unlabel'].includes(e.action)) {
      throw new UlearnError(`${path}: samples[${k}] must have string id and split and action keep|exclude|unlabel, got ${JSON.stringify(e)}`, { code: 'E_DATA' });
    }
  });
  return man;
}

/**
 * A table's manifest as the table loader takes it: the table's path and the line numbers to leave out or to
 * keep unlabeled (a table's rows are split into train/test at load time, so entries carry split '*').
 */
export function tableRows(m: Manifest, path = 'manifest'): { table: string; exclude: Set<number>; unlabel: Set<number> } {
  const data = m.data as { table?: unknown } | null;
  if (typeof data?.table !== 'string') {
    throw new UlearnError(`${path}: this manifest describes ${JSON.stringify(m.data)}, not a table`, { code: 'E_DATA', hint: 'give a manifest written by `ulearn clean <file.csv|.arff>`' });
  }
  const exclude = new Set<number>();
  const unlabel = new Set<number>();
  m.samples.forEach((e, k) => {
    const line = Number(e.id);
    if (!Number.isInteger(line) || line < 1) throw new UlearnError(`${path}: samples[${k}].id must be a file line number, got '${e.id}'`, { code: 'E_DATA' });
    if (e.action === 'exclude') exclude.add(line);
    else if (e.action === 'unlabel') unlabel.add(line);
  });
  return { table: data.table, exclude, unlabel };
}

export interface ApplyStats {
  excluded: number;
  unlabeled: number;
  /** Samples the manifest does not list (added after cleaning): kept as they are. */
  unlisted: number;
}

/** Drops excluded samples and hides doubtful labels; returns new datasets (the inputs are not modified). */
export function applyManifest(splits: DatasetSplits, m: Manifest, path = 'manifest'): { splits: DatasetSplits; stats: ApplyStats } {
  const byKey = new Map(m.samples.map((e) => [`${e.split}\u0000${e.id}`, e.action]));
  const stats: ApplyStats = { excluded: 0, unlabeled: 0, unlisted: 0 };
  let matched = 0;
  const apply = (ds: Dataset, split: string): Dataset => {
    const keep: number[] = [];
    const unlabel: number[] = [];
    for (let i = 0; i < ds.size; i++) {
      // split '*' (tables: rows are split into train/test at load time) matches the id in any split.
      const a = byKey.get(`${split}\u0000${ds.ids[i]}`) ?? byKey.get(`*\u0000${ds.ids[i]}`);
      if (a === undefined) stats.unlisted++;
      else matched++;
      if (a === 'exclude') {
        stats.excluded++;
        continue;
      }
      if (a === 'unlabel' && ds.y[i] >= 0) unlabel.push(keep.length);
      keep.push(i);
    }
    const out = keep.length === ds.size ? { ...ds, y: ds.y.slice() } : subset(ds, keep);
    for (const k of unlabel) out.y[k] = -1;
    stats.unlabeled += unlabel.length;
    return out;
  };
  const train = apply(splits.train, 'train');
  const test = splits.test ? apply(splits.test, 'test') : undefined;
  if (matched === 0 && m.samples.length > 0) {
    throw new UlearnError(`${path}: none of its ${m.samples.length} sample ids occur in the data it names; it was made for other data`, { code: 'E_DATA' });
  }
  return { splits: test ? { train, test } : { train }, stats };
}
