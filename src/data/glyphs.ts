/**
 * `glyphs`: synthetic 28x28 grayscale digits '0'..'9' rendered with the fonts installed on this machine (fontconfig's
 * list; scripts/setup.sh installs a spread of Debian font packages: serif, sans, mono, script and handwriting-like),
 * each with a random size, aspect, stroke weight, rotation, shear, shift, contrast and noise. White on black, like
 * MNIST, but the shapes come from type designers rather than pens, and a flip turns most digits into non-digits:
 * a dataset where the horizontal flip that suits Fashion-MNIST is wrong.
 *
 * Train and test are split by font family (a family's bold and italic go with it): the test set measures
 * recognition of unseen type designs, not of unseen jitter of seen ones.
 *
 * Speed: each (font, digit) is rendered once by sharp (pango + freetype) at 64 px, thickened or thinned once per
 * stroke weight, and every sample is an affine warp of that master in plain TypeScript (2x2 supersampled bilinear),
 * so 70,000 images take seconds, not the minutes a render per image would.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { Rng } from '../engine/seed.js';
import { UlearnError } from '../errors.js';
import type { DatasetSplits } from './dataset.js';
import { balancedLabels, loadSynthetic, type BuiltDataset, type BuiltSplit, type SyntheticOptions, type SyntheticSpec } from './synthetic.js';

export const GLYPH_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
const SIZE = 28;
/** Master render size in points at 72 dpi (so pixels): large enough that the 28 px samples are downsampled. */
const MASTER_PT = 64;
/** Stroke changes in master pixels: erode 1, as drawn, dilate 1..3 (about -0.4 to +1.3 px at 28 px). */
const STROKES = [-1, 0, 1, 2, 3];
/** Fonts without digits of their own (symbols, dingbats, maths), which fontconfig would fill from another font. */
const EXCLUDE = /symbol|dingbat|D050000L|math|emoji|awesome|icons?\b|braille/i;
/** Width and weight words dropped from a family name to get its design family (for the split). */
const VARIANT_WORDS = /\s+(narrow|condensed|semicondensed|light|extralight|thin|medium|book|demi|extra|bold|black|heavy|mono|smallcaps|ps)$/i;

export interface FontFace {
  family: string;
  style: string;
  file: string;
  /** Design family: the family name without width/weight words; the unit of the train/test split. */
  group: string;
}

/** The outline fonts fontconfig knows, with digits of their own; sorted by file so the order is stable. */
export async function listFonts(): Promise<FontFace[]> {
  let out: string;
  try {
    ({ stdout: out } = await promisify(execFile)('fc-list', ['--format', '%{family[0]}\t%{style[0]}\t%{file}\n', ':outline=true:charset=30-39'], { maxBuffer: 16 << 20 }));
  } catch (e) {
    throw new UlearnError(`glyphs: cannot list fonts with fc-list (${(e as Error).message.split('\n')[0]})`, {
      code: 'E_DATA_MISSING',
      hint: 'install fontconfig and some fonts: apt-get install fontconfig fonts-dejavu-core fonts-liberation (scripts/setup.sh installs a wider spread)',
    });
  }
  const seen = new Set<string>();
  const fonts: FontFace[] = [];
  for (const line of out.split('\n')) {
    const [family, style, file] = line.split('\t');
    // Type 1 (.t1, .pfb) copies duplicate the OpenType files of the same fonts (fonts-urw-base35 ships both).
    if (!family || !file || !/\.(ttf|otf|ttc)$/i.test(file) || EXCLUDE.test(family) || EXCLUDE.test(file)) continue;
    const id = `${family}\t${style}`;
    if (seen.has(id)) continue;
    seen.add(id);
    let group = family.trim();
    for (let prev = ''; prev !== group; ) [prev, group] = [group, group.replace(VARIANT_WORDS, '')];
    fonts.push({ family, style: style ?? 'Regular', file, group });
  }
  fonts.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.style < b.style ? -1 : 1));
  return fonts;
}

/** One rendered glyph: ink in [0, 1], cropped to its ink box plus a margin for thickening. */
interface Master {
  data: Float32Array;
  w: number;
  h: number;
  /** Ink box centre and size, in this master's pixels. */
  cx: number;
  cy: number;
  bw: number;
  bh: number;
}

const MARGIN = 4;

async function renderMaster(font: FontFace, ch: string): Promise<Master | undefined> {
  // "Family, Style size": the comma ends the family list, so a family name with a style-like word stays whole.
  const { data, info } = await sharp({ text: { text: ch, font: `${font.family}, ${font.style} ${MASTER_PT}`, fontfile: font.file, dpi: 72 } })
    .extractChannel(0)
    .raw()
    .toBuffer({ resolveWithObject: true });
  const { width: w, height: h } = info;
  let x0 = w;
  let y0 = h;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (data[y * w + x] > 32) {
        x0 = Math.min(x0, x);
        x1 = Math.max(x1, x);
        y0 = Math.min(y0, y);
        y1 = Math.max(y1, y);
      }
    }
  }
  if (x1 < 0) return undefined;
  const mw = x1 - x0 + 1 + 2 * MARGIN;
  const mh = y1 - y0 + 1 + 2 * MARGIN;
  const out = new Float32Array(mw * mh);
  for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) out[(y - y0 + MARGIN) * mw + (x - x0 + MARGIN)] = data[y * w + x] / 255;
  return { data: out, w: mw, h: mh, cx: mw / 2, cy: mh / 2, bw: x1 - x0 + 1, bh: y1 - y0 + 1 };
}

/** 3x3 max (grow > 0) or min (grow < 0) filter applied |grow| times: thicker or thinner strokes. */
function restroke(m: Master, grow: number): Master {
  let cur = m.data;
  const { w, h } = m;
  for (let it = 0; it < Math.abs(grow); it++) {
    const next = new Float32Array(w * h);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        let v = grow > 0 ? 0 : 1;
        for (let dy = -1; dy <= 1; dy++) {
          for (let dx = -1; dx <= 1; dx++) {
            const yy = y + dy;
            const xx = x + dx;
            const s = yy < 0 || yy >= h || xx < 0 || xx >= w ? 0 : cur[yy * w + xx];
            v = grow > 0 ? Math.max(v, s) : Math.min(v, s);
          }
        }
        next[y * w + x] = v;
      }
    }
    cur = next;
  }
  // Thinning a hairline font erases it; such glyphs keep their drawn stroke.
  if (grow < 0 && inkSum(cur) < 0.5 * inkSum(m.data)) return m;
  return { ...m, data: cur, bw: Math.max(1, m.bw + 2 * grow), bh: Math.max(1, m.bh + 2 * grow) };
}

function inkSum(a: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s;
}

function bilinear(m: Master, x: number, y: number): number {
  // Pixel centres at integer + 0.5; outside the master is background.
  const fx = x - 0.5;
  const fy = y - 0.5;
  const x0 = Math.floor(fx);
  const y0 = Math.floor(fy);
  if (x0 < -1 || y0 < -1 || x0 >= m.w || y0 >= m.h) return 0;
  const ax = fx - x0;
  const ay = fy - y0;
  const { data, w, h } = m;
  const inX0 = x0 >= 0;
  const inX1 = x0 + 1 < w;
  const r0 = y0 >= 0 ? y0 * w : -1;
  const r1 = y0 + 1 < h ? (y0 + 1) * w : -1;
  const v00 = r0 >= 0 && inX0 ? data[r0 + x0] : 0;
  const v01 = r0 >= 0 && inX1 ? data[r0 + x0 + 1] : 0;
  const v10 = r1 >= 0 && inX0 ? data[r1 + x0] : 0;
  const v11 = r1 >= 0 && inX1 ? data[r1 + x0 + 1] : 0;
  return (1 - ay) * ((1 - ax) * v00 + ax * v01) + ay * ((1 - ax) * v10 + ax * v11);
}

/** Draws one sample's parameters and renders it into out[offset .. offset + 784). */
function renderSample(m: Master, rng: Rng, out: Uint8Array, offset: number): void {
  const u = (lo: number, hi: number) => lo + (hi - lo) * rng.random();
  const size = u(14, 24); // longer side of the ink box, in output pixels (MNIST: 20 in a 28 box)
  const aspect = Math.exp(u(Math.log(0.8), Math.log(1.25)));
  const theta = (u(-15, 15) * Math.PI) / 180;
  const shear = u(-0.2, 0.2);
  const k = size / Math.max(m.bw * aspect, m.bh);
  const sx = k * aspect;
  const sy = k;
  // Forward map (master offset -> output offset): R(theta) . [[1, shear], [0, 1]] . diag(sx, sy).
  const c = Math.cos(theta);
  const s = Math.sin(theta);
  const a = c * sx;
  const b = (c * shear - s) * sy;
  const cc = s * sx;
  const d = (s * shear + c) * sy;
  const det = a * d - b * cc;
  const [ia, ib, ic, id] = [d / det, -b / det, -cc / det, a / det];
  // Shift the centre so the box stays (mostly) in frame.
  const room = Math.max(0, (SIZE - size) / 2);
  const ox = SIZE / 2 + u(-1, 1) * Math.min(3, room);
  const oy = SIZE / 2 + u(-1, 1) * Math.min(3, room);
  const fg = u(0.7, 1);
  const bg = u(0, 0.15);
  const sigma = rng.random() < 0.5 ? 0 : u(0, 0.08);
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      let ink = 0;
      // 2x2 supersampling: the master is about twice the output's resolution.
      for (let k = 0; k < 4; k++) {
        const dx = x + (k & 1 ? 0.75 : 0.25) - ox;
        const dy = y + (k & 2 ? 0.75 : 0.25) - oy;
        ink += bilinear(m, m.cx + ia * dx + ib * dy, m.cy + ic * dx + id * dy);
      }
      let v = bg + (fg - bg) * (ink / 4);
      if (sigma > 0) v += sigma * rng.normal();
      out[offset + y * SIZE + x] = Math.round(255 * Math.min(1, Math.max(0, v)));
    }
  }
}

export interface GlyphFonts {
  fonts: FontFace[];
  /** masters[font][digit] */
  masters: Master[][];
  /** Fonts dropped: duplicates of another font's glyphs (a style fontconfig could not match), or empty. */
  dropped: { font: string; why: string }[];
}

async function renderFonts(fonts: FontFace[]): Promise<GlyphFonts> {
  const kept: FontFace[] = [];
  const masters: Master[][] = [];
  const dropped: GlyphFonts['dropped'] = [];
  const seen = new Map<string, string>();
  for (const font of fonts) {
    const name = `${font.family} ${font.style}`;
    const ms: Master[] = [];
    const hash = createHash('sha256');
    for (const ch of GLYPH_CLASSES) {
      const m = await renderMaster(font, ch);
      if (!m) break;
      ms.push(m);
      hash.update(`${m.w}x${m.h};`).update(new Uint8Array(m.data.buffer));
    }
    if (ms.length < GLYPH_CLASSES.length) {
      dropped.push({ font: name, why: 'a digit rendered empty' });
      continue;
    }
    const h = hash.digest('hex');
    const twin = seen.get(h);
    if (twin !== undefined) {
      dropped.push({ font: name, why: `renders the same digits as ${twin}` });
      continue;
    }
    seen.set(h, name);
    kept.push(font);
    masters.push(ms);
  }
  return { fonts: kept, masters, dropped };
}

/**
 * Design families for test, by seed: families are shuffled and moved to test until test holds at least a fifth of
 * the fonts (at least one family each side).
 */
export function splitFamilies(fonts: readonly FontFace[], seed: number): { train: number[]; test: number[]; testGroups: string[] } {
  const groups = [...new Set(fonts.map((f) => f.group))].sort();
  if (groups.length < 2) {
    throw new UlearnError(`glyphs: found ${groups.length} font famil${groups.length === 1 ? 'y' : 'ies'}; need at least 2 to keep test fonts out of training`, {
      code: 'E_DATA_MISSING',
      hint: 'install more fonts (bash scripts/setup.sh installs a spread of Debian font packages)',
    });
  }
  const order = new Rng(seed).fork('glyph-split').shuffle(groups.slice());
  const testGroups = new Set<string>();
  let testFonts = 0;
  for (const g of order) {
    if (testFonts >= fonts.length / 5 || testGroups.size === groups.length - 1) break;
    testGroups.add(g);
    testFonts += fonts.filter((f) => f.group === g).length;
  }
  const train: number[] = [];
  const test: number[] = [];
  fonts.forEach((f, i) => (testGroups.has(f.group) ? test : train).push(i));
  return { train, test, testGroups: [...testGroups].sort() };
}

async function buildGlyphs(params: { perClass: number; testPerClass: number; seed: number }, log: (l: string) => void): Promise<BuiltDataset> {
  const t0 = Date.now();
  const rendered = await renderFonts(await listFonts());
  log(`glyphs: rendered ${rendered.fonts.length} fonts x 10 digits in ${((Date.now() - t0) / 1000).toFixed(1)} s (${rendered.dropped.length} dropped)`);
  const split = splitFamilies(rendered.fonts, params.seed);
  const strokeCache = new Map<string, Master>();
  const master = (f: number, digit: number, stroke: number): Master => {
    const key = `${f}/${digit}/${stroke}`;
    let m = strokeCache.get(key);
    if (!m) strokeCache.set(key, (m = restroke(rendered.masters[f][digit], stroke)));
    return m;
  };
  const rng = new Rng(params.seed);
  const make = (which: 'train' | 'test', perClass: number, fontIds: number[]): BuiltSplit => {
    const r = rng.fork(`glyphs-${which}`);
    const labels = balancedLabels(GLYPH_CLASSES.length, perClass, (a) => r.shuffle(a));
    const pixels = new Uint8Array(labels.length * SIZE * SIZE);
    const groups: number[] = [];
    labels.forEach((digit, i) => {
      const f = fontIds[r.int(fontIds.length)];
      groups.push(f);
      renderSample(master(f, digit, STROKES[r.int(STROKES.length)]), r, pixels, i * SIZE * SIZE);
    });
    return { pixels, labels: Uint8Array.from(labels), groups };
  };
  const train = make('train', params.perClass, split.train);
  const test = make('test', params.testPerClass, split.test);
  log(`glyphs: ${train.labels.length} train images (${split.train.length} fonts), ${test.labels.length} test images (${split.test.length} fonts of ${split.testGroups.length} families)`);
  return {
    shape: [SIZE, SIZE, 1],
    classes: GLYPH_CLASSES,
    train,
    test,
    info: {
      fonts: rendered.fonts.map((f, i) => ({ ...f, split: split.test.includes(i) ? 'test' : 'train' })),
      testFamilies: split.testGroups,
      dropped: rendered.dropped,
      renderer: `sharp ${sharp.versions.sharp}, pango ${sharp.versions.pango ?? '?'}, freetype ${sharp.versions.freetype ?? '?'}`,
    },
  };
}

export const GLYPHS: SyntheticSpec = {
  name: 'glyphs',
  version: 1,
  defaults: { perClass: 6000, testPerClass: 1000 },
  // The pixels depend on which font files are installed (and their bytes) and on the text stack's versions.
  async fingerprint() {
    const fonts = await listFonts();
    const sizes = await Promise.all(fonts.map(async (f) => (await stat(f.file)).size));
    const v = sharp.versions;
    return JSON.stringify({ fonts: fonts.map((f, i) => `${f.file}:${sizes[i]}:${f.family}:${f.style}`), text: [v.sharp, v.vips, v.pango, v.freetype, v.harfbuzz] });
  },
  build: buildGlyphs,
};

export function loadGlyphs(opts: SyntheticOptions = {}): Promise<DatasetSplits> {
  return loadSynthetic(GLYPHS, opts);
}
