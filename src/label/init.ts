/**
 * Creates a labeling project from a dataset: registers every sample (file, sha256, kind), and writes the
 * embeddings the light model and the strategies work on.
 *
 * - `fashion-mnist`: the first `limit` training images are written as PNGs into `<project>/media/` (so
 *   the server serves every project's media the same way, from files); their true labels are not stored.
 * - a folder: every image (.png .jpg .jpeg .webp .gif) and audio file (.wav .mp3 .ogg .flac) under it,
 *   in sorted path order; files stay where they are and the folder becomes the project's data root.
 *
 * Embeddings: with `encoder` (a run directory from `ulearn pretrain`), the SSL encoder's features of each
 * image; otherwise the raw pixels, gray, downscaled to 16×16 (256 values in [0, 1]) — enough for the light
 * model to be useful on small, centred images, and computed in seconds. Audio samples have no embeddings
 * without an encoder (a project with audio is then served in a fixed random order, without suggestions).
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { extname, join, relative, resolve } from 'node:path';
import sharp from 'sharp';
import { MAX_IMAGE_PIXELS } from '../data/image-decode.js';
import { loadFashionMnist, FASHION_MNIST_CLASSES } from '../data/fashion-mnist.js';
import { UlearnError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic.js';
import { Progress } from '../util/progress.js';
import { LabelStore, type NewSample, type ProjectMeta } from './store.js';

export const IMAGE_EXT = ['.png', '.jpg', '.jpeg', '.webp', '.gif'];
export const AUDIO_EXT = ['.wav', '.mp3', '.ogg', '.flac'];
export const PIXEL_SIDE = 16;

export interface InitOptions {
  /** 'fashion-mnist' or a folder. */
  data: string;
  /** Class names; default for fashion-mnist: its 10 classes. */
  classes?: string[];
  /** At most this many samples (fashion-mnist default 2000). */
  limit?: number;
  /** Run directory of an SSL-pretrained encoder. */
  encoder?: string;
  target?: number;
  seed?: number;
  retrainEvery?: number;
  strategy?: string;
  model?: ProjectMeta['model'];
  /** Share of labeled samples shown blind to other annotators (default 0.1). */
  overlap?: number;
  log?: (line: string) => void;
}

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

  let dataRoot: string;
  let files: string[];
  if (isFmnist) {
    dataRoot = join(projectDir, 'media');
    files = await materializeFashionMnist(dataRoot, opts.limit ?? 2000, log);
  } else {
    dataRoot = resolve(opts.data);
    const st = await stat(dataRoot).catch(() => undefined);
    if (!st?.isDirectory()) throw new UlearnError(`${opts.data}: not a folder (and not 'fashion-mnist')`, { code: 'E_ARG' });
    files = (await walk(dataRoot)).filter((f) => [...IMAGE_EXT, ...AUDIO_EXT].includes(extname(f).toLowerCase())).sort();
    if (opts.limit) files = files.slice(0, opts.limit);
    if (files.length === 0) throw new UlearnError(`${dataRoot}: no image or audio files found`, { code: 'E_DATA', hint: `extensions: ${[...IMAGE_EXT, ...AUDIO_EXT].join(' ')}` });
  }

  const samples: NewSample[] = [];
  for (const f of files) {
    samples.push({ file: relative(dataRoot, f).split('\\').join('/'), hash: sha256(await readFile(f)), kind: IMAGE_EXT.includes(extname(f).toLowerCase()) ? 'image' : 'audio' });
  }
  const allImages = samples.every((s) => s.kind === 'image');
  let emb: { data: Float32Array; dim: number; source: string } | undefined;
  if (allImages) emb = opts.encoder ? await encoderEmbeddings(files, opts.encoder, isFmnist) : await pixelEmbeddings(files);
  else log('label init: audio samples and no encoder: no embeddings, samples are served in a fixed random order without suggestions');

  const store = LabelStore.create(projectDir, {
    name: projectDir.split('/').pop() ?? 'project',
    classes,
    dataRoot,
    target: opts.target ?? Math.min(samples.length, 20 * classes.length),
    seed: opts.seed ?? 0,
    retrainEvery: opts.retrainEvery ?? 20,
    strategy: opts.strategy ?? 'hybrid',
    model: opts.model ?? 'linear',
    overlap: opts.overlap ?? 0.1,
  });
  store.addSamples(samples);
  if (emb) {
    await writeFileAtomic(join(projectDir, 'embeddings.f32'), new Uint8Array(emb.data.buffer, emb.data.byteOffset, emb.data.byteLength));
    store.setEmbeddings('embeddings.f32', emb.dim, samples.length, emb.source);
  }
  log(`label init: ${samples.length} samples, ${classes.length} classes, embeddings: ${emb ? `${emb.source} (${emb.dim} dims)` : 'none'}`);
  return store;
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
 * Features of a pretrained encoder. The encoder's input is 28×28×1 when it was pretrained on a named
 * 28×28 dataset (fashion-mnist, mnist), else 32×32×3; ResNet encoders pool globally, so only the channel
 * count has to match the checkpoint (a mismatch is reported by loadCheckpoint).
 */
async function encoderEmbeddings(files: string[], runDirPath: string, _fmnist: boolean): Promise<{ data: Float32Array; dim: number; source: string }> {
  const [{ RunDir }, { pipelineConfig }, { buildResNetEncoder }, { loadCheckpoint }, { encodeAll }, { initBackend }, { decodeImage, writePixels }, tf] = await Promise.all([
    import('../runs/run-dir.js'),
    import('../pipeline/config.js'),
    import('../models/resnet.js'),
    import('../runs/checkpoint.js'),
    import('../train/features.js'),
    import('../engine/backend.js'),
    import('../data/image-decode.js'),
    import('@tensorflow/tfjs-core'),
  ]);
  await initBackend('auto');
  const run = await RunDir.open(runDirPath);
  const cfg = pipelineConfig(run.config as Parameters<typeof pipelineConfig>[0]);
  const small = cfg.data === 'fashion-mnist' || cfg.data === 'mnist';
  const shape: [number, number, number] = small ? [28, 28, 1] : [32, 32, 3];
  const encoder = buildResNetEncoder({ inputShape: shape, widths: cfg.encoder.widths, blocksPerStage: cfg.encoder.blocksPerStage, seed: 0 });
  await loadCheckpoint(run.path('checkpoints', 'pretrain-encoder'), encoder);
  const size = shape[0] * shape[1] * shape[2];
  const x = new Float32Array(files.length * size);
  for (let i = 0; i < files.length; i++) writePixels(await decodeImage(files[i], shape[0], shape[1], 'pad'), shape[2] as 1 | 3, x, i * size);
  const feats = encodeAll(encoder, x, shape);
  const data = (await feats.data()) as Float32Array;
  const dim = feats.shape[1];
  tf.dispose(feats);
  encoder.dispose();
  return { data, dim, source: `encoder:${resolve(runDirPath)}` };
}
