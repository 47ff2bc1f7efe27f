/**
 * Datasets known by name that ship as four IDX files (MNIST layout). Files are looked for, in order:
 *   1. `dir`, when given (the user's own copy, gzipped or not);
 *   2. a system folder such as Debian's /usr/share/datasets/<name>;
 *   both checked against the SHA-256 of the decompressed data, because copies may be recompressed (Debian's are)
 *   or unpacked, which changes the file but not the data;
 *   3. the cache, `<cacheDir>/<name>/<file>` (checked against the SHA-256 of the published .gz), downloading
 *      into it from the mirrors when missing.
 */
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { UlearnError } from '../errors.js';
import type { DatasetSplits } from './dataset.js';
import { cacheDir as defaultCacheDir, ensureCachedFile, sha256Hex } from './download.js';
import { idxPairToDataset, parseIdx, readMaybeGzip, type IdxArray } from './idx.js';

export type IdxFileKey = 'trainImages' | 'trainLabels' | 'testImages' | 'testLabels';
export const IDX_FILE_KEYS: readonly IdxFileKey[] = ['trainImages', 'trainLabels', 'testImages', 'testLabels'];

export interface IdxFileInfo {
  /** File name as published, e.g. 'train-images-idx3-ubyte.gz'. */
  file: string;
  /** SHA-256 of the published (gzipped) file; without it the file is never downloaded. */
  sha256?: string;
  /** SHA-256 of the decompressed IDX bytes, for copies that were recompressed (e.g. by Debian). */
  rawSha256?: string;
}

export interface NamedIdxDataset {
  name: string;
  classes: string[];
  /** Base URLs (ending in '/'), tried in order. */
  mirrors: string[];
  /** Folders where a system package may have installed the files. */
  systemDirs: string[];
  files: Record<IdxFileKey, IdxFileInfo>;
}

export interface NamedIdxOptions {
  /** A folder holding the four files (gzipped or not); skips the system folder and the cache. */
  dir?: string;
  /** Cache root (default `$ULEARN_CACHE` or `~/.cache/ulearn`). */
  cacheDir?: string;
  /** Replaces the spec's system folders; `null` ignores system copies. */
  systemDir?: string | null;
  /** Replaces the spec's mirrors. */
  baseUrl?: string | string[];
  /** Replaces the pinned SHA-256 of downloaded files, by file name (for private mirrors and tests). */
  checksums?: Record<string, string>;
  /** `false`: never touch the network; fail unless the files are already present. Default true. */
  download?: boolean;
  timeoutMs?: number;
}

export async function loadNamedIdx(spec: NamedIdxDataset, opts: NamedIdxOptions = {}): Promise<DatasetSplits> {
  const arrays = await locateAndRead(spec, opts);
  const paths = arrays.paths;
  const make = (split: 'train' | 'test', images: IdxArray, labels: IdxArray, imagesPath: string, labelsPath: string) =>
    idxPairToDataset(images, labels, imagesPath, labelsPath, { name: `${spec.name}/${split}`, split, classes: spec.classes });
  return {
    train: make('train', arrays.trainImages, arrays.trainLabels, paths.trainImages, paths.trainLabels),
    test: make('test', arrays.testImages, arrays.testLabels, paths.testImages, paths.testLabels),
  };
}

type Located = Record<IdxFileKey, IdxArray> & { paths: Record<IdxFileKey, string> };

async function locateAndRead(spec: NamedIdxDataset, opts: NamedIdxOptions): Promise<Located> {
  if (opts.dir !== undefined) {
    const paths = await findAll(spec, opts.dir);
    if (!paths) {
      throw new UlearnError(`${opts.dir}: does not hold the ${spec.name} files (${IDX_FILE_KEYS.map((k) => spec.files[k].file).join(', ')})`, {
        code: 'E_DATA_MISSING',
        hint: 'the files may also be uncompressed (without .gz)',
      });
    }
    return readAll(spec, paths, true);
  }
  const systemDirs = opts.systemDir === null ? [] : opts.systemDir !== undefined ? [opts.systemDir] : spec.systemDirs;
  for (const dir of systemDirs) {
    const paths = await findAll(spec, dir);
    if (paths) return readAll(spec, paths, true);
  }
  return readAll(spec, await ensureInCache(spec, opts), false);
}

/** Paths of all four files in `dir` (each as published, or without its .gz), or undefined if any is absent. */
async function findAll(spec: NamedIdxDataset, dir: string): Promise<Record<IdxFileKey, string> | undefined> {
  const out: Partial<Record<IdxFileKey, string>> = {};
  for (const key of IDX_FILE_KEYS) {
    const file = spec.files[key].file;
    const candidates = [file, file.replace(/\.gz$/, '')].map((f) => join(dir, f));
    for (const c of candidates) {
      if (await exists(c)) {
        out[key] = c;
        break;
      }
    }
    if (!out[key]) return undefined;
  }
  return out as Record<IdxFileKey, string>;
}

async function ensureInCache(spec: NamedIdxDataset, opts: NamedIdxOptions): Promise<Record<IdxFileKey, string>> {
  const root = join(opts.cacheDir ?? defaultCacheDir(), spec.name);
  const mirrors = opts.baseUrl === undefined ? spec.mirrors : Array.isArray(opts.baseUrl) ? opts.baseUrl : [opts.baseUrl];
  // Every checksum is checked before the first download, so a spec error never leaves a half-filled cache.
  const sums = IDX_FILE_KEYS.map((key) => {
    const { file } = spec.files[key];
    const sha = opts.checksums?.[file] ?? spec.files[key].sha256;
    if (!sha) {
      throw new UlearnError(`${spec.name}: no pinned SHA-256 for ${file}, so it is not downloaded`, {
        code: 'E_DOWNLOAD',
        hint: `download the files yourself and pass their folder as \`dir\`, or give \`checksums\``,
      });
    }
    return sha;
  });
  const out: Partial<Record<IdxFileKey, string>> = {};
  for (const [k, key] of IDX_FILE_KEYS.entries()) {
    const { file } = spec.files[key];
    const dest = join(root, file);
    if (opts.download === false && !(await exists(dest))) {
      throw new UlearnError(`${dest}: not in the cache and downloads are off`, {
        code: 'E_DATA_MISSING',
        hint: `allow downloads, or copy ${file} there from ${mirrors[0] ?? 'the publisher'}`,
      });
    }
    const urls = opts.download === false ? [] : mirrors.map((m) => new URL(file, m.endsWith('/') ? m : `${m}/`).toString());
    out[key] = await ensureCachedFile(dest, urls, sums[k], { timeoutMs: opts.timeoutMs });
  }
  return out as Record<IdxFileKey, string>;
}

/** `checkRaw`: compare the decompressed bytes with the pinned rawSha256 (cached files were checked as downloaded). */
async function readAll(spec: NamedIdxDataset, paths: Record<IdxFileKey, string>, checkRaw: boolean): Promise<Located> {
  const entries = await Promise.all(
    IDX_FILE_KEYS.map(async (key) => {
      const bytes = await readMaybeGzip(paths[key]);
      const expected = checkRaw ? spec.files[key].rawSha256 : undefined;
      if (expected) {
        const actual = sha256Hex(bytes);
        if (actual !== expected) {
          throw new UlearnError(`${paths[key]}: decompressed data has SHA-256 ${actual}, expected ${expected}`, {
            code: 'E_CHECKSUM',
            hint: `this copy differs from the published ${spec.name}; to use other data load it as an IDX pair ({idx: {images, labels}}), or set systemDir: null to use the download cache`,
          });
        }
      }
      return [key, parseIdx(bytes, paths[key])] as const;
    }),
  );
  return { ...(Object.fromEntries(entries) as Record<IdxFileKey, IdxArray>), paths };
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
