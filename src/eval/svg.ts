/**
 * Small building blocks for the report's hand-written SVG charts: nice axis ticks, linear scales and a
 * categorical palette. No chart library, so the report stays one self-contained file that works offline.
 */

export interface Ticks {
  /** Domain widened outward to whole tick steps. */
  lo: number;
  hi: number;
  step: number;
  values: number[];
}

/**
 * About `target` ticks at 1, 2 or 5 × 10^k spacing covering [lo, hi] (Heckbert's "nice numbers"), so axes
 * read 0.5, 1.0, 1.5 rather than 0.4837, 0.9674. A zero-width range is widened so there is always an axis;
 * `integer` keeps the step a whole number.
 */
export function niceTicks(lo: number, hi: number, target = 5, integer = false): Ticks {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) [lo, hi] = [0, 1];
  if (hi < lo) [lo, hi] = [hi, lo];
  if (hi === lo) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    [lo, hi] = [lo - pad, hi + pad];
  }
  const rough = (hi - lo) / Math.max(1, target);
  const mag = 10 ** Math.floor(Math.log10(rough));
  const f = rough / mag;
  let step = (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
  // Epoch axes: a tick at 2.5 epochs would be meaningless.
  if (integer) step = Math.max(1, Math.round(step));
  const nlo = Math.floor(lo / step + 1e-9) * step;
  const nhi = Math.ceil(hi / step - 1e-9) * step;
  const values: number[] = [];
  // Rounding to the step's precision avoids labels like 0.30000000000000004.
  const decimals = Math.max(0, -Math.floor(Math.log10(step)) + 1);
  for (let v = nlo; v <= nhi + step * 1e-6; v += step) values.push(Number(v.toFixed(decimals)));
  return { lo: nlo, hi: nhi, step, values };
}

/** Maps [d0, d1] linearly onto [r0, r1] (r0 > r1 for a y axis, where SVG's y grows downward). */
export function scale(d0: number, d1: number, r0: number, r1: number): (v: number) => number {
  const k = d1 === d0 ? 0 : (r1 - r0) / (d1 - d0);
  return (v) => r0 + (v - d0) * k;
}

/** One decimal is plenty for screen coordinates and keeps the HTML small. */
export function r1(v: number): string {
  return String(Math.round(v * 10) / 10);
}

// Tableau 10: distinct, colour-blind-friendlier than the default rainbow, readable on white.
const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

/** Colour for class i; beyond 10 classes, evenly spaced hues (golden-angle steps keep neighbours apart). */
export function classColor(i: number): string {
  if (i < 0) return '#c4c4c4';
  if (i < PALETTE.length) return PALETTE[i];
  const hue = Math.round((i * 137.508) % 360);
  const light = 42 + ((i * 7) % 3) * 8;
  return `hsl(${hue} 55% ${light}%)`;
}

export const ACCENT = '#2563eb';
export const MUTED = '#9ca3af';
export const GRID = '#e5e7eb';
export const INK = '#374151';
