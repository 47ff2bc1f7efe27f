/**
 * Methods by name, so a config or CLI flag picks one and swapping SimCLR for VICReg is a one-word change:
 * every method takes the same options object and ignores the fields that belong to the others.
 */
import { UlearnError } from '../errors.js';
import { BarlowTwins, type BarlowTwinsOptions } from './barlow-twins.js';
import { MaskedPixels, type MaskedPixelsOptions } from './masked-pixels.js';
import { Scarf, type ScarfOptions } from './scarf.js';
import type { SSLMethod } from './method.js';
import { SimCLR, type SimCLROptions } from './simclr.js';
import { VICReg, type VICRegOptions } from './vicreg.js';

/** The union of every method's options (all method-specific fields optional). */
export type SSLMethodConfig = SimCLROptions & VICRegOptions & BarlowTwinsOptions & MaskedPixelsOptions;

const FACTORIES = {
  simclr: (o: SSLMethodConfig) => new SimCLR(o),
  vicreg: (o: SSLMethodConfig) => new VICReg(o),
  'barlow-twins': (o: SSLMethodConfig) => new BarlowTwins(o),
  'masked-pixels': (o: SSLMethodConfig) => new MaskedPixels(o),
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

/** Methods for tables ([N, D] rows, not images): a separate table, since they take rows rather than NHWC batches. */
const TABULAR_FACTORIES = {
  scarf: (o: ScarfOptions) => new Scarf(o),
} satisfies Record<string, (o: ScarfOptions) => Scarf>;

export type TabularSSLMethodName = keyof typeof TABULAR_FACTORIES;
export const TABULAR_SSL_METHODS = Object.keys(TABULAR_FACTORIES) as TabularSSLMethodName[];

export function createTabularSSLMethod(name: string, opts: ScarfOptions): Scarf {
  if (!Object.hasOwn(TABULAR_FACTORIES, name)) {
    throw new UlearnError(`unknown self-supervised method for tables '${name}'`, { code: 'E_CONFIG', hint: `choose one of: ${TABULAR_SSL_METHODS.join(', ')}` });
  }
  return TABULAR_FACTORIES[name as TabularSSLMethodName](opts);
}
