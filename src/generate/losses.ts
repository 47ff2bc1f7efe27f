/**
 * The generative models' loss terms, per sample ([N] tensors; callers average), so each is tested against a
 * hand computation and the models only combine them:
 * - VAE evidence lower bound (Kingma & Welling 2014): log p(x|z) − KL(q(z|x) ‖ N(0, I));
 * - the semi-supervised VAE M2's bounds (Kingma, Rezende, Mohamed & Welling 2014, eq. 6–9): the labelled
 *   −L(x, y) = E[log p(x|y, z)] + log p(y) − KL(q(z|x, y) ‖ p(z)), the unlabelled
 *   −U(x) = Σ_y q(y|x)(−L(x, y)) + H(q(y|x)), and the α-weighted classification loss;
 * - DDPM's simplified objective (Ho et al. 2020, eq. 14): ‖ε − ε_θ(x_t, t)‖².
 */
import * as tf from '@tensorflow/tfjs-core';

const LOG_2PI = Math.log(2 * Math.PI);

/** Sum over every axis but the first: [N, ...] → [N]. */
export function sumPerSample(t: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => (t.rank === 1 ? tf.clone(t) : tf.sum(tf.reshape(t, [t.shape[0], -1]), 1))) as tf.Tensor1D;
}

/** KL(N(μ, σ²) ‖ N(0, 1)) summed over latent dims: ½ Σ (σ² + μ² − 1 − log σ²). `logvar` is log σ². */
export function gaussianKl(mu: tf.Tensor, logvar: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => sumPerSample(tf.mul(tf.sub(tf.sub(tf.add(tf.exp(logvar), tf.square(mu)), 1), logvar), 0.5)));
}

/**
 * log p(x | logits) for Bernoulli pixels (x in [0, 1], the continuous relaxation every VAE on MNIST uses):
 * Σ x·l − softplus(l), written as −(max(l, 0) − x·l + log(1 + e^−|l|)) so large logits do not overflow.
 */
export function bernoulliLogLik(x: tf.Tensor, logits: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => {
    const nll = tf.add(tf.sub(tf.relu(logits), tf.mul(x, logits)), tf.log1p(tf.exp(tf.neg(tf.abs(logits)))));
    return tf.neg(sumPerSample(nll)) as tf.Tensor1D;
  });
}

/** log N(x; mean, σ²) summed over dims; `logvar` is log σ², a tensor or one number for a fixed variance. */
export function gaussianLogLik(x: tf.Tensor, mean: tf.Tensor, logvar: tf.Tensor | number): tf.Tensor1D {
  return tf.tidy(() => {
    const lv = typeof logvar === 'number' ? tf.scalar(logvar) : logvar;
    const term = tf.mul(tf.add(tf.add(tf.div(tf.square(tf.sub(x, mean)), tf.exp(lv)), lv), LOG_2PI), -0.5);
    return sumPerSample(tf.add(term, tf.zerosLike(x)));
  });
}

/** Reparameterised draw z = μ + σ·ε with ε ~ N(0, I) given (so the caller controls the seed). */
export function reparameterize(mu: tf.Tensor, logvar: tf.Tensor, eps: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.add(mu, tf.mul(tf.exp(tf.mul(logvar, 0.5)), eps)));
}

/** The ELBO per sample: reconstruction log-likelihood − KL (both [N]). */
export function elbo(logLik: tf.Tensor1D, kl: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => tf.sub(logLik, kl));
}

/**
 * M2's labelled bound −L(x, y) per sample, from its parts: log p(x|y, z) (one z draw), KL(q(z|x, y) ‖ N(0, I))
 * and the uniform class prior log p(y) = −log K.
 */
export function m2LabelledBound(logLik: tf.Tensor1D, kl: tf.Tensor1D, nClasses: number): tf.Tensor1D {
  return tf.tidy(() => tf.sub(tf.sub(logLik, kl), Math.log(nClasses)));
}

/**
 * M2's unlabelled bound −U(x) = Σ_y q(y|x)·(−L(x, y)) + H(q(y|x)). `boundPerClass` is [N, K] (column y holds
 * −L(x, y)), `logits` the classifier's [N, K].
 */
export function m2UnlabelledBound(boundPerClass: tf.Tensor2D, logits: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const logq = tf.logSoftmax(logits);
    const q = tf.exp(logq);
    const entropy = tf.neg(tf.sum(tf.mul(q, logq), 1));
    return tf.add(tf.sum(tf.mul(q, boundPerClass), 1), entropy) as tf.Tensor1D;
  });
}

/** −log q(y|x) per labelled sample (M2's classification term, weighted by α in the objective). */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => {
    const logq = tf.logSoftmax(logits);
    const onehot = tf.oneHot(tf.cast(labels, 'int32'), logits.shape[1]);
    return tf.neg(tf.sum(tf.mul(logq, onehot), 1)) as tf.Tensor1D;
  });
}

/**
 * M2's objective J^α (Kingma et al. 2014, eq. 9) for one batch, as a mean per sample: the labelled samples'
 * L, the unlabelled samples' U and α times the labelled cross-entropy. Either part may be empty (null).
 */
export function m2Objective(parts: { labelled?: tf.Tensor1D; unlabelled?: tf.Tensor1D; ce?: tf.Tensor1D }, alpha: number): tf.Scalar {
  return tf.tidy(() => {
    let loss: tf.Tensor = tf.scalar(0);
    if (parts.labelled && parts.labelled.size) loss = tf.sub(loss, tf.mean(parts.labelled));
    if (parts.unlabelled && parts.unlabelled.size) loss = tf.sub(loss, tf.mean(parts.unlabelled));
    if (parts.ce && parts.ce.size) loss = tf.add(loss, tf.mul(tf.mean(parts.ce), alpha));
    return loss as tf.Scalar;
  });
}

/** DDPM's simplified loss: the mean squared error between the drawn noise and the predicted one. */
export function epsMse(eps: tf.Tensor, epsPred: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.square(tf.sub(eps, epsPred))) as tf.Scalar);
}
