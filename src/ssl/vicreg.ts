/** VICReg (Bardes et al. 2022): two augmented views, a 3-layer expander, variance-invariance-covariance loss. */
import * as tf from '@tensorflow/tfjs-core';
import { mlpHead } from './heads.js';
import { vicregLoss, type VicRegOptions } from './losses.js';
import { SSLMethod, type SSLMethodOptions } from './method.js';
import type { ProjectorOptions } from './simclr.js';

export interface VICRegOptions extends SSLMethodOptions, ProjectorOptions, VicRegOptions {}

export class VICReg extends SSLMethod {
  readonly name = 'vicreg';
  readonly coeffs: Required<VicRegOptions>;

  constructor(o: VICRegOptions) {
    // The paper's expander is 3 layers of 8192; the covariance term needs a wide output to decorrelate, so
    // the default keeps out = hidden while shrinking both for small data.
    super(o, (d, seed) => mlpHead({ inputDim: d, hidden: o.projHidden ?? 512, out: o.projOut ?? 512, hiddenLayers: 2, seed }));
    this.coeffs = { simCoeff: o.simCoeff ?? 25, stdCoeff: o.stdCoeff ?? 25, covCoeff: o.covCoeff ?? 1, eps: o.eps ?? 1e-4 };
  }

  loss(views: tf.Tensor[]): tf.Scalar {
    return tf.tidy(() => vicregLoss(this.forward(views[0]) as tf.Tensor2D, this.forward(views[1]) as tf.Tensor2D, this.coeffs));
  }
}
