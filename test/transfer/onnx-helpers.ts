/**
 * Shared by the ONNX import tests: running a model in onnxruntime-node (the independent reference) and the
 * imported tfjs model on the same NCHW input, and building tiny ONNX graphs in JS with onnx-proto.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import * as ort from 'onnxruntime-node';
import onnxPackage from 'onnx-proto';
import type { onnx } from 'onnx-proto';

// onnx-proto is CommonJS: its namespace comes through the default export.
const proto = onnxPackage.onnx;

/** onnxruntime's first output for one float input (NCHW for images). */
export async function runOrt(model: string | Uint8Array, x: Float32Array, dims: number[]): Promise<{ data: Float32Array; dims: number[] }> {
  const session = await ort.InferenceSession.create(model as string);
  try {
    const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', x, dims) };
    const out = (await session.run(feeds))[session.outputNames[0]];
    return { data: out.data as Float32Array, dims: out.dims.slice() };
  } finally {
    await session.release();
  }
}

/** The imported model on an NCHW (or plain) input, its output back in ONNX's layout (NHWC maps → NCHW). */
export function runImported(model: tfl.LayersModel, x: Float32Array, dims: number[], outNhwc = false, inNchw = true): { data: Float32Array; dims: number[] } {
  return tf.tidy(() => {
    let input = tf.tensor(x, dims);
    if (dims.length === 4 && inNchw) input = tf.transpose(input, [0, 2, 3, 1]);
    let y = model.predict(input) as tf.Tensor;
    if (outNhwc && y.rank === 4) y = tf.transpose(y, [0, 3, 1, 2]);
    return { data: y.dataSync() as Float32Array, dims: y.shape.slice() };
  });
}

// ---- building graphs -----------------------------------------------------------------------------------
export type Dims = (number | string)[];

export function valueInfo(name: string, dims: Dims, elemType = 1): onnx.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) } } },
  };
}

export function floatTensor(name: string, dims: number[], values: ArrayLike<number>): onnx.ITensorProto {
  return { name, dims, dataType: 1, floatData: Array.from(values) };
}

export function int64Tensor(name: string, dims: number[], values: number[]): onnx.ITensorProto {
  return { name, dims, dataType: 7, int64Data: values };
}

export type AttrValue = number | number[] | string | { float: number } | onnx.ITensorProto;

export function node(opType: string, input: string[], output: string[], attrs: Record<string, AttrValue> = {}, name = `${opType}_${output[0]}`): onnx.INodeProto {
  const attribute = Object.entries(attrs).map(([k, v]): onnx.IAttributeProto => {
    if (typeof v === 'string') return { name: k, type: 3, s: new TextEncoder().encode(v) };
    if (typeof v === 'number') return Number.isInteger(v) ? { name: k, type: 2, i: v } : { name: k, type: 1, f: v };
    if (Array.isArray(v)) return { name: k, type: 7, ints: v };
    if ('float' in v) return { name: k, type: 1, f: (v as { float: number }).float };
    return { name: k, type: 4, t: v as onnx.ITensorProto };
  });
  return { opType, input, output, attribute, name };
}

export interface GraphSpec {
  nodes: onnx.INodeProto[];
  inputs: onnx.IValueInfoProto[];
  outputs: onnx.IValueInfoProto[];
  initializers?: onnx.ITensorProto[];
  opset?: number;
}

export function modelBytes(g: GraphSpec): Uint8Array {
  return proto.ModelProto.encode({
    irVersion: 8,
    producerName: 'ulearn-test',
    opsetImport: [{ domain: '', version: g.opset ?? 13 }],
    graph: { name: 'g', node: g.nodes, input: g.inputs, output: g.outputs, initializer: g.initializers ?? [] },
  }).finish();
}

/** Seeded uniform values in [-1, 1) (a small LCG: tests need reproducible numbers, not quality). */
export function seeded(n: number, seed: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = ((s / 2 ** 32) * 2 - 1) * scale;
  }
  return a;
}
