/**
 * WAV (RIFF/WAVE) files, read and written by us: the format is a few chunks of little-endian fields, and owning
 * the parser lets every malformed file get an error that names the problem and its byte offset.
 *
 * Read: PCM 8-bit (unsigned), 16/24/32-bit (signed) and IEEE float 32/64, plain or WAVE_FORMAT_EXTENSIBLE (the
 * sample format is then the first two bytes of the subformat GUID), any number of channels, mixed to mono by
 * their mean. Integers are scaled to [-1, 1) as torchaudio and soundfile do: int16 / 32768, int24 / 2^23,
 * int32 / 2^31, uint8 (v - 128) / 128. Floats are taken as they are; a NaN or infinite sample is an error.
 * Chunks other than `fmt ` and `data` (LIST, fact, cue, ...) are skipped, with the pad byte that follows an
 * odd-sized chunk; what comes after the data chunk is not read. A trailing partial frame is dropped (as
 * libsndfile does). The RIFF size field is ignored: many writers get it wrong, and the file's length is what
 * bounds the data.
 * Refused with the format named: compressed codecs (ADPCM, A-law, mu-law, MP3, ...), RIFX (big-endian), RF64.
 *
 * Written: mono 16-bit PCM or 32-bit float, the two formats every audio tool reads.
 */
import { readFile } from 'node:fs/promises';
import { UlearnError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic.js';

export interface WavAudio {
  sampleRate: number;
  /** Channels in the file (the samples are their mean). */
  channels: number;
  /** 'pcm' (integers) or 'float'. */
  encoding: 'pcm' | 'float';
  bitsPerSample: number;
  /** Mono samples, one per frame. */
  samples: Float32Array;
}

const PCM = 0x0001;
const IEEE_FLOAT = 0x0003;
const EXTENSIBLE = 0xfffe;
/** The 14 bytes after the format code in every KSDATAFORMAT_SUBTYPE_* GUID WAV files use. */
const GUID_TAIL = [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71];

/** Names of format tags met in the wild, so a refusal says what the file is. */
const FORMAT_NAMES: Record<number, string> = {
  0x0002: 'Microsoft ADPCM',
  0x0006: 'A-law',
  0x0007: 'mu-law',
  0x0011: 'IMA ADPCM',
  0x0031: 'GSM 6.10',
  0x0050: 'MPEG',
  0x0055: 'MPEG Layer 3 (MP3)',
  0x0161: 'Windows Media Audio',
  0x2000: 'AC-3',
  0xf1ac: 'FLAC',
};

const formatName = (tag: number): string => `${FORMAT_NAMES[tag] ?? 'an unknown codec'} (format tag 0x${tag.toString(16).padStart(4, '0')})`;

interface Format {
  encoding: 'pcm' | 'float';
  channels: number;
  sampleRate: number;
  bitsPerSample: number;
  blockAlign: number;
}

/**
 * Decodes a WAV file's bytes to mono float samples. Throws an Error saying what is wrong and where (byte
 * offsets from the start of the file); `readWav` and the audio folder loader add the file name.
 */
export function decodeWav(bytes: Uint8Array): WavAudio {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (at: number) => String.fromCharCode(...bytes.subarray(at, at + 4));
  if (bytes.length < 12) throw new Error(`truncated header: the file has ${bytes.length} bytes, a WAV file starts with a 12-byte RIFF header`);
  const riff = tag(0);
  if (riff === 'RIFX') throw new Error('big-endian WAV (RIFX) is not supported; convert it to a little-endian WAV');
  if (riff === 'RF64') throw new Error('RF64 (WAV over 4 GB) is not supported');
  if (riff !== 'RIFF' || tag(8) !== 'WAVE') {
    throw new Error(`not a WAV file: it starts with ${JSON.stringify(tag(0))}...${JSON.stringify(tag(8))}, expected "RIFF"...."WAVE"`);
  }
  let format: Format | undefined;
  let at = 12;
  for (;;) {
    if (at + 8 > bytes.length) {
      if (at < bytes.length) throw new Error(`truncated: the chunk header at byte ${at} is cut off by the end of the file (byte ${bytes.length})`);
      throw new Error(format ? `no data chunk (the chunks end at byte ${at})` : `no fmt chunk before the end of the file (byte ${at})`);
    }
    const id = tag(at);
    const size = view.getUint32(at + 4, true);
    const body = at + 8;
    if (id === 'data') {
      if (!format) throw new Error(`the data chunk at byte ${at} comes before the fmt chunk, which says how to read it`);
      if (body + size > bytes.length) {
        throw new Error(`truncated: the data chunk at byte ${at} declares ${size} bytes, but the file ends ${bytes.length - body} bytes after its header`);
      }
      return { ...pick(format), samples: decodeSamples(view, body, Math.floor(size / format.blockAlign), format) };
    }
    if (body + size > bytes.length) throw new Error(`truncated: chunk "${id}" at byte ${at} declares ${size} bytes, but the file ends at byte ${bytes.length}`);
    if (id === 'fmt ') format = parseFormat(view, body, size, at);
    at = body + size + (size % 2); // chunks are padded to an even size
  }
}

function pick(f: Format): Omit<WavAudio, 'samples'> {
  return { sampleRate: f.sampleRate, channels: f.channels, encoding: f.encoding, bitsPerSample: f.bitsPerSample };
}

function parseFormat(view: DataView, body: number, size: number, at: number): Format {
  if (size < 16) throw new Error(`the fmt chunk at byte ${at} has ${size} bytes, expected at least 16`);
  let code = view.getUint16(body, true);
  const channels = view.getUint16(body + 2, true);
  const sampleRate = view.getUint32(body + 4, true);
  const blockAlign = view.getUint16(body + 12, true);
  const bitsPerSample = view.getUint16(body + 14, true);
  if (code === EXTENSIBLE) {
    if (size < 40) throw new Error(`the fmt chunk at byte ${at} is WAVE_FORMAT_EXTENSIBLE but has ${size} bytes, expected 40`);
    code = view.getUint16(body + 24, true);
    const tail = Array.from({ length: 14 }, (_, i) => view.getUint8(body + 26 + i));
    if (tail.some((b, i) => b !== GUID_TAIL[i])) throw new Error(`WAVE_FORMAT_EXTENSIBLE with a non-standard subformat GUID (fmt chunk at byte ${at}): an unknown codec`);
  }
  if (code !== PCM && code !== IEEE_FLOAT) throw new Error(`unsupported codec: ${formatName(code)}; only PCM and IEEE float WAV are read, convert it (e.g. ffmpeg -i in.wav -c:a pcm_s16le out.wav)`);
  const encoding = code === PCM ? 'pcm' : 'float';
  const depths = encoding === 'pcm' ? [8, 16, 24, 32] : [32, 64];
  if (!depths.includes(bitsPerSample)) throw new Error(`unsupported sample size: ${bitsPerSample}-bit ${encoding === 'pcm' ? 'PCM' : 'float'} (supported: ${depths.join(', ')} bits)`);
  if (channels === 0) throw new Error(`the fmt chunk at byte ${at} declares 0 channels`);
  if (sampleRate === 0) throw new Error(`the fmt chunk at byte ${at} declares a sample rate of 0`);
  if (blockAlign !== (channels * bitsPerSample) / 8) {
    throw new Error(`the fmt chunk at byte ${at} declares ${blockAlign} bytes per frame, but ${channels} channel(s) of ${bitsPerSample} bits take ${(channels * bitsPerSample) / 8}`);
  }
  return { encoding, channels, sampleRate, bitsPerSample, blockAlign };
}

function decodeSamples(view: DataView, start: number, frames: number, f: Format): Float32Array {
  if (frames === 0) throw new Error('no samples: the data chunk is empty');
  const bytes = f.bitsPerSample / 8;
  const read: (at: number) => number =
    f.encoding === 'float'
      ? bytes === 4
        ? (at) => view.getFloat32(at, true)
        : (at) => view.getFloat64(at, true)
      : bytes === 1
        ? (at) => (view.getUint8(at) - 128) / 128
        : bytes === 2
          ? (at) => view.getInt16(at, true) / 32768
          : bytes === 3
            ? (at) => ((view.getUint8(at + 2) << 24) | (view.getUint8(at + 1) << 16) | (view.getUint8(at) << 8)) / 2147483648
            : (at) => view.getInt32(at, true) / 2147483648;
  const out = new Float32Array(frames);
  for (let i = 0; i < frames; i++) {
    let sum = 0;
    for (let c = 0; c < f.channels; c++) {
      const at = start + (i * f.channels + c) * bytes;
      const v = read(at);
      if (!Number.isFinite(v)) throw new Error(`sample ${i}${f.channels > 1 ? ` (channel ${c})` : ''} at byte ${at} is ${v}; a WAV file must hold finite numbers`);
      sum += v;
    }
    out[i] = sum / f.channels;
  }
  return out;
}

/** Reads and decodes a WAV file; a bad file is a UlearnError naming it and the problem. */
export async function readWav(path: string): Promise<WavAudio> {
  const bytes = await readFile(path).catch((err: NodeJS.ErrnoException) => {
    throw new UlearnError(`${path}: ${err.code === 'ENOENT' ? 'file not found' : `cannot read (${err.code})`}`, { code: 'E_DATA_MISSING', cause: err });
  });
  try {
    return decodeWav(bytes);
  } catch (err) {
    throw new UlearnError(`${path}: ${(err as Error).message}`, { code: 'E_DATA', cause: err });
  }
}

export type WavEncoding = 'pcm16' | 'float32';

/**
 * A mono WAV file's bytes. pcm16 rounds to the nearest step and clips to [-1, 32767/32768] (values outside
 * [-1, 1] cannot be stored); float32 keeps the values (they must be finite).
 */
export function encodeWav(samples: Float32Array, sampleRate: number, encoding: WavEncoding = 'pcm16'): Uint8Array {
  if (!Number.isInteger(sampleRate) || sampleRate <= 0 || sampleRate > 0xffffffff) throw new UlearnError(`sample rate must be a positive integer, got ${sampleRate}`, { code: 'E_CONFIG' });
  const bytes = encoding === 'pcm16' ? 2 : 4;
  const dataSize = samples.length * bytes;
  const out = new Uint8Array(44 + dataSize + (dataSize % 2));
  const view = new DataView(out.buffer);
  const ascii = (at: number, s: string) => [...s].forEach((ch, i) => view.setUint8(at + i, ch.charCodeAt(0)));
  ascii(0, 'RIFF');
  view.setUint32(4, out.length - 8, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  view.setUint32(16, 16, true);
  view.setUint16(20, encoding === 'pcm16' ? PCM : IEEE_FLOAT, true);
  view.setUint16(22, 1, true);
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * bytes, true);
  view.setUint16(32, bytes, true);
  view.setUint16(34, bytes * 8, true);
  ascii(36, 'data');
  view.setUint32(40, dataSize, true);
  for (let i = 0; i < samples.length; i++) {
    const v = samples[i];
    if (!Number.isFinite(v)) throw new UlearnError(`sample ${i} is ${v}; only finite samples can be written`, { code: 'E_DATA' });
    if (encoding === 'pcm16') view.setInt16(44 + 2 * i, Math.max(-32768, Math.min(32767, Math.round(v * 32768))), true);
    else view.setFloat32(44 + 4 * i, v, true);
  }
  return out;
}

/** Writes a mono WAV file atomically. */
export async function writeWav(path: string, samples: Float32Array, sampleRate: number, encoding: WavEncoding = 'pcm16'): Promise<void> {
  await writeFileAtomic(path, encodeWav(samples, sampleRate, encoding));
}
