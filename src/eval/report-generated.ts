/**
 * The report's section on generated samples (src/generate): a gallery per class, the quality measures
 * (CAS, Fréchet distance and k-NN precision/recall in the SSL encoder's feature space), and, when a classifier
 * trained with them, how many of each class the filter kept and training used. Drawn only when the report
 * input has `generated`. The images are the generated PNGs themselves, inlined as data: URIs (the page's CSP
 * allows images from data: only).
 */
import { count, esc, num, pct } from './format.js';

export interface GeneratedMetricsReport {
  /** Classification accuracy score: test accuracy of a classifier trained on generated samples only. */
  cas?: number;
  /** Optimizer steps of CAS's classifier (too few and the report says it was not trained). */
  casSteps?: number;
  fd: number;
  precision: number;
  recall: number;
  /** Neighbours of the precision/recall balls. */
  k: number;
  /** Samples whose features the FD and precision/recall compare. */
  realSamples: number;
  generatedSamples: number;
  /** The SSL encoder the features come from. */
  encoder: string;
}

export interface GeneratedReport {
  model: string;
  folder: string;
  /** Samples in the folder. */
  samples: number;
  /** A few samples per class: class index and PNG data: URIs. */
  gallery: { label: number; images: string[] }[];
  metrics?: GeneratedMetricsReport;
  /** How a classifier trained with them used them (filter kept / used per class, in class order). */
  use?: { filter: string; ratio: number; available: number[]; kept: number[]; used: number[] };
}

/** Said wherever the measures are shown (also in src/generate/metrics.ts and docs/generative-metrics.md). */
export const NOT_INCEPTION_NOTE =
  "FD, precision and recall are measured in this run's own SSL encoder feature space, not Inception-v3's: they are not comparable with Inception-based FID or published precision/recall, only between generators on the same data and encoder.";

/** Problems with the section's input, as messages (the report's input check raises them). */
export function generatedReportProblems(g: GeneratedReport, nClasses: number): string[] {
  const out: string[] = [];
  for (const item of g.gallery) {
    if (!Number.isInteger(item.label) || item.label < 0 || item.label >= nClasses) out.push(`generated gallery of class ${item.label}: there are ${nClasses} classes`);
    if (item.images.some((src) => !src.startsWith('data:image/png;base64,'))) out.push('generated gallery images must be PNG data: URIs');
  }
  if (g.use) for (const [k, v] of Object.entries({ available: g.use.available, kept: g.use.kept, used: g.use.used })) if (v.length !== nClasses) out.push(`generated ${k} has ${v.length} counts for ${nClasses} classes`);
  return out;
}

export function generatedSectionHtml(g: GeneratedReport, classes: string[], card: (id: string, title: string, sub: string, body: string) => string): string {
  const rows = g.gallery
    .map(
      (item) =>
        `<div class="gen-row"><div class="gen-class">${esc(classes[item.label])}</div><div class="gen-images">` +
        item.images.map((src) => `<img src="${src}" width="56" height="56" alt="generated ${esc(classes[item.label])}">`).join('') +
        '</div></div>',
    )
    .join('');
  const parts = [`<div class="gen-gallery">${rows}</div>`];
  const m = g.metrics;
  if (m) {
    const row = (name: string, value: string, what: string) => `<tr><td>${name}</td><td class="num">${value}</td><td class="notes">${what}</td></tr>`;
    parts.push(
      '<div class="table-wrap"><table><thead><tr><th>Measure</th><th class="num">Value</th><th>What it says</th></tr></thead><tbody>' +
        (m.cas === undefined ? '' : row('CAS', pct(m.cas), 'test accuracy of a classifier trained on generated samples only (Ravuri &amp; Vinyals 2019); higher is better')) +
        row('Fréchet distance', num(m.fd), 'between Gaussians fitted to real and generated features; lower is better') +
        row('Precision', pct(m.precision), `share of generated samples inside the real samples' ${m.k}-NN manifold (Kynkäänniemi et al. 2019): fidelity`) +
        row('Recall', pct(m.recall), `share of real samples inside the generated samples' ${m.k}-NN manifold: coverage`) +
        '</tbody></table></div>',
      `<p class="sub gen-note">Features: ${esc(m.encoder)}, ${count(m.realSamples)} real and ${count(m.generatedSamples)} generated samples. ${esc(NOT_INCEPTION_NOTE)}</p>`,
    );
  }
  const u = g.use;
  if (u) {
    const body = classes.map((c, i) => `<tr><td class="class-name">${esc(c)}</td><td class="num">${count(u.available[i])}</td><td class="num">${count(u.kept[i])}</td><td class="num">${count(u.used[i])}</td></tr>`).join('');
    parts.push(
      `<div class="table-wrap"><table><thead><tr><th>Class</th><th class="num">Generated</th><th class="num">Kept (${esc(u.filter)} filter)</th><th class="num">Used in training</th></tr></thead><tbody>${body}</tbody></table></div>`,
    );
  }
  const sub = `${count(g.samples)} samples from the ${esc(g.model)} generator in ${esc(g.folder)}; up to ${count(Math.max(0, ...g.gallery.map((x) => x.images.length)))} per class shown.`;
  return card('generated', 'Generated samples', sub, parts.join(''));
}

/** The headline of a report about generated samples alone (no classifier trained: CAS skipped). */
export function generatedHeadlineHtml(g: GeneratedReport): string {
  const m = g.metrics!;
  return `${count(g.samples)} <strong>${esc(g.model)}</strong> samples: precision <strong>${pct(m.precision)}</strong>, recall <strong>${pct(m.recall)}</strong>, FD ${num(m.fd)} in the SSL encoder's feature space (not comparable with Inception-based FID).`;
}

export const GENERATED_CSS = `
.gen-row { display: flex; align-items: center; gap: 12px; padding: 4px 0; border-bottom: 1px solid var(--line); }
.gen-class { flex: 0 0 120px; font-size: 13px; overflow-wrap: anywhere; }
.gen-images { display: flex; flex-wrap: wrap; gap: 4px; }
.gen-images img { image-rendering: pixelated; border-radius: 3px; background: #000; }
`;
