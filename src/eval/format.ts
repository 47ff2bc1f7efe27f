/**
 * Text helpers for the HTML report. Everything user-controlled (class names come from folder names, method
 * names and notes from configs) goes through `esc` before it lands in HTML or inline SVG.
 */

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML element content and quoted attribute values (also valid in inline SVG). */
export function esc(text: unknown): string {
  return String(text).replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/** A fraction as a percentage with one decimal ("81.2%"); an em dash for missing or non-finite values. */
export function pct(fraction: number | null | undefined, digits = 1): string {
  if (fraction === null || fraction === undefined || !Number.isFinite(fraction)) return '—';
  return `${(fraction * 100).toFixed(digits)}%`;
}

/** Percentage points with a sign, using a real minus sign ("+15.9", "−3.0"). */
export function signedPoints(points: number): string {
  const s = Math.abs(points).toFixed(1);
  if (s === '0.0') return '±0.0';
  return points > 0 ? `+${s}` : `−${s}`;
}

/** A plain number with up to `digits` significant decimals, compact for axis ticks and table cells. */
export function num(v: number, digits = 3): string {
  if (!Number.isFinite(v)) return '—';
  if (v !== 0 && (Math.abs(v) >= 1e5 || Math.abs(v) < 1e-3)) return v.toExponential(1).replace('e+', 'e');
  return String(Number(v.toFixed(digits)));
}

/** Thousands separators for counts ("1,000"), fixed locale so output does not depend on the machine. */
export function count(n: number): string {
  return n.toLocaleString('en-US');
}

/** "2024-05-01 14:03 UTC" from an ISO timestamp; the raw string when it does not parse. */
export function dateText(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** Shortens a label to `max` characters with an ellipsis, so long folder names cannot wreck chart layout. */
export function truncate(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : chars.slice(0, Math.max(1, max - 1)).join('') + '…';
}

/** Seconds as "42 s", "3 min 20 s" or "1 h 05 min". */
export function duration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}
