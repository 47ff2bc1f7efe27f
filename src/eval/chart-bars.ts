/**
 * Methods' test accuracy as horizontal bars (method names can be long; horizontal bars keep them readable),
 * with ± std whiskers when several seeds were run. The axis always starts at 0%: a truncated axis would
 * make a 2-point gain look like a doubling.
 */
import { esc, pct, truncate } from './format.js';
import { ACCENT, GRID, INK, MUTED, niceTicks, r1, scale } from './svg.js';

export interface Bar {
  name: string;
  acc: number;
  std?: number;
  /** Picks the colour: the headline method, the baseline it is compared with, or anything else. */
  role: 'best' | 'baseline' | 'other';
}

const COLORS: Record<Bar['role'], string> = { best: ACCENT, baseline: MUTED, other: '#93b4f5' };
const BAR_H = 24;
const GAP = 14;

export function barChart(bars: Bar[], width = 960): string {
  const rows = bars.filter((b) => Number.isFinite(b.acc));
  if (rows.length === 0) return '';
  const names = rows.map((b) => truncate(b.name, 34));
  const labelW = Math.min(280, Math.max(90, Math.max(...names.map((n) => n.length)) * 7.2 + 16));
  const left = labelW;
  const right = width - 112; // room for "81.2% ± 1.1" after the longest bar
  const top = 8;
  const bottom = top + rows.length * (BAR_H + GAP) - GAP + 10;
  const height = bottom + 38;
  const sx = scale(0, 1, left, right);
  const ticks = niceTicks(0, 1, Math.max(4, Math.floor((right - left) / 90)));

  const out: string[] = [];
  for (const v of ticks.values) {
    const x = r1(sx(v));
    out.push(
      `<line x1="${x}" x2="${x}" y1="${top}" y2="${r1(bottom)}" stroke="${GRID}"/>` +
        `<text x="${x}" y="${r1(bottom + 18)}" text-anchor="middle" class="tick">${pct(v, 0)}</text>`,
    );
  }
  out.push(
    `<line x1="${r1(left)}" x2="${r1(left)}" y1="${top}" y2="${r1(bottom)}" stroke="${INK}"/>` +
      `<text x="${r1((left + right) / 2)}" y="${r1(height - 4)}" text-anchor="middle" class="axis-label">test accuracy</text>`,
  );
  rows.forEach((b, i) => {
    const y = top + i * (BAR_H + GAP);
    const cy = y + BAR_H / 2;
    const acc = Math.min(1, Math.max(0, b.acc));
    const hasStd = b.std !== undefined && Number.isFinite(b.std) && b.std > 0;
    const valueText = hasStd ? `${pct(b.acc)} ± ${((b.std as number) * 100).toFixed(1)}` : pct(b.acc);
    out.push(
      `<g><title>${esc(b.name)}: ${esc(valueText)}</title>` +
        `<text x="${r1(left - 10)}" y="${r1(cy)}" dy="0.32em" text-anchor="end" class="bar-label${b.role === 'best' ? ' strong' : ''}">${esc(names[i])}</text>` +
        `<rect x="${r1(left)}" y="${y}" width="${r1(sx(acc) - left)}" height="${BAR_H}" rx="3" fill="${COLORS[b.role]}"/>`,
    );
    let end = sx(acc);
    if (hasStd) {
      const lo = r1(sx(Math.max(0, b.acc - (b.std as number))));
      const hiX = sx(Math.min(1, b.acc + (b.std as number)));
      const hi = r1(hiX);
      const w = `stroke="${INK}" stroke-width="1.5"`;
      out.push(
        `<line x1="${lo}" x2="${hi}" y1="${r1(cy)}" y2="${r1(cy)}" ${w}/>` +
          `<line x1="${lo}" x2="${lo}" y1="${r1(cy - 6)}" y2="${r1(cy + 6)}" ${w}/>` +
          `<line x1="${hi}" x2="${hi}" y1="${r1(cy - 6)}" y2="${r1(cy + 6)}" ${w}/>`,
      );
      end = Math.max(end, hiX);
    }
    out.push(`<text x="${r1(end + 8)}" y="${r1(cy)}" dy="0.32em" class="bar-value">${esc(valueText)}</text></g>`);
  });
  return (
    `<svg class="chart" width="${width}" height="${r1(height)}" viewBox="0 0 ${width} ${r1(height)}" role="img" ` +
    `aria-label="Test accuracy by method">${out.join('')}</svg>`
  );
}
