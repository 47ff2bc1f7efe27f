/**
 * Weights from files other programs write, loaded into ulearn's own architectures: a `.safetensors` file, a
 * `.npy` file (one array, named by its file name), or a folder of `.npy` files (each named by its path in the
 * folder: `resnet_stem_conv/kernel.npy` is the weight `resnet_stem_conv/kernel`).
 *
 * Matching is by name and shape, against the model's weights as tfjs names them (`<layer>/<weight>`, e.g.
 * `resnet_s0b0_conv1/kernel`, `resnet_stem_bn/moving_mean`), in tfjs' layouts (conv kernels HWIO, dense
 * kernels [in, out]); '.' is accepted for '/' (`resnet_stem_conv.kernel`). Layers tfjs names by itself
 * (`dense_Dense3` in one process, `dense_Dense17` in the next) are paired layer by layer in creation order,
 * when the names are the same up to digits and underscores.
 * Anything missing, unexpected or of the wrong shape is one error listing each tensor and naming the file,
 * and the model is left untouched.
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { UlearnError } from '../errors.js';
import { architectureOf, buildEncoder, checkArchitecture, type EncoderArchitecture } from '../models/architecture.js';
import { writeFileAtomic } from '../util/atomic.js';
import { readNpy } from './npy.js';
import { encodeSafetensors, readSafetensors, type NamedArray } from './safetensors.js';

export interface WeightsFile {
  file: string;
  tensors: Map<string, NamedArray>;
  /** safetensors' __metadata__ (strings); empty for .npy. */
  metadata: Record<string, string>;
}

/** Reads a .safetensors file, a .npy file or a folder of .npy files (see the module comment). */
export async function readWeights(file: string): Promise<WeightsFile> {
  const st = await stat(file).catch(() => undefined);
  if (!st) throw new UlearnError(`${file}: no such file or folder`, { code: 'E_WEIGHTS_FILE' });
  if (st.isDirectory()) {
    const tensors = new Map<string, NamedArray>();
    const walk = async (dir: string) => {
      for (const e of (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) await walk(p);
        else if (e.name.endsWith('.npy')) tensors.set(path.relative(file, p).slice(0, -4).split(path.sep).join('/'), await readNpy(p));
      }
    };
    await walk(file);
    if (tensors.size === 0) throw new UlearnError(`${file}: no .npy files in this folder`, { code: 'E_WEIGHTS_FILE', hint: 'save one array per weight, named after it: <layer>/<weight>.npy' });
    return { file, tensors, metadata: {} };
  }
  const ext = path.extname(file).toLowerCase();
  if (ext === '.safetensors') return { file, ...(await readSafetensors(file)) };
  if (ext === '.npy') return { file, tensors: new Map([[path.basename(file, '.npy'), await readNpy(file)]]), metadata: {} };
  throw new UlearnError(`${file}: not a weights file ulearn reads (.safetensors, .npy, or a folder of .npy files)`, { code: 'E_WEIGHTS_FILE' });
}

const canonical = (name: string) => name.replace(/\./g, '/');
const structural = (name: string) => canonical(name).replace(/[\d_]+/g, '');
const sameShape = (a: readonly number[], b: readonly (number | null)[]) => a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * Layers tfjs named itself: the file's layers and the model's, each in natural order (dense_Dense3 before
 * dense_Dense12: creation order), paired when they are the same up to numbers and underscores. Returns the
 * file-name → model-name mapping, or undefined when they do not pair up.
 */
function autoNamed(modelNames: string[], fileNames: string[]): ((fileName: string) => string) | undefined {
  const layer = (n: string) => canonical(n).split('/').slice(0, -1).join('/');
  const layers = (names: string[]) => [...new Set(names.map(layer))].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const [ml, fl] = [layers(modelNames), layers(fileNames)];
  if (ml.length !== fl.length || !ml.every((m, i) => structural(m) === structural(fl[i]))) return undefined;
  const map = new Map(fl.map((f, i) => [f, ml[i]]));
  return (n) => {
    const c = canonical(n);
    return `${map.get(layer(c))}/${c.split('/').at(-1)}`;
  };
}

/**
 * Sets `model`'s weights from `weights` (every weight of the model must be there, with its shape; nothing
 * else may be). Returns how many were loaded.
 */
export function loadWeightsInto(model: tfl.LayersModel, weights: WeightsFile): number {
  const vars = model.weights;
  const byName = new Map([...weights.tensors].map(([n, t]) => [canonical(n), { name: n, t }]));
  const find = (names: Map<string, { name: string; t: NamedArray }>) => vars.map((v) => names.get(canonical(v.originalName)) ?? names.get(canonical(v.name)));
  // originalName is the layer's own '<layer>/<weight>'; name may carry a suffix tfjs adds when another model in
  // this process has a layer of the same name.
  let exact = find(byName);
  if (exact.some((e) => e === undefined)) {
    const renamed = autoNamed(vars.map((v) => v.originalName), [...weights.tensors.keys()]);
    if (renamed) exact = find(new Map([...weights.tensors].map(([n, t]) => [canonical(renamed(n)), { name: n, t }])));
  }
  let pairs: { v: (typeof vars)[number]; name: string; t: NamedArray }[] | undefined;
  if (exact.every((e) => e !== undefined) && byName.size === vars.length) pairs = vars.map((v, i) => ({ v, name: exact[i]!.name, t: exact[i]!.t }));
  const problems: string[] = [];
  if (!pairs) {
    const used = new Set<string>();
    vars.forEach((v, i) => {
      const e = exact[i];
      if (!e) problems.push(`missing '${v.originalName}' [${v.shape.join(', ')}]`);
      else used.add(e.name);
    });
    for (const [n, t] of weights.tensors) if (!used.has(n)) problems.push(`unexpected '${n}' [${t.shape.join(', ')}]`);
    pairs = vars.flatMap((v, i) => (exact[i] ? [{ v, name: exact[i]!.name, t: exact[i]!.t }] : []));
  }
  for (const { v, name, t } of pairs) {
    if (!sameShape(t.shape, v.shape)) problems.push(`'${name}' is [${t.shape.join(', ')}] in the file, the model's '${v.originalName}' is [${v.shape.join(', ')}]`);
  }
  if (problems.length > 0) {
    throw new UlearnError(`${weights.file}: the weights do not fit model '${model.name}' (${problems.length} ${problems.length === 1 ? 'problem' : 'problems'}):\n  ${problems.join('\n  ')}`, {
      code: 'E_WEIGHTS_MISMATCH',
      hint: "names are tfjs' (<layer>/<weight>, conv kernels [kh, kw, in, out], dense kernels [in, out]); check the architecture (widths, blocks, input channels)",
    });
  }
  const values = pairs.map(({ v, t }) => tf.tensor(t.data, v.shape as number[]));
  // setWeights takes the model's order; every pair is one of its weights, so the order is rebuilt from them.
  const order = new Map(pairs.map((p, i) => [p.v, values[i]]));
  model.setWeights(vars.map((v) => order.get(v)!));
  tf.dispose(values);
  return pairs.length;
}

/** The metadata key under which ulearn records an encoder's architecture in a safetensors file. */
export const ARCHITECTURE_KEY = 'ulearn.architecture';

/**
 * A ulearn encoder of `arch` (or of the architecture recorded in the file's metadata) with the file's
 * weights: what `--encoder` / `--weights file.safetensors` load. Throws, naming the file, when neither gives
 * an architecture or the weights do not fit it.
 */
export async function encoderFromWeights(file: string, arch?: EncoderArchitecture): Promise<{ encoder: tfl.LayersModel; architecture: EncoderArchitecture; path: string }> {
  const weights = await readWeights(file);
  let architecture = arch;
  if (!architecture && weights.metadata[ARCHITECTURE_KEY]) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(weights.metadata[ARCHITECTURE_KEY]);
    } catch {
      parsed = undefined;
    }
    architecture = checkArchitecture(parsed, `${file} (__metadata__ '${ARCHITECTURE_KEY}')`);
  }
  if (!architecture) {
    throw new UlearnError(`${file}: the file does not record which ulearn architecture its weights are for`, {
      code: 'E_WEIGHTS_FILE',
      hint: `give the architecture (family, inputShape, widths, blocksPerStage), or record it as JSON in the safetensors __metadata__ under '${ARCHITECTURE_KEY}'`,
    });
  }
  const encoder = buildEncoder(architecture);
  try {
    loadWeightsInto(encoder, weights);
  } catch (e) {
    encoder.dispose();
    throw e;
  }
  return { encoder, architecture, path: file };
}

/**
 * Writes `model`'s weights to a .safetensors file (tfjs names and layouts, float32), recording its
 * architecture (given, or the one it was built with) in the metadata so `encoderFromWeights` rebuilds it alone.
 */
export async function saveSafetensors(model: tfl.LayersModel, file: string, arch?: EncoderArchitecture): Promise<void> {
  const a = arch ?? architectureOf(model);
  const tensors = new Map(model.weights.map((v) => [v.originalName, { shape: [...v.shape] as number[], data: v.read().dataSync() as Float32Array }]));
  await writeFileAtomic(file, encodeSafetensors(tensors, a ? { [ARCHITECTURE_KEY]: JSON.stringify(a) } : {}));
}
