/**
 * A small ResNet-style encoder for 28–32 px images (CIFAR-style: 3x3 stem, no max-pool), plus the heads that
 * go on top of it (projection head for self-supervised pretraining, linear classifier).
 *
 *   input → conv3x3(widths[0]) → BN → ReLU
 *         → stage 0: blocksPerStage basic blocks, widths[0] channels, stride 1
 *         → stage i > 0: blocksPerStage basic blocks, widths[i] channels, the first with stride 2
 *         → global average pooling → feature vector [batch, widths[last]]
 *
 * Basic block: conv3x3(stride) → BN → ReLU → conv3x3 → BN, plus a shortcut, then ReLU. The shortcut is the
 * identity when the shape is unchanged, else conv1x1(stride) → BN ("option B" of He et al. 2015).
 * Convolutions before a BN have no bias (BN's beta is the bias). BN uses PyTorch's defaults (momentum 0.1,
 * eps 1e-5), i.e. Keras momentum 0.9.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { fastBatchNormalization } from './fast-batch-norm.js';
import { UlearnError } from '../errors.js';
import { tfSeed } from '../engine/seed.js';

type SymbolicTensor = tfl.SymbolicTensor;

export interface BatchNormOptions {
  /** Keras convention: moving = momentum * moving + (1 - momentum) * batch. Default 0.9 (PyTorch's 0.1). */
  bnMomentum?: number;
  /** Default 1e-5 (PyTorch's; Keras' default is 1e-3). */
  bnEpsilon?: number;
}

export interface ResNetEncoderOptions extends BatchNormOptions {
  /** [H, W, C] of one image, e.g. [32, 32, 3] or [28, 28, 1]. */
  inputShape: [number, number, number];
  /** Channels of each stage; every stage after the first halves the resolution. E.g. [32, 64, 128]. */
  widths: number[];
  /** Basic blocks per stage (1 = ResNet-8-like with 3 stages, 2 = ResNet-14-like, ...). */
  blocksPerStage: number;
  /** Seed for the weight initializers (each conv derives its own); default 0. */
  seed?: number;
  /** Channels of the stem conv; default widths[0]. */
  stemWidth?: number;
  /** Start each block's last BN at gamma = 0 so blocks begin as identities (Goyal et al. 2017). Default false. */
  zeroInitResidual?: boolean;
  /** Model name and prefix of every layer name (so two encoders can live in one graph); default 'resnet'. */
  name?: string;
}

export interface BasicBlockOptions extends BatchNormOptions {
  /** Output channels. */
  filters: number;
  /** Stride of the first conv (and of the shortcut); default 1. */
  stride?: number;
  /** Prefix of the block's layer names, e.g. 'resnet_s1b0'. */
  name: string;
  /** Initializer seed; the block's convs use seed, seed + 1, seed + 2. Default 0. */
  seed?: number;
  zeroInitResidual?: boolean;
}

function conv(filters: number, kernelSize: number, stride: number, seed: number, name: string): tfl.layers.Layer {
  return tfl.layers.conv2d({
    filters,
    kernelSize,
    strides: stride,
    padding: 'same',
    useBias: false,
    kernelInitializer: tfl.initializers.heNormal({ seed: tfSeed(seed) }),
    name,
  });
}

function batchNorm(o: BatchNormOptions, name: string, zeroGamma = false): tfl.layers.Layer {
  return fastBatchNormalization({
    axis: -1,
    momentum: o.bnMomentum ?? 0.9,
    epsilon: o.bnEpsilon ?? 1e-5,
    gammaInitializer: zeroGamma ? 'zeros' : 'ones',
    name,
  });
}

function apply(layer: tfl.layers.Layer, x: SymbolicTensor | SymbolicTensor[]): SymbolicTensor {
  return layer.apply(x) as SymbolicTensor;
}

/** Whether a block from `inChannels` with this stride/filters needs the 1x1 conv shortcut. */
export function needsProjectionShortcut(inChannels: number, filters: number, stride: number): boolean {
  return stride !== 1 || inChannels !== filters;
}

/** One basic residual block applied to `x` (NHWC); returns its output. */
export function basicBlock(x: SymbolicTensor, o: BasicBlockOptions): SymbolicTensor {
  const stride = o.stride ?? 1;
  const seed = o.seed ?? 0;
  const inChannels = x.shape[3];
  if (inChannels == null) throw new UlearnError(`basicBlock ${o.name}: input channels must be known, got shape [${x.shape}]`, { code: 'E_CONFIG' });

  let y = apply(conv(o.filters, 3, stride, seed, `${o.name}_conv1`), x);
  y = apply(batchNorm(o, `${o.name}_bn1`), y);
  y = apply(tfl.layers.reLU({ name: `${o.name}_relu1` }), y);
  y = apply(conv(o.filters, 3, 1, seed + 1, `${o.name}_conv2`), y);
  y = apply(batchNorm(o, `${o.name}_bn2`, o.zeroInitResidual), y);

  let shortcut = x;
  if (needsProjectionShortcut(inChannels, o.filters, stride)) {
    shortcut = apply(conv(o.filters, 1, stride, seed + 2, `${o.name}_shortcut_conv`), x);
    shortcut = apply(batchNorm(o, `${o.name}_shortcut_bn`), shortcut);
  }
  const sum = apply(tfl.layers.add({ name: `${o.name}_add` }), [y, shortcut]);
  return apply(tfl.layers.reLU({ name: `${o.name}_out` }), sum);
}

/** The encoder: image [batch, H, W, C] → feature vector [batch, widths[widths.length - 1]]. */
export function buildResNetEncoder(o: ResNetEncoderOptions): tfl.LayersModel {
  if (o.widths.length === 0 || o.widths.some((w) => !Number.isInteger(w) || w < 1)) {
    throw new UlearnError(`buildResNetEncoder: widths must be positive integers, got [${o.widths}]`, { code: 'E_CONFIG' });
  }
  if (!Number.isInteger(o.blocksPerStage) || o.blocksPerStage < 1) {
    throw new UlearnError(`buildResNetEncoder: blocksPerStage must be a positive integer, got ${o.blocksPerStage}`, { code: 'E_CONFIG' });
  }
  const name = o.name ?? 'resnet';
  const seed = o.seed ?? 0;
  const input = tfl.input({ shape: o.inputShape, name: `${name}_input` });

  let x = apply(conv(o.stemWidth ?? o.widths[0], 3, 1, seed * 1000, `${name}_stem_conv`), input);
  x = apply(batchNorm(o, `${name}_stem_bn`), x);
  x = apply(tfl.layers.reLU({ name: `${name}_stem_relu` }), x);

  o.widths.forEach((filters, stage) => {
    for (let b = 0; b < o.blocksPerStage; b++) {
      x = basicBlock(x, {
        filters,
        stride: stage > 0 && b === 0 ? 2 : 1,
        name: `${name}_s${stage}b${b}`,
        seed: seed * 1000 + 10 * (stage * o.blocksPerStage + b) + 10,
        bnMomentum: o.bnMomentum,
        bnEpsilon: o.bnEpsilon,
        zeroInitResidual: o.zeroInitResidual,
      });
    }
  });

  const features = apply(tfl.layers.globalAveragePooling2d({ name: `${name}_pool` }), x);
  return tfl.model({ inputs: input, outputs: features, name });
}

/** Length of an encoder's feature vector. */
export function featureDim(encoder: tfl.LayersModel): number {
  const d = encoder.outputs[0].shape[1];
  if (d == null) throw new UlearnError(`featureDim: encoder output shape [${encoder.outputs[0].shape}] has no fixed feature size`, { code: 'E_CONFIG' });
  return d;
}

export interface HeadOptions {
  seed?: number;
  name?: string;
}

/** Linear classifier on features: dense(classes), logits out (pair with softmax cross-entropy on logits). */
export function classifierHead(dim: number, classes: number, o: HeadOptions = {}): tfl.Sequential {
  const name = o.name ?? 'classifier';
  return tfl.sequential({
    name,
    layers: [
      tfl.layers.dense({
        inputShape: [dim],
        units: classes,
        kernelInitializer: tfl.initializers.glorotUniform({ seed: (o.seed ?? 0) * 1000 + 1 }),
        name: `${name}_logits`,
      }),
    ],
  });
}

/** encoder followed by head, as one model sharing the encoder's and the head's weights. */
export function attachHead(encoder: tfl.LayersModel, head: tfl.LayersModel, name?: string): tfl.LayersModel {
  const out = head.apply(encoder.outputs[0]) as SymbolicTensor;
  return tfl.model({ inputs: encoder.inputs, outputs: out, name: name ?? `${encoder.name}_${head.name}` });
}
