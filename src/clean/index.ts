/**
 * Data-quality checks: `runClean` (what `ulearn clean` calls), the check registry (cleanlab's issue managers:
 * `registerCheck` adds your own check next to the built-in ones) and the `Check` shape your own follow.
 */
export { runClean } from './run-clean.js';
export type { CleanOptions, CleanOutcome } from './run-clean.js';
export { BUILTIN_CHECKS, checkNames, createChecks, registerCheck, unregisterCheck } from './registry.js';
export type { CheckEntry, CheckOptions } from './registry.js';
export { skippedResult, SPLIT_NAMES } from './types.js';
export type { Action, Check, CheckContext, CheckResult, ImageSamples, SplitName } from './types.js';
