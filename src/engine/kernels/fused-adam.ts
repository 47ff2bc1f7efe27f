/**
 * One Adam update over all variables per step, in one native call, on the native engine.
 *
 * tfjs' AdamOptimizer.applyGradients runs ~12 wasm kernels per variable (each a full pass and an allocation),
 * which for a ResNet's 60 variables is ~700 kernel calls per step. Here every ulearn trainer keeps calling
 * `tf.train.adam(...)` unchanged: while the native kernels are active, applyGradients updates each variable and
 * its two moments in place on the wasm heap, in one pass. Elsewhere (other backends, or where a variable shares
 * its data with another tensor, so an in-place write would show through it) tfjs' own update runs.
 *
 * Same state as tfjs' (moment variables named `<var>/m`, `<var>/v`, accBeta1/2, iterations), so optimizer
 * weights save and load the same way, and the same arithmetic: w -= lr * m_hat / (sqrt(v_hat) + epsilon).
 */
import * as tf from '@tensorflow/tfjs-core';
import { callNative, heapView, offsetOf, type NativeAddon, type WasmInternals } from '../native.js';
import { nativeKernelsActive } from './native.js';

type ApplyGradients = tf.AdamOptimizer['applyGradients'];
interface AdamInternals {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: Array<{ originalName: string; variable: tf.Variable } | undefined>;
  accumulatedSecondMoment: Array<{ originalName: string; variable: tf.Variable } | undefined>;
  incrementIterations(): void;
}

/** tfjs' own applyGradients (tests compare against it). */
export const tfjsAdamApplyGradients: ApplyGradients = tf.AdamOptimizer.prototype.applyGradients;

let installed: NativeAddon | undefined;

/** Steps the fused update ran (tests check that it, and not tfjs' update, ran). */
export let fusedAdamSteps = 0;

/** Routes AdamOptimizer.applyGradients through `addon` while the native kernels are active. Idempotent. */
export function installFusedAdam(addon: NativeAddon): void {
  if (installed) return;
  installed = addon;
  tf.AdamOptimizer.prototype.applyGradients = function (this: tf.AdamOptimizer, variableGradients) {
    if (!nativeKernelsActive() || tf.getBackend() !== 'wasm' || !fusedAdam(addon, this as unknown as AdamInternals, variableGradients)) {
      tfjsAdamApplyGradients.call(this, variableGradients);
    }
  };
}

/** Undoes installFusedAdam. */
export function uninstallFusedAdam(): void {
  tf.AdamOptimizer.prototype.applyGradients = tfjsAdamApplyGradients;
  installed = undefined;
}

/** The fused update; false (having changed nothing) where it cannot run in place. */
function fusedAdam(addon: NativeAddon, opt: AdamInternals, variableGradients: Parameters<ApplyGradients>[0]): boolean {
  const names = Array.isArray(variableGradients) ? variableGradients.map((v) => v.name) : Object.keys(variableGradients);
  const gradOf = (name: string, i: number) => (Array.isArray(variableGradients) ? variableGradients[i].tensor : variableGradients[name]);
  const backend = tf.backend() as unknown as WasmInternals;
  const exclusive = (t: tf.Tensor) => t.dtype === 'float32' && backend.dataIdMap.get(t.dataId)?.refCount === 1;
  const vars = names.map((n) => tf.engine().registeredVariables[n]);
  if (vars.some((v, i) => !v || !exclusive(v) || (gradOf(names[i], i) && gradOf(names[i], i)!.dtype !== 'float32'))) return false;
  names.forEach((name, i) => {
    // Created as tfjs creates them (zeros, not trainable, named var/m and var/v).
    opt.accumulatedFirstMoment[i] ??= { originalName: `${name}/m`, variable: tf.tidy(() => tf.zerosLike(vars[i]).variable(false)) };
    opt.accumulatedSecondMoment[i] ??= { originalName: `${name}/v`, variable: tf.tidy(() => tf.zerosLike(vars[i]).variable(false)) };
  });
  if (names.some((_, i) => !exclusive(opt.accumulatedFirstMoment[i]!.variable) || !exclusive(opt.accumulatedSecondMoment[i]!.variable))) return false;
  const params: number[] = [];
  names.forEach((name, i) => {
    const g = gradOf(name, i);
    if (!g) return;
    params.push(
      vars[i].size,
      offsetOf(backend, vars[i]),
      offsetOf(backend, opt.accumulatedFirstMoment[i]!.variable),
      offsetOf(backend, opt.accumulatedSecondMoment[i]!.variable),
      offsetOf(backend, g),
    );
  });
  // accBeta = beta^t for this step t (tfjs starts them at beta and multiplies after each step).
  const accBeta1 = opt.accBeta1.dataSync()[0];
  const accBeta2 = opt.accBeta2.dataSync()[0];
  callNative('Adam', () =>
    addon.adam(heapView(backend), Int32Array.from(params), opt.learningRate, opt.beta1, opt.beta2, opt.epsilon, 1 - accBeta1, 1 - accBeta2),
  );
  tf.tidy(() => {
    opt.accBeta1.assign(tf.mul(opt.accBeta1, opt.beta1));
    opt.accBeta2.assign(tf.mul(opt.accBeta2, opt.beta2));
  });
  opt.incrementIterations();
  fusedAdamSteps++;
  return true;
}
