/**
 * The small networks the generators are made of, for any sample shape [H, W, C] (images, or log-mel features
 * [frames, 1, bins]) or [D] (feature vectors, M1+M2): a two-stride convolutional body where H and W divide by 4,
 * else a multilayer perceptron over the flattened sample, so a shape the convolutions cannot halve twice
 * still trains. Conditions (class one-hots, time embeddings) enter as vectors: concatenated to dense inputs,
 * and added per channel to the feature maps of the diffusion U-Net.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import * as tfc from '@tensorflow/tfjs-core';
import type * as tf from '@tensorflow/tfjs-core';
import { tfSeed } from '../engine/seed.js';

export type Shape = number[];

/** Seeded initialisers: every generator is reproducible from its seed. */
export class Inits {
  private n = 0;
  constructor(private readonly seed: number) {}
  kernel(): ReturnType<typeof tfl.initializers.glorotUniform> {
    return tfl.initializers.glorotUniform({ seed: tfSeed(this.seed * 1009 + this.n++) });
  }
}

export const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** Whether the two stride-2 convolutions fit: [H, W, C] with H and W multiples of 4. */
export function convolutional(shape: Shape): boolean {
  return shape.length === 3 && shape[0] % 4 === 0 && shape[1] % 4 === 0 && shape[0] >= 4 && shape[1] >= 4;
}

const dense = (units: number, init: Inits, activation: 'relu' | 'linear' | 'swish' = 'relu') => tfl.layers.dense({ units, activation, kernelInitializer: init.kernel() });
const conv = (filters: number, init: Inits, strides = 1, activation: 'relu' | 'linear' | 'swish' = 'relu') =>
  tfl.layers.conv2d({ filters, kernelSize: 3, strides, padding: 'same', activation, kernelInitializer: init.kernel() });
const deconv = (filters: number, init: Inits, activation: 'relu' | 'linear' | 'swish' = 'relu') =>
  tfl.layers.conv2dTranspose({ filters, kernelSize: 4, strides: 2, padding: 'same', activation, kernelInitializer: init.kernel() });

/**
 * map [N, h, w, C] + vector [N, C] broadcast over h and w: how DDPM's U-Net adds its time embedding to every
 * feature map. A layer of its own because tfjs-layers has no broadcasting add, and tiling the vector
 * (repeatVector + reshape) costs ~0.5 s per step in its gradient on 28×28 maps (measured on the native backend).
 */
export class BroadcastAdd extends tfl.layers.Layer {
  static readonly className = 'UlearnBroadcastAdd';
  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    return (inputShape as tfl.Shape[])[0];
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tfc.tidy(() => {
      const [map, v] = inputs as tf.Tensor[];
      return tfc.add(map, tfc.reshape(v, [v.shape[0], 1, 1, -1]));
    });
  }
}
tfc.serialization.registerClass(BroadcastAdd);

/**
 * x [shape] (+ condition [condDim]) → [outDim]: the VAE encoders (outDim = 2·latent: μ and log σ²) and M2's
 * classifier (outDim = classes). `widths` are the conv stages' channels; `hidden` the dense layer.
 */
export function encoderNet(shape: Shape, condDim: number, outDim: number, o: { widths: [number, number]; hidden: number; init: Inits; name: string }): tfl.LayersModel {
  const x = tfl.input({ shape });
  const c = condDim > 0 ? tfl.input({ shape: [condDim] }) : undefined;
  let h: tfl.SymbolicTensor;
  if (convolutional(shape)) {
    h = conv(o.widths[0], o.init, 2).apply(x) as tfl.SymbolicTensor;
    h = conv(o.widths[1], o.init, 2).apply(h) as tfl.SymbolicTensor;
    h = tfl.layers.flatten().apply(h) as tfl.SymbolicTensor;
  } else {
    h = shape.length === 1 ? x : (tfl.layers.flatten().apply(x) as tfl.SymbolicTensor);
    h = dense(o.hidden, o.init).apply(h) as tfl.SymbolicTensor;
  }
  if (c) h = tfl.layers.concatenate().apply([h, c]) as tfl.SymbolicTensor;
  h = dense(o.hidden, o.init).apply(h) as tfl.SymbolicTensor;
  const out = dense(outDim, o.init, 'linear').apply(h) as tfl.SymbolicTensor;
  return tfl.model({ inputs: c ? [x, c] : [x], outputs: out, name: o.name });
}

/** z [latent] + condition [condDim] → [shape] (Bernoulli logits or Gaussian means): the VAE decoders. */
export function decoderNet(latent: number, condDim: number, shape: Shape, o: { widths: [number, number]; hidden: number; init: Inits; name: string }): tfl.LayersModel {
  const z = tfl.input({ shape: [latent] });
  const c = condDim > 0 ? tfl.input({ shape: [condDim] }) : undefined;
  let h = c ? (tfl.layers.concatenate().apply([z, c]) as tfl.SymbolicTensor) : z;
  h = dense(o.hidden, o.init).apply(h) as tfl.SymbolicTensor;
  let out: tfl.SymbolicTensor;
  if (convolutional(shape)) {
    const [H, W, C] = shape;
    h = dense((H / 4) * (W / 4) * o.widths[1], o.init).apply(h) as tfl.SymbolicTensor;
    h = tfl.layers.reshape({ targetShape: [H / 4, W / 4, o.widths[1]] }).apply(h) as tfl.SymbolicTensor;
    h = deconv(o.widths[0], o.init).apply(h) as tfl.SymbolicTensor;
    out = deconv(C, o.init, 'linear').apply(h) as tfl.SymbolicTensor;
  } else {
    h = dense(o.hidden, o.init).apply(h) as tfl.SymbolicTensor;
    out = dense(prod(shape), o.init, 'linear').apply(h) as tfl.SymbolicTensor;
    if (shape.length > 1) out = tfl.layers.reshape({ targetShape: shape }).apply(out) as tfl.SymbolicTensor;
  }
  return tfl.model({ inputs: c ? [z, c] : [z], outputs: out, name: o.name });
}

/**
 * The diffusion denoiser ε_θ(x_t, t, y): a two-level U-Net (Ronneberger et al. 2015, as in DDPM but without
 * attention or normalisation, to stay small) whose condition vector (time embedding ⊕ class one-hot, through a
 * small MLP) is added to every block's feature map as a per-channel bias; or an MLP for shapes the U-Net cannot
 * halve twice.
 */
export function denoiserNet(shape: Shape, condDim: number, o: { widths: [number, number]; hidden: number; init: Inits }): tfl.LayersModel {
  const x = tfl.input({ shape });
  const c = tfl.input({ shape: [condDim] });
  const emb = dense(o.hidden, o.init, 'swish').apply(dense(o.hidden, o.init, 'swish').apply(c)) as tfl.SymbolicTensor;
  let out: tfl.SymbolicTensor;
  if (convolutional(shape)) {
    const C = shape[2];
    const [w1, w2] = o.widths;
    // conv → + dense(embedding) as a per-channel bias → swish → conv, as a DDPM residual block without the skip.
    const block = (h: tfl.SymbolicTensor, f: number, strides = 1) => {
      const a = conv(f, o.init, strides, 'linear').apply(h) as tfl.SymbolicTensor;
      const b = new BroadcastAdd({}).apply([a, dense(f, o.init, 'linear').apply(emb) as tfl.SymbolicTensor]) as tfl.SymbolicTensor;
      return conv(f, o.init, 1, 'swish').apply(tfl.layers.activation({ activation: 'swish' }).apply(b)) as tfl.SymbolicTensor;
    };
    const h1 = block(x, w1);
    const h2 = block(h1, w2, 2);
    const h3 = block(h2, w2, 2);
    let u = deconv(w2, o.init, 'swish').apply(h3) as tfl.SymbolicTensor;
    u = block(tfl.layers.concatenate().apply([u, h2]) as tfl.SymbolicTensor, w2);
    u = deconv(w1, o.init, 'swish').apply(u) as tfl.SymbolicTensor;
    u = block(tfl.layers.concatenate().apply([u, h1]) as tfl.SymbolicTensor, w1);
    out = tfl.layers.conv2d({ filters: C, kernelSize: 3, padding: 'same', kernelInitializer: o.init.kernel() }).apply(u) as tfl.SymbolicTensor;
  } else {
    let h = shape.length === 1 ? x : (tfl.layers.flatten().apply(x) as tfl.SymbolicTensor);
    h = tfl.layers.concatenate().apply([h, emb]) as tfl.SymbolicTensor;
    h = dense(o.hidden * 2, o.init, 'swish').apply(h) as tfl.SymbolicTensor;
    h = tfl.layers.concatenate().apply([h, emb]) as tfl.SymbolicTensor;
    h = dense(o.hidden * 2, o.init, 'swish').apply(h) as tfl.SymbolicTensor;
    out = dense(prod(shape), o.init, 'linear').apply(h) as tfl.SymbolicTensor;
    if (shape.length > 1) out = tfl.layers.reshape({ targetShape: shape }).apply(out) as tfl.SymbolicTensor;
  }
  return tfl.model({ inputs: [x, c], outputs: out, name: 'denoiser' });
}

/**
 * One model holding every sub-network, so one checkpoint (src/runs/checkpoint.ts) saves and checks them all:
 * each part applied to fresh inputs of its own shapes.
 */
export function bundle(parts: tfl.LayersModel[], name: string): tfl.LayersModel {
  const inputs: tfl.SymbolicTensor[] = [];
  const outputs: tfl.SymbolicTensor[] = [];
  for (const p of parts) {
    const ins = p.inputs.map((i) => tfl.input({ shape: i.shape.slice(1) as number[] }));
    inputs.push(...ins);
    const o = p.apply(ins.length === 1 ? ins[0] : ins);
    outputs.push(...(Array.isArray(o) ? (o as tfl.SymbolicTensor[]) : [o as tfl.SymbolicTensor]));
  }
  return tfl.model({ inputs, outputs, name });
}

/** Runs a (possibly two-input) part on tensors. */
export function run(model: tfl.LayersModel, ...inputs: tf.Tensor[]): tf.Tensor {
  return model.apply(inputs.length === 1 ? inputs[0] : inputs, { training: true }) as tf.Tensor;
}
