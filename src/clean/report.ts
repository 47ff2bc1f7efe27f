/**
 * report.html for `ulearn clean`: one self-contained page (thumbnails inlined as PNG data URIs, the shared
 * report stylesheet, no scripts) with a summary table and, per check, the worst examples: duplicates next to
 * the copy that is kept, label errors with the given and the suggested class, corrupt files with the reason.
 */
import sharp from 'sharp';
import { writeFileAtomic } from '../util/atomic.js';
import { REPORT_CSS } from '../eval/report-style.js';
import { count, dateText, duration, esc, num } from '../eval/format.js';
import type { Manifest } from '../data/manifest.js';
import { SPLIT_NAMES, type CheckResult, type ImageSamples } from './types.js';

/** Examples shown per check. */
const EXAMPLES = 24;
const THUMB_PX = 64;

export const EXTRA_CSS = `
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 12px; }
.ex { border: 1px solid var(--line); border-radius: 8px; padding: 8px; font-size: 12px; color: var(--ink2); overflow-wrap: anywhere; }
.ex .pics { display: flex; gap: 6px; margin-bottom: 6px; }
.ex img { width: ${THUMB_PX}px; height: ${THUMB_PX}px; image-rendering: pixelated; border-radius: 4px; background: #000; }
.ex .id { color: var(--ink); font-weight: 600; }
.ex .none { width: ${THUMB_PX}px; height: ${THUMB_PX}px; display: flex; align-items: center; justify-content: center; background: #fee2e2; color: var(--bad); border-radius: 4px; font-weight: 600; }
.pill { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 12px; font-weight: 600; }
.pill.exclude { background: #fee2e2; color: var(--bad); }
.pill.unlabel { background: #fef3c7; color: #92400e; }
.pill.none { background: #e5e7eb; color: var(--ink2); }
`;

export async function writeCleanReport(path: string, s: ImageSamples, results: CheckResult[], manifest: Manifest, run: { seconds_before_writing: number }): Promise<void> {
  const view: ExampleView = { thumb: (i) => thumb(s, i), name: (i) => `${SPLIT_NAMES[s.split[i]]}/${s.ids[i]}` };
  const sections: string[] = [];
  for (const r of results) sections.push(await checkSection(s, r, view));
  const html = cleanPage({
    kicker: 'ulearn clean',
    source: s.source,
    meta: [
      ['Samples', count(s.ids.length)],
      ['Shape', `${s.storedHeight}×${s.storedWidth}×${s.channels}`],
      ['Classes', String(s.classes.length)],
    ],
    seconds: run.seconds_before_writing,
    results,
    manifest,
    noun: 'samples',
    checksSub: 'Excluded samples are left out by later steps that read manifest.json; "label removed" keeps the image as unlabeled data. Your files are not changed.',
    sections,
    footer: 'issues.json holds every flagged sample; manifest.json / manifest.csv say what later steps use.',
  });
  await writeFileAtomic(path, html);
}

/**
 * The page around the per-check sections, for images and audio alike: a header with `meta` (label, HTML value)
 * pairs and the manifest's counts, the headline, the table of checks. `checksSub` is HTML; `afterHeadline` too.
 */
export function cleanPage(o: {
  kicker: string;
  source: string;
  meta: [string, string][];
  seconds: number;
  results: CheckResult[];
  manifest: Manifest;
  noun: string;
  checksSub: string;
  sections: string[];
  footer: string;
  css?: string;
  afterHeadline?: string;
}): string {
  const c = o.manifest.counts;
  const meta: [string, string][] = [...o.meta, ['Kept', count(c.keep)], ['Excluded', count(c.exclude)], ['Label removed', count(c.unlabel)], ['Time', duration(o.seconds)], ['Created', esc(dateText(o.manifest.created))]];
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ulearn clean: ${esc(o.source)}</title>
<style>${REPORT_CSS}${EXTRA_CSS}${o.css ?? ''}</style>
</head>
<body><main>
<header><div class="kicker">${esc(o.kicker)}</div><h1>Data quality: ${esc(o.source)}</h1><dl class="meta">
${meta.map(([dt, dd]) => `<div><dt>${esc(dt)}</dt><dd>${dd}</dd></div>`).join('\n')}
</dl></header>
<p class="headline">${headline(o.results, c, o.noun)}</p>
${o.afterHeadline ?? ''}
${checksTable(o.results, o.checksSub)}
${o.sections.join('\n')}
<footer>${esc(o.footer)}</footer>
</main></body></html>
`;
}

/**
 * The report's table of checks, one row per result (image and table reports alike). A column check (a table's
 * constant columns...) flags no sample: its count is of columns (`summary.flagged_columns`). `sub` is HTML.
 */
export function checksTable(results: CheckResult[], sub: string): string {
  const flagged = (r: CheckResult) => (r.skipped ? '—' : typeof r.summary.flagged_columns === 'number' ? `${count(r.summary.flagged_columns)} col.` : count(Number(r.summary.flagged ?? 0)));
  return `<section class="card"><h2>Checks</h2><p class="sub">${sub}</p>
<div class="scroll"><table><thead><tr><th>Check</th><th class="num">Flagged</th><th>Manifest</th><th>Meaning</th></tr></thead><tbody>
${results.map((r) => `<tr><td><a href="#${r.name}">${esc(r.name)}</a></td><td class="num">${flagged(r)}</td><td><span class="pill ${r.action}">${r.action === 'none' ? 'report only' : r.action === 'unlabel' ? 'remove label' : 'exclude'}</span></td><td class="notes">${esc(r.skipped ? `not run: ${r.skipped}` : r.description)}</td></tr>`).join('\n')}
</tbody></table></div></section>`;
}

export function headline(results: CheckResult[], c: Manifest['counts'], noun = 'samples'): string {
  const parts = results.filter((r) => !r.skipped && Number(r.summary.flagged ?? 0) > 0).map((r) => `<strong>${count(Number(r.summary.flagged))}</strong> ${esc(r.name.replaceAll('_', ' '))}`);
  if (parts.length === 0) return 'No issues found.';
  return `Found ${parts.join(', ')}. The manifest keeps <strong>${count(c.keep)}</strong> ${noun}, excludes <strong>${count(c.exclude)}</strong> and removes <strong>${count(c.unlabel)}</strong> labels.`;
}

/** How a report shows one sample: its picture (HTML) and its name (split/id). */
export interface ExampleView {
  thumb(i: number): Promise<string> | string;
  name(i: number): string;
  /** Extra class of every example card ('wide' for spectrograms). */
  cardClass?: string;
}

/**
 * One check's section: its description and summary, then its highest-scoring flagged samples, a duplicate beside
 * the copy that is kept (`related`). Images and audio alike; `view` draws the samples.
 */
export async function checkSection(s: Pick<ImageSamples, 'classes'>, r: CheckResult, view: ExampleView): Promise<string> {
  const head = `<section class="card" id="${esc(r.name)}"><h2>${esc(r.name.replaceAll('_', ' '))}</h2><p class="sub">${esc(r.description)}${summaryText(r)}</p>`;
  if (r.name === 'class_imbalance') return `${head}${imbalanceTable(s, r)}</section>`;
  if (r.skipped) return `${head}<p class="empty">Not run: ${esc(r.skipped)}.</p></section>`;
  const flagged: number[] = [];
  for (let i = 0; i < r.flags.length; i++) if (r.flags[i]) flagged.push(i);
  if (flagged.length === 0) return `${head}<p class="empty">Nothing flagged.</p></section>`;
  flagged.sort((a, b) => (Number.isNaN(r.scores[b]) ? -1 : r.scores[b]) - (Number.isNaN(r.scores[a]) ? -1 : r.scores[a]));
  const shown = pickExamples(flagged, r.scores);
  const cards: string[] = [];
  for (const i of shown) {
    const related = r.related && r.related[i] >= 0 && r.name !== 'label_error' ? r.related[i] : -1;
    const pics = [await view.thumb(i), ...(related >= 0 ? [await view.thumb(related)] : [])];
    // A duplicate's reason only repeats the kept sample's name: show that once.
    const text = related >= 0 ? `kept: ${view.name(related)}` : r.reason ? r.reason(i) : r.name;
    cards.push(`<div class="ex${view.cardClass ? ` ${view.cardClass}` : ''}"><div class="pics">${pics.join('')}</div><div class="id">${esc(view.name(i))}</div><div>${esc(text)}</div></div>`);
  }
  const more = flagged.length > shown.length ? `<p class="sub">Showing the ${shown.length} highest-scoring of ${count(flagged.length)}; issues.json lists all.</p>` : '';
  return `${head}<div class="grid">${cards.join('\n')}</div>${more}</section>`;
}

/**
 * The highest-scoring examples; when more than fit share the top score (every exact duplicate scores 1), an
 * even spread over them instead of the first few in path order, which would all come from one class folder.
 */
export function pickExamples(sorted: number[], scores: Float32Array): number[] {
  if (sorted.length <= EXAMPLES) return sorted;
  const top = scores[sorted[0]];
  let tied = 0;
  while (tied < sorted.length && (scores[sorted[tied]] === top || (Number.isNaN(top) && Number.isNaN(scores[sorted[tied]])))) tied++;
  if (tied <= EXAMPLES) return sorted.slice(0, EXAMPLES);
  return Array.from({ length: EXAMPLES }, (_, k) => sorted[Math.floor((k * tied) / EXAMPLES)]);
}

export function summaryText(r: CheckResult): string {
  const bits: string[] = [];
  for (const key of ['threshold', 'fence', 'vote_accuracy', 'groups', 'groups_across_splits', 'imbalance_ratio']) {
    const v = r.summary[key];
    if (typeof v === 'number') bits.push(`${key.replaceAll('_', ' ')} ${num(v)}`);
  }
  return bits.length ? ` (${esc(bits.join(', '))})` : '';
}

/** Samples per class and split (images and audio alike). */
export function imbalanceTable(s: Pick<ImageSamples, 'classes'>, r: CheckResult): string {
  const counts = (r.summary.counts ?? {}) as Record<string, Record<string, number>>;
  const splits = Object.keys(counts);
  if (splits.length === 0) return '<p class="empty">No labeled samples.</p>';
  const max = Math.max(1, ...s.classes.map((c) => counts.train?.[c] ?? 0));
  const rows = s.classes.map((c) => {
    const tr = counts.train?.[c] ?? 0;
    return `<tr><td class="class-name">${esc(c)}</td>${splits.map((sp) => `<td class="num${sp === 'train' ? ' bar' : ''}"${sp === 'train' ? ` style="--w: ${((100 * tr) / max).toFixed(1)}%"` : ''}>${count(counts[sp]?.[c] ?? 0)}</td>`).join('')}</tr>`;
  });
  return `<div class="scroll"><table><thead><tr><th>Class</th>${splits.map((sp) => `<th class="num">${esc(sp)}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table></div>`;
}

async function thumb(s: ImageSamples, i: number): Promise<string> {
  if (!s.readable[i]) return '<span class="none">?</span>';
  const per = s.height * s.width * s.channels;
  const png = await sharp(Buffer.from(s.pixels.buffer, s.pixels.byteOffset + i * per, per), { raw: { width: s.width, height: s.height, channels: s.channels as 1 | 3 } })
    .resize({ width: Math.min(s.width, 128), height: Math.min(s.height, 128), fit: 'inside' })
    .png()
    .toBuffer();
  return `<img alt="${esc(s.ids[i])}" src="data:image/png;base64,${png.toString('base64')}">`;
}
