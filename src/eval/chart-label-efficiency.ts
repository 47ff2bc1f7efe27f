/**
 * The label-efficiency chart: test accuracy against the number of labels, one line per method, log x axis
 * (40, 100, 250, 1000 labels are evenly spaced), error bars of one standard deviation across seeds, and an
 * optional dashed horizontal line for the all-labels upper bound. Standalone SVG (with its own styles), so
 * the same string is the .svg file, the source of the .png and a figure in the HTML report.
 */
import { esc, pct } from './format.js';
import { classColor, GRID, INK, niceTicks, r1, scale } from './svg.js';

export interface EfficiencySeries {
  method: string;
  points: { labels: number; mean: number; std: number }[];
}

export function labelEfficiencyChart(series: EfficiencySeries[], upperBound?: { label: string; acc: number }, width = 760, height = 420): string {
  const shown = series.filter((s) => s.points.length > 0);
  const xs = shown.flatMap((s) => s.points.map((p) => p.labels));
  const ys = shown.flatMap((s) => s.points.flatMap((p) => [p.mean - p.std, p.mean + p.std]));
  if (upperBound) ys.push(upperBound.acc);
  if (xs.length === 0) return '';
  const M = { left: 58, right: 190, top: 30, bottom: 48 };
  const lx = (v: number) => Math.log10(v);
  let x0 = lx(Math.min(...xs));
  let x1 = lx(Math.max(...xs));
  if (x1 - x0 < 1e-9) [x0, x1] = [x0 - 0.5, x1 + 0.5];
  const pad = (x1 - x0) * 0.05;
  const sx = scale(x0 - pad, x1 + pad, M.left, width - M.right);
  const yt = niceTicks(Math.max(0, Math.min(...ys)), Math.min(1, Math.max(...ys)), 5);
  yt.lo = Math.max(0, yt.lo);
  yt.hi = Math.min(1, yt.hi);
  yt.values = yt.values.filter((v) => v >= yt.lo - 1e-9 && v <= yt.hi + 1e-9);
  const sy = scale(yt.lo, yt.hi, height - M.bottom, M.top);
  const out: string[] = [];
  out.push(`<style>text{font:12px system-ui,sans-serif;fill:${INK}}.t{font-weight:600;font-size:13px}</style>`);
  out.push(`<rect width="${width}" height="${height}" fill="#fff"/>`);
  out.push(`<text class="t" x="${M.left}" y="18">Test accuracy vs number of labels (log scale)</text>`);
  for (const v of yt.values) {
    const y = r1(sy(v));
    out.push(`<line x1="${M.left}" x2="${r1(width - M.right)}" y1="${y}" y2="${y}" stroke="${GRID}"/><text x="${M.left - 8}" y="${y}" dy="0.32em" text-anchor="end">${esc(pct(v, 0))}</text>`);
  }
  const ticks = [...new Set(xs)].sort((a, b) => a - b);
  for (const v of ticks) {
    const x = r1(sx(lx(v)));
    out.push(`<line x1="${x}" x2="${x}" y1="${r1(height - M.bottom)}" y2="${r1(height - M.bottom + 5)}" stroke="${INK}"/><text x="${x}" y="${r1(height - M.bottom + 18)}" text-anchor="middle">${v}</text>`);
  }
  out.push(`<line x1="${M.left}" x2="${r1(width - M.right)}" y1="${r1(height - M.bottom)}" y2="${r1(height - M.bottom)}" stroke="${INK}"/>`);
  out.push(`<text x="${r1((M.left + width - M.right) / 2)}" y="${height - 8}" text-anchor="middle">labels</text>`);
  if (upperBound) {
    const y = r1(sy(upperBound.acc));
    out.push(`<line x1="${M.left}" x2="${r1(width - M.right)}" y1="${y}" y2="${y}" stroke="${INK}" stroke-dasharray="6 4"/>`);
  }
  const legend: string[] = [];
  shown.forEach((s, i) => {
    const color = classColor(i);
    const pts = s.points.slice().sort((a, b) => a.labels - b.labels);
    const d = pts.map((p, k) => `${k === 0 ? 'M' : 'L'}${r1(sx(lx(p.labels)))} ${r1(sy(p.mean))}`).join('');
    out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2.25"/>`);
    for (const p of pts) {
      const x = r1(sx(lx(p.labels)));
      if (p.std > 0) out.push(`<line x1="${x}" x2="${x}" y1="${r1(sy(Math.max(0, p.mean - p.std)))}" y2="${r1(sy(Math.min(1, p.mean + p.std)))}" stroke="${color}"/>`);
      out.push(`<circle cx="${x}" cy="${r1(sy(p.mean))}" r="3.5" fill="${color}"><title>${esc(s.method)}, ${p.labels} labels: ${esc(pct(p.mean))} ± ${esc(pct(p.std))}</title></circle>`);
    }
    const ly = M.top + 8 + i * 20;
    legend.push(`<line x1="${width - M.right + 14}" x2="${width - M.right + 34}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2.25"/><text x="${width - M.right + 40}" y="${ly}" dy="0.32em">${esc(s.method)}</text>`);
  });
  if (upperBound) {
    const ly = M.top + 8 + shown.length * 20;
    legend.push(`<line x1="${width - M.right + 14}" x2="${width - M.right + 34}" y1="${ly}" y2="${ly}" stroke="${INK}" stroke-dasharray="6 4"/><text x="${width - M.right + 40}" y="${ly}" dy="0.32em">${esc(`${upperBound.label} ${pct(upperBound.acc)}`)}</text>`);
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="test accuracy vs labels">${out.join('')}${legend.join('')}</svg>`;
}
