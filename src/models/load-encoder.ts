/**
 * `loadEncoder(source)`: the one way to get a trained encoder back, from
 * - a checkpoint directory (runs/<id>/checkpoints/pretrain-encoder),
 * - a run directory (its pretrain-encoder checkpoint), or
 * - a model folder from `ulearn train` / the pipeline (model.json; the classifier head is cut off),
 * - a model trained elsewhere: an ONNX file (`.onnx`, transfer/onnx), a tfjs layers model (a path ending in
 *   `model.json`: read before the model-folder check, which would take a foreign model for one of ours), or
 *   weights for one of ulearn's architectures (`.safetensors`, `.npy`, given `architecture`).
 *
 * Imported models are cut where the features end (`cutAt`, default before the classifier) and put behind the
 * input preprocessing they declare (a `preprocessing.json` beside them, overridden by `preprocessing`: resize,
 * gray↔RGB, mean/std; transfer/adapt.ts), so they read ulearn's images as they are. Their architecture is
 * family 'imported', which `buildEncoder` cannot build, so it records how to import them again (`imported`:
 * the source file, the cut, the preprocessing). After fine-tuning, such an encoder is saved like any other:
 * a model folder (`ulearn train`, saveClassifier) holds the whole topology (the ONNX ops are registered layer
 * classes, models/io.ts) and loads back by itself; a checkpoint (`ulearn pretrain --encoder model.onnx`) holds
 * weights only, which go into a fresh import of the recorded source. One rule, either way: the topology comes
 * from model.json or from the original file, the weights from what was saved.
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
import { loadOnnxEncoder } from '../transfer/onnx/encoder.js';
import { onnxFrozenFeatures } from '../transfer/onnx/frozen.js';
import { setFrozenFeatures, type FrozenFeatures } from './encode.js';
import { isTransferSource, loadTransferEncoder } from '../transfer/load.js';
import { mergePreprocessing, sidecarPreprocessing, withPreprocessing, type InputPreprocessing } from '../transfer/adapt.js';
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
  /** Imported models: input preprocessing, over the sidecar's (see the module comment). */
  preprocessing?: InputPreprocessing;
  /** Imported models: where the features end (an ONNX node or tensor, a tfjs layer); default before the classifier. */
  cutAt?: string;
  /** `.safetensors` / `.npy` weights: the ulearn architecture they are for. */
  architecture?: EncoderArchitecture;
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
  if (isImportedSource(source)) return loadImported(source, opts);
  const st = await stat(source).catch(() => undefined);
  if (!st?.isDirectory()) {
    throw new UlearnError(`${source}: ${st ? 'not a folder' : 'no such folder'}`, { code: 'E_CHECKPOINT', hint: ENCODER_HINT });
  }
  if (existsSync(path.join(source, 'model.json'))) {
    // A folder of tfjs's converter (or another program) is a foreign model: imported, cut before its classifier.
    if (await isForeignModelFolder(source)) return loadImported(path.join(source, 'model.json'), opts);
    return fromModelFolder(source, opts);
  }
  let info = await inspectCheckpoint(source);
  if (!info && existsSync(path.join(source, 'checkpoints'))) {
    info = await inspectCheckpoint(path.join(source, 'checkpoints', 'pretrain-encoder'));
    if (!info) throw new UlearnError(`${source}: this run has no pretrained encoder yet (no checkpoints/pretrain-encoder)`, { code: 'E_CHECKPOINT', hint: 'run `ulearn pretrain` first, or give another run' });
  }
  if (!info) throw new UlearnError(`${source}: not a checkpoint, a run directory or a model folder`, { code: 'E_CHECKPOINT', hint: ENCODER_HINT });

  const recorded = info.architecture ?? (await inferArchitecture(info, opts));
  if (recorded.family === 'imported') {
    // Weights only: they go into a fresh import of the recorded source (see the module comment).
    const im = recorded.imported;
    if (!im) throw new UlearnError(`${info.path}: an imported encoder's checkpoint that does not record its source`, { code: 'E_CHECKPOINT' });
    if (!existsSync(im.source)) throw new UlearnError(`${info.path}: this checkpoint's weights belong to ${im.source}, which is gone`, { code: 'E_CHECKPOINT', hint: 'put the imported model back at that path; model folders from `ulearn train` do not need it' });
    const { encoder } = await loadImported(im.source, { inputShape: opts.inputShape ?? recorded.inputShape, cutAt: im.cutAt, preprocessing: im.preprocessing, noSidecar: true });
    try {
      await loadCheckpoint(info.path, encoder);
    } catch (err) {
      encoder.dispose();
      throw err;
    }
    // What the checkpoint records (the method that trained it, say), at the shape it was loaded for.
    const architecture = { ...recorded, inputShape: encoder.inputs[0].shape.slice(1) as number[] };
    setArchitecture(encoder, architecture);
    return { encoder, architecture, path: info.path };
  }
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

/**
 * A model folder that ulearn did not write: none of the files ulearn writes beside a model (ulearn-model.json
 * from train, preprocessor.json and classes.json from the tabular and audio paths, an export's sidecar) and no
 * recorded architecture.
 */
async function isForeignModelFolder(dir: string): Promise<boolean> {
  if (['ulearn-model.json', 'preprocessing.json', 'preprocessor.json', 'classes.json'].some((f) => existsSync(path.join(dir, f)))) return false;
  try {
    const json = JSON.parse(await readFile(path.join(dir, 'model.json'), 'utf8')) as { userDefinedMetadata?: { encoderArchitecture?: unknown } };
    return !json.userDefinedMetadata?.encoderArchitecture;
  } catch {
    return false;
  }
}

/** A model from elsewhere: an ONNX file, a tfjs `model.json`, `.safetensors` / `.npy` weights. */
export function isImportedSource(source: string): boolean {
  return (path.extname(source).toLowerCase() === '.onnx' && existsSync(source)) || isTransferSource(source);
}

async function loadImported(source: string, opts: LoadEncoderOptions & { noSidecar?: boolean }): Promise<LoadedEncoder> {
  const pre = mergePreprocessing(opts.noSidecar ? undefined : sidecarPreprocessing(source), opts.preprocessing);
  const onnx = path.extname(source).toLowerCase() === '.onnx';
  let model: tfl.LayersModel;
  let modelArch: EncoderArchitecture;
  let format: NonNullable<EncoderArchitecture['imported']>['format'];
  let cut: { tensor: string; pooled: boolean } | undefined;
  if (onnx) {
    // A model's fixed input dims are its own; symbolic ones (dynamic-axes exports) take the declared size, else
    // the data's (the import says which it is, in its check phase, before any work).
    const r = await loadOnnxEncoder(source, { cutAt: opts.cutAt }).catch((e: unknown) => {
      const size = pre.size ?? (opts.inputShape?.length === 3 ? [opts.inputShape[0], opts.inputShape[1]] : undefined);
      if (!(e instanceof UlearnError && /symbolic dims/.test(e.message) && size)) throw e;
      return loadOnnxEncoder(source, { cutAt: opts.cutAt, inputShape: [...size, pre.channels ?? opts.inputShape?.[2] ?? 3] });
    });
    ({ encoder: model, architecture: modelArch, cut } = r);
    format = 'onnx';
  } else {
    const r = await loadTransferEncoder(source, { architecture: opts.architecture, cutAt: opts.cutAt });
    if (!r) throw new UlearnError(`${source}: not a model file ulearn reads`, { code: 'E_CHECKPOINT', hint: ENCODER_HINT });
    ({ encoder: model, architecture: modelArch } = r);
    format = r.kind;
  }
  let encoder: tfl.LayersModel;
  let prefix: tfl.LayersModel | undefined;
  try {
    ({ encoder, prefix } = withPreprocessing(model, modelArch.inputShape, opts.inputShape, pre, source));
  } catch (e) {
    model.dispose();
    throw e;
  }
  if (cut) {
    // Frozen features through onnxruntime on the file's own graph, while the weights are the file's
    // (encodeFrozen checks); the session is made on first use, so training runs never pay for it.
    const [file, at, sample] = [source, cut, modelArch.inputShape];
    let features: Promise<FrozenFeatures | undefined> | undefined;
    setFrozenFeatures(encoder, {
      run: async (x, m) => {
        features ??= onnxFrozenFeatures(file, at, sample, prefix);
        const f = await features;
        return f ? f.run(x, m) : undefined;
      },
    });
  }
  const inputShape = encoder.inputs[0].shape.slice(1) as number[];
  // A ulearn architecture read unchanged from weights stays buildable; anything else is 'imported'.
  const architecture: EncoderArchitecture =
    encoder === model && (format === 'safetensors' || format === 'npy')
      ? modelArch
      : {
          family: 'imported',
          modality: modelArch.modality,
          inputShape,
          widths: [encoder.outputs[0].shape[1] ?? modelArch.widths[modelArch.widths.length - 1]],
          method: 'imported',
          imported: { source: path.resolve(source), format, ...(opts.cutAt ? { cutAt: opts.cutAt } : {}), ...(Object.keys(pre).length ? { preprocessing: pre } : {}) },
        };
  setArchitecture(encoder, architecture);
  return { encoder, architecture, path: source };
}

const ENCODER_HINT = 'give a checkpoint (runs/<id>/checkpoints/pretrain-encoder), a run directory from `ulearn pretrain`, a model folder from `ulearn train`, or an imported model (model.onnx, a tfjs model.json, .safetensors/.npy weights)';

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
    encoder.dispose();
    throw new UlearnError(`${dir}: the model reads [${inputShape}] samples, not [${opts.inputShape}]`, { code: 'E_CHECKPOINT_MISMATCH' });
  }
  setArchitecture(encoder, arch);
  return { encoder, architecture: architectureOf(encoder)!, path: dir };
}
