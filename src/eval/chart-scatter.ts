/**
 * 2-D embedding scatter coloured by true class. UMAP axes carry no units, so there are no ticks, and both
 * axes share one scale (stretching one would distort the cluster shapes the plot exists to show).
 *
 * Each class is one <path> of zero-length round-capped segments ("M x y h0"), one per point: a few KB per
 * thousand points instead of a <circle> element each. The legend is HTML (see legendHtml) so it can wrap.
 */
import { count, esc, truncate } from './format.js';
import { classColor, r1 } from './svg.js';

export interface ScatterData {
  x: number[];
  y: number[];
  /** True class per point; -1 or out of range is drawn grey as "unlabeled / other". */
  label: number[];
}

export function scatterChart(data: ScatterData, classes: string[], width = 640, height = 520): string {
  const idx: number[] = [];
  for (let i = 0; i < data.x.length; i++) if (Number.isFinite(data.x[i]) && Number.isFinite(data.y[i])) idx.push(i);
  if (idx.length === 0) return '';
  const pad = 14;
  let [x0, x1, y0, y1] = [Infinity, -Infinity, Infinity, -Infinity];
  for (const i of idx) {
    x0 = Math.min(x0, data.x[i]);
    x1 = Math.max(x1, data.x[i]);
    y0 = Math.min(y0, data.y[i]);
    y1 = Math.max(y1, data.y[i]);
  }
  const k = Math.min((width - 2 * pad) / Math.max(x1 - x0, 1e-9), (height - 2 * pad) / Math.max(y1 - y0, 1e-9));
  const ox = (width - (x1 - x0) * k) / 2;
  const oy = (height - (y1 - y0) * k) / 2;
  // Dots shrink as points multiply so dense clusters keep some texture.
  const dot = idx.length <= 500 ? 6 : idx.length <= 2000 ? 4.5 : 3.5;

  const byClass = new Map<number, string[]>();
  for (const i of idx) {
    const c = groupOf(data.label[i], classes.length);
    const px = ox + (data.x[i] - x0) * k;
    const py = height - (oy + (data.y[i] - y0) * k); // SVG y grows downward; keep UMAP's orientation
    let segs = byClass.get(c);
    if (!segs) byClass.set(c, (segs = []));
    segs.push(`M${r1(px)} ${r1(py)}h0`);
  }
  const paths = [...byClass.keys()]
    .sort((a, b) => a - b) // grey "other" (-1) first, underneath the classes
    .map((c) => {
      const name = c < 0 ? 'unlabeled / other' : classes[c];
      return (
        `<path d="${byClass.get(c)!.join('')}" stroke="${classColor(c)}" stroke-width="${dot}" stroke-linecap="round" ` +
        `stroke-opacity="0.8" fill="none"><title>${esc(name)}</title></path>`
      );
    });
  return (
    `<svg class="chart scatter" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" ` +
    `aria-label="2-D embedding of features, coloured by class">` +
    `<rect x="0.5" y="0.5" width="${width - 1}" height="${height - 1}" rx="6" fill="#fcfcfd" stroke="#e5e7eb"/>` +
    `${paths.join('')}</svg>`
  );
}

/** Legend entries (swatch, name, point count) for the classes that appear in the scatter. */
export function legendHtml(data: ScatterData, classes: string[]): string {
  const counts = new Map<number, number>();
  for (let i = 0; i < data.label.length; i++) {
    if (!Number.isFinite(data.x[i]) || !Number.isFinite(data.y[i])) continue;
    const c = groupOf(data.label[i], classes.length);
    counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  return [...counts.keys()]
    .sort((a, b) => (a < 0 ? 1 : b < 0 ? -1 : a - b)) // classes in order, "other" last
    .map((c) => {
      const name = c < 0 ? 'unlabeled / other' : classes[c];
      return (
        `<li title="${esc(name)}"><span class="swatch" style="background:${classColor(c)}"></span>` +
        `<span class="legend-name">${esc(truncate(name, 28))}</span><span class="legend-count">${count(counts.get(c) ?? 0)}</span></li>`
      );
    })
    .join('');
}

function groupOf(label: number, nClasses: number): number {
  return Number.isInteger(label) && label >= 0 && label < nClasses ? label : -1;
}
