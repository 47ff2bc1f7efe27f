/**
 * Data-quality checks: `runClean` (images), `runTabularClean` (tables) and `runAudioClean` (audio folders), what `ulearn clean` calls; the
 * check registry (cleanlab's issue managers: `registerCheck` adds your own image or table check next to the
 * built-in ones) and the `Check` shape your own follow.
 */
export { runClean } from './run-clean.js';
export type { CleanOptions, CleanOutcome } from './run-clean.js';
export { runTabularClean } from './run-tabular.js';
export { runAudioClean, scanAudioFolders } from './run-audio.js';
export type { AudioCleanOptions, AudioCleanOutcome } from './run-audio.js';
export { AUDIO_NEAR_THRESHOLD, CLIP_LEVEL, CLIPPED_SHARE, SILENCE_DBFS } from './checks/audio.js';
export type { TabularCleanOptions, TabularCleanOutcome } from './run-tabular.js';
export type { ColumnFinding, TableProfile } from './tabular.js';
export { BUILTIN_CHECKS, checkNames, createChecks, registerCheck, unregisterCheck } from './registry.js';
export type { CheckEntry, CheckOptions } from './registry.js';
export { CLEAN_MODALITIES, skippedResult, SPLIT_NAMES } from './types.js';
export type { Action, AudioCheck, AudioCheckContext, AudioSamples, BaseCheckContext, Check, CheckContext, CheckResult, CleanModality, ImageSamples, SplitName, TableCheck, TableCheckContext, TableSamples } from './types.js';
