/**
 * Confusion matrix heat map: rows are true classes, columns predicted ones. Colour is the row-normalised
 * share (recall along the diagonal), so a rare class is as visible as a common one; cells print raw counts.
 */
import { count, esc, truncate } from './format.js';
import { r1 } from './svg.js';

const LABEL_CHARS = 16;
const CHAR_W = 7; // average glyph width at the 12px label size, for layout only

export function confusionHeatmap(matrix: number[][], classes: string[]): string {
  const n = classes.length;
  if (n === 0 || matrix.length !== n) return '';
  // Cells shrink with the class count so 100 classes still fit the page; counts need ~22px to stay legible.
  const cell = Math.max(10, Math.min(52, Math.floor(600 / n)));
  const showCounts = cell >= 22;
  const labels = classes.map((c) => truncate(c, LABEL_CHARS));
  const labelW = Math.max(...labels.map((l) => l.length)) * CHAR_W + 12;
  const showLabels = cell >= 12;
  const left = 26 + (showLabels ? labelW : 0);
  // Column labels are rotated 45° (they rise and reach right by about their width / √2), or stand upright
  // when cells are too narrow for slanted labels not to overlap (their spacing across the slant is cell / √2).
  const upright = cell < 24;
  const rise = !showLabels ? 0 : upright ? labelW : Math.ceil(labelW * 0.72);
  const top = 26 + rise;
  const width = left + n * cell + (showLabels && !upright ? Math.max(8, rise - cell / 2) : 8);
  const labelSize = Math.min(12, cell - 2);
  const height = top + n * cell + 8;
  const fontSize = Math.min(13, Math.max(9, Math.floor(cell / 3.2)));

  const out: string[] = [];
  for (let t = 0; t < n; t++) {
    const row = matrix[t];
    const total = row.reduce((s, v) => s + v, 0);
    for (let p = 0; p < n; p++) {
      const c = row[p] ?? 0;
      const share = total > 0 ? c / total : 0;
      const x = left + p * cell;
      const y = top + t * cell;
      const tip = `true ${classes[t]} → predicted ${classes[p]}: ${count(c)}` + (total > 0 ? ` (${(share * 100).toFixed(1)}% of row)` : '');
      out.push(
        `<g><title>${esc(tip)}</title><rect x="${x}" y="${y}" width="${cell}" height="${cell}" fill="${heat(share)}" stroke="#fff"/>`,
      );
      if (showCounts && c > 0) {
        out.push(
          // Classes, not fill attributes: the page's `.chart text` rule would override a presentation attribute.
          `<text x="${r1(x + cell / 2)}" y="${r1(y + cell / 2)}" dy="0.35em" text-anchor="middle" font-size="${fontSize}" ` +
            `class="cell${share > 0.5 ? ' on-dark' : ''}${t === p ? ' diag' : ''}">${esc(count(c))}</text>`,
        );
      }
      out.push('</g>');
    }
  }
  if (showLabels) {
    labels.forEach((l, i) => {
      const mid = r1(top + i * cell + cell / 2);
      const tip = `<title>${esc(classes[i])}</title>`;
      out.push(`<text x="${left - 6}" y="${mid}" dy="0.32em" text-anchor="end" class="tick" style="font-size:${labelSize}px">${tip}${esc(l)}</text>`);
      const cx = r1(left + i * cell + cell / 2);
      const turn = upright ? `rotate(-90) translate(0 ${r1(labelSize * 0.35)})` : 'rotate(-45)';
      out.push(`<text transform="translate(${cx} ${top - 6}) ${turn}" class="tick" style="font-size:${labelSize}px">${tip}${esc(l)}</text>`);
    });
  }
  out.push(
    `<text x="${r1(left + (n * cell) / 2)}" y="14" text-anchor="middle" class="axis-label">predicted class</text>` +
      `<text transform="translate(14 ${r1(top + (n * cell) / 2)}) rotate(-90)" text-anchor="middle" class="axis-label">true class</text>`,
  );
  return (
    `<svg class="chart" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" ` +
    `aria-label="Confusion matrix">${out.join('')}</svg>`
  );
}

/** White → deep blue, with a faint tint for any non-zero share so single mistakes stay visible. */
function heat(share: number): string {
  if (share <= 0) return '#f8fafc';
  const t = 0.08 + 0.92 * Math.min(1, share);
  const from = [239, 246, 255];
  const to = [30, 64, 175];
  const c = from.map((f, i) => Math.round(f + (to[i] - f) * Math.sqrt(t)));
  return `rgb(${c[0]} ${c[1]} ${c[2]})`;
}
