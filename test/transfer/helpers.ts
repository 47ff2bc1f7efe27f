/** Shared by the transfer tests: random (but fixed) weights everywhere, so a mix-up of any two weights shows. */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { Rng } from '../../src/engine/seed.js';

/**
 * Every weight of `model` redrawn from `seed`: normal values scaled to keep activations O(1), BN moving
 * variances positive (a fresh model has gamma 1, beta 0, mean 0, var 1, which would hide a swap).
 */
export function randomizeWeights(model: tfl.LayersModel, seed: number): void {
  const rng = new Rng(seed);
  const visit = (layers: tfl.layers.Layer[]) => {
    for (const layer of layers) {
      const nested = (layer as unknown as { layers?: tfl.layers.Layer[] }).layers;
      if (nested) {
        visit(nested);
        continue;
      }
      const ws = layer.getWeights();
      if (ws.length === 0) continue;
      const bn = /BatchNormalization/.test(layer.getClassName());
      const fresh = ws.map((w, i) => {
          const fanIn = w.shape.length > 1 ? w.shape.slice(0, -1).reduce((a, b) => a * b, 1) : 1;
          const v = new Float32Array(w.size);
          for (let k = 0; k < v.length; k++) {
            const z = rng.normal();
            v[k] = bn ? (i === ws.length - 1 ? 0.3 + Math.abs(z) : i === 0 ? 1 + 0.3 * z : 0.3 * z) : z / Math.sqrt(fanIn);
          }
          return tf.tensor(v, w.shape);
      });
      layer.setWeights(fresh);
      tf.dispose(fresh);
    }
  };
  visit(model.layers);
}

export function randomInput(seed: number, n: number, scale = 1, offset = 0): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => offset + scale * rng.normal());
}
