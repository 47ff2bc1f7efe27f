/**
 * The .npy and safetensors parsers and loading their weights into ulearn's architectures. .npy files come from
 * NumPy itself (test/fixtures/transfer/make-npy.py: v1, v2, v3 headers, big-endian, Fortran order, float16,
 * int64, a scalar); safetensors bytes are built here by hand from the format's description (8-byte length,
 * JSON header, raw little-endian data). Truncated files and bad headers each get their own error naming the
 * file; weights whose names or shapes do not fit are one error listing each tensor, and the model is untouched.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/backend.js';
import { buildEncoder, type EncoderArchitecture } from '../../src/models/architecture.js';
import { parseNpy } from '../../src/transfer/npy.js';
import { half, parseSafetensors } from '../../src/transfer/safetensors.js';
import { encoderFromWeights, loadWeightsInto, readWeights, saveSafetensors } from '../../src/transfer/weights.js';
import { randomInput, randomizeWeights } from './helpers.js';

const NPY = path.join(import.meta.dirname, '..', 'fixtures', 'transfer');
const npy = (name: string) => new Uint8Array(readFileSync(path.join(NPY, name)));
/** make-npy.py's values: the row-major index · 0.5 − 3 (integers: the index). */
const expected = (n: number, int = false) => Array.from({ length: n }, (_, i) => (int ? i : i * 0.5 - 3));

let work: string;
before(async () => {
  await initBackend('cpu');
  work = await mkdtemp(path.join(tmpdir(), 'ulearn-weights-'));
});

test('.npy from NumPy: v1/v2/v3 headers, big-endian, Fortran order, float16, int64, scalar', () => {
  const c = parseNpy(npy('f4-c-v1.npy'));
  assert.deepEqual(c.shape, [2, 3, 4]);
  assert.deepEqual([...c.data], expected(24));
  // Fortran order is transposed back to row-major; big-endian float64 read as such.
  const f = parseNpy(npy('f8-be-fortran.npy'));
  assert.deepEqual([f.shape, f.dtype], [[3, 4], '>f8']);
  assert.deepEqual([...f.data], expected(12));
  assert.deepEqual([...parseNpy(npy('f2.npy')).data], expected(5));
  assert.deepEqual([...parseNpy(npy('i8.npy')).data], expected(4, true));
  const s = parseNpy(npy('u1-scalar.npy'));
  assert.deepEqual([s.shape, [...s.data]], [[], [7]]);
  assert.deepEqual([...parseNpy(npy('f4-v2.npy')).data], expected(6));
  assert.deepEqual([...parseNpy(npy('f4-v3.npy')).data], expected(4));
});

test('.npy errors: truncated data, truncated header, no magic, bad version, bad dict, unsupported dtype', () => {
  const good = npy('f4-c-v1.npy');
  assert.throws(() => parseNpy(good.subarray(0, good.length - 3), 'w.npy'), /w\.npy: not a valid \.npy file: \[2, 3, 4\] of <f4 needs 96 bytes of data, the file has 93 \(truncated\)/);
  assert.throws(() => parseNpy(good.subarray(0, 40), 'w.npy'), /w\.npy: .*the header \(\d+ bytes\) runs past the end of the file/);
  assert.throws(() => parseNpy(good.subarray(0, 5), 'w.npy'), /only 5 bytes/);
  assert.throws(() => parseNpy(new TextEncoder().encode('PK\x03\x04 this is a zip file'), 'w.npz'), /w\.npz: .*no \\x93NUMPY magic/);
  const v9 = good.slice();
  v9[6] = 9;
  assert.throws(() => parseNpy(v9, 'w.npy'), /format version 9\.0 is not supported/);
  const mangled = good.slice();
  mangled.set(new TextEncoder().encode("{'dexx"), 10);
  assert.throws(() => parseNpy(mangled, 'w.npy'), /the header is not a dict with 'descr', 'fortran_order' and 'shape'/);
  const complex = good.slice();
  complex.set(new TextEncoder().encode("{'descr': '<c8'"), 10);
  assert.throws(() => parseNpy(complex, 'w.npy'), /dtype '<c8' is not supported/);
});

/** safetensors bytes from the format's description: u64 LE header length, JSON header, then the data. */
function safetensors(header: Record<string, unknown>, data: Uint8Array): Uint8Array {
  const head = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + head.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  out.set(data, 8 + head.length);
  return out;
}
const f32 = (...v: number[]) => new Uint8Array(new Float32Array(v).buffer);

test('safetensors: F32, F16, BF16, I64 tensors at their offsets, metadata; half precision values', () => {
  const data = new Uint8Array(4 * 4 + 2 * 2 + 2 * 2 + 8);
  data.set(f32(1, -2, 3.5, 0.25), 0);
  const v = new DataView(data.buffer);
  v.setUint16(16, 0x3c00, true); // F16 1.0
  v.setUint16(18, 0xc000, true); // F16 -2.0
  v.setUint16(20, 0x3f80, true); // BF16 1.0
  v.setUint16(22, 0x4049, true); // BF16 3.140625
  v.setBigInt64(24, -5n, true);
  const file = safetensors(
    {
      __metadata__: { format: 'pt' },
      'a.weight': { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] },
      h: { dtype: 'F16', shape: [2], data_offsets: [16, 20] },
      b: { dtype: 'BF16', shape: [2], data_offsets: [20, 24] },
      n: { dtype: 'I64', shape: [], data_offsets: [24, 32] },
    },
    data,
  );
  const st = parseSafetensors(file, 'w.safetensors');
  assert.deepEqual(st.metadata, { format: 'pt' });
  assert.deepEqual([...st.tensors.get('a.weight')!.data], [1, -2, 3.5, 0.25]);
  assert.deepEqual(st.tensors.get('a.weight')!.shape, [2, 2]);
  assert.deepEqual([...st.tensors.get('h')!.data], [1, -2]);
  assert.deepEqual([...st.tensors.get('b')!.data], [1, 3.140625]);
  assert.deepEqual([...st.tensors.get('n')!.data], [-5]);
  // Half precision, hand-computed: smallest subnormal, largest normal, infinity, NaN.
  assert.deepEqual([half(0x0001), half(0x7bff), half(0xfc00)], [2 ** -24, 65504, -Infinity]);
  assert.ok(Number.isNaN(half(0x7e00)));
});

test('safetensors errors: truncated, header past the end, not JSON, wrong byte count, overlap, unknown dtype', () => {
  const ok = safetensors({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 12] } }, f32(1, 2, 3));
  assert.throws(() => parseSafetensors(ok.subarray(0, ok.length - 4), 'm.safetensors'), /m\.safetensors: not a valid safetensors file: tensor 'w': its data ends at byte 12 of 8 \(the file is truncated\)/);
  assert.throws(() => parseSafetensors(ok.subarray(0, 20), 'm.safetensors'), /header length \d+ runs past the end of the file \(20 bytes; truncated\?\)/);
  assert.throws(() => parseSafetensors(ok.subarray(0, 4), 'm.safetensors'), /4 bytes, shorter than the 8-byte header length/);
  const notJson = ok.slice();
  notJson[8] = 0x5b; // '[' where '{' was: still valid-length, but not an object, then broken JSON
  notJson[9] = 0x7d;
  assert.throws(() => parseSafetensors(notJson, 'm.safetensors'), /the header is not JSON/);
  assert.throws(() => parseSafetensors(safetensors({ w: { dtype: 'F32', shape: [4], data_offsets: [0, 12] } }, f32(1, 2, 3)), 'm.safetensors'), /tensor 'w': F32\[4\] takes 16 bytes, data_offsets give 12/);
  assert.throws(
    () => parseSafetensors(safetensors({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, f32(1, 2, 3)), 'm.safetensors'),
    /tensors 'a' and 'b' overlap/,
  );
  assert.throws(() => parseSafetensors(safetensors({ w: { dtype: 'C64', shape: [1], data_offsets: [0, 8] } }, f32(1, 2)), 'm.safetensors'), /tensor 'w': dtype "C64" is not supported/);
  assert.throws(() => parseSafetensors(safetensors({ w: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, f32(1)), 'm.safetensors'), /shape \[-1\] is not a list of sizes/);
});

const ARCH: EncoderArchitecture = { family: 'resnet', modality: 'image', inputShape: [8, 8, 1], widths: [4, 8], blocksPerStage: 1 };

test('safetensors into a ResNet: the same outputs as the model it was saved from; architecture from the metadata', async () => {
  const source = buildEncoder(ARCH, 1);
  randomizeWeights(source, 3);
  const file = path.join(work, 'enc.safetensors');
  await saveSafetensors(source, file);
  const { encoder, architecture } = await encoderFromWeights(file);
  assert.deepEqual(architecture, ARCH);
  const x = tf.tensor(randomInput(1, 2 * 64), [2, 8, 8, 1]);
  const [a, b] = [source, encoder].map((m) => (m.predict(x) as tf.Tensor).dataSync());
  assert.deepEqual([...b], [...a]);
  // '.'-separated names (PyTorch style) are accepted for '/'.
  const st = await readWeights(file);
  const dotted = { ...st, tensors: new Map([...st.tensors].map(([n, t]) => [n.replace(/\//g, '.'), t])) };
  const fresh = buildEncoder(ARCH, 9);
  assert.equal(loadWeightsInto(fresh, dotted), source.weights.length);
  assert.deepEqual([...(fresh.predict(x) as tf.Tensor).dataSync()], [...a]);
  tf.dispose([x]);
  [source, encoder, fresh].forEach((m) => m.dispose());
});

test('a folder of .npy files named <layer>/<weight>.npy into an MLP (auto-named layers matched in order)', async () => {
  const arch: EncoderArchitecture = { family: 'mlp', modality: 'table', inputShape: [5], widths: [6, 3] };
  const source = buildEncoder(arch, 1);
  randomizeWeights(source, 4);
  const dir = path.join(work, 'npy-weights');
  for (const w of source.weights) {
    // What numpy.save writes for a float32 array: a v1 header padded to 64 bytes, then the data.
    const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${w.shape.join(', ')}${w.shape.length === 1 ? ',' : ''}), }`;
    const header = dict + ' '.repeat(63 - ((10 + dict.length) % 64)) + '\n';
    const bytes = new Uint8Array(10 + header.length + 4 * w.read().size);
    bytes.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
    new DataView(bytes.buffer).setUint16(8, header.length, true);
    bytes.set(new TextEncoder().encode(header), 10);
    bytes.set(new Uint8Array((w.read().dataSync() as Float32Array).slice().buffer), 10 + header.length);
    // Another process's auto names: dense_Dense17 where this one has dense_Dense3.
    const file = path.join(dir, `${w.originalName.replace(/(\d+)\//, (_, d: string) => `${Number(d) + 14}/`)}.npy`);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, bytes);
  }
  const { encoder } = await encoderFromWeights(dir, arch);
  const x = tf.tensor(randomInput(2, 3 * 5), [3, 5]);
  assert.deepEqual([...(encoder.predict(x) as tf.Tensor).dataSync()], [...(source.predict(x) as tf.Tensor).dataSync()]);
  x.dispose();
  source.dispose();
  encoder.dispose();
});

test('weights that do not fit: one error listing each tensor, naming the file; the model is untouched', async () => {
  const model = buildEncoder(ARCH, 2);
  const before = model.getWeights().map((w) => [...w.dataSync()]);
  const other = buildEncoder({ ...ARCH, widths: [4, 6] }, 2);
  const file = path.join(work, 'other.safetensors');
  await saveSafetensors(other, file);
  const w = await readWeights(file);
  assert.throws(() => loadWeightsInto(model, w), (e: Error) => {
    assert.match(e.message, /other\.safetensors: the weights do not fit model 'resnet' \(\d+ problems\):/);
    assert.match(e.message, /'resnet_s1b0_conv1\/kernel' is \[3, 3, 4, 6\] in the file, the model's 'resnet_s1b0_conv1\/kernel' is \[3, 3, 4, 8\]/);
    assert.match(e.message, /'resnet_s1b0_bn2\/moving_variance' is \[6\]/);
    return true;
  });
  // Missing and unexpected names, each listed.
  const renamed = { ...w, tensors: new Map([...w.tensors].filter(([n]) => n !== 'resnet_stem_bn/beta').map(([n, t]) => [n === 'resnet_stem_conv/kernel' ? 'stem.weight' : n, t])) };
  assert.throws(() => loadWeightsInto(model, renamed), /missing 'resnet_stem_conv\/kernel' \[3, 3, 1, 4\][\s\S]*missing 'resnet_stem_bn\/beta' \[4\][\s\S]*unexpected 'stem\.weight' \[3, 3, 1, 4\]/);
  assert.deepEqual(model.getWeights().map((t) => [...t.dataSync()]), before);
  await assert.rejects(encoderFromWeights(path.join(NPY, 'f2.npy')), /f2\.npy: the file does not record which ulearn architecture/);
  await assert.rejects(readWeights(path.join(work, 'model.pt')), /model\.pt: no such file/);
  await writeFile(path.join(work, 'model.pt'), 'x');
  await assert.rejects(readWeights(path.join(work, 'model.pt')), /not a weights file ulearn reads \(\.safetensors, \.npy, or a folder of \.npy files\)/);
  model.dispose();
  other.dispose();
});

test('loadTransferEncoder: safetensors, a .npy folder and model.json are taken; anything else is left to the caller', async () => {
  const { loadTransferEncoder, isTransferSource } = await import('../../src/transfer/load.js');
  const source = buildEncoder(ARCH, 1);
  const file = path.join(work, 'lt.safetensors');
  await saveSafetensors(source, file);
  const r = await loadTransferEncoder(file);
  assert.equal(r?.kind, 'safetensors');
  assert.deepEqual(r?.architecture, ARCH);
  assert.equal(isTransferSource(path.join(work, 'npy-weights')), true);
  assert.equal(isTransferSource(work + '/missing.safetensors'), false);
  assert.equal(await loadTransferEncoder(path.join(work, 'model.onnx')), undefined);
  source.dispose();
  r?.encoder.dispose();
});
