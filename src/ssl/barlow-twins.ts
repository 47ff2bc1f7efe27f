/** Barlow Twins (Zbontar et al. 2021): two views, a 3-layer projector, cross-correlation → identity. */
import * as tf from '@tensorflow/tfjs-core';
import { mlpHead } from './heads.js';
import { barlowTwinsLoss } from './losses.js';
import { SSLMethod, type SSLMethodOptions } from './method.js';
import type { ProjectorOptions } from './simclr.js';

export interface BarlowTwinsOptions extends SSLMethodOptions, ProjectorOptions {
  /** Weight of the off-diagonal (redundancy) term; paper: 0.0051. */
  lambda?: number;
}

export class BarlowTwins extends SSLMethod {
  readonly name = 'barlow-twins';
  readonly lambda: number;

  constructor(o: BarlowTwinsOptions) {
    super(o, (d, seed) => mlpHead({ inputDim: d, hidden: o.projHidden ?? 512, out: o.projOut ?? 512, hiddenLayers: 2, seed }));
    this.lambda = o.lambda ?? 0.0051;
  }

  loss(views: tf.Tensor[]): tf.Scalar {
    return tf.tidy(() => barlowTwinsLoss(this.forward(views[0]) as tf.Tensor2D, this.forward(views[1]) as tf.Tensor2D, this.lambda));
  }
}
