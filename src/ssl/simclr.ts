/** SimCLR (Chen et al. 2020): two augmented views, MLP projector, NT-Xent over the 2N embeddings. */
import * as tf from '@tensorflow/tfjs-core';
import { mlpHead } from './heads.js';
import { ntXentLoss } from './losses.js';
import { SSLMethod, type SSLMethodOptions } from './method.js';

export interface ProjectorOptions {
  /** Hidden width of the projector / expander MLP. */
  projHidden?: number;
  /** Output (embedding) size of the projector / expander. */
  projOut?: number;
}

export interface SimCLROptions extends SSLMethodOptions, ProjectorOptions {
  /** Softmax temperature; default 0.2 (0.5 in the paper's large batches; lower sharpens the few negatives of a small batch). */
  temperature?: number;
}

export class SimCLR extends SSLMethod {
  readonly name = 'simclr';
  readonly temperature: number;

  constructor(o: SimCLROptions) {
    // Defaults a quarter of solo-learn's CIFAR ones (2048 → 256): small data, CPU/wasm budgets.
    super(o, (d, seed) => mlpHead({ inputDim: d, hidden: o.projHidden ?? 512, out: o.projOut ?? 128, seed }));
    this.temperature = o.temperature ?? 0.2;
  }

  loss(views: tf.Tensor[]): tf.Scalar {
    return tf.tidy(() => ntXentLoss(this.forward(views[0]) as tf.Tensor2D, this.forward(views[1]) as tf.Tensor2D, this.temperature));
  }
}
