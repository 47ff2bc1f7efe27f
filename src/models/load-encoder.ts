/**
 * `loadEncoder(source)`: the one way to get a trained encoder back, from
 * - a checkpoint directory (runs/<id>/checkpoints/pretrain-encoder),
 * - a run directory (its pretrain-encoder checkpoint), or
 * - a model folder from `ulearn train` / the pipeline (model.json; the classifier head is cut off).
 *
 * A checkpoint records its architecture (see ./architecture.ts), so it is rebuilt exactly as trained. One
 * written before that was recorded is inferred from its weights: the ResNet's widths and depth from the conv
 * kernels' names and shapes, the channels from the stem kernel; only the image size is not in the weights
 * (the network pools globally), so it comes from `inputShape`, or from the run's config when that names a
 * dataset of known size, else the load fails and says so.
 */
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import * as tfl from '@tensorflow/tfjs-layers';
import { UlearnError } from '../errors.js';
import { inspectCheckpoint, loadCheckpoint, type CheckpointInfo } from '../runs/checkpoint.js';
import { architectureOf, buildEncoder, setArchitecture, type EncoderArchitecture } from './architecture.js';
import { loadModel } from './io.js';

export interface LoadEncoderOptions {
  /**
   * Build for this sample shape instead of the recorded one. A ResNet pools globally, so its image size may
   * differ from the training images' (channels must match); an MLP's must be the same.
   */
  inputShape?: number[];
  /**
   * Image size [H, W] to assume for a checkpoint that predates recorded architectures when neither
   * `inputShape` nor its run's config (a named dataset) tells; without it such a load fails.
   */
  legacyImageSize?: [number, number];
}

export interface LoadedEncoder {
  encoder: tfl.LayersModel;
  architecture: EncoderArchitecture;
  /** What was read: the checkpoint directory or the model folder. */
  path: string;
}

/** Image sizes of the named datasets a run's config may give (for checkpoints that do not record theirs). */
const NAMED_SIZES: Record<string, [number, number]> = { 'fashion-mnist': [28, 28], mnist: [28, 28] };

export async function loadEncoder(source: string, opts: LoadEncoderOptions = {}): Promise<LoadedEncoder> {
  const st = await stat(source).catch(() => undefined);
  if (!st?.isDirectory()) {
    throw new UlearnError(`${source}: ${st ? 'not a folder' : 'no such folder'}`, { code: 'E_CHECKPOINT', hint: ENCODER_HINT });
  }
  if (existsSync(path.join(source, 'model.json'))) return fromModelFolder(source, opts);
  let info = await inspectCheckpoint(source);
  if (!info && existsSync(path.join(source, 'checkpoints'))) {
    info = await inspectCheckpoint(path.join(source, 'checkpoints', 'pretrain-encoder'));
    if (!info) throw new UlearnError(`${source}: this run has no pretrained encoder yet (no checkpoints/pretrain-encoder)`, { code: 'E_CHECKPOINT', hint: 'run `ulearn pretrain` first, or give another run' });
  }
  if (!info) throw new UlearnError(`${source}: not a checkpoint, a run directory or a model folder`, { code: 'E_CHECKPOINT', hint: ENCODER_HINT });

  const recorded = info.architecture ?? (await inferArchitecture(info, opts));
  const arch = withInputShape(recorded, opts.inputShape, info.path);
  const encoder = buildEncoder(arch);
  try {
    await loadCheckpoint(info.path, encoder);
  } catch (err) {
    encoder.dispose();
    throw err;
  }
  return { encoder, architecture: arch, path: info.path };
}

const ENCODER_HINT = 'give a checkpoint (runs/<id>/checkpoints/pretrain-encoder), a run directory from `ulearn pretrain`, or a model folder from `ulearn train`';

function withInputShape(arch: EncoderArchitecture, inputShape: number[] | undefined, where: string): EncoderArchitecture {
  if (!inputShape || sameShape(inputShape, arch.inputShape)) return arch;
  const resizable = arch.family === 'resnet' && inputShape.length === 3 && inputShape[2] === arch.inputShape[2];
  if (!resizable) {
    throw new UlearnError(`${where}: the encoder reads [${arch.inputShape}] samples, not [${inputShape}]`, {
      code: 'E_CHECKPOINT_MISMATCH',
      hint: arch.modality === 'image' ? 'the number of channels (gray 1, RGB 3) must match the images it was trained on' : 'use the data (and preprocessing) it was trained on',
    });
  }
  return { ...arch, inputShape: [...inputShape] };
}

const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

/** A ResNet checkpoint written before architectures were recorded: everything but the image size is in its weights. */
async function inferArchitecture(info: CheckpointInfo, opts: LoadEncoderOptions): Promise<EncoderArchitecture> {
  const cannot = (why: string) =>
    new UlearnError(`${info.path}: this checkpoint predates recorded architectures, and ${why}`, {
      code: 'E_CHECKPOINT',
      hint: 'pass the input shape it was trained on (e.g. loadEncoder(dir, { inputShape: [32, 32, 3] })), or retrain to get a self-describing checkpoint',
    });
  const stem = info.weights.find((w) => /_stem_conv\/kernel/.test(w.name));
  if (!stem || stem.shape.length !== 4) throw cannot('it is not a ResNet encoder (no stem convolution), the only kind older checkpoints held');
  const stages = new Map<number, { width: number; blocks: Set<number> }>();
  for (const w of info.weights) {
    const m = /_s(\d+)b(\d+)_conv1\/kernel/.exec(w.name);
    if (!m) continue;
    const s = Number(m[1]);
    const entry = stages.get(s) ?? { width: w.shape[3], blocks: new Set<number>() };
    entry.blocks.add(Number(m[2]));
    stages.set(s, entry);
  }
  const order = [...stages.keys()].sort((a, b) => a - b);
  if (order.length === 0 || order.some((s, i) => s !== i)) throw cannot('its residual stages cannot be read from the weight names');
  const widths = order.map((s) => stages.get(s)!.width);
  const blocksPerStage = stages.get(0)!.blocks.size;
  const channels = stem.shape[2];
  let hw: [number, number] | undefined;
  if (opts.inputShape) {
    if (opts.inputShape.length !== 3) throw cannot(`inputShape [${opts.inputShape}] is not [H, W, C]`);
    hw = [opts.inputShape[0], opts.inputShape[1]];
  } else {
    const cfg = await runConfig(info.path);
    hw = (typeof cfg?.data === 'string' ? NAMED_SIZES[cfg.data] : undefined) ?? opts.legacyImageSize;
    if (!hw) throw cannot('its image size is not in the weights (the network pools globally) nor given by a named dataset in its run config');
  }
  const method = (await runConfig(info.path))?.pretrain?.method;
  return {
    family: 'resnet',
    modality: 'image',
    inputShape: [hw[0], hw[1], channels],
    widths,
    blocksPerStage,
    ...(stem.shape[3] !== widths[0] ? { stemWidth: stem.shape[3] } : {}),
    ...(typeof method === 'string' ? { method } : {}),
  };
}

/** The config.json of the run a checkpoint belongs to (runs/<id>/checkpoints/<name>), if there is one. */
async function runConfig(checkpointDir: string): Promise<{ data?: unknown; pretrain?: { method?: unknown } } | undefined> {
  try {
    return JSON.parse(await readFile(path.join(checkpointDir, '..', '..', 'config.json'), 'utf8')) as { data?: unknown };
  } catch {
    return undefined;
  }
}

/** A saved classifier (encoder → head as one model): the encoder is everything before the last layer. */
async function fromModelFolder(dir: string, opts: LoadEncoderOptions): Promise<LoadedEncoder> {
  const model = await loadModel(dir);
  // The head is the layer that makes the output; its input at that call (a nested model has another inbound
  // node from its own definition) is the encoder's features.
  const out = model.outputs[0];
  const head = out.sourceLayer;
  const features = model.outputs.length === 1 && model.inputs.length === 1 && head !== model.layers[0] ? head.getInputAt(out.nodeIndex) : undefined;
  if (!features || Array.isArray(features)) {
    model.dispose();
    throw new UlearnError(`${dir}: the model is not an encoder followed by a classifier head`, { code: 'E_MODEL_IO', hint: ENCODER_HINT });
  }
  const encoder = tfl.model({ inputs: model.inputs, outputs: features, name: 'encoder' });
  // The encoder shares the loaded layers; only the head's weights are no longer reachable.
  head.dispose();
  const inputShape = model.inputs[0].shape.slice(1) as number[];
  const featureDim = encoder.outputs[0].shape[1] ?? 0;
  const saved = (model.getUserDefinedMetadata() as { encoderArchitecture?: EncoderArchitecture } | undefined)?.encoderArchitecture;
  const arch: EncoderArchitecture = saved ?? {
    // Older folders: the topology is in model.json, so only the description is partial (one width).
    family: inputShape.length === 3 ? 'resnet' : 'mlp',
    modality: inputShape.length === 3 ? 'image' : 'table',
    inputShape,
    widths: [featureDim],
  };
  if (opts.inputShape && !sameShape(opts.inputShape, inputShape)) {
    throw new UlearnError(`${dir}: the model reads [${inputShape}] samples, not [${opts.inputShape}]`, { code: 'E_CHECKPOINT_MISMATCH' });
  }
  setArchitecture(encoder, arch);
  return { encoder, architecture: architectureOf(encoder)!, path: dir };
}
