/**
 * Per-epoch curves (pretraining loss, kNN accuracy, feature std) as side-by-side panels in one SVG.
 * Separate panels rather than one plot with two y axes: loss and accuracy have unrelated scales, and a
 * dual-axis chart invites reading meaning into where the lines cross.
 */
import { esc, num, pct } from './format.js';
import { GRID, INK, niceTicks, r1, scale } from './svg.js';

export interface LinePanel {
  title: string;
  points: { x: number; y: number }[];
  color: string;
  /** Values are fractions shown as percentages (axis ticks and the "final" value). */
  percent?: boolean;
}

const PANEL_H = 250;
const M = { left: 54, right: 18, top: 34, bottom: 44 };

export function lineChart(panels: LinePanel[], width = 960, xLabel = 'epoch'): string {
  const shown = panels.filter((p) => p.points.some((pt) => Number.isFinite(pt.y) && Number.isFinite(pt.x)));
  if (shown.length === 0) return '';
  const pw = width / shown.length;
  const body = shown.map((p, i) => panel(p, i * pw, pw, xLabel)).join('');
  return (
    `<svg class="chart" width="${width}" height="${PANEL_H}" viewBox="0 0 ${width} ${PANEL_H}" role="img" ` +
    `aria-label="${esc(shown.map((p) => p.title).join(', '))} per ${esc(xLabel)}">${body}</svg>`
  );
}

function panel(p: LinePanel, x0: number, pw: number, xLabel: string): string {
  const pts = p.points.filter((pt) => Number.isFinite(pt.y) && Number.isFinite(pt.x)).sort((a, b) => a.x - b.x);
  const xs = pts.map((pt) => pt.x);
  const ys = pts.map((pt) => pt.y);
  const xt = niceTicks(Math.min(...xs), Math.max(...xs), Math.max(2, Math.floor(pw / 70)), true);
  const yt = niceTicks(Math.min(...ys), Math.max(...ys), 4);
  // Accuracies cannot leave [0, 1]; do not draw ticks at 110%.
  if (p.percent) {
    yt.lo = Math.max(0, yt.lo);
    yt.hi = Math.min(1, yt.hi);
    yt.values = yt.values.filter((v) => v >= yt.lo - 1e-9 && v <= yt.hi + 1e-9);
  }
  const left = x0 + M.left;
  const right = x0 + pw - M.right;
  const top = M.top;
  const bottom = PANEL_H - M.bottom;
  const sx = scale(xt.lo, xt.hi, left, right);
  const sy = scale(yt.lo, yt.hi, bottom, top);
  const fmtY = (v: number) => (p.percent ? pct(v, yt.step < 0.01 ? 1 : 0) : num(v));

  const out: string[] = [];
  const last = pts[pts.length - 1];
  out.push(
    `<text x="${r1(left)}" y="18" class="panel-title">${esc(p.title)}</text>` +
      `<text x="${r1(right)}" y="18" text-anchor="end" class="panel-note">final ${esc(p.percent ? pct(last.y) : num(last.y))}</text>`,
  );
  for (const v of yt.values) {
    const y = r1(sy(v));
    out.push(
      `<line x1="${r1(left)}" x2="${r1(right)}" y1="${y}" y2="${y}" stroke="${GRID}"/>` +
        `<text x="${r1(left - 8)}" y="${y}" dy="0.32em" text-anchor="end" class="tick">${esc(fmtY(v))}</text>`,
    );
  }
  for (const v of xt.values) {
    const x = r1(sx(v));
    out.push(
      `<line x1="${x}" x2="${x}" y1="${r1(bottom)}" y2="${r1(bottom + 5)}" stroke="${INK}"/>` +
        `<text x="${x}" y="${r1(bottom + 18)}" text-anchor="middle" class="tick">${esc(num(v))}</text>`,
    );
  }
  out.push(
    `<line x1="${r1(left)}" x2="${r1(right)}" y1="${r1(bottom)}" y2="${r1(bottom)}" stroke="${INK}"/>` +
      `<text x="${r1((left + right) / 2)}" y="${PANEL_H - 6}" text-anchor="middle" class="axis-label">${esc(xLabel)}</text>`,
  );
  const d = pts.map((pt, i) => `${i === 0 ? 'M' : 'L'}${r1(sx(pt.x))} ${r1(sy(pt.y))}`).join('');
  out.push(`<path d="${d}" fill="none" stroke="${p.color}" stroke-width="2.25" stroke-linejoin="round"/>`);
  // Markers help with few epochs; with many they would just thicken the line, so they stay invisible
  // (still there as hover targets for the exact value).
  const marker = pts.length <= 40 ? `r="3" fill="${p.color}"` : `r="4" fill="${p.color}" fill-opacity="0"`;
  for (const pt of pts) {
    out.push(
      `<circle cx="${r1(sx(pt.x))}" cy="${r1(sy(pt.y))}" ${marker}>` +
        `<title>${esc(xLabel)} ${esc(num(pt.x))}: ${esc(p.percent ? pct(pt.y) : num(pt.y, 4))}</title></circle>`,
    );
  }
  return `<g>${out.join('')}</g>`;
}
