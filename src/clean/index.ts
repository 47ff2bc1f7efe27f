/** Data-quality checks: `runClean` (what `ulearn clean` calls), the built-in checks and the `Check` shape your own follow. */
export { runClean, defaultChecks, CHECK_NAMES } from './run-clean.js';
export type { CleanOptions, CleanOutcome } from './run-clean.js';
export { skippedResult, SPLIT_NAMES } from './types.js';
export type { Action, Check, CheckContext, CheckResult, ImageSamples, SplitName } from './types.js';
