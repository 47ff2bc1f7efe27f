/**
 * Human durations for flags and configs (`--budget 10m`, `interval: 90s`) and for progress/ETA output.
 * Everything internal is milliseconds; strings exist only at the edges.
 */
import { UlearnError } from '../errors.js';

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
type Unit = keyof typeof UNIT_MS;

export const DURATION_FORMS = "'500ms', '90s', '10m', '1.5h', '1h30m', '2d', or plain seconds like '45'";

// One `<number><unit>` part; `ms` must come before `m` in the alternation or '500ms' would read as 500m + 's'.
const PART = /(\d+(?:\.\d+)?|\.\d+)(ms|s|m|h|d)/y;

/** Parses a duration to milliseconds (rounded to whole ms). Bare numbers are seconds. */
export function parseDuration(input: string | number): number {
  const bad = (): UlearnError =>
    new UlearnError(`invalid duration ${JSON.stringify(input)}: expected ${DURATION_FORMS}`, { code: 'E_DURATION' });
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || input < 0) throw bad();
    return Math.round(input * 1000);
  }
  const s = input.trim().toLowerCase();
  if (/^(\d+(\.\d+)?|\.\d+)$/.test(s)) return Math.round(Number(s) * 1000);
  let total = 0;
  let pos = 0;
  const seen = new Set<Unit>();
  while (pos < s.length) {
    PART.lastIndex = pos;
    const m = PART.exec(s);
    if (!m) throw bad();
    const unit = m[2] as Unit;
    // '1m1m' is almost certainly a typo, not 2 minutes.
    if (seen.has(unit)) throw bad();
    seen.add(unit);
    total += Number(m[1]) * UNIT_MS[unit];
    pos = PART.lastIndex;
  }
  if (pos === 0) throw bad();
  return Math.round(total);
}

/**
 * Compact, fixed-shape output for logs and ETAs: '1h02m', '4m05s', '12s', '350ms'. Precision drops as the
 * value grows because nobody needs the seconds of a two-hour ETA.
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '--';
  if (ms < 0) ms = 0;
  if (ms < 999.5) return `${Math.round(ms)}ms`;
  const totalS = Math.round(ms / 1000);
  if (totalS < 60) return `${totalS}s`;
  if (totalS < 3600) return `${Math.floor(totalS / 60)}m${pad2(totalS % 60)}s`;
  const totalM = Math.round(ms / 60_000);
  return `${Math.floor(totalM / 60)}h${pad2(totalM % 60)}m`;
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}
