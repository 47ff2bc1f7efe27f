/**
 * A folder of audio clips as a Dataset (`modality: 'audio'`), with the conventions of image folders
 * (image-folder.ts): files found recursively (dot-files skipped), ids are their paths relative to the folder,
 * labels from a `file,label` CSV (`csv`, or `labels.csv` at the top), else from class subfolders, else none;
 * classes in numeric order; a class whose only files were skipped is dropped.
 *
 * Each file is decoded (WAV only, wav.ts), mixed to mono, resampled to 16 kHz (resample.ts) and brought to the
 * clip length (default 1 s = 16000 samples) by one policy, `fitClip`: a longer recording keeps its centre
 * (equal parts cut from both ends), a shorter one is padded with silence on both sides (equal parts), so a
 * short word sits in the middle of its clip either way; an odd sample goes to the end.
 *
 * `Dataset.x` holds the waveforms, [clipSamples] per sample, not features. The feature front-end
 * (preprocess/audio.ts: log-mel or MFCC, normalised per band) runs in batches when a model reads them: SSL
 * views of speech act on both (time shift, speed and noise on the waveform, SpecAugment masks on the
 * features), the features' settings are chosen and saved with the model rather than fixed at loading, and a
 * second of waveform (64 KB) is only 4 times its 40-band log-mel.
 *
 * Files that cannot be used (see wav.ts: truncated, empty, unsupported codec, NaN samples; and .mp3, .ogg,
 * .flac, listed so they are not silently left out) stop the load with an error naming the file and the
 * problem, or with `skipBad` are left out and returned in `skipped`.
 */
import { readFile } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import { UlearnError } from '../errors.js';
import { mapLimit } from '../util/pool.js';
import type { Dataset } from './dataset.js';
import { checkFolder, dropEmptyClasses, folderLabels, listMediaFiles, type FolderMedia, type FolderOptions, type SkippedImage } from './image-folder.js';
import { resample, SAMPLE_RATE } from './resample.js';
import { decodeWav, type WavAudio } from './wav.js';

/** The audio files a folder is searched for (the labeling app plays all four); only WAV is decoded. */
export const AUDIO_EXTENSIONS = ['.wav', '.mp3', '.ogg', '.flac'];
export const AUDIO_MEDIA: FolderMedia = { noun: 'audio file', extensions: AUDIO_EXTENSIONS };

export interface AudioFolderOptions extends FolderOptions {
  /** Clip length in seconds (default 1): every file is centre-cropped or zero-padded to it at 16 kHz. */
  seconds?: number;
  /**
   * Told each file's decoded mono samples at their own rate, before resampling and fitting (`ulearn clean`
   * measures level and clipping there, where padding and resampling cannot hide them). Not a spec field.
   */
  onDecoded?: (file: string, wav: WavAudio) => void;
}

/** A file left out with skipBad: its path relative to the folder, and why. */
export type SkippedFile = SkippedImage;

export interface AudioFolderResult {
  dataset: Dataset;
  skipped: SkippedFile[];
}

/** The longest clip length accepted (a minute of 16 kHz audio per sample is already far beyond word clips). */
const MAX_SECONDS = 60;

export async function loadAudioFolder(root: string, opts: AudioFolderOptions = {}): Promise<AudioFolderResult> {
  const seconds = opts.seconds ?? 1;
  const clipSamples = Math.round(seconds * SAMPLE_RATE);
  if (typeof seconds !== 'number' || !(seconds > 0 && seconds <= MAX_SECONDS) || Math.abs(seconds * SAMPLE_RATE - clipSamples) > 1e-6) {
    throw new UlearnError(`clip length must be a whole number of 16 kHz samples between 0 and ${MAX_SECONDS} seconds, got ${String(opts.seconds)}`, { code: 'E_CONFIG' });
  }
  const concurrency = opts.concurrency ?? 8;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new UlearnError(`concurrency must be a positive integer, got ${String(opts.concurrency)}`, { code: 'E_CONFIG' });
  if (opts.labels !== undefined && opts.labels !== 'auto' && opts.labels !== 'none') {
    throw new UlearnError(`labels must be 'auto' or 'none', got ${String(opts.labels)}`, { code: 'E_CONFIG' });
  }
  if (opts.labels === 'none' && opts.csv !== undefined) throw new UlearnError(`labels: 'none' and a label csv contradict each other`, { code: 'E_CONFIG' });

  await checkFolder(root, AUDIO_MEDIA);
  const files = await listMediaFiles(root, AUDIO_MEDIA);
  if (files.length === 0) throw new UlearnError(`${root}: no audio files (${AUDIO_EXTENSIONS.join(', ')}) found in this folder or below`, { code: 'E_DATA' });
  const labeling = await folderLabels(root, files, opts, AUDIO_MEDIA);

  const skipped: SkippedFile[] = [];
  const clips = await mapLimit(files, concurrency, async (file): Promise<Float32Array | undefined> => {
    try {
      const wav = await readClip(join(root, file));
      opts.onDecoded?.(file, wav);
      return fitClip(resample(wav.samples, wav.sampleRate, SAMPLE_RATE), clipSamples);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      if (!opts.skipBad) {
        throw new UlearnError(`${join(root, file)}: cannot read audio: ${reason}`, {
          code: 'E_DATA',
          hint: 'replace or remove the file, or load the folder with skipBad: true to leave out (and list) every file that cannot be read',
          cause: err,
        });
      }
      skipped.push({ file, reason });
      return undefined;
    }
  });
  skipped.sort((a, b) => (a.file < b.file ? -1 : 1)); // files finish in any order; report them in path order
  const good = files.map((_, i) => i).filter((i) => clips[i] !== undefined);
  if (good.length === 0) {
    throw new UlearnError(`${root}: none of the ${files.length} audio files could be read (first: ${skipped[0]?.file}: ${skipped[0]?.reason})`, { code: 'E_DATA' });
  }
  const x = new Float32Array(good.length * clipSamples);
  good.forEach((i, k) => x.set(clips[i]!, k * clipSamples));
  const { classes, y } = dropEmptyClasses(labeling.classes, Int32Array.from(good, (i) => labeling.labels[i]));
  return {
    dataset: {
      name: opts.name ?? basename(resolve(root)),
      modality: 'audio',
      inputShape: [clipSamples],
      classes,
      size: good.length,
      ids: good.map((i) => files[i]),
      x,
      y,
      split: opts.split ?? 'train',
      source: root,
    },
    skipped,
  };
}

/** One file's mono samples at 16 kHz, as folders read them (`ulearn predict` on audio files); throws an Error saying what is wrong. */
export async function readClip16k(path: string): Promise<Float32Array> {
  const wav = await readClip(path);
  return resample(wav.samples, wav.sampleRate, SAMPLE_RATE);
}

/** One file decoded (mono, its own rate); throws an Error saying what is wrong (the caller names the file). */
async function readClip(path: string): Promise<WavAudio> {
  const ext = extname(path).toLowerCase();
  if (ext !== '.wav') {
    throw new Error(`${ext.slice(1).toUpperCase()} is not decoded, only WAV; convert it, e.g. ffmpeg -i ${basename(path)} -ar 16000 ${basename(path, extname(path))}.wav`);
  }
  return decodeWav(await readFile(path));
}

/**
 * `samples` brought to `length`: the centre of a longer clip (cut (n − length)/2 from the start, the rest from
 * the end), or a shorter clip in the middle of silence (floor((length − n)/2) zeros before it).
 */
export function fitClip(samples: Float32Array, length: number): Float32Array {
  if (samples.length === length) return samples;
  if (samples.length > length) {
    const start = Math.floor((samples.length - length) / 2);
    return samples.slice(start, start + length);
  }
  const out = new Float32Array(length);
  out.set(samples, Math.floor((length - samples.length) / 2));
  return out;
}
