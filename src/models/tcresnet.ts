/**
 * TC-ResNet (Choi et al., "Temporal Convolution for Real-time Keyword Spotting on Mobile Devices", 2019): the
 * audio encoder. Its input is a clip's features as [frames, 1, bins] (src/data/preprocess/audio.ts,
 * `audioInputShape`): the mel bands are the channels, so every convolution is a 1-D convolution over time,
 * [k, 1] kernels, and even the first layer sees the whole spectrum of a frame. That is what makes it small and
 * fast: TC-ResNet8 (stem 16 channels, three residual blocks of 24, 32 and 48 channels, each halving time) has
 * about 66 k weights and reaches 96 % on Google Speech Commands with all labels.
 *
 *   input [T, 1, F] → conv 3x1 (stem) → BN → ReLU
 *         → per width: block(k = 9, stride 2 over time) → … → global average pooling → [widths[last]]
 *
 * A block is the ResNet basic block (./resnet.ts: conv → BN → ReLU → conv → BN, plus a conv 1x1 + BN
 * shortcut when the shape changes, then ReLU) with [9, 1] kernels. Same BN settings as the image ResNet.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { tfSeed } from '../engine/seed.js';
import { UlearnError } from '../errors.js';
import { fastBatchNormalization } from './fast-batch-norm.js';

type SymbolicTensor = tfl.SymbolicTensor;

export interface TCResNetOptions {
  /** [frames, 1, bins] of one clip. */
  inputShape: [number, number, number];
  /** Channels of each block; each block halves the time axis. Default [24, 32, 48] (TC-ResNet8). */
  widths: number[];
  /** Blocks per width (the first of each with stride 2); default 1. */
  blocksPerStage?: number;
  /** Stem channels; default 16. */
  stemWidth?: number;
  /** Temporal kernel of the blocks; default 9. */
  kernel?: number;
  seed?: number;
  name?: string;
}

function conv(filters: number, k: number, stride: number, seed: number, name: string): tfl.layers.Layer {
  return tfl.layers.conv2d({ filters, kernelSize: [k, 1], strides: [stride, 1], padding: 'same', useBias: false, kernelInitializer: tfl.initializers.heNormal({ seed: tfSeed(seed) }), name });
}

function bn(name: string): tfl.layers.Layer {
  return fastBatchNormalization({ axis: -1, momentum: 0.9, epsilon: 1e-5, name });
}

const on = (layer: tfl.layers.Layer, x: SymbolicTensor | SymbolicTensor[]) => layer.apply(x) as SymbolicTensor;

export function buildTCResNetEncoder(o: TCResNetOptions): tfl.LayersModel {
  const [frames, width] = o.inputShape;
  if (o.inputShape.length !== 3 || width !== 1 || !(frames >= 2)) {
    throw new UlearnError(`tcresnet encoder: inputShape must be [frames, 1, bins] (audio features), got [${o.inputShape}]`, { code: 'E_CONFIG' });
  }
  if (o.widths.length === 0 || o.widths.some((w) => !Number.isInteger(w) || w < 1)) {
    throw new UlearnError(`tcresnet encoder: widths must be positive integers, got [${o.widths}]`, { code: 'E_CONFIG' });
  }
  const blocks = o.blocksPerStage ?? 1;
  const k = o.kernel ?? 9;
  const name = o.name ?? 'tcresnet';
  const seed = (o.seed ?? 0) * 1000;
  const input = tfl.input({ shape: o.inputShape, name: `${name}_input` });
  let x = on(conv(o.stemWidth ?? 16, 3, 1, seed, `${name}_stem_conv`), input);
  x = on(bn(`${name}_stem_bn`), x);
  x = on(tfl.layers.reLU({ name: `${name}_stem_relu` }), x);
  o.widths.forEach((filters, stage) => {
    for (let b = 0; b < blocks; b++) {
      const stride = b === 0 ? 2 : 1;
      const p = `${name}_s${stage}b${b}`;
      const s = seed + 10 * (stage * blocks + b) + 10;
      const inChannels = x.shape[3] as number;
      let y = on(conv(filters, k, stride, s, `${p}_conv1`), x);
      y = on(bn(`${p}_bn1`), y);
      y = on(tfl.layers.reLU({ name: `${p}_relu1` }), y);
      y = on(conv(filters, k, 1, s + 1, `${p}_conv2`), y);
      y = on(bn(`${p}_bn2`), y);
      let shortcut = x;
      if (stride !== 1 || inChannels !== filters) {
        shortcut = on(conv(filters, 1, stride, s + 2, `${p}_shortcut_conv`), x);
        shortcut = on(bn(`${p}_shortcut_bn`), shortcut);
      }
      x = on(tfl.layers.reLU({ name: `${p}_out` }), on(tfl.layers.add({ name: `${p}_add` }), [y, shortcut]));
    }
  });
  const features = on(tfl.layers.globalAveragePooling2d({ name: `${name}_pool` }), x);
  return tfl.model({ inputs: input, outputs: features, name });
}
