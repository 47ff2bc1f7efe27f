/**
 * `shapes`: synthetic (procedural) 32x32 colour images of ten geometric shapes on cluttered, unevenly lit
 * backgrounds. Its statistics differ from Fashion-MNIST's and the glyphs': three channels, a busy background
 * instead of a black one, small objects anywhere in the frame (crops can miss them), and colour that carries no
 * class information.
 *
 * Every class is mirror-symmetric about the vertical axis, so a horizontal flip keeps the label; but two pairs
 * of classes are each other's vertical mirror (triangle up / down, dome / bowl), so a vertical flip does not.
 *
 * Train and test are split by the shape's hue: the hue circle is cut into 12 bins and 3 of them, chosen by the
 * seed, colour only test shapes, so test accuracy measures shape recognition in colours never trained on.
 */
import { Rng } from '../engine/seed.js';
import type { DatasetSplits } from './dataset.js';
import { balancedLabels, loadSynthetic, type BuiltDataset, type BuiltSplit, type SyntheticOptions, type SyntheticSpec } from './synthetic.js';

export const SHAPE_CLASSES = ['disc', 'ring', 'square', 'triangle-up', 'triangle-down', 'plus', 'star', 'dome', 'bowl', 'bar'];
const SIZE = 32;
export const HUE_BINS = 12;
const TEST_HUE_BINS = 3;

type Pt = readonly [number, number];

function regular(n: number, r: number, phase: number): Pt[] {
  return Array.from({ length: n }, (_, i) => [r * Math.sin(phase + (2 * Math.PI * i) / n), -r * Math.cos(phase + (2 * Math.PI * i) / n)] as const);
}
const TRIANGLE_UP: Pt[] = regular(3, 1, 0).map(([x, y]) => [x, y + 0.25] as const);
const TRIANGLE_DOWN: Pt[] = TRIANGLE_UP.map(([x, y]) => [x, -y] as const);
const STAR: Pt[] = Array.from({ length: 10 }, (_, i) => {
  const r = i % 2 === 0 ? 1 : 0.42;
  const a = (Math.PI * i) / 5;
  return [r * Math.sin(a), -r * Math.cos(a) + 0.08] as const;
});

/** Even-odd point-in-polygon test. */
function inPolygon(poly: readonly Pt[], x: number, y: number): boolean {
  let inside = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [xi, yi] = poly[i];
    const [xj, yj] = poly[j];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** Inside tests in the shape's own frame: unit radius, y pointing down (image rows). */
const INSIDE: ((x: number, y: number) => boolean)[] = [
  (x, y) => x * x + y * y <= 1,
  (x, y) => x * x + y * y <= 1 && x * x + y * y >= 0.3,
  (x, y) => Math.abs(x) <= 0.78 && Math.abs(y) <= 0.78,
  (x, y) => inPolygon(TRIANGLE_UP, x, y),
  (x, y) => inPolygon(TRIANGLE_DOWN, x, y),
  (x, y) => (Math.abs(x) <= 0.3 && Math.abs(y) <= 1) || (Math.abs(y) <= 0.3 && Math.abs(x) <= 1),
  (x, y) => inPolygon(STAR, x, y),
  (x, y) => y <= 0.35 && x * x + (y - 0.35) ** 2 <= 1,
  (x, y) => y >= -0.35 && x * x + (y + 0.35) ** 2 <= 1,
  (x, y) => Math.abs(x) <= 1 && Math.abs(y) <= 0.32,
];

function hsv(h: number, s: number, v: number): [number, number, number] {
  const f = (n: number) => {
    const k = (n + h * 6) % 6;
    return v - v * s * Math.max(0, Math.min(k, 4 - k, 1));
  };
  return [f(5), f(3), f(1)];
}

const luma = (c: readonly number[]) => 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2];

/** Renders one image of class `cls` with its shape hue in `hueBin` into out[offset ..). */
function renderShape(cls: number, hueBin: number, rng: Rng, out: Uint8Array, offset: number): void {
  const u = (lo: number, hi: number) => lo + (hi - lo) * rng.random();
  const img = new Float32Array(SIZE * SIZE * 3);
  // Background: a random colour with a linear gradient in a random direction.
  const bgA = hsv(rng.random(), u(0, 0.6), u(0.1, 0.9));
  const bgB = bgA.map((v) => Math.min(1, Math.max(0, v + u(-0.25, 0.25))));
  const ga = u(0, 2 * Math.PI);
  const [gx, gy] = [Math.cos(ga), Math.sin(ga)];
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      const t = 0.5 + (((x - SIZE / 2) * gx + (y - SIZE / 2) * gy) / SIZE) * 0.9;
      for (let ch = 0; ch < 3; ch++) img[(y * SIZE + x) * 3 + ch] = bgA[ch] + (bgB[ch] - bgA[ch]) * t;
    }
  }
  // Clutter: short strokes and dots in random colours, behind the shape.
  const nClutter = rng.int(7);
  for (let k = 0; k < nClutter; k++) {
    const col = hsv(rng.random(), u(0, 1), u(0, 1));
    const [x0, y0] = [u(0, SIZE), u(0, SIZE)];
    const len = rng.random() < 0.4 ? 0 : u(3, 8);
    const a = u(0, Math.PI);
    // Thinner than the thinnest bar (2 * 0.32 * 5 px), so clutter never passes for one.
    const width = u(0.5, 1);
    for (let t = 0; t <= len; t += 0.5) {
      const cx = x0 + Math.cos(a) * t;
      const cy = y0 + Math.sin(a) * t;
      for (let y = Math.max(0, Math.floor(cy - width)); y <= Math.min(SIZE - 1, Math.ceil(cy + width)); y++) {
        for (let x = Math.max(0, Math.floor(cx - width)); x <= Math.min(SIZE - 1, Math.ceil(cx + width)); x++) {
          if ((x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2 <= width * width) img.set(col, (y * SIZE + x) * 3);
        }
      }
    }
  }
  // The shape: hue from its bin, a value far enough from the background's that it stays visible.
  const bgLuma = luma(bgA);
  const hue = (hueBin + rng.random()) / HUE_BINS;
  const sat = u(0.45, 1);
  let col = hsv(hue, sat, u(0.35, 1));
  if (Math.abs(luma(col) - bgLuma) < 0.2) col = hsv(hue, sat, bgLuma > 0.5 ? u(0.1, 0.3) : u(0.85, 1));
  const r = u(5, 12);
  const cx = u(r, SIZE - r);
  const cy = u(r, SIZE - r);
  const theta = (u(-20, 20) * Math.PI) / 180;
  const [c, s] = [Math.cos(theta), Math.sin(theta)];
  const inside = INSIDE[cls];
  // Shading across the shape (light from one side), then 3x3 supersampled coverage for smooth edges.
  const shade = u(-0.25, 0.25);
  for (let y = Math.max(0, Math.floor(cy - r - 1)); y < Math.min(SIZE, Math.ceil(cy + r + 1)); y++) {
    for (let x = Math.max(0, Math.floor(cx - r - 1)); x < Math.min(SIZE, Math.ceil(cx + r + 1)); x++) {
      let cover = 0;
      for (let sy = 1; sy <= 3; sy++) {
        for (let sx = 1; sx <= 3; sx++) {
          const dx = (x + sx / 4 - cx) / r;
          const dy = (y + sy / 4 - cy) / r;
          // Into the shape's frame: rotate by -theta.
          if (inside(c * dx + s * dy, -s * dx + c * dy)) cover++;
        }
      }
      if (cover === 0) continue;
      const w = cover / 9;
      const light = 1 + shade * ((x - cx) / r);
      for (let ch = 0; ch < 3; ch++) {
        const i = (y * SIZE + x) * 3 + ch;
        img[i] = img[i] * (1 - w) + Math.min(1, col[ch] * light) * w;
      }
    }
  }
  // Global lighting (exposure) and sensor noise.
  const exposure = u(0.75, 1.2);
  const sigma = u(0, 0.04);
  for (let i = 0; i < img.length; i++) {
    const v = img[i] * exposure + (sigma > 0 ? sigma * rng.normal() : 0);
    out[offset + i] = Math.round(255 * Math.min(1, Math.max(0, v)));
  }
}

/** The hue bins that colour test shapes only, by seed. */
export function testHueBins(seed: number): number[] {
  return new Rng(seed).fork('shapes-split').permutation(HUE_BINS).slice(0, TEST_HUE_BINS).sort((a, b) => a - b);
}

function buildShapes(params: { perClass: number; testPerClass: number; seed: number }, log: (l: string) => void): Promise<BuiltDataset> {
  const testBins = testHueBins(params.seed);
  const trainBins = Array.from({ length: HUE_BINS }, (_, i) => i).filter((b) => !testBins.includes(b));
  const rng = new Rng(params.seed);
  const make = (which: 'train' | 'test', perClass: number, bins: number[]): BuiltSplit => {
    const r = rng.fork(`shapes-${which}`);
    const labels = balancedLabels(SHAPE_CLASSES.length, perClass, (a) => r.shuffle(a));
    const px = SIZE * SIZE * 3;
    const pixels = new Uint8Array(labels.length * px);
    const groups: number[] = [];
    labels.forEach((cls, i) => {
      const bin = bins[r.int(bins.length)];
      groups.push(bin);
      renderShape(cls, bin, r, pixels, i * px);
    });
    return { pixels, labels: Uint8Array.from(labels), groups };
  };
  const train = make('train', params.perClass, trainBins);
  const test = make('test', params.testPerClass, testBins);
  log(`shapes: ${train.labels.length} train images, ${test.labels.length} test images (test hue bins ${testBins.join(', ')} of ${HUE_BINS})`);
  return Promise.resolve({ shape: [SIZE, SIZE, 3], classes: SHAPE_CLASSES, train, test, info: { hueBins: HUE_BINS, testHueBins: testBins } });
}

export const SHAPES: SyntheticSpec = {
  name: 'shapes',
  version: 1,
  defaults: { perClass: 5000, testPerClass: 1000 },
  fingerprint: () => Promise.resolve(''),
  build: buildShapes,
};

export function loadShapes(opts: SyntheticOptions = {}): Promise<DatasetSplits> {
  return loadSynthetic(SHAPES, opts);
}
