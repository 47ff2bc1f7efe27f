/**
 * `ulearn …` as a user runs it, for the tests: bin/ulearn.js in a child process on the sources (not dist/),
 * answering its exit code, stdout and stderr.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

export const ULEARN_BIN = join(import.meta.dirname, '..', '..', 'bin', 'ulearn.js');

export interface CliResult {
  code: number | null;
  out: string;
  err: string;
}

/** Runs `ulearn args…`; `nodeArgs` go to node before the script (e.g. `--import` a setup module). */
export function runUlearn(args: string[], opts: { timeout?: number; nodeArgs?: string[] } = {}): CliResult {
  const r = spawnSync(process.execPath, [...(opts.nodeArgs ?? []), ULEARN_BIN, ...args], { encoding: 'utf8', timeout: opts.timeout ?? 120_000, env: { ...process.env, ULEARN_FROM_SOURCE: '1' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

export function ulearn(...args: string[]): CliResult {
  return runUlearn(args);
}
