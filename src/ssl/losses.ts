/**
 * Self-supervised losses as pure functions of tensors. Each runs in tf.tidy, so only the returned scalar
 * survives, and each is differentiable (the methods call them inside optimizer.minimize).
 * Shapes: embeddings are [N, D] with row i of z1 and row i of z2 two views of the same sample.
 */
import * as tf from '@tensorflow/tfjs-core';
import { UlearnError } from '../errors.js';

function checkPair(fn: string, z1: tf.Tensor, z2: tf.Tensor, minN: number): void {
  if (z1.rank !== 2 || z2.rank !== 2 || z1.shape[0] !== z2.shape[0] || z1.shape[1] !== z2.shape[1]) {
    throw new UlearnError(`${fn}: expected two [N, D] embeddings of equal shape, got [${z1.shape}] and [${z2.shape}]`, { code: 'E_SHAPE' });
  }
  if (z1.shape[0] < minN) {
    throw new UlearnError(`${fn}: needs a batch of at least ${minN} samples, got ${z1.shape[0]}`, {
      code: 'E_SHAPE',
      hint: 'batch statistics (std, covariance, negatives) need several samples per batch',
    });
  }
}

/** Rows scaled to unit L2 norm; eps keeps the gradient finite at the zero vector. */
export function l2Normalize(x: tf.Tensor2D, eps = 1e-12): tf.Tensor2D {
  return tf.tidy(() => tf.div(x, tf.sqrt(tf.maximum(tf.sum(tf.square(x), 1, true), eps))));
}

/** Off-diagonal entries of a square [D, D] matrix zeroed (a constant mask, so gradients flow only off-diagonal). */
function offDiagonal(m: tf.Tensor2D): tf.Tensor2D {
  const d = m.shape[0];
  return tf.mul(m, tf.sub(1, tf.eye(d))) as tf.Tensor2D;
}

/**
 * log(sum(exp(x))) over each row, with its gradient in closed form, softmax(x) * dy. tfjs differentiates its
 * logSumExp through the row max it subtracts for stability, whose gradient is a broadcast Equal + Cast over the
 * whole [2N, 2N] matrix: 4% of a SimCLR step on native (per-kernel timing), for a term that cancels.
 */
function logSumExpRows(x: tf.Tensor2D): tf.Tensor1D {
  const op = tf.customGrad(((xi: tf.Tensor2D, save: tf.GradSaveFunc) => {
    const lse = tf.logSumExp(xi, 1);
    save([xi, lse]);
    return {
      value: lse,
      gradFunc: (dy: tf.Tensor1D, [sx, slse]: tf.Tensor[]) => tf.mul(tf.exp(tf.sub(sx, tf.expandDims(slse, 1))), tf.expandDims(dy, 1)),
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(x) as tf.Tensor1D;
}

/**
 * SimCLR's NT-Xent (Chen et al. 2020): for each of the 2N embeddings, a (2N-1)-way softmax over cosine
 * similarities / temperature whose target is its other view. Mean over all 2N anchors.
 */
export function ntXentLoss(z1: tf.Tensor2D, z2: tf.Tensor2D, temperature = 0.2): tf.Scalar {
  checkPair('ntXentLoss', z1, z2, 1);
  if (!(temperature > 0)) throw new UlearnError(`ntXentLoss: temperature must be > 0, got ${temperature}`, { code: 'E_CONFIG' });
  return tf.tidy(() => {
    const n = z1.shape[0];
    const a = l2Normalize(z1);
    const b = l2Normalize(z2);
    const z = tf.concat([a, b], 0);
    const sim = tf.div(tf.matMul(z, z, false, true), temperature);
    // Self-similarity is always the maximum (1/T); a large negative constant takes it out of the softmax
    // without the NaN gradients that -Infinity can produce.
    const masked = tf.sub(sim, tf.mul(tf.eye(2 * n), 1e9));
    const lse = logSumExpRows(masked as tf.Tensor2D);
    // Positive logit of anchor i is sim(i, i±N) = <a_i, b_i>/T, the same for both views of a pair.
    const pos = tf.div(tf.sum(tf.mul(a, b), 1), temperature);
    return tf.sub(tf.mean(lse), tf.mean(pos)) as tf.Scalar;
  });
}

export interface VicRegOptions {
  /** Weight of the invariance (MSE) term; paper: 25. */
  simCoeff?: number;
  /** Weight of the variance hinge; paper: 25. */
  stdCoeff?: number;
  /** Weight of the covariance term; paper: 1. */
  covCoeff?: number;
  /** Added to the variance before the square root (keeps the gradient finite at zero variance). */
  eps?: number;
}

export interface VicRegTerms {
  invariance: tf.Scalar;
  variance: tf.Scalar;
  covariance: tf.Scalar;
}

/** VICReg's three unweighted terms, kept apart so trainers can log them (the caller disposes them). */
export function vicregTerms(z1: tf.Tensor2D, z2: tf.Tensor2D, eps = 1e-4): VicRegTerms {
  checkPair('vicregLoss', z1, z2, 2);
  const [n, d] = z1.shape;
  const [invariance, variance, covariance] = tf.tidy(() => {
    const invariance = tf.mean(tf.squaredDifference(z1, z2)) as tf.Scalar;
    let variance = tf.scalar(0);
    let covariance = tf.scalar(0);
    for (const z of [z1, z2]) {
      const c = tf.sub(z, tf.mean(z, 0, true)) as tf.Tensor2D;
      // Unbiased (N - 1) estimates, as the reference implementation (torch.var, cov / (N - 1)).
      const std = tf.sqrt(tf.add(tf.div(tf.sum(tf.square(c), 0), n - 1), eps));
      variance = tf.add(variance, tf.div(tf.mean(tf.relu(tf.sub(1, std))), 2));
      const cov = tf.div(tf.matMul(c, c, true, false), n - 1) as tf.Tensor2D;
      covariance = tf.add(covariance, tf.div(tf.sum(tf.square(offDiagonal(cov))), d));
    }
    return [invariance, variance, covariance];
  });
  return { invariance, variance, covariance } as VicRegTerms;
}

/**
 * VICReg (Bardes et al. 2022): simCoeff * MSE(z1, z2) + stdCoeff * mean hinge max(0, 1 - std) per dim
 * (averaged over the two views) + covCoeff * sum of squared off-diagonal covariances / D (summed over views).
 */
export function vicregLoss(z1: tf.Tensor2D, z2: tf.Tensor2D, o: VicRegOptions = {}): tf.Scalar {
  const { simCoeff = 25, stdCoeff = 25, covCoeff = 1, eps = 1e-4 } = o;
  return tf.tidy(() => {
    const t = vicregTerms(z1, z2, eps);
    return tf.addN([tf.mul(t.invariance, simCoeff), tf.mul(t.variance, stdCoeff), tf.mul(t.covariance, covCoeff)]) as tf.Scalar;
  });
}

/**
 * Barlow Twins (Zbontar et al. 2021): standardize each dim over the batch (as a BatchNorm without affine:
 * biased variance, eps 1e-5), cross-correlation C = z1nᵀ z2n / N, loss = Σ(1 - C_ii)² + lambda Σ_{i≠j} C_ij².
 */
export function barlowTwinsLoss(z1: tf.Tensor2D, z2: tf.Tensor2D, lambda = 0.0051): tf.Scalar {
  checkPair('barlowTwinsLoss', z1, z2, 2);
  const n = z1.shape[0];
  return tf.tidy(() => {
    const standardize = (z: tf.Tensor2D): tf.Tensor2D => {
      const { mean, variance } = tf.moments(z, 0, true);
      return tf.div(tf.sub(z, mean), tf.sqrt(tf.add(variance, 1e-5))) as tf.Tensor2D;
    };
    const c = tf.div(tf.matMul(standardize(z1), standardize(z2), true, false), n) as tf.Tensor2D;
    // Diagonal read by masking: tf.diag builds a diagonal matrix from a vector rather than extracting one.
    const diag = tf.sum(tf.mul(c, tf.eye(c.shape[0])), 1);
    const onDiag = tf.sum(tf.square(tf.sub(1, diag)));
    return tf.add(onDiag, tf.mul(tf.sum(tf.square(offDiagonal(c))), lambda)) as tf.Scalar;
  });
}

/**
 * Mean squared error over masked pixels only (MAE-style: visible pixels are trivially copyable, so they
 * carry no learning signal). `mask` is 1 where masked, broadcastable to pred ([N, H, W, 1] for a per-pixel
 * mask over all channels). Returns 0 when nothing is masked.
 */
export function maskedReconstructionLoss(pred: tf.Tensor, target: tf.Tensor, mask: tf.Tensor): tf.Scalar {
  if (pred.shape.join() !== target.shape.join()) {
    throw new UlearnError(`maskedReconstructionLoss: pred [${pred.shape}] and target [${target.shape}] differ`, { code: 'E_SHAPE' });
  }
  return tf.tidy(() => {
    const m = tf.broadcastTo(tf.cast(mask, 'float32'), pred.shape);
    const count = tf.maximum(tf.sum(m), 1);
    return tf.div(tf.sum(tf.mul(tf.squaredDifference(pred, target), m)), count) as tf.Scalar;
  });
}
