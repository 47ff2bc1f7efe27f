/**
 * A folder of images (PNG, JPEG, WebP; found recursively, dot-files skipped) as a Dataset. Labels come from:
 *   - a CSV (`csv` option): header `file,label` (any order); `file` is relative to the folder; an empty label
 *     means unlabeled; images not listed are loaded unlabeled (the usual "few labels, many images" case);
 *   - otherwise the layout: class subfolders (`root/<class>/**`) give labels, a flat folder gives none.
 *     `labels: 'none'` ignores subfolder names.
 * Classes are sorted with numbers in numeric order ('2' before '10'); samples are in path order.
 * Sizes: `size` gives a size x size target; without it, same-sized images keep their size and mixed sizes go
 * to the median shorter side (square). See image-decode.ts for the resize policies.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, isAbsolute, join, posix, resolve } from 'node:path';
import { UlearnError } from '../errors.js';
import { mapLimit } from '../util/pool.js';
import type { Dataset, Split } from './dataset.js';
import { parseCsv } from './csv.js';
import { decodeImage, imageSize, RESIZE_POLICIES, writePixels, type DecodedImage, type ResizePolicy } from './image-decode.js';

/** The image files every command reads (sharp decodes each; a GIF gives its first frame): training, clean, predict and label. */
export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.webp', '.gif'];

/**
 * What a folder of samples holds, for the listing and the labels that image and audio folders share
 * (audio-folder.ts): the file extensions, and the word the messages use for one file.
 */
export interface FolderMedia {
  noun: string;
  extensions: readonly string[];
}

export const IMAGE_MEDIA: FolderMedia = { noun: 'image', extensions: IMAGE_EXTENSIONS };

/** What every folder of media files (images, audio) is loaded with: labels, bad files, reading, naming. */
export interface FolderOptions {
  /** 'auto' (default): class subfolders if there are any; 'none': unlabeled whatever the layout. */
  labels?: 'auto' | 'none';
  /** Label file (CSV `file,label`), relative to the folder or absolute. */
  csv?: string;
  /** Skip (and report) files that fail to decode instead of failing. */
  skipBad?: boolean;
  /** Files read and decoded at once (default 8). */
  concurrency?: number;
  split?: Split;
  /** Default: the folder's name. */
  name?: string;
}

export interface ImageFolderOptions extends FolderOptions {
  /** Target size (square). Default: keep a common size, else the median shorter side. */
  size?: number;
  /** How to reach the target size; default 'crop' (shorter side to size, then centre crop). */
  resize?: ResizePolicy;
  /** 1 (gray) or 3 (RGB); default 'infer': 3 if any image is visibly coloured. */
  channels?: 1 | 3 | 'infer';
}

export interface SkippedImage {
  /** Path relative to the folder. */
  file: string;
  reason: string;
}

export interface ImageFolderResult {
  dataset: Dataset;
  /** Files left out because they failed to decode (only with skipBad). */
  skipped: SkippedImage[];
}

const collator = new Intl.Collator('en', { numeric: true });

export async function loadImageFolder(root: string, opts: ImageFolderOptions = {}): Promise<ImageFolderResult> {
  const o = checkOptions(opts);
  await checkFolder(root);
  const files = await listImages(root);
  if (files.length === 0) {
    throw new UlearnError(`${root}: no images (${IMAGE_EXTENSIONS.join(', ')}) found in this folder or below`, { code: 'E_DATA' });
  }
  const labeling = await folderLabels(root, files, o);

  const skipped: SkippedImage[] = [];
  const fail = (file: string, err: unknown): undefined => {
    const reason = err instanceof Error ? err.message : String(err);
    if (!o.skipBad) {
      throw new UlearnError(`${join(root, file)}: cannot decode image (${reason})`, {
        code: 'E_DATA',
        hint: '`ulearn clean <folder>` lists every unreadable file and writes a manifest that leaves them out (train on that manifest); or remove or replace the file',
        cause: err,
      });
    }
    skipped.push({ file, reason });
    return undefined;
  };

  let keep = files.map((_, i) => i);
  let height: number;
  let width: number;
  if (o.size !== undefined) {
    height = width = o.size;
  } else {
    const sizes = await mapLimit(files, o.concurrency, (f) => imageSize(join(root, f)).catch((err) => fail(f, err)));
    keep = keep.filter((i) => sizes[i] !== undefined);
    [height, width] = defaultSize(keep.map((i) => sizes[i]!));
  }
  const decoded = await mapLimit(keep, o.concurrency, (i) =>
    decodeImage(join(root, files[i]), height, width, o.resize).catch((err): DecodedImage | undefined => fail(files[i], err)),
  );
  const good = keep.filter((_, k) => decoded[k] !== undefined);
  const images = decoded.filter((d): d is DecodedImage => d !== undefined);
  if (images.length === 0) {
    throw new UlearnError(`${root}: none of the ${files.length} images could be decoded (first: ${skipped[0]?.file}: ${skipped[0]?.reason})`, {
      code: 'E_DATA',
    });
  }

  const { classes, y } = dropEmptyClasses(labeling.classes, Int32Array.from(good, (i) => labeling.labels[i]));
  const channels = o.channels === 'infer' ? (images.some((d) => d.color) ? 3 : 1) : o.channels;
  const per = height * width * channels;
  const x = new Float32Array(images.length * per);
  images.forEach((img, k) => writePixels(img, channels, x, k * per));
  return {
    dataset: {
      name: o.name ?? basename(resolve(root)),
      modality: 'image',
      inputShape: [height, width, channels],
      classes,
      size: images.length,
      ids: good.map((i) => files[i]),
      x,
      y,
      split: o.split,
      source: root,
    },
    skipped,
  };
}

type CheckedOptions = Required<Pick<ImageFolderOptions, 'resize' | 'channels' | 'labels' | 'skipBad' | 'concurrency' | 'split'>> &
  Pick<ImageFolderOptions, 'size' | 'csv' | 'name'>;

function checkOptions(opts: ImageFolderOptions): CheckedOptions {
  const positiveInt = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v > 0;
  if (opts.size !== undefined && !positiveInt(opts.size)) {
    throw new UlearnError(`image size must be a positive integer, got ${String(opts.size)}`, { code: 'E_CONFIG' });
  }
  if (opts.resize !== undefined && !RESIZE_POLICIES.includes(opts.resize)) {
    throw new UlearnError(`resize must be one of ${RESIZE_POLICIES.join(', ')}, got ${String(opts.resize)}`, { code: 'E_CONFIG' });
  }
  if (opts.channels !== undefined && ![1, 3, 'infer'].includes(opts.channels)) {
    throw new UlearnError(`channels must be 1, 3 or 'infer', got ${String(opts.channels)}`, { code: 'E_CONFIG' });
  }
  if (opts.concurrency !== undefined && !positiveInt(opts.concurrency)) {
    throw new UlearnError(`concurrency must be a positive integer, got ${String(opts.concurrency)}`, { code: 'E_CONFIG' });
  }
  if (opts.labels !== undefined && opts.labels !== 'auto' && opts.labels !== 'none') {
    throw new UlearnError(`labels must be 'auto' or 'none', got ${String(opts.labels)}`, { code: 'E_CONFIG' });
  }
  if (opts.labels === 'none' && opts.csv !== undefined) {
    throw new UlearnError(`labels: 'none' and a label csv contradict each other`, { code: 'E_CONFIG' });
  }
  return {
    resize: opts.resize ?? 'crop',
    channels: opts.channels ?? 'infer',
    labels: opts.labels ?? 'auto',
    skipBad: opts.skipBad ?? false,
    concurrency: opts.concurrency ?? 8,
    split: opts.split ?? 'train',
    size: opts.size,
    csv: opts.csv,
    name: opts.name,
  };
}

/** Throws a UlearnError unless `root` is a folder (missing, unreadable, or a file). */
export async function checkFolder(root: string, media = IMAGE_MEDIA): Promise<void> {
  const st = await stat(root).catch((err: NodeJS.ErrnoException) => {
    throw new UlearnError(`${root}: ${err.code === 'ENOENT' ? 'folder not found' : `cannot open (${err.code})`}`, { code: 'E_DATA_MISSING', cause: err });
  });
  if (!st.isDirectory()) throw new UlearnError(`${root}: is a file, expected a folder of ${media.noun}s`, { code: 'E_DATA' });
}

/** Image files below `root`, as `listMediaFiles` lists them. */
export function listImages(root: string): Promise<string[]> {
  return listMediaFiles(root, IMAGE_MEDIA);
}

/**
 * Files of `media` below `root` as sorted posix-style relative paths (stable ids on every OS). Dot-files and
 * dot-folders (.git, .DS_Store, .cache) are skipped without descending; symlinked files are followed,
 * symlinked folders are not (no cycles).
 */
export async function listMediaFiles(root: string, media: FolderMedia): Promise<string[]> {
  const isMedia = (name: string) => media.extensions.some((ext) => name.toLowerCase().endsWith(ext));
  const out: string[] = [];
  const walk = async (dir: string, prefix: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      if (e.name.startsWith('.')) continue;
      const rel = prefix ? `${prefix}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(join(dir, e.name), rel);
      else if (isMedia(e.name) && (e.isFile() || (e.isSymbolicLink() && (await stat(join(dir, e.name)).catch(() => undefined))?.isFile()))) {
        out.push(rel);
      }
    }
  };
  await walk(root, '');
  return out.sort();
}

export interface Labeling {
  classes: string[];
  /** Per file in `files` order; -1 = unlabeled. */
  labels: number[];
}

/** The label file a folder may hold at its top level (`file,label`), read without being named. */
export const LABEL_CSV = 'labels.csv';

/**
 * A folder's labels, decided here for every command that takes a folder: an explicit csv; else `labels.csv`
 * at the top of the folder (it wins over subfolder names: a file that states labels is meant to be used);
 * else class subfolders; `labels: 'none'` reads none.
 */
export async function folderLabels(root: string, files: string[], o: { csv?: string; labels?: 'auto' | 'none' }, media = IMAGE_MEDIA): Promise<Labeling> {
  if (o.csv !== undefined) return labelsFromCsv(root, o.csv, files, media);
  if (o.labels !== 'none' && (await stat(join(root, LABEL_CSV)).catch(() => undefined))?.isFile()) return labelsFromCsv(root, LABEL_CSV, files, media);
  return labelsFromLayout(root, files, o.labels ?? 'auto', media);
}

export function labelsFromLayout(root: string, files: string[], mode: 'auto' | 'none', media = IMAGE_MEDIA): Labeling {
  const top = files.filter((f) => !f.includes('/'));
  if (mode === 'none' || top.length === files.length) return { classes: [], labels: files.map(() => -1) };
  if (top.length > 0) {
    const nested = files.find((f) => f.includes('/'))!;
    throw new UlearnError(
      `${root}: mixes ${media.noun}s at the top level (e.g. ${top[0]}) with ${media.noun}s in class subfolders (e.g. ${nested}), so labels are ambiguous`,
      { code: 'E_DATA', hint: `move the top-level ${media.noun}s into a subfolder, give a label csv, or set labels: 'none'` },
    );
  }
  const names = files.map((f) => f.slice(0, f.indexOf('/')));
  const classes = [...new Set(names)].sort(collator.compare);
  const index = new Map(classes.map((c, i) => [c, i]));
  return { classes, labels: names.map((n) => index.get(n)!) };
}

export async function labelsFromCsv(root: string, csv: string, files: string[], media = IMAGE_MEDIA): Promise<Labeling> {
  const csvPath = isAbsolute(csv) ? csv : join(root, csv);
  const text = await readFile(csvPath, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new UlearnError(`${csvPath}: ${err.code === 'ENOENT' ? 'label file not found' : `cannot read (${err.code})`}`, { code: 'E_DATA_MISSING', cause: err });
  });
  const rows = parseCsv(text, csvPath);
  if (rows.length === 0) throw new UlearnError(`${csvPath}: empty; expected a header line 'file,label'`, { code: 'E_DATA' });
  const header = rows[0].fields.map((h) => h.trim().toLowerCase());
  const unknown = header.filter((h) => h !== 'file' && h !== 'label');
  const fileCol = header.indexOf('file');
  const labelCol = header.indexOf('label');
  if (fileCol < 0 || labelCol < 0) {
    throw new UlearnError(`${csvPath} line ${rows[0].line}: header must name the columns 'file' and 'label', got '${rows[0].fields.join(',')}'`, {
      code: 'E_DATA',
      hint: 'add a first line `file,label`',
    });
  }
  if (unknown.length > 0 || header.length !== 2) {
    throw new UlearnError(`${csvPath} line ${rows[0].line}: unknown column(s) ${unknown.map((u) => `'${u}'`).join(', ') || '(duplicate names)'}; only 'file' and 'label' are read`, {
      code: 'E_DATA',
    });
  }
  const fileIndex = new Map(files.map((f, i) => [f, i]));
  const rowLabel = new Map<number, string>();
  const seenAt = new Map<string, number>();
  for (const row of rows.slice(1)) {
    if (row.fields.length !== 2) {
      throw new UlearnError(`${csvPath} line ${row.line}: expected 2 fields (file,label), got ${row.fields.length}`, { code: 'E_DATA' });
    }
    const file = posix.normalize(row.fields[fileCol].trim().replaceAll('\\', '/'));
    const label = row.fields[labelCol].trim();
    const first = seenAt.get(file);
    if (first !== undefined) {
      throw new UlearnError(`${csvPath} line ${row.line}: duplicate row for ${file} (first on line ${first})`, { code: 'E_DATA' });
    }
    seenAt.set(file, row.line);
    const i = fileIndex.get(file);
    if (i === undefined) {
      const known = media.extensions.some((ext) => file.toLowerCase().endsWith(ext));
      const why = known ? `no such ${media.noun}` : `not a ${media.extensions.join('/')} ${media.noun}`;
      throw new UlearnError(`${csvPath} line ${row.line}: ${file}: ${why} in ${root}`, {
        code: 'E_DATA',
        hint: `paths in the csv are relative to ${root}`,
      });
    }
    if (label !== '') rowLabel.set(i, label);
  }
  const classes = [...new Set(rowLabel.values())].sort(collator.compare);
  const index = new Map(classes.map((c, i) => [c, i]));
  return { classes, labels: files.map((_, i) => (rowLabel.has(i) ? index.get(rowLabel.get(i)!)! : -1)) };
}

/** Classes left without samples (their only files were skipped) are removed, so every class has data. */
export function dropEmptyClasses(classes: string[], y: Int32Array): { classes: string[]; y: Int32Array } {
  const used = new Set(y);
  if (classes.every((_, c) => used.has(c))) return { classes, y };
  const remap = new Int32Array(classes.length).fill(-1);
  const kept: string[] = [];
  classes.forEach((name, c) => {
    if (used.has(c)) remap[c] = kept.push(name) - 1;
  });
  return { classes: kept, y: y.map((c) => (c < 0 ? -1 : remap[c])) };
}

/** [height, width]: the common size if all agree, else a square of the median shorter side. */
function defaultSize(sizes: { width: number; height: number }[]): [number, number] {
  if (sizes.length === 0) return [1, 1]; // every file failed; the caller reports that
  if (sizes.every((s) => s.width === sizes[0].width && s.height === sizes[0].height)) return [sizes[0].height, sizes[0].width];
  const shorter = sizes.map((s) => Math.min(s.width, s.height)).sort((a, b) => a - b);
  const side = shorter[Math.floor((shorter.length - 1) / 2)];
  return [side, side];
}
