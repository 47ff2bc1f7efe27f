/**
 * Can a sample be used at all: unreadable files, a size or channel count other than the dataset's, constant
 * (blank) images, non-finite values. Cheap per-sample tests over what the scan recorded.
 */
import { SPLIT_NAMES, type Check, type CheckResult, type ImageSamples } from '../types.js';

export const corruptCheck: Check = {
  name: 'corrupt',
  always: true,
  run: ({ samples: s }) => corruptResult(s, 'the file cannot be read or decoded (truncated, bad checksum, not an image, empty)'),
};

/** Files that could not be read, one flag each, with the reasons tallied (images and audio alike). */
export function corruptResult(s: Pick<ImageSamples, 'ids' | 'readError'>, description: string): CheckResult {
  const n = s.ids.length;
  const flags = new Uint8Array(n);
  const scores = new Float32Array(n);
  for (const i of s.readError.keys()) flags[i] = scores[i] = 1;
  const byReason = new Map<string, number>();
  for (const why of s.readError.values()) {
    const key = why.replace(/\d+/g, '#').slice(0, 80);
    byReason.set(key, (byReason.get(key) ?? 0) + 1);
  }
  return {
    name: 'corrupt',
    description,
    scores,
    flags,
    action: 'exclude',
    reason: (i) => `corrupt: ${s.readError.get(i) ?? 'unreadable'}`,
    summary: { flagged: s.readError.size, reasons: Object.fromEntries([...byReason].sort((a, b) => b[1] - a[1])) },
  };
}

export const shapeCheck: Check = {
  name: 'wrong_shape',
  always: true,
  run({ samples: s }): CheckResult {
    const n = s.ids.length;
    const flags = new Uint8Array(n);
    const scores = new Float32Array(n);
    let size = 0;
    let channels = 0;
    for (let i = 0; i < n; i++) {
      if (!s.readable[i]) continue;
      const [h, w, c] = s.nativeShape.subarray(i * 3, i * 3 + 3);
      const badSize = h !== s.storedHeight || w !== s.storedWidth;
      const badChannels = c !== s.channels;
      size += +badSize;
      channels += +badChannels;
      if (badSize || badChannels) flags[i] = scores[i] = 1;
    }
    return {
      name: 'wrong_shape',
      description: `size or channel count differs from the dataset's ${s.storedHeight}x${s.storedWidth}x${s.channels} (the sample was resized or converted)`,
      scores,
      flags,
      action: 'none',
      reason: (i) => `wrong_shape: ${nativeText(s, i)}, expected ${s.storedHeight}x${s.storedWidth}x${s.channels}`,
      summary: { flagged: size + channels - countBoth(s), wrong_size: size, wrong_channels: channels, expected: [s.storedHeight, s.storedWidth, s.channels] },
    };
  },
};

/** Every pixel the same value: an empty frame, a failed capture, a placeholder. Score: 1 - normalised std. */
export const blankCheck: Check = {
  name: 'blank',
  always: true,
  run({ samples: s }): CheckResult {
    const n = s.ids.length;
    const per = s.height * s.width * s.channels;
    const flags = new Uint8Array(n);
    const scores = new Float32Array(n).fill(NaN);
    let count = 0;
    for (let i = 0; i < n; i++) {
      if (!s.readable[i] || s.nonFinite[i]) continue;
      let sum = 0;
      let sq = 0;
      for (let j = i * per; j < (i + 1) * per; j++) {
        const v = s.pixels[j];
        sum += v;
        sq += v * v;
      }
      const mean = sum / per;
      const std = Math.sqrt(Math.max(0, sq / per - mean * mean));
      // Max possible std of 8-bit values is 127.5.
      scores[i] = 1 - std / 127.5;
      if (std === 0) {
        flags[i] = 1;
        count++;
      }
    }
    return {
      name: 'blank',
      description: 'every pixel has the same value (an empty or placeholder image)',
      scores,
      flags,
      action: 'exclude',
      summary: { flagged: count },
    };
  },
};

export const nonFiniteCheck: Check = {
  name: 'non_finite',
  always: true,
  run({ samples: s }): CheckResult {
    const n = s.ids.length;
    const flags = Uint8Array.from(s.nonFinite);
    let count = 0;
    for (let i = 0; i < n; i++) count += flags[i];
    return {
      name: 'non_finite',
      description: 'the sample holds NaN or infinite values',
      scores: Float32Array.from(flags),
      flags,
      action: 'exclude',
      summary: { flagged: count },
    };
  },
};

/** Samples per class per split and the largest/smallest class ratio; flags nothing per sample. */
export const imbalanceCheck: Check = {
  name: 'class_imbalance',
  always: true,
  run: ({ samples }) => imbalanceResult(samples),
};

/** Class counts per split and the imbalance ratio (images and audio alike). */
export function imbalanceResult(s: Pick<ImageSamples, 'ids' | 'split' | 'y' | 'classes'>): CheckResult {
  const n = s.ids.length;
  const perSplit: Record<string, Record<string, number>> = {};
  const train = new Array<number>(s.classes.length).fill(0);
  let unlabeled = 0;
  for (let i = 0; i < n; i++) {
    const split = SPLIT_NAMES[s.split[i]];
    if (s.y[i] < 0) {
      unlabeled++;
      continue;
    }
    const name = s.classes[s.y[i]];
    perSplit[split] ??= {};
    perSplit[split][name] = (perSplit[split][name] ?? 0) + 1;
    if (s.split[i] === 0) train[s.y[i]]++;
  }
  const present = train.filter((c) => c > 0);
  const ratio = present.length > 0 ? Math.max(...present) / Math.min(...present) : null;
  // Class frequency relative to the largest class: 1 = the largest, near 0 = rare.
  const scores = new Float32Array(n).fill(NaN);
  const top = Math.max(1, ...train);
  for (let i = 0; i < n; i++) if (s.y[i] >= 0) scores[i] = 1 - train[s.y[i]] / top;
  const missing = s.classes.filter((_, c) => train[c] === 0);
  return {
    name: 'class_imbalance',
    description: 'dataset level: how unevenly the labeled training samples spread over the classes',
    scores,
    flags: new Uint8Array(n),
    action: 'none',
    summary: {
      flagged: 0,
      imbalance_ratio: ratio,
      imbalanced: ratio !== null && ratio > 10,
      classes_without_train_labels: missing,
      unlabeled,
      counts: perSplit,
    },
  };
}

function nativeText(s: ImageSamples, i: number): string {
  const [h, w, c] = s.nativeShape.subarray(i * 3, i * 3 + 3);
  return `${h}x${w}x${c}`;
}

function countBoth(s: ImageSamples): number {
  let both = 0;
  for (let i = 0; i < s.ids.length; i++) {
    if (!s.readable[i]) continue;
    const [h, w, c] = s.nativeShape.subarray(i * 3, i * 3 + 3);
    if ((h !== s.storedHeight || w !== s.storedWidth) && c !== s.channels) both++;
  }
  return both;
}
