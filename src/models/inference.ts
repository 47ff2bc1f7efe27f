/**
 * A model's forward pass in inference mode with each conv → BatchNorm (→ ReLU) chain folded into one fused
 * conv: in inference BN is an affine map per channel with fixed statistics, so
 *   gamma * (conv(x, W) + b - mean) / sqrt(var + eps) + beta = conv(x, W * s) + (b - mean) * s + beta,
 *   s = gamma / sqrt(var + eps),
 * and the ReLU after it is the fused conv's activation (a oneDNN post-op on the native engine, XNNPACK's clamp
 * on wasm). That removes two full passes over every conv's output, the memory-bound part of encoding
 * (`encode`, models/encode.ts). The weights are folded when the plan is made, so a plan belongs to one set of
 * weights: make it per encoding, not per model.
 *
 * The graph is walked as tfjs-layers' own `runInternalGraph` walks it (nodes by decreasing depth, tensors by
 * symbolic id); every layer that is not part of a folded chain runs its own `call`, so any model runs, folded or
 * not. Only public tfjs-layers state is read: the nodes, each layer's `getConfig()` and `getWeights()`.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { FastBatchNormalization } from './fast-batch-norm.js';

type GraphNode = tfl.LayersModel['nodesByDepth'][string][number];

interface FoldedConv {
  kind: 'folded';
  input: number;
  output: number;
  filter: tf.Tensor4D;
  bias: tf.Tensor1D;
  strides: [number, number];
  pad: 'same' | 'valid';
  dilations: [number, number];
  relu: boolean;
}

interface LayerStep {
  kind: 'layer';
  node: GraphNode;
}

export interface InferencePlan {
  /** The model's output for `x` (inference mode); call inside tf.tidy, as with `model.apply`. */
  apply(x: tf.Tensor): tf.Tensor;
  /** conv → BN chains folded (a model without any runs layer by layer). */
  readonly folded: number;
  /** Frees the folded weights. */
  dispose(): void;
}

const BN_CLASSES = new Set(['BatchNormalization', FastBatchNormalization.className]);

const pair = (v: unknown): [number, number] => (Array.isArray(v) ? [Number(v[0]), Number(v[1] ?? v[0])] : [Number(v), Number(v)]);

function isRelu(layer: tfl.layers.Layer): boolean {
  const c = layer.getConfig();
  if (layer.getClassName() === 'ReLU') return c.maxValue == null;
  return layer.getClassName() === 'Activation' && c.activation === 'relu';
}

/** The steps of `model`'s graph in execution order, with conv → BN (→ ReLU) chains folded. */
export function inferencePlan(model: tfl.LayersModel): InferencePlan {
  const depths = Object.keys(model.nodesByDepth)
    .map(Number)
    .sort((a, b) => b - a);
  const nodes = depths.flatMap((d) => model.nodesByDepth[d]).filter((n) => n.outboundLayer.getClassName() !== 'InputLayer');
  // Who reads each symbolic tensor: a chain folds only where nothing else needs its intermediate outputs.
  const readers = new Map<number, GraphNode[]>();
  for (const n of nodes) for (const t of n.inputTensors) readers.set(t.id, [...(readers.get(t.id) ?? []), n]);
  const outputs = new Set(model.outputs.map((t) => t.id));
  const soleReader = (n: GraphNode): GraphNode | undefined => {
    if (n.outputTensors.length !== 1) return undefined;
    const id = n.outputTensors[0].id;
    const r = readers.get(id);
    return !outputs.has(id) && r?.length === 1 && r[0].inputTensors.length === 1 ? r[0] : undefined;
  };

  const steps: Array<FoldedConv | LayerStep> = [];
  const absorbed = new Set<GraphNode>();
  for (const node of nodes) {
    if (absorbed.has(node)) continue;
    const folded = foldConv(node, soleReader);
    if (folded) {
      steps.push(folded.step);
      for (const n of folded.absorbed) absorbed.add(n);
    } else {
      steps.push({ kind: 'layer', node });
    }
  }
  const foldedSteps = steps.filter((s): s is FoldedConv => s.kind === 'folded');
  if (!foldedSteps.length || !walkable(model, steps)) {
    // Nothing to fold, or a graph this walk does not cover (a Sequential keeps its nodes in an inner model):
    // the model's own forward pass.
    for (const s of foldedSteps) tf.dispose([s.filter, s.bias]);
    return { folded: 0, apply: (x) => model.apply(x, { training: false }) as tf.Tensor, dispose: () => {} };
  }

  return {
    folded: foldedSteps.length,
    apply(x: tf.Tensor): tf.Tensor {
      const values = new Map<number, tf.Tensor>([[model.inputs[0].id, x]]);
      for (const s of steps) {
        if (s.kind === 'folded') {
          const input = values.get(s.input) as tf.Tensor4D;
          values.set(
            s.output,
            tf.fused.conv2d({ x: input, filter: s.filter, bias: s.bias, strides: s.strides, pad: s.pad, dataFormat: 'NHWC', dilations: s.dilations, activation: s.relu ? 'relu' : 'linear' }),
          );
        } else {
          const inputs = s.node.inputTensors.map((t) => values.get(t.id)!);
          const layer = s.node.outboundLayer;
          // tfjs-layers' Add copies its first input before adding to it: a full pass over a residual block's output.
          const out =
            layer.getClassName() === 'Add' && inputs.length > 1
              ? inputs.reduce((a, b) => tf.add(a, b))
              : layer.call(inputs.length === 1 ? inputs[0] : inputs, { ...s.node.callArgs, training: false });
          const outs = Array.isArray(out) ? out : [out];
          s.node.outputTensors.forEach((t, i) => values.set(t.id, outs[i]));
        }
      }
      return values.get(model.outputs[0].id)!;
    },
    dispose(): void {
      for (const s of foldedSteps) tf.dispose([s.filter, s.bias]);
    },
  };
}

/** One input, one output, and every step's inputs computed before it, the output among them. */
function walkable(model: tfl.LayersModel, steps: Array<FoldedConv | LayerStep>): boolean {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) return false;
  const known = new Set([model.inputs[0].id]);
  for (const s of steps) {
    const ins = s.kind === 'folded' ? [s.input] : s.node.inputTensors.map((t) => t.id);
    if (!ins.every((id) => known.has(id))) return false;
    for (const id of s.kind === 'folded' ? [s.output] : s.node.outputTensors.map((t) => t.id)) known.add(id);
  }
  return known.has(model.outputs[0].id);
}

/** A Conv2D node whose only reader is an inference BN over channels (then, optionally, a ReLU), folded. */
function foldConv(node: GraphNode, soleReader: (n: GraphNode) => GraphNode | undefined): { step: FoldedConv; absorbed: GraphNode[] } | undefined {
  const conv = node.outboundLayer;
  if (conv.getClassName() !== 'Conv2D' || node.inputTensors.length !== 1) return undefined;
  const cc = conv.getConfig();
  if (cc.dataFormat !== 'channelsLast' || cc.activation !== 'linear' || (cc.padding !== 'same' && cc.padding !== 'valid')) return undefined;
  const bnNode = soleReader(node);
  const bn = bnNode?.outboundLayer;
  if (!bnNode || !bn || !BN_CLASSES.has(bn.getClassName())) return undefined;
  const bc = bn.getConfig();
  if (bc.axis !== -1 && bc.axis !== 3) return undefined;
  const reluNode = soleReader(bnNode);
  const relu = reluNode !== undefined && isRelu(reluNode.outboundLayer);
  const last = relu ? reluNode : bnNode;

  const [kernel, convBias] = conv.getWeights();
  const bw = bn.getWeights();
  // Weight order of a BN layer: gamma (scale), beta (center), moving mean, moving variance.
  const gamma = bc.scale ? bw.shift() : undefined;
  const beta = bc.center ? bw.shift() : undefined;
  const [mean, variance] = bw;
  const [filter, bias] = tf.tidy(() => {
    const rstd = tf.rsqrt(tf.add(variance, bc.epsilon as number));
    const s = gamma ? tf.mul(gamma, rstd) : rstd;
    let b = tf.mul(convBias && cc.useBias ? tf.sub(convBias, mean) : tf.neg(mean), s);
    if (beta) b = tf.add(b, beta);
    return [tf.mul(kernel, s) as tf.Tensor4D, b as tf.Tensor1D];
  });
  return {
    step: {
      kind: 'folded',
      input: node.inputTensors[0].id,
      output: last.outputTensors[0].id,
      filter,
      bias,
      strides: pair(cc.strides),
      pad: cc.padding,
      dilations: pair(cc.dilationRate ?? 1),
      relu,
    },
    absorbed: relu ? [node, bnNode, reluNode] : [node, bnNode],
  };
}
