/**
 * The clean checks as a registry, after cleanlab Datalab's issue managers (REGISTRY + register()): ulearn's
 * own checks are registered here in the order they run, and a user adds one with `registerCheck`. Every check
 * returns the same `CheckResult` (per-sample score and flag, a dataset summary, a manifest action), so a
 * registered check lands in issues.json, the manifest and report.html like a built-in one.
 *
 *   registerCheck({ name: 'too_dark', run: (ctx) => ({ name: 'too_dark', ... }) });
 *   await runClean({ data: 'my-images/', outDir: 'runs/clean' });   // too_dark runs after the built-ins
 *
 * Checks run in registration order and each sees the results of those before it (ctx.results).
 */
import { UlearnError } from '../errors.js';
import { exactDuplicateCheck, leakageCheck, nearDuplicateCheck, type NearDuplicateOptions } from './checks/duplicates.js';
import { blankCheck, corruptCheck, imbalanceCheck, nonFiniteCheck, shapeCheck } from './checks/integrity.js';
import { labelErrorCheck } from './checks/label-errors.js';
import { outlierCheck } from './checks/outliers.js';
import type { Check } from './types.js';

/** Settings a check may be built with (the CLI's --near-threshold...). */
export interface CheckOptions {
  near?: NearDuplicateOptions;
}

/** A check, or a named recipe that builds one from the run's options. */
export type CheckEntry = Check | { name: string; create: (opts: CheckOptions) => Check };

const REGISTRY = new Map<string, CheckEntry>();

const NAME = /^[a-z][a-z0-9_]*$/;

/** Adds a check at the end of the run order. A name already taken is an error unless `replace` is set. */
export function registerCheck(entry: CheckEntry, opts: { replace?: boolean } = {}): void {
  if (!NAME.test(entry.name)) {
    throw new UlearnError(`check name '${entry.name}' must be lower_snake_case (it is a key in issues.json)`, { code: 'E_CONFIG' });
  }
  if (REGISTRY.has(entry.name) && !opts.replace) {
    throw new UlearnError(`a check named '${entry.name}' is already registered`, { code: 'E_CONFIG', hint: 'choose another name, or pass { replace: true } to replace it' });
  }
  REGISTRY.set(entry.name, entry);
}

/** Removes a registered check (built-in or not); true if there was one. */
export function unregisterCheck(name: string): boolean {
  return REGISTRY.delete(name);
}

/** Every registered check's name, in run order. */
export function checkNames(): string[] {
  return [...REGISTRY.keys()];
}

/** The registered checks, built for one run, in run order. */
export function createChecks(opts: CheckOptions = {}): Check[] {
  return [...REGISTRY.values()].map((e) => ('create' in e ? e.create(opts) : e));
}

for (const check of [corruptCheck, nonFiniteCheck, shapeCheck, blankCheck, exactDuplicateCheck]) registerCheck(check);
registerCheck({ name: 'near_duplicate', create: (o) => nearDuplicateCheck(o.near) });
for (const check of [leakageCheck, outlierCheck, labelErrorCheck, imbalanceCheck]) registerCheck(check);

/** The built-in checks' names, in run order. */
export const BUILTIN_CHECKS: readonly string[] = checkNames();
