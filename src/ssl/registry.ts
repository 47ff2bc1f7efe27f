/**
 * Methods by name, so a config or CLI flag picks one and swapping SimCLR for VICReg is a one-word change:
 * every method takes the same options object and ignores the fields that belong to the others. Each name
 * also has its default views (`createSSLViews`), which the trainer applies to every batch.
 */
import { UlearnError } from '../errors.js';
import { BarlowTwins, type BarlowTwinsOptions } from './barlow-twins.js';
import { MaskedPixels, maskedPixelViews, type MaskedPixelsOptions, type MaskedPixelViewsOptions } from './masked-pixels.js';
import { MaskedSpectrogram, maskedSpectrogramViews, type MaskedSpectrogramOptions } from './masked-spectrogram.js';
import { Scarf, scarfViews, type ScarfOptions, type ScarfViewsOptions } from './scarf.js';
import type { SSLMethod } from './method.js';
import { SimCLR, type SimCLROptions } from './simclr.js';
import { twoViews, type ViewTransform } from './views.js';
import { VICReg, type VICRegOptions } from './vicreg.js';

/** What the image methods' default views read: the augmentation, and the masks of masked-pixels. */
export type SSLViewsConfig = MaskedPixelViewsOptions;

/**
 * The union of every method's options (all method-specific fields optional) and of their views' options, so
 * one object configures both `createSSLMethod` and `createSSLViews`.
 */
export type SSLMethodConfig = SimCLROptions & VICRegOptions & BarlowTwinsOptions & MaskedPixelsOptions & MaskedSpectrogramOptions & SSLViewsConfig;

const FACTORIES = {
  simclr: (o: SSLMethodConfig) => new SimCLR(o),
  vicreg: (o: SSLMethodConfig) => new VICReg(o),
  'barlow-twins': (o: SSLMethodConfig) => new BarlowTwins(o),
  'masked-pixels': (o: SSLMethodConfig) => new MaskedPixels(o),
  // Audio features ([frames, 1, bins]) only; src/ssl/masked-spectrogram.ts.
  'masked-spectrogram': (o: SSLMethodConfig) => new MaskedSpectrogram(o),
} satisfies Record<string, (o: SSLMethodConfig) => SSLMethod>;

export type SSLMethodName = keyof typeof FACTORIES;
export const SSL_METHODS = Object.keys(FACTORIES) as SSLMethodName[];

export function isSSLMethodName(s: string): s is SSLMethodName {
  return Object.hasOwn(FACTORIES, s);
}

export function createSSLMethod(name: string, opts: SSLMethodConfig): SSLMethod {
  if (!isSSLMethodName(name)) {
    throw new UlearnError(`unknown self-supervised method '${name}'`, { code: 'E_CONFIG', hint: `choose one of: ${SSL_METHODS.join(', ')}` });
  }
  return FACTORIES[name](opts);
}

/**
 * The views `name` trains on by default: two augmentations, masked pixels for masked-pixels, masked patches of
 * the clean spectrogram for masked-spectrogram (SpecAugment's own masks on the target would blur what is hidden
 * with what is to be predicted).
 */
export function createSSLViews(name: string, o: SSLViewsConfig): ViewTransform {
  if (!isSSLMethodName(name)) throw new UlearnError(`unknown self-supervised method '${name}'`, { code: 'E_CONFIG', hint: `choose one of: ${SSL_METHODS.join(', ')}` });
  if (name === 'masked-pixels') return maskedPixelViews(o);
  if (name === 'masked-spectrogram') return maskedSpectrogramViews({ inputShape: o.inputShape });
  return twoViews(o.augment, name);
}

/**
 * Methods for tables ([N, D] rows, not images): a separate list, since their views come from the rows' own
 * marginals rather than from an image augmentation.
 */
const TABULAR_FACTORIES = {
  scarf: { method: (o: ScarfOptions) => new Scarf(o), views: (o: ScarfViewsOptions) => scarfViews(o) },
} satisfies Record<string, { method: (o: ScarfOptions) => SSLMethod; views: (o: ScarfViewsOptions) => ViewTransform }>;

export type TabularSSLMethodName = keyof typeof TABULAR_FACTORIES;
export const TABULAR_SSL_METHODS = Object.keys(TABULAR_FACTORIES) as TabularSSLMethodName[];

function tabularEntry(name: string) {
  if (!Object.hasOwn(TABULAR_FACTORIES, name)) {
    throw new UlearnError(`unknown self-supervised method for tables '${name}'`, { code: 'E_CONFIG', hint: `choose one of: ${TABULAR_SSL_METHODS.join(', ')}` });
  }
  return TABULAR_FACTORIES[name as TabularSSLMethodName];
}

export function createTabularSSLMethod(name: string, opts: ScarfOptions): SSLMethod {
  return tabularEntry(name).method(opts);
}

/** The views a table method trains on (SCARF: each row and its corruption from `pool`'s marginals). */
export function createTabularSSLViews(name: string, opts: ScarfViewsOptions): ViewTransform {
  return tabularEntry(name).views(opts);
}
