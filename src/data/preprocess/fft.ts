/**
 * The power spectrum of a real frame, |rfft(x)|², for the audio features (audio-features.ts). Plain float64
 * JavaScript: one frame is a few thousand operations, far too small to be worth a trip through a tensor
 * backend, and the same code then runs (and gives the same numbers) everywhere.
 *
 * Any size works: n_fft = 400 (25 ms at 16 kHz, not a power of two) is the convention for speech. An even
 * size n is one complex FFT of size n/2 over (even, odd) sample pairs, untangled into the n/2 + 1 bins of the
 * real transform (the standard trick, Numerical Recipes §12.3). The complex FFT is a mixed-radix Stockham
 * autosort FFT (Stockham 1966; the formulation of OTFFT): stage by stage, ping-ponging between two buffers, no
 * bit reversal; radices 4, 2, 3 and 5 have hand-written butterflies and any other prime factor a plain DFT.
 */

interface Stage {
  radix: number;
  /** Sub-sequence length after this stage (len / radix). */
  m: number;
  /** Stride of the sub-sequences (product of earlier radices). */
  s: number;
  /** Twiddles w^(j·p) (w = exp(-2πi / len)) for p < m, 1 ≤ j < radix, as (re, im) pairs. */
  tw: Float64Array;
}

function factors(n: number): number[] {
  const out: number[] = [];
  for (const f of [4, 2]) {
    while (n % f === 0) {
      out.push(f);
      n /= f;
    }
  }
  for (let f = 3; f * f <= n; f += 2) {
    while (n % f === 0) {
      out.push(f);
      n /= f;
    }
  }
  if (n > 1) out.push(n);
  return out;
}

/** A complex FFT of one size, planned once (twiddles and scratch buffers). Not reentrant: one frame at a time. */
export class ComplexFft {
  readonly n: number;
  private readonly stages: Stage[] = [];
  private readonly br: Float64Array;
  private readonly bi: Float64Array;

  constructor(n: number) {
    this.n = n;
    this.br = new Float64Array(n);
    this.bi = new Float64Array(n);
    let len = n;
    let s = 1;
    for (const radix of n > 1 ? factors(n) : []) {
      const m = len / radix;
      const tw = new Float64Array(2 * m * (radix - 1));
      for (let p = 0; p < m; p++) {
        for (let j = 1; j < radix; j++) {
          const a = (-2 * Math.PI * j * p) / len;
          tw[2 * (p * (radix - 1) + j - 1)] = Math.cos(a);
          tw[2 * (p * (radix - 1) + j - 1) + 1] = Math.sin(a);
        }
      }
      this.stages.push({ radix, m, s, tw });
      len = m;
      s *= radix;
    }
  }

  /** In place: (re, im) becomes its DFT, X[k] = Σ x[t]·exp(-2πi·t·k/n). */
  transform(re: Float64Array, im: Float64Array): void {
    let xr = re;
    let xi = im;
    let yr = this.br;
    let yi = this.bi;
    for (const st of this.stages) {
      if (st.radix === 4) radix4(st, xr, xi, yr, yi);
      else if (st.radix === 2) radix2(st, xr, xi, yr, yi);
      else if (st.radix === 3) radix3(st, xr, xi, yr, yi);
      else if (st.radix === 5) radix5(st, xr, xi, yr, yi);
      else radixAny(st, xr, xi, yr, yi);
      [xr, yr] = [yr, xr];
      [xi, yi] = [yi, xi];
    }
    if (xr !== re) {
      re.set(xr);
      im.set(xi);
    }
  }
}

// Each stage: for every p < m and q < s, the radix-r DFT b of a_k = x[q + s(p + k·m)] goes, times its twiddle
// w^(j·p), to y[q + s(r·p + j)]. The sub-sequence q + s·j then holds outputs j, j + r, j + 2r, ... (DIF).

function radix2({ m, s, tw }: Stage, xr: Float64Array, xi: Float64Array, yr: Float64Array, yi: Float64Array): void {
  for (let p = 0; p < m; p++) {
    const wr = tw[2 * p];
    const wi = tw[2 * p + 1];
    for (let q = 0; q < s; q++) {
      const i0 = q + s * p;
      const i1 = i0 + s * m;
      const o0 = q + s * 2 * p;
      const o1 = o0 + s;
      const ar = xr[i0], ai = xi[i0], br = xr[i1], bi = xi[i1];
      yr[o0] = ar + br;
      yi[o0] = ai + bi;
      const dr = ar - br, di = ai - bi;
      yr[o1] = dr * wr - di * wi;
      yi[o1] = dr * wi + di * wr;
    }
  }
}

function radix4({ m, s, tw }: Stage, xr: Float64Array, xi: Float64Array, yr: Float64Array, yi: Float64Array): void {
  const sm = s * m;
  for (let p = 0; p < m; p++) {
    const w1r = tw[6 * p], w1i = tw[6 * p + 1], w2r = tw[6 * p + 2], w2i = tw[6 * p + 3], w3r = tw[6 * p + 4], w3i = tw[6 * p + 5];
    for (let q = 0; q < s; q++) {
      const i0 = q + s * p;
      const a0r = xr[i0], a0i = xi[i0];
      const a1r = xr[i0 + sm], a1i = xi[i0 + sm];
      const a2r = xr[i0 + 2 * sm], a2i = xi[i0 + 2 * sm];
      const a3r = xr[i0 + 3 * sm], a3i = xi[i0 + 3 * sm];
      const t0r = a0r + a2r, t0i = a0i + a2i, t1r = a0r - a2r, t1i = a0i - a2i;
      const t2r = a1r + a3r, t2i = a1i + a3i, t3r = a1r - a3r, t3i = a1i - a3i;
      // b1 = t1 - i·t3, b3 = t1 + i·t3 (w4 = -i).
      const b1r = t1r + t3i, b1i = t1i - t3r, b2r = t0r - t2r, b2i = t0i - t2i, b3r = t1r - t3i, b3i = t1i + t3r;
      const o0 = q + s * 4 * p;
      yr[o0] = t0r + t2r;
      yi[o0] = t0i + t2i;
      yr[o0 + s] = b1r * w1r - b1i * w1i;
      yi[o0 + s] = b1r * w1i + b1i * w1r;
      yr[o0 + 2 * s] = b2r * w2r - b2i * w2i;
      yi[o0 + 2 * s] = b2r * w2i + b2i * w2r;
      yr[o0 + 3 * s] = b3r * w3r - b3i * w3i;
      yi[o0 + 3 * s] = b3r * w3i + b3i * w3r;
    }
  }
}

const SIN3 = Math.sin((2 * Math.PI) / 3);

function radix3({ m, s, tw }: Stage, xr: Float64Array, xi: Float64Array, yr: Float64Array, yi: Float64Array): void {
  const sm = s * m;
  for (let p = 0; p < m; p++) {
    const w1r = tw[4 * p], w1i = tw[4 * p + 1], w2r = tw[4 * p + 2], w2i = tw[4 * p + 3];
    for (let q = 0; q < s; q++) {
      const i0 = q + s * p;
      const a0r = xr[i0], a0i = xi[i0];
      const t1r = xr[i0 + sm] + xr[i0 + 2 * sm], t1i = xi[i0 + sm] + xi[i0 + 2 * sm];
      const t2r = xr[i0 + sm] - xr[i0 + 2 * sm], t2i = xi[i0 + sm] - xi[i0 + 2 * sm];
      const mr = a0r - 0.5 * t1r, mi = a0i - 0.5 * t1i, nr = SIN3 * t2r, ni = SIN3 * t2i;
      // b1 = m - i·n, b2 = m + i·n.
      const b1r = mr + ni, b1i = mi - nr, b2r = mr - ni, b2i = mi + nr;
      const o0 = q + s * 3 * p;
      yr[o0] = a0r + t1r;
      yi[o0] = a0i + t1i;
      yr[o0 + s] = b1r * w1r - b1i * w1i;
      yi[o0 + s] = b1r * w1i + b1i * w1r;
      yr[o0 + 2 * s] = b2r * w2r - b2i * w2i;
      yi[o0 + 2 * s] = b2r * w2i + b2i * w2r;
    }
  }
}

const C1 = Math.cos((2 * Math.PI) / 5), C2 = Math.cos((4 * Math.PI) / 5), S1 = Math.sin((2 * Math.PI) / 5), S2 = Math.sin((4 * Math.PI) / 5);

function radix5({ m, s, tw }: Stage, xr: Float64Array, xi: Float64Array, yr: Float64Array, yi: Float64Array): void {
  const sm = s * m;
  for (let p = 0; p < m; p++) {
    const t = 8 * p;
    for (let q = 0; q < s; q++) {
      const i0 = q + s * p;
      const a0r = xr[i0], a0i = xi[i0];
      const a1r = xr[i0 + sm], a1i = xi[i0 + sm], a2r = xr[i0 + 2 * sm], a2i = xi[i0 + 2 * sm];
      const a3r = xr[i0 + 3 * sm], a3i = xi[i0 + 3 * sm], a4r = xr[i0 + 4 * sm], a4i = xi[i0 + 4 * sm];
      const t1r = a1r + a4r, t1i = a1i + a4i, t2r = a2r + a3r, t2i = a2i + a3i;
      const t3r = a1r - a4r, t3i = a1i - a4i, t4r = a2r - a3r, t4i = a2i - a3i;
      const m1r = a0r + C1 * t1r + C2 * t2r, m1i = a0i + C1 * t1i + C2 * t2i;
      const m2r = a0r + C2 * t1r + C1 * t2r, m2i = a0i + C2 * t1i + C1 * t2i;
      const n1r = S1 * t3r + S2 * t4r, n1i = S1 * t3i + S2 * t4i;
      const n2r = S2 * t3r - S1 * t4r, n2i = S2 * t3i - S1 * t4i;
      // b1 = m1 - i·n1, b2 = m2 - i·n2, b3 = m2 + i·n2, b4 = m1 + i·n1.
      const o0 = q + s * 5 * p;
      yr[o0] = a0r + t1r + t2r;
      yi[o0] = a0i + t1i + t2i;
      twiddle(yr, yi, o0 + s, m1r + n1i, m1i - n1r, tw[t], tw[t + 1]);
      twiddle(yr, yi, o0 + 2 * s, m2r + n2i, m2i - n2r, tw[t + 2], tw[t + 3]);
      twiddle(yr, yi, o0 + 3 * s, m2r - n2i, m2i + n2r, tw[t + 4], tw[t + 5]);
      twiddle(yr, yi, o0 + 4 * s, m1r - n1i, m1i + n1r, tw[t + 6], tw[t + 7]);
    }
  }
}

/** y[o] = (br + i·bi)·(wr + i·wi). */
function twiddle(yr: Float64Array, yi: Float64Array, o: number, br: number, bi: number, wr: number, wi: number): void {
  yr[o] = br * wr - bi * wi;
  yi[o] = br * wi + bi * wr;
}

function radixAny({ radix: r, m, s, tw }: Stage, xr: Float64Array, xi: Float64Array, yr: Float64Array, yi: Float64Array): void {
  const cos = Float64Array.from({ length: r }, (_, k) => Math.cos((-2 * Math.PI * k) / r));
  const sin = Float64Array.from({ length: r }, (_, k) => Math.sin((-2 * Math.PI * k) / r));
  const sm = s * m;
  for (let p = 0; p < m; p++) {
    for (let q = 0; q < s; q++) {
      const i0 = q + s * p;
      const o0 = q + s * r * p;
      for (let j = 0; j < r; j++) {
        let sr = 0;
        let si = 0;
        for (let k = 0; k < r; k++) {
          const c = cos[(j * k) % r], d = sin[(j * k) % r], ar = xr[i0 + k * sm], ai = xi[i0 + k * sm];
          sr += ar * c - ai * d;
          si += ar * d + ai * c;
        }
        if (j === 0) {
          yr[o0] = sr;
          yi[o0] = si;
        } else {
          const wr = tw[2 * (p * (r - 1) + j - 1)], wi = tw[2 * (p * (r - 1) + j - 1) + 1];
          yr[o0 + j * s] = sr * wr - si * wi;
          yi[o0 + j * s] = sr * wi + si * wr;
        }
      }
    }
  }
}

/** |rfft(frame)|² for frames of one size n: n/2 + 1 bins (floor). */
export class PowerSpectrum {
  readonly n: number;
  readonly bins: number;
  private readonly fft: ComplexFft;
  private readonly re: Float64Array;
  private readonly im: Float64Array;
  /** exp(-2πi·k/n) for the even-size untangling. */
  private readonly wr: Float64Array;
  private readonly wi: Float64Array;

  constructor(n: number) {
    this.n = n;
    this.bins = Math.floor(n / 2) + 1;
    const even = n % 2 === 0;
    const size = even ? n / 2 : n;
    this.fft = new ComplexFft(size);
    this.re = new Float64Array(size);
    this.im = new Float64Array(size);
    this.wr = Float64Array.from({ length: this.bins }, (_, k) => Math.cos((-2 * Math.PI * k) / n));
    this.wi = Float64Array.from({ length: this.bins }, (_, k) => Math.sin((-2 * Math.PI * k) / n));
  }

  /** Writes |X[k]|² of `frame` (n values) to out[0..bins). */
  power(frame: Float64Array, out: Float64Array): void {
    const { n, re, im } = this;
    if (n % 2 === 1) {
      re.set(frame);
      im.fill(0);
      this.fft.transform(re, im);
      for (let k = 0; k < this.bins; k++) out[k] = re[k] * re[k] + im[k] * im[k];
      return;
    }
    const h = n / 2;
    for (let t = 0; t < h; t++) {
      re[t] = frame[2 * t];
      im[t] = frame[2 * t + 1];
    }
    this.fft.transform(re, im);
    // Z = FFT(z), z[t] = x[2t] + i·x[2t+1]; with Zc = conj(Z[h - k]): even part E = (Z[k] + Zc)/2, odd part
    // O = (Z[k] - Zc)/(2i), and X[k] = E + exp(-2πi·k/n)·O for k = 0..h (Z[h] = Z[0]).
    for (let k = 0; k <= h; k++) {
      const i = k === h ? 0 : k;
      const j = k === 0 ? 0 : h - k;
      const a = re[i], b = im[i], c = re[j], d = im[j];
      const er = (a + c) / 2, ei = (b - d) / 2, or = (b + d) / 2, oi = (c - a) / 2;
      const xr = er + this.wr[k] * or - this.wi[k] * oi;
      const xi = ei + this.wr[k] * oi + this.wi[k] * or;
      out[k] = xr * xr + xi * xi;
    }
  }
}
