/**
 * Fast frozen features of an imported ONNX model (issue 14, item 6): onnxruntime runs the original graph with
 * its output moved to the tensor the import was cut at (followed by GlobalAveragePool + Flatten when ulearn
 * pools that feature map), so a model that is not being trained (linear probe, label init's embeddings,
 * clean's neighbours) is run by ONNX's own runtime instead of the tfjs port. `encodeFrozen` (models/encode.ts)
 * takes this path only while the encoder's weights are the ones loaded; anything else uses tfjs.
 *
 * The input preprocessing layers in front of the model (transfer/adapt.ts) stay in tfjs (`prefix`): a resize
 * and a 1×1 convolution, cheap next to the network. onnxruntime is loaded on first use.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import onnxPackage from 'onnx-proto';
import { nhwcFile } from './import.js';
import { readOnnxModel } from './read.js';
import type { FrozenFeatures } from '../../models/encode.js';

// onnx-proto is CommonJS: its namespace comes through the default export.
const proto = onnxPackage.onnx;

/**
 * onnxruntime features of `file` cut at `cut.tensor`. `prefix` maps the encoder's input to the model's (NHWC);
 * undefined: none. `sample` is the model's own sample shape (NHWC for images). Undefined when onnxruntime
 * cannot take the cut graph (e.g. weights in external data files): the caller stays on tfjs.
 */
export async function onnxFrozenFeatures(file: string, cut: { tensor: string; pooled: boolean }, sample: readonly number[], prefix: tfl.LayersModel | undefined): Promise<FrozenFeatures | undefined> {
  const { model } = await readOnnxModel(file);
  const graph = model.graph!;
  const inits = new Set((graph.initializer ?? []).map((t) => t.name));
  const inputName = (graph.input ?? []).find((i) => !inits.has(i.name))?.name;
  if (!inputName) return undefined;
  let out = cut.tensor;
  if (cut.pooled) {
    graph.node!.push(proto.NodeProto.create({ opType: 'GlobalAveragePool', input: [out], output: ['ulearn_features_gap'], name: 'ulearn_features_gap' }));
    graph.node!.push(proto.NodeProto.create({ opType: 'Flatten', input: ['ulearn_features_gap'], output: ['ulearn_features'], name: 'ulearn_features_flatten', attribute: [proto.AttributeProto.create({ name: 'axis', type: proto.AttributeProto.AttributeType.INT, i: 1 })] }));
    out = 'ulearn_features';
  }
  // Only the name: onnxruntime infers the type and shape of an output. Exports made with a fixed batch of 1
  // (torch.onnx without dynamic axes) get a free batch dim, and recorded intermediate shapes are dropped with it.
  graph.output = [proto.ValueInfoProto.create({ name: out })];
  graph.valueInfo = [];
  const batch = (graph.input ?? []).find((i) => i.name === inputName)?.type?.tensorType?.shape?.dim?.[0];
  if (batch) {
    batch.dimValue = undefined;
    batch.dimParam = 'N';
  }
  let session: import('onnxruntime-node').InferenceSession;
  let ort: typeof import('onnxruntime-node');
  try {
    ort = await import('onnxruntime-node');
    session = await ort.InferenceSession.create(proto.ModelProto.encode(model).finish());
  } catch {
    return undefined;
  }
  // Images go in NCHW, unless the file itself reads NHWC (tf2onnx's Transpose in front; import.ts's rule).
  const transpose = sample.length === 3 && !nhwcFile(inputName, graph.node ?? []);
  return {
    async run(x: Float32Array, m: number): Promise<Float32Array | undefined> {
      // tfjs does the preprocessing (if any) and the NHWC → NCHW transpose; onnxruntime the network.
      const input = tf.tidy(() => {
        let t: tf.Tensor = tf.tensor(x, [m, ...(prefix ? (prefix.inputs[0].shape.slice(1) as number[]) : sample)]);
        if (prefix) t = prefix.predict(t) as tf.Tensor;
        return transpose ? tf.transpose(t, [0, 3, 1, 2]) : t;
      });
      const data = (await input.data()) as Float32Array;
      const dims = input.shape;
      input.dispose();
      try {
        const r = await session.run({ [inputName]: new ort.Tensor('float32', data, dims) });
        return r[out].data as Float32Array;
      } catch {
        // A graph that only runs at its exported batch size (a Reshape to a constant batch, say): tfjs then.
        return undefined;
      }
    },
  };
}
