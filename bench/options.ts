/**
 * The command-line options every benchmark shares, so each spells them the same way: `--seeds`, `--work`
 * (where finished units are kept, so a killed run continues), `--out` (the committed results file) and, for
 * the benchmarks that train, `--threads` and `--backend`. Each benchmark gives its own defaults and adds its
 * own options beside these (`parseArgs({ options: { ...benchOptions(...), ...engineOptions(...), mine } })`).
 */
import path from 'node:path';

/** `--seeds`, `--work` (default bench/.work/<name>) and `--out`. */
export function benchOptions(d: { name: string; out: string; seeds: string }) {
  return {
    seeds: { type: 'string', default: d.seeds },
    work: { type: 'string', default: path.join('bench', '.work', d.name) },
    out: { type: 'string', default: d.out },
  } as const;
}

/**
 * `--threads` (compute threads; no default: the backend's own) and `--backend` (auto picks the native oneDNN
 * kernels when their add-on loads and passes its self-check).
 */
export function engineOptions() {
  return {
    threads: { type: 'string' },
    backend: { type: 'string', default: 'auto' },
  } as const;
}

/** A comma-separated flag value as its items. */
export const list = (s: string): string[] =>
  s
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);

/** `--threads` as a number, or `fallback` when not given. */
export function threadsOf(v: string | undefined, fallback?: number): number | undefined {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--threads: expected a positive integer, got '${v}'`);
  return n;
}
