/**
 * The one in-memory representation every stage takes: samples as one contiguous Float32Array (row-major,
 * `inputShape` per sample, images scaled to [0, 1], NHWC), one label index per sample (-1 = no label).
 * Loaders return it; label budgets hide labels by copying `y` with -1s, never by touching the data.
 */
export type Modality = 'image' | 'audio' | 'table';
export type Split = 'train' | 'test' | 'val';

export interface Dataset {
  /** Human-readable name, e.g. 'fashion-mnist/train'. */
  name: string;
  modality: Modality;
  /** Shape of one sample, e.g. [28, 28, 1] for an image (H, W, C) or [nFeatures] for a table row. */
  inputShape: number[];
  /** Class names; label i means classes[i]. */
  classes: string[];
  /** Number of samples. */
  size: number;
  /** Stable sample ids (file path relative to the source, or `${index}` for packed formats). */
  ids: string[];
  /** size * prod(inputShape) values. */
  x: Float32Array;
  /** Label index per sample; -1 where unknown or hidden. */
  y: Int32Array;
  split: Split;
  /** Where the samples came from (files or a packed file), for reports and error messages. */
  source: string;
}

export interface DatasetSplits {
  train: Dataset;
  test?: Dataset;
}

export function sampleSize(ds: Pick<Dataset, 'inputShape'>): number {
  return ds.inputShape.reduce((a, b) => a * b, 1);
}

/** A view of sample i (no copy). */
export function sampleAt(ds: Dataset, i: number): Float32Array {
  const n = sampleSize(ds);
  return ds.x.subarray(i * n, (i + 1) * n);
}

/** Copies the samples at `indices` into a new contiguous array (for batching). */
export function gather(ds: Dataset, indices: ArrayLike<number>): Float32Array {
  return gatherRows(ds.x, sampleSize(ds), indices);
}

/** Copies rows `indices` of a row-major array with `size` values per row (samples, features) into a new one. */
export function gatherRows(x: Float32Array, size: number, indices: ArrayLike<number>): Float32Array {
  const out = new Float32Array(indices.length * size);
  for (let k = 0; k < indices.length; k++) out.set(x.subarray(indices[k] * size, (indices[k] + 1) * size), k * size);
  return out;
}

/** A dataset restricted to `indices` (copies the data), keeping classes and shape. */
export function subset(ds: Dataset, indices: ArrayLike<number>, name = ds.name): Dataset {
  const y = new Int32Array(indices.length);
  const ids: string[] = new Array(indices.length);
  for (let k = 0; k < indices.length; k++) {
    y[k] = ds.y[indices[k]];
    ids[k] = ds.ids[indices[k]];
  }
  return { ...ds, name, size: indices.length, ids, x: gather(ds, indices), y };
}
