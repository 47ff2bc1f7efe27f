/**
 * Accuracy-vs-labels curves, one line per strategy in a single plot (SVG), for the active-learning benchmark
 * and the labeling app. One plot rather than src/eval/chart-line.ts's side-by-side panels: the point is to
 * compare strategies on the same axes. The x axis is logarithmic because label budgets grow geometrically
 * (10…500) and the low end, where strategies differ most, would otherwise be squeezed into a corner.
 */
import { esc, pct } from '../eval/format.js';
import { classColor, GRID, INK, niceTicks, r1, scale } from '../eval/svg.js';

export interface CurveSeries {
  name: string;
  points: { x: number; y: number; std?: number }[];
}

export interface CurveChartOptions {
  title?: string;
  xLabel?: string;
  /** A horizontal reference line, e.g. random sampling's accuracy at 200 labels. */
  reference?: { y: number; label: string };
  width?: number;
  height?: number;
}

export function curveChart(series: CurveSeries[], opts: CurveChartOptions = {}): string {
  const width = opts.width ?? 860;
  const height = opts.height ?? 460;
  const M = { left: 58, right: 190, top: 40, bottom: 48 };
  const pts = series.flatMap((s) => s.points).filter((p) => p.x > 0 && Number.isFinite(p.y));
  if (pts.length === 0) return '';
  const xs = pts.map((p) => p.x);
  const ys = pts.map((p) => p.y).concat(opts.reference ? [opts.reference.y] : []);
  const yt = niceTicks(Math.min(...ys), Math.max(...ys), 6);
  yt.lo = Math.max(0, yt.lo);
  yt.hi = Math.min(1, yt.hi);
  yt.values = yt.values.filter((v) => v >= yt.lo - 1e-9 && v <= yt.hi + 1e-9);
  const [left, right, top, bottom] = [M.left, width - M.right, M.top, height - M.bottom];
  const lx = scale(Math.log(Math.min(...xs)), Math.log(Math.max(...xs)), left, right);
  const sx = (v: number) => lx(Math.log(v));
  const sy = scale(yt.lo, yt.hi, bottom, top);
  const out: string[] = [];
  if (opts.title) out.push(`<text x="${left}" y="22" font-size="15" font-weight="600" fill="${INK}">${esc(opts.title)}</text>`);
  for (const v of yt.values) {
    const y = r1(sy(v));
    out.push(`<line x1="${left}" x2="${right}" y1="${y}" y2="${y}" stroke="${GRID}"/><text x="${left - 8}" y="${y}" dy="0.32em" text-anchor="end" font-size="11" fill="${INK}">${esc(pct(v, 0))}</text>`);
  }
  for (const v of [...new Set(xs)].sort((a, b) => a - b)) {
    const x = r1(sx(v));
    out.push(`<line x1="${x}" x2="${x}" y1="${bottom}" y2="${bottom + 5}" stroke="${INK}"/><text x="${x}" y="${bottom + 18}" text-anchor="middle" font-size="11" fill="${INK}">${v}</text>`);
  }
  out.push(
    `<line x1="${left}" x2="${right}" y1="${bottom}" y2="${bottom}" stroke="${INK}"/>` +
      `<text x="${r1((left + right) / 2)}" y="${height - 8}" text-anchor="middle" font-size="12" fill="${INK}">${esc(opts.xLabel ?? 'labels (log scale)')}</text>`,
  );
  if (opts.reference) {
    const y = r1(sy(opts.reference.y));
    out.push(
      `<line x1="${left}" x2="${right}" y1="${y}" y2="${y}" stroke="${INK}" stroke-dasharray="5 4" stroke-width="1"/>` +
        `<text x="${left + 6}" y="${y}" dy="-0.4em" font-size="11" fill="${INK}">${esc(opts.reference.label)}</text>`,
    );
  }
  series.forEach((s, i) => {
    const color = classColor(i);
    const p = s.points.filter((q) => q.x > 0 && Number.isFinite(q.y)).sort((a, b) => a.x - b.x);
    if (p.length === 0) return;
    out.push(`<path d="${p.map((q, j) => `${j ? 'L' : 'M'}${r1(sx(q.x))} ${r1(sy(q.y))}`).join('')}" fill="none" stroke="${color}" stroke-width="2"/>`);
    for (const q of p) {
      const tip = `${s.name}, ${q.x} labels: ${pct(q.y)}${q.std !== undefined ? ` ± ${pct(q.std)}` : ''}`;
      out.push(`<circle cx="${r1(sx(q.x))}" cy="${r1(sy(q.y))}" r="3" fill="${color}"><title>${esc(tip)}</title></circle>`);
    }
    const ly = top + 8 + i * 20;
    out.push(
      `<line x1="${right + 18}" x2="${right + 40}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2.5"/>` +
        `<text x="${right + 46}" y="${ly}" dy="0.32em" font-size="12" fill="${INK}">${esc(s.name)}</text>`,
    );
  });
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
    `font-family="system-ui, sans-serif" role="img" aria-label="${esc(opts.title ?? 'accuracy per number of labels')}">` +
    `<rect width="${width}" height="${height}" fill="white"/>${out.join('')}</svg>\n`
  );
}
