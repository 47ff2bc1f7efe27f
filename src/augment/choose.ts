/**
 * Augmentations chosen from the data instead of assumed: a transform is used for training only if the few
 * labeled images still look like their own class after it.
 *
 * The probe: leave-one-out 1-nearest-neighbour on the labeled images (cosine similarity of orientation histograms).
 * For each labeled image x, "base" asks whether x's nearest other labeled image has x's label; for a transform T,
 * "kept" asks whether T(x)'s nearest other labeled image has x's label. A transform that preserves the class keeps
 * about the base accuracy (a flipped sandal still resembles sandals more than shirts); one that destroys it
 * (a flipped 3, an upside-down triangle that becomes another class) falls toward chance. The score is the
 * retained share of above-chance accuracy, retention = (kept - chance) / (base - chance).
 *
 * Thresholds differ by transform because the defaults are priors the data must argue against: horizontal flips
 * stay on unless less than half the accuracy survives them; vertical flips (off in every preset: most classes
 * have an up) come on only if 90% survives. Measured at 10 and 30 labels per class, seeds 0-3 (2026-11-30):
 * horizontal-flip retention was 0.66-0.86 on Fashion-MNIST, 0.17-0.35 on glyphs, 0.58-1.45 on shapes; vertical
 * 0.20-0.52, 0.15-0.29 and 0.31-0.69 (shapes' vertical mirror pairs leave 6 of 10 classes intact).
 *
 * Pixel-space 1-NN is crude, but it needs no model, runs in well under a second on hundreds of labels, and
 * measures the property that matters: whether the transform moves an image toward its own class or another.
 * Crops are judged the same way at fixed area fractions (two crops per image): the chosen crop scale is the
 * smallest tried (0.2, 0.35, 0.5) whose retention is at least 0.15. Crops much smaller than the object change any
 * pixel-level neighbour, so retention falls fast on every dataset (at area 0.2, 10 labels per class, seeds 0-2:
 * 0.22-0.26 on Fashion-MNIST, 0.04-0.08 on glyphs, 0.02-0.23 on shapes) and the measurement is noisy; the low bar
 * keeps SimCLR-style crops (Fashion-MNIST's tuned 0.2) unless a small crop rarely points to its class at all, as
 * for digits, where a fifth of a 3 is a stroke any digit has.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../engine/seed.js';
import { UlearnError } from '../errors.js';
import { boxesToNormalized, cropResize, sampleCropBox } from './crop.js';
import { mirrorWidth } from './flip.js';

export interface AugmentChoice {
  /** Horizontal flips in every augmentation (SSL views, fine-tuning, FixMatch). */
  flip: boolean;
  /** Vertical flips (only added where flip is, and only when the data allows them). */
  verticalFlip: boolean;
  /** Random-resized-crop area range for SSL views. */
  cropScale: [number, number];
}

export interface ProbeResult {
  /** Accuracy of the transformed images' nearest labeled neighbour (other than themselves). */
  acc: number;
  /** (acc - chance) / (base - chance). */
  retention: number;
}

export interface AugmentEvidence {
  labeled: number;
  classes: number;
  /** Leave-one-out 1-NN accuracy of the untransformed labeled images. */
  base: number;
  chance: number;
  /** The retention each decision needed. */
  thresholds: { hflip: number; vflip: number; crop: number };
  hflip: ProbeResult;
  vflip: ProbeResult;
  /** By area fraction, e.g. { '0.2': {...}, '0.35': {...} }. */
  crop: Record<string, ProbeResult>;
  /** Why the defaults were kept without probing, when they were. */
  note?: string;
}

export interface ChooseAugmentOptions {
  /** Crop area fractions tried, smallest first (default 0.2, 0.35, 0.5). */
  cropScales?: number[];
  seed?: number;
}

export const DEFAULT_AUGMENT: AugmentChoice = { flip: true, verticalFlip: false, cropScale: [0.2, 1] };
const THRESHOLDS = { hflip: 0.5, vflip: 0.9, crop: 0.15 };
const CROP_SCALES = [0.2, 0.35, 0.5];

const GRID = 7;
const BINS = 9;

/**
 * Features the probe compares: a histogram of gradient orientations (HOG-like: luminance gradients, 9 unsigned
 * orientation bins, on a 7x7 grid of cells), square-rooted and scaled to unit length. Unlike raw pixels they
 * ignore colour and tolerate shifts of a pixel or two, so neighbours are found by shape; a left-right flip
 * mirrors the orientations, so a flipped image only matches its class if the class looks the same mirrored.
 */
export function orientationFeatures(x: Float32Array, n: number, shape: readonly [number, number, number]): Float32Array {
  const [h, w, c] = shape;
  const dim = GRID * GRID * BINS;
  const out = new Float32Array(n * dim);
  const lum = new Float32Array(h * w);
  for (let i = 0; i < n; i++) {
    const base = i * h * w * c;
    for (let p = 0; p < h * w; p++) {
      let v = 0;
      for (let ch = 0; ch < c; ch++) v += x[base + p * c + ch];
      lum[p] = v / c;
    }
    const f = out.subarray(i * dim, (i + 1) * dim);
    for (let y = 0; y < h; y++) {
      for (let xx = 0; xx < w; xx++) {
        const gx = lum[y * w + Math.min(w - 1, xx + 1)] - lum[y * w + Math.max(0, xx - 1)];
        const gy = lum[Math.min(h - 1, y + 1) * w + xx] - lum[Math.max(0, y - 1) * w + xx];
        const mag = Math.hypot(gx, gy);
        if (mag === 0) continue;
        let ang = Math.atan2(gy, gx);
        if (ang < 0) ang += Math.PI;
        const bin = Math.min(BINS - 1, Math.floor((ang / Math.PI) * BINS));
        const cell = Math.floor((y * GRID) / h) * GRID + Math.floor((xx * GRID) / w);
        f[cell * BINS + bin] += mag;
      }
    }
    let norm = 0;
    for (let j = 0; j < dim; j++) {
      f[j] = Math.sqrt(f[j]);
      norm += f[j] * f[j];
    }
    const inv = norm > 0 ? 1 / Math.sqrt(norm) : 0;
    for (let j = 0; j < dim; j++) f[j] *= inv;
  }
  return out;
}

/** For each query row i: is the label of its most similar reference row (other than row i) equal to y[i]? */
function looHits(query: Float32Array, ref: Float32Array, y: Int32Array, dim: number): Uint8Array {
  const n = y.length;
  const nearest = tf.tidy(() => {
    const sims = tf.matMul(tf.tensor2d(query, [n, dim]), tf.tensor2d(ref, [n, dim]), false, true);
    // Leave one out: a sample is never its own neighbour.
    const masked = tf.sub(sims, tf.mul(tf.eye(n), 1e9));
    return tf.argMax(masked, 1).dataSync() as Int32Array;
  });
  return Uint8Array.from(y, (label, i) => (y[nearest[i]] === label ? 1 : 0));
}

const mean = (a: Uint8Array) => a.reduce((s, v) => s + v, 0) / Math.max(1, a.length);

/**
 * Measures flips and crops on the labeled images `x` ([n, h, w, c] in [0, 1]) and picks the augmentation.
 * Needs a tfjs backend (for the crops); allocates nothing it does not free.
 */
export function chooseAugment(x: Float32Array, y: Int32Array, shape: readonly [number, number, number], opts: ChooseAugmentOptions = {}): { choice: AugmentChoice; evidence: AugmentEvidence } {
  const [h, w, c] = shape;
  const dim = h * w * c;
  const n = y.length;
  if (x.length !== n * dim) throw new UlearnError(`chooseAugment: ${x.length} values for ${n} images of ${h}x${w}x${c}`, { code: 'E_AUGMENT' });
  const classes = new Set(Array.from(y)).size;
  const chance = classes > 0 ? 1 / classes : 0;
  const feats = (t: Float32Array) => orientationFeatures(t, n, shape);
  const fdim = GRID * GRID * BINS;
  const ref = feats(x);
  const base = mean(looHits(ref, ref, y, fdim));
  const probe = (tx: Float32Array): ProbeResult => {
    const acc = mean(looHits(feats(tx), ref, y, fdim));
    return { acc, retention: base > chance ? (acc - chance) / (base - chance) : 1 };
  };
  const transformed = (f: (t: tf.Tensor4D) => tf.Tensor4D): Float32Array =>
    tf.tidy(() => f(tf.tensor4d(x, [n, h, w, c])).dataSync() as Float32Array);
  const hflip = probe(transformed(mirrorWidth));
  const vflip = probe(transformed((t) => tf.reverse(t, 1)));
  const crop: Record<string, ProbeResult> = {};
  const rng = new Rng(opts.seed ?? 0).fork('choose-augment-crop');
  const scales = opts.cropScales ?? CROP_SCALES;
  for (const s of scales) {
    const tries = [0, 1].map(() => {
      const boxes = boxesToNormalized(Array.from({ length: n }, () => sampleCropBox(rng, h, w, [s, s], [3 / 4, 4 / 3])), h, w);
      return probe(transformed((t) => cropResize(t, boxes, [h, w])));
    });
    crop[String(s)] = { acc: (tries[0].acc + tries[1].acc) / 2, retention: (tries[0].retention + tries[1].retention) / 2 };
  }
  const evidence: AugmentEvidence = { labeled: n, classes, base, chance, thresholds: THRESHOLDS, hflip, vflip, crop };
  // Too few labels, or pixels too far from separating the classes, to tell a transform's effect from noise.
  if (classes < 2 || n < 2 * classes || base - chance < 0.1) {
    return { choice: { ...DEFAULT_AUGMENT }, evidence: { ...evidence, note: `not enough signal (1-NN ${(100 * base).toFixed(0)}% vs chance ${(100 * chance).toFixed(0)}%): defaults kept` } };
  }
  const cropMin = scales.find((s) => crop[String(s)].retention >= THRESHOLDS.crop) ?? Math.max(...scales);
  const choice: AugmentChoice = {
    flip: hflip.retention >= THRESHOLDS.hflip,
    verticalFlip: vflip.retention >= THRESHOLDS.vflip,
    cropScale: [cropMin, 1],
  };
  return { choice, evidence };
}

/**
 * Parses the user's override: 'flip=off,vflip=on,crop=0.35' (any subset; 'auto' or '' means choose everything).
 * Keys not given stay undefined: those are still chosen from the data.
 */
export function parseAugmentOverride(spec: string): Partial<AugmentChoice> {
  const out: Partial<AugmentChoice> = {};
  if (spec.trim() === '' || spec.trim() === 'auto') return out;
  for (const part of spec.split(',')) {
    const [key, value, extra] = part.split('=').map((s) => s.trim());
    const bool = (): boolean => {
      if (value === 'on' || value === 'true') return true;
      if (value === 'off' || value === 'false') return false;
      throw new UlearnError(`augment: ${key}=${value ?? ''}: expected on or off`, { code: 'E_CONFIG' });
    };
    if (extra !== undefined || value === undefined) throw new UlearnError(`augment: '${part}': expected key=value (flip=off, vflip=on, crop=0.35)`, { code: 'E_CONFIG' });
    if (key === 'flip' || key === 'hflip') out.flip = bool();
    else if (key === 'vflip') out.verticalFlip = bool();
    else if (key === 'crop') {
      const s = Number(value);
      if (!(s > 0 && s <= 1)) throw new UlearnError(`augment: crop=${value}: expected the smallest crop area as a number in (0, 1]`, { code: 'E_CONFIG' });
      out.cropScale = [s, 1];
    } else throw new UlearnError(`augment: unknown key '${key}' in '${spec}'`, { code: 'E_CONFIG', hint: 'keys: flip, vflip, crop' });
  }
  return out;
}

export interface ResolvedAugment {
  choice: AugmentChoice;
  /** Who decided each setting. */
  decidedBy: Record<keyof AugmentChoice, 'data' | 'user'>;
  /** The probe's numbers; absent when the user fixed every setting. */
  evidence?: AugmentEvidence;
}

/**
 * The augmentation a run uses: the user's settings (`override`, as parseAugmentOverride reads it) win; whatever
 * they leave open is chosen from the labeled images.
 */
export function resolveAugment(
  x: Float32Array,
  y: Int32Array,
  shape: readonly [number, number, number],
  override: string | undefined,
  opts: ChooseAugmentOptions = {},
): ResolvedAugment {
  const user = parseAugmentOverride(override ?? 'auto');
  const keys = ['flip', 'verticalFlip', 'cropScale'] as const;
  const decidedBy = Object.fromEntries(keys.map((k) => [k, user[k] === undefined ? 'data' : 'user'])) as ResolvedAugment['decidedBy'];
  if (keys.every((k) => user[k] !== undefined)) return { choice: user as AugmentChoice, decidedBy };
  const { choice, evidence } = chooseAugment(x, y, shape, opts);
  return { choice: { ...choice, ...user }, decidedBy, evidence };
}

/** One line for the log: 'flip off (data: 24% of accuracy kept), vflip off (data), crop [0.35, 1] (user)'. */
export function describeAugment(r: ResolvedAugment): string {
  const pct = (p: ProbeResult | undefined) => (p ? `: ${Math.round(100 * p.retention)}% of accuracy kept` : '');
  const ev = r.evidence;
  return [
    `flip ${r.choice.flip ? 'on' : 'off'} (${r.decidedBy.flip}${r.decidedBy.flip === 'data' ? pct(ev?.hflip) : ''})`,
    `vflip ${r.choice.verticalFlip ? 'on' : 'off'} (${r.decidedBy.verticalFlip}${r.decidedBy.verticalFlip === 'data' ? pct(ev?.vflip) : ''})`,
    `crop [${r.choice.cropScale.join(', ')}] (${r.decidedBy.cropScale})`,
  ].join(', ') + (ev?.note ? `; ${ev.note}` : '');
}
