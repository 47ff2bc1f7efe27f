/**
 * The clean checks as a registry, after cleanlab Datalab's issue managers (REGISTRY + register()): ulearn's
 * own checks are registered here in the order they run, one list per modality (image, table, audio), and a user adds
 * one with `registerCheck`. Every check returns the same `CheckResult` (per-sample score and flag, a dataset
 * summary, a manifest action), so a registered check lands in issues.json, the manifest and report.html like a
 * built-in one, for images and tables alike.
 *
 *   registerCheck({ name: 'too_dark', run: (ctx) => ({ name: 'too_dark', ... }) });            // images
 *   registerCheck({ name: 'negative_age', modality: 'table', run: (ctx) => ({ ... }) });      // tables
 *   await runClean({ data: 'my-images/', outDir: 'runs/clean' });   // too_dark runs after the built-ins
 *
 * Checks run in registration order and each sees the results of those before it (ctx.results). Names are
 * unique within a modality (each has an `outlier`).
 */
import { UlearnError } from '../errors.js';
import { exactDuplicateCheck, leakageCheck, nearDuplicateCheck, type NearDuplicateOptions } from './checks/duplicates.js';
import { blankCheck, corruptCheck, imbalanceCheck, nonFiniteCheck, shapeCheck } from './checks/integrity.js';
import { labelErrorCheck } from './checks/label-errors.js';
import { outlierCheck } from './checks/outliers.js';
import { constantColumnCheck, duplicateRowCheck, highCardinalityCheck, missingValuesCheck, mixedTypesCheck, tableOutlierCheck } from './checks/table.js';
import { audioChecks } from './checks/audio.js';
import { CLEAN_MODALITIES, type AudioCheck, type Check, type CleanModality, type TableCheck } from './types.js';

/** Settings a check may be built with (the CLI's --near-threshold...). */
export interface CheckOptions {
  near?: NearDuplicateOptions;
  /** Audio near duplicates: embedding cosine similarity at or above which two clips are near duplicates. */
  audioNear?: { threshold?: number };
}

/** An image check, or a named recipe that builds one from the run's options; or a table check; or an audio check or recipe. */
export type CheckEntry = Check | { name: string; modality?: 'image'; create: (opts: CheckOptions) => Check } | TableCheck | AudioCheck | { name: string; modality: 'audio'; create: (opts: CheckOptions) => AudioCheck };

/** What `createChecks` builds for each modality. */
interface ChecksOf {
  image: Check;
  table: TableCheck;
  audio: AudioCheck;
}

const REGISTRY: Record<CleanModality, Map<string, CheckEntry>> = { image: new Map(), table: new Map(), audio: new Map() };

const NAME = /^[a-z][a-z0-9_]*$/;

/** Adds a check at the end of its modality's run order. A name already taken there is an error unless `replace` is set. */
export function registerCheck(entry: CheckEntry, opts: { replace?: boolean } = {}): void {
  const modality = entry.modality ?? 'image';
  if (!CLEAN_MODALITIES.includes(modality)) {
    throw new UlearnError(`check '${entry.name}': modality '${String(modality)}' is not one clean checks (${CLEAN_MODALITIES.join(', ')})`, { code: 'E_CONFIG' });
  }
  if (!NAME.test(entry.name)) {
    throw new UlearnError(`check name '${entry.name}' must be lower_snake_case (it is a key in issues.json)`, { code: 'E_CONFIG' });
  }
  const registry = REGISTRY[modality];
  if (registry.has(entry.name) && !opts.replace) {
    throw new UlearnError(`a ${modality} check named '${entry.name}' is already registered`, { code: 'E_CONFIG', hint: 'choose another name, or pass { replace: true } to replace it' });
  }
  registry.set(entry.name, entry);
}

/** Removes a registered check (built-in or not); true if there was one. */
export function unregisterCheck(name: string, modality: CleanModality = 'image'): boolean {
  return REGISTRY[modality].delete(name);
}

/** Every registered check's name for a modality, in run order. */
export function checkNames(modality: CleanModality = 'image'): string[] {
  return [...REGISTRY[modality].keys()];
}

/** The registered checks of a modality, built for one run, in run order. */
export function createChecks<M extends CleanModality = 'image'>(opts: CheckOptions = {}, modality?: M): ChecksOf[M][] {
  return [...REGISTRY[modality ?? 'image'].values()].map((e) => ('create' in e ? e.create(opts) : e)) as ChecksOf[M][];
}

for (const check of [corruptCheck, nonFiniteCheck, shapeCheck, blankCheck, exactDuplicateCheck]) registerCheck(check);
registerCheck({ name: 'near_duplicate', create: (o) => nearDuplicateCheck(o.near) });
for (const check of [leakageCheck, outlierCheck, labelErrorCheck, imbalanceCheck]) registerCheck(check);
for (const check of [missingValuesCheck, constantColumnCheck, mixedTypesCheck, highCardinalityCheck, duplicateRowCheck, tableOutlierCheck]) registerCheck(check);
for (const entry of audioChecks) registerCheck(entry);

/** The built-in checks' names per modality, in run order. */
export const BUILTIN_CHECKS: Readonly<Record<CleanModality, readonly string[]>> = { image: checkNames('image'), table: checkNames('table'), audio: checkNames('audio') };
