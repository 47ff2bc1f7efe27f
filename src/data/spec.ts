/**
 * The schema of a dataset spec (what `loadDataset` takes; see src/data/load.ts for the forms), in two
 * strengths:
 *   - `DatasetSpecSchema`: what the user's own CLI arguments, config files and API calls may say;
 *   - `ManifestDataSchema`: what a clean manifest may say. A manifest is shared like a data file, so it may
 *     only point at data: no download URLs, checksums, cache or system folders (a shared file must not make
 *     `ulearn` fetch from anywhere or write anywhere), and no `name` (it must not pass other data off as
 *     "mnist"). Tables (`{ table }`) occur only in manifests, written by `ulearn clean <file.csv>`.
 * Both are strict: an unknown key is an error naming it.
 */
import { z } from 'zod';
import { UlearnError } from '../errors.js';

const DATASET_NAME = z.enum(['fashion-mnist', 'mnist']);
const SYNTHETIC_NAME = z.enum(['glyphs', 'shapes']);
const path = z.string().min(1);

const folderFields = {
  folder: path,
  test: path.optional(),
  size: z.number().int().positive().max(4096).optional(),
  resize: z.enum(['crop', 'stretch', 'pad']).optional(),
  channels: z.union([z.literal(1), z.literal(3), z.literal('infer')]).optional(),
  labels: z.enum(['auto', 'none']).optional(),
  csv: path.optional(),
  skipBad: z.boolean().optional(),
};
const idxFields = {
  images: path,
  labels: path,
  testImages: path.optional(),
  testLabels: path.optional(),
  classes: z.array(z.string()).min(1).max(100_000).optional(),
};

/** A folder of audio clips: the audio spec below, and how a manifest names one (what `ulearn clean <audio folder>` writes). */
const audioFields = {
  audio: path,
  test: path.optional(),
  seconds: z.number().positive().max(60).optional(),
  labels: z.enum(['auto', 'none']).optional(),
  csv: path.optional(),
  skipBad: z.boolean().optional(),
};

/** A string is a dataset name or a path (folder, or a manifest .json). */
export const DatasetSpecSchema = z.union([
  path,
  z
    .object({
      name: DATASET_NAME,
      dir: path.optional(),
      cacheDir: path.optional(),
      systemDir: path.nullable().optional(),
      baseUrl: z.union([path, z.array(path)]).optional(),
      checksums: z.record(z.string()).optional(),
      download: z.boolean().optional(),
      timeoutMs: z.number().int().positive().optional(),
    })
    .strict(),
  // The synthetic datasets ulearn builds itself (src/data/synthetic.ts: SyntheticOptions).
  z
    .object({
      name: SYNTHETIC_NAME,
      perClass: z.number().int().positive().max(1_000_000).optional(),
      testPerClass: z.number().int().positive().max(1_000_000).optional(),
      seed: z.number().int().optional(),
      cacheDir: path.optional(),
      dir: path.optional(),
    })
    .strict(),
  // The synthetic speech corpus (src/data/speech-digits.ts: SpeechDigitsOptions); split 'pool' is its unlabeled pool.
  z
    .object({
      name: z.literal('speech-digits'),
      split: z.enum(['labeled', 'pool']).optional(),
      perClass: z.number().int().positive().max(1_000_000).optional(),
      testPerClass: z.number().int().positive().max(1_000_000).optional(),
      poolSize: z.number().int().positive().max(1_000_000).optional(),
      seed: z.number().int().optional(),
      cacheDir: path.optional(),
      dir: path.optional(),
    })
    .strict(),
  z.object({ ...folderFields, name: path.optional(), concurrency: z.number().int().positive().optional() }).strict(),
  // A folder of audio clips (src/data/audio-folder.ts: AudioFolderOptions).
  z.object({ ...audioFields, name: path.optional(), concurrency: z.number().int().positive().optional() }).strict(),
  z.object({ idx: z.object({ ...idxFields, name: path.optional() }).strict() }).strict(),
  z.object({ manifest: path }).strict(),
]);


export const ManifestDataSchema = z.union([
  path,
  z.object(folderFields).strict(),
  z.object(audioFields).strict(),
  z.object({ idx: z.object(idxFields).strict() }).strict(),
  z.object({ manifest: path }).strict(),
  z.object({ table: path }).strict(),
]);

/** Keys a manifest may not use, with the reason given to the user. */
const MANIFEST_FORBIDDEN: Record<string, string> = {
  baseUrl: 'download URLs',
  checksums: 'checksums',
  cacheDir: 'cache folders',
  systemDir: 'system folders',
  dir: 'dataset folders for a named dataset',
  download: 'download settings',
  timeoutMs: 'download settings',
  name: 'dataset names (it may not call its data "mnist")',
  concurrency: 'loader settings',
};

/**
 * Parses `data` as a manifest's data spec; throws a UlearnError naming `source`, the key and what is wrong.
 * A plain dataset name ('mnist') stays allowed: that is what `ulearn clean mnist` writes, and it names the
 * pinned, checksummed data.
 */
export function checkManifestData(data: unknown, source: string): z.output<typeof ManifestDataSchema> {
  const forbidden = findForbidden(data);
  if (forbidden.length > 0) {
    const what = [...new Set(forbidden.map((k) => MANIFEST_FORBIDDEN[k.split('.').pop()!]))].join(', ');
    throw new UlearnError(`${source}: ${forbidden.map((k) => `"data.${k}"`).join(', ')} not allowed in a manifest (a manifest may not carry ${what})`, {
      code: 'E_DATA',
      hint: 'a manifest only names the data it was made from; put download or cache options in your own config',
    });
  }
  const r = ManifestDataSchema.safeParse(data);
  if (!r.success) throw new UlearnError(`${source}: "data" is not a dataset spec (${describeIssues(r.error, data)})`, { code: 'E_DATA', hint: 'regenerate the manifest with `ulearn clean`' });
  return r.data;
}

function findForbidden(data: unknown): string[] {
  if (typeof data !== 'object' || data === null) return [];
  const keys = Object.keys(data).filter((k) => Object.hasOwn(MANIFEST_FORBIDDEN, k));
  const idx = (data as { idx?: unknown }).idx;
  if (typeof idx === 'object' && idx !== null && Object.hasOwn(idx, 'name')) keys.push('idx.name');
  return keys;
}

/** A short account of a union's failure: the issues of the branch that matched the spec's keys best. */
export function describeIssues(err: z.ZodError, data: unknown): string {
  if (typeof data !== 'string' && (typeof data !== 'object' || data === null)) return `expected a dataset name, a path or an object, got ${data === null ? 'null' : typeof data}`;
  const issues = err.issues.flatMap((i) => (i.code === 'invalid_union' ? i.unionErrors.flatMap((u) => u.issues) : [i]));
  // Prefer issues about a key the spec has (a wrong value) over "missing key" issues of other branches.
  const keys = typeof data === 'object' ? Object.keys(data) : [];
  const relevant = issues.filter((i) => i.path.length > 0 && keys.includes(String(i.path[0])));
  const pick = relevant.length > 0 ? relevant : issues.filter((i) => i.code === 'unrecognized_keys');
  if (pick.length === 0) return `expected one of name, folder, audio, idx, manifest or table; got keys ${keys.join(', ') || '(none)'}`;
  const i = pick[0];
  return `${i.path.length ? `"${i.path.join('.')}": ` : ''}${i.message}`;
}
