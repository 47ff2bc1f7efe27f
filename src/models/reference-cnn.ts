/**
 * The reference CNN: the small convnet every engine benchmark and smoke test uses as its yardstick.
 *
 *   conv3x3-32 (same) → ReLU → maxpool 2 → conv3x3-64 (same) → ReLU → maxpool 2 → flatten → dense-classes
 *
 * The last layer outputs logits (no softmax): pair it with a softmax cross-entropy on logits.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { UlearnError } from '../errors.js';

export interface ReferenceCnnOptions {
  /** [H, W, C]; default [32, 32, 3]. H and W must be at least 4 (two 2x2 poolings). */
  inputShape?: [number, number, number];
  /** Number of output logits; default 10. */
  classes?: number;
  /** Seed for the weight initializers (each layer derives its own); default 0. */
  seed?: number;
  name?: string;
}

export function buildReferenceCnn(opts: ReferenceCnnOptions = {}): tfl.Sequential {
  const inputShape = opts.inputShape ?? [32, 32, 3];
  const classes = opts.classes ?? 10;
  const seed = opts.seed ?? 0;
  if (inputShape[0] < 4 || inputShape[1] < 4) {
    throw new UlearnError(`reference CNN: input ${inputShape.join('x')} is too small for two 2x2 poolings (need H, W >= 4)`, { code: 'E_CONFIG' });
  }
  const init = (i: number) => tfl.initializers.glorotUniform({ seed: seed * 1000 + i });
  return tfl.sequential({
    name: opts.name ?? 'reference_cnn',
    layers: [
      tfl.layers.conv2d({ inputShape, filters: 32, kernelSize: 3, padding: 'same', kernelInitializer: init(1), name: 'conv1' }),
      tfl.layers.reLU({ name: 'relu1' }),
      tfl.layers.maxPooling2d({ poolSize: 2, strides: 2, name: 'pool1' }),
      tfl.layers.conv2d({ filters: 64, kernelSize: 3, padding: 'same', kernelInitializer: init(2), name: 'conv2' }),
      tfl.layers.reLU({ name: 'relu2' }),
      tfl.layers.maxPooling2d({ poolSize: 2, strides: 2, name: 'pool2' }),
      tfl.layers.flatten({ name: 'flatten' }),
      tfl.layers.dense({ units: classes, kernelInitializer: init(3), name: 'logits' }),
    ],
  });
}
