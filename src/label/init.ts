/**
 * Creates a labeling project from a dataset: registers every sample (file, sha256, kind), and writes the
 * embeddings the light model and the strategies work on.
 *
 * - `fashion-mnist`: the first `limit` training images are written as PNGs into `<project>/media/` (so
 *   the server serves every project's media the same way, from files); their true labels are not stored.
 * - a folder: every image (.png .jpg .jpeg .webp .gif) and audio file (.wav .mp3 .ogg .flac) under it,
 *   in sorted path order; files stay where they are and the folder becomes the project's data root.
 *
 * Embeddings: with `encoder` (a run directory, checkpoint or model folder), the SSL encoder's features of each
 * image; otherwise the raw pixels, gray, downscaled to 16×16 (256 values in [0, 1]) — enough for the light
 * model to be useful on small, centred images, and computed in seconds. Audio samples get the pooled log-mel
 * embedding `ulearn clean` compares clips with (data/preprocess/audio-embedding.ts: mean and deviation over
 * time of 40 log-mel bands, 80 values), so the light model and active learning suggest the next clip as they
 * do for images. A project mixing images and audio has no embeddings (one vector space cannot hold both): it
 * is served in a fixed random order, without suggestions.
 */
import { createHash } from 'node:crypto';
import { mkdir, open, readdir, stat } from 'node:fs/promises';
import { extname, join, relative, resolve } from 'node:path';
import sharp from 'sharp';
import { MAX_IMAGE_PIXELS } from '../data/image-decode.js';
import { loadFashionMnist, FASHION_MNIST_CLASSES } from '../data/fashion-mnist.js';
import { AUDIO_EXTENSIONS } from '../data/audio-folder.js';
import { IMAGE_EXTENSIONS } from '../data/image-folder.js';
import { UlearnError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic.js';
import { Progress } from '../util/progress.js';
import { createStore, isPostgresUrl, STORE_FILE, type LabelStore, type NewSample, type ProjectMeta } from './store.js';
import type { InputPreprocessing } from '../transfer/adapt.js';

/** The audio files a project takes: the ones audio folders list (src/data/audio-folder.ts). */
export const AUDIO_EXT = AUDIO_EXTENSIONS;
export const PIXEL_SIDE = 16;

export interface InitOptions {
  /** 'fashion-mnist' or a folder. */
  data: string;
  /** Class names; default for fashion-mnist: its 10 classes. */
  classes?: string[];
  /** At most this many samples (fashion-mnist default 2000). */
  limit?: number;
  /** An SSL-pretrained encoder: run directory, checkpoint or model folder (see loadEncoder). */
  encoder?: string;
  /** An imported encoder's input preprocessing and cut (loadEncoder's options of those names). */
  encoderInputs?: { preprocessing?: InputPreprocessing; cutAt?: string };
  target?: number;
  seed?: number;
  retrainEvery?: number;
  strategy?: string;
  model?: ProjectMeta['model'];
  /** Share of labeled samples shown blind to other annotators (default 0.1). */
  overlap?: number;
  /** Where the labels are kept: 'sqlite' (default: `<project-dir>/project.db`) or a postgres:// URL. */
  store?: string;
  log?: (line: string) => void;
}

/** Regular files under `dir`. Links (to files or folders) are skipped: the server serves no links (media.ts). */
async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

export async function initProject(dir: string, opts: InitOptions): Promise<LabelStore> {
  const log = opts.log ?? ((l: string) => console.error(l));
  const projectDir = resolve(dir);
  const isFmnist = opts.data === 'fashion-mnist';
  const classes = opts.classes ?? (isFmnist ? FASHION_MNIST_CLASSES : undefined);
  if (!classes) throw new UlearnError('--classes is required for a folder dataset', { code: 'E_ARG', hint: 'e.g. --classes cat,dog,bird' });

  if (opts.store !== undefined && isPostgresUrl(opts.store)) {
    // Fail before the slow part (hashing, embeddings) when the database cannot be reached.
    const { probePostgres } = await import('./pg-store.js');
    await probePostgres(opts.store);
  }

  let dataRoot: string;
  let files: string[];
  if (isFmnist) {
    dataRoot = join(projectDir, 'media');
    files = await materializeFashionMnist(dataRoot, opts.limit ?? 2000, log);
  } else {
    dataRoot = resolve(opts.data);
    const st = await stat(dataRoot).catch(() => undefined);
    if (!st?.isDirectory()) throw new UlearnError(`${opts.data}: not a folder (and not 'fashion-mnist')`, { code: 'E_ARG' });
    files = (await walk(dataRoot)).filter((f) => [...IMAGE_EXTENSIONS, ...AUDIO_EXT].includes(extname(f).toLowerCase())).sort();
    if (opts.limit) files = files.slice(0, opts.limit);
    if (files.length === 0) throw new UlearnError(`${dataRoot}: no image or audio files found`, { code: 'E_DATA', hint: `extensions: ${[...IMAGE_EXTENSIONS, ...AUDIO_EXT].join(' ')}` });
  }

  const samples: NewSample[] = [];
  for (const f of files) {
    // Size, mtime and hash from one open file, so they describe the same bytes (the server refuses a file
    // that no longer matches them).
    const fh = await open(f, 'r');
    try {
      const st = await fh.stat();
      const hash = sha256(await fh.readFile());
      samples.push({ file: relative(dataRoot, f).split('\\').join('/'), hash, size: st.size, mtimeMs: st.mtimeMs, kind: IMAGE_EXTENSIONS.includes(extname(f).toLowerCase()) ? 'image' : 'audio' });
    } finally {
      await fh.close();
    }
  }
  const allImages = samples.every((s) => s.kind === 'image');
  const allAudio = samples.every((s) => s.kind === 'audio');
  let emb: { data: Float32Array; dim: number; source: string } | undefined;
  if (allImages) emb = opts.encoder ? await encoderEmbeddings(files, opts.encoder, opts.encoderInputs) : await pixelEmbeddings(files);
  else if (allAudio) {
    if (opts.encoder) throw new UlearnError('--encoder is for image projects; audio clips are embedded with their pooled log-mel', { code: 'E_ARG' });
    emb = await audioEmbeddings(files, dataRoot, log);
  } else log('label init: images and audio in one project: no embeddings, samples are served in a fixed random order without suggestions');

  const store = await createStore(projectDir, {
    name: projectDir.split('/').pop() ?? 'project',
    classes,
    dataRoot,
    target: opts.target ?? Math.min(samples.length, 20 * classes.length),
    seed: opts.seed ?? 0,
    retrainEvery: opts.retrainEvery ?? 20,
    strategy: opts.strategy ?? 'hybrid',
    model: opts.model ?? 'linear',
    overlap: opts.overlap ?? 0.1,
  }, opts.store);
  await store.addSamples(samples);
  if (emb) {
    await writeFileAtomic(join(projectDir, 'embeddings.f32'), new Uint8Array(emb.data.buffer, emb.data.byteOffset, emb.data.byteLength));
    await store.setEmbeddings('embeddings.f32', emb.dim, samples.length, emb.source);
  }
  log(`label init: ${samples.length} samples, ${classes.length} classes, embeddings: ${emb ? `${emb.source} (${emb.dim} dims)` : 'none'}`);
  if (store.kind === 'postgres') log(`label init: labels kept in PostgreSQL at ${store.location}; ${STORE_FILE} keeps no password: every command takes it from PGPASSWORD or ~/.pgpass`);
  return store;
}

/** Longest stretch of a recording embedded (its centre): word clips are far shorter; a long file costs no more. */
const AUDIO_EMBED_SECONDS = 10;

/**
 * The pooled log-mel embedding of each audio file (WAV decoded, mixed to mono, resampled to 16 kHz, its centre
 * up to AUDIO_EMBED_SECONDS), normalised over the project's clips. A file that cannot be decoded (MP3, OGG,
 * FLAC, a damaged WAV) still gets labeled, by ear in the browser; its row is the average clip (all zeros after
 * normalisation), and each one is logged with the reason.
 */
async function audioEmbeddings(files: string[], root: string, log: (l: string) => void): Promise<{ data: Float32Array; dim: number; source: string }> {
  const [{ readWav }, { resample, SAMPLE_RATE }, { fitClip }, { pooledLogMel, standardizeEmbedding, AUDIO_EMBEDDING_DIM }] = await Promise.all([
    import('../data/wav.js'),
    import('../data/resample.js'),
    import('../data/audio-folder.js'),
    import('../data/preprocess/audio-embedding.js'),
  ]);
  const dim = AUDIO_EMBEDDING_DIM;
  const data = new Float32Array(files.length * dim);
  const ok = new Uint8Array(files.length);
  const progress = new Progress('audio embeddings', files.length);
  let bad = 0;
  for (let i = 0; i < files.length; i++) {
    try {
      if (extname(files[i]).toLowerCase() !== '.wav') throw new Error(`${extname(files[i]).slice(1).toUpperCase()} is not decoded, only WAV`);
      const wav = await readWav(files[i]);
      let x = resample(wav.samples, wav.sampleRate, SAMPLE_RATE);
      // At least 0.1 s (zero-padded; the embedding leaves padding out) so the 25 ms frames fit; at most the centre.
      x = fitClip(x, Math.min(Math.max(x.length, SAMPLE_RATE / 10), AUDIO_EMBED_SECONDS * SAMPLE_RATE));
      data.set(pooledLogMel(x, x.length), i * dim);
      ok[i] = 1;
    } catch (err) {
      bad++;
      log(`label init: ${relative(root, files[i])}: no embedding (${err instanceof Error ? err.message : String(err)}); it is labeled by ear like the rest and stands at the average clip for the model`);
    }
    progress.tick(1);
  }
  progress.done();
  standardizeEmbedding(data, dim, ok);
  if (bad > 0) log(`label init: ${bad} of ${files.length} audio files could not be decoded for embeddings`);
  return { data, dim, source: 'audio:logmel40-mean-std' };
}

async function materializeFashionMnist(mediaDir: string, limit: number, log: (l: string) => void): Promise<string[]> {
  const { train } = await loadFashionMnist();
  const n = Math.min(limit, train.size);
  const [h, w] = train.inputShape;
  await mkdir(mediaDir, { recursive: true });
  const progress = new Progress('write PNGs', n);
  const files: string[] = [];
  for (let i = 0; i < n; i++) {
    const px = new Uint8Array(h * w);
    for (let j = 0; j < h * w; j++) px[j] = Math.round(train.x[i * h * w + j] * 255);
    const png = await sharp(px, { raw: { width: w, height: h, channels: 1 } }).png().toBuffer();
    const file = join(mediaDir, `fmnist-${String(i).padStart(5, '0')}.png`);
    await writeFileAtomic(file, png);
    files.push(file);
    progress.tick(1);
  }
  progress.done();
  log(`label init: wrote ${n} Fashion-MNIST images to ${mediaDir}`);
  return files;
}

async function pixelEmbeddings(files: string[]): Promise<{ data: Float32Array; dim: number; source: string }> {
  const dim = PIXEL_SIDE * PIXEL_SIDE;
  const data = new Float32Array(files.length * dim);
  const progress = new Progress('pixel embeddings', files.length);
  for (let i = 0; i < files.length; i++) {
    const px = await sharp(files[i], { limitInputPixels: MAX_IMAGE_PIXELS }).flatten({ background: { r: 0, g: 0, b: 0 } }).greyscale().resize(PIXEL_SIDE, PIXEL_SIDE, { fit: 'fill' }).raw().toBuffer();
    for (let j = 0; j < dim; j++) data[i * dim + j] = px[j] / 255;
    progress.tick(1);
  }
  progress.done();
  return { data, dim, source: `pixels:${PIXEL_SIDE}x${PIXEL_SIDE}` };
}

/**
 * Features of a pretrained encoder (run directory, checkpoint or model folder). Each image is decoded at the
 * size and channels the encoder was trained on, which the checkpoint records (loadEncoder).
 */
async function encoderEmbeddings(files: string[], source: string, inputs: NonNullable<InitOptions['encoderInputs']> = {}): Promise<{ data: Float32Array; dim: number; source: string }> {
  const [{ loadEncoder }, { encodeFrozen }, { initBackend }, { decodeImage, writePixels }] = await Promise.all([
    import('../models/load-encoder.js'),
    import('../models/encode.js'),
    import('../engine/backend.js'),
    import('../data/image-decode.js'),
  ]);
  await initBackend('auto');
  // 32×32 is what older checkpoints (no recorded architecture) of folder datasets were assumed to take.
  const { encoder, architecture } = await loadEncoder(source, { legacyImageSize: [32, 32], ...inputs });
  try {
    const shape = architecture.inputShape;
    if (architecture.modality !== 'image' || shape.length !== 3 || (shape[2] !== 1 && shape[2] !== 3)) {
      throw new UlearnError(`${source}: its encoder reads ${architecture.modality} samples [${shape}], not gray or RGB images`, { code: 'E_CHECKPOINT_MISMATCH', hint: 'give the encoder of an image run' });
    }
    const size = shape[0] * shape[1] * shape[2];
    const x = new Float32Array(files.length * size);
    for (let i = 0; i < files.length; i++) writePixels(await decodeImage(files[i], shape[0], shape[1], 'pad'), shape[2] as 1 | 3, x, i * size);
    const data = await encodeFrozen(encoder, x, shape);
    return { data, dim: data.length / Math.max(1, files.length), source: `encoder:${resolve(source)}` };
  } finally {
    encoder.dispose();
  }
}
