/**
 * `OnnxOp`: one small tfjs-layers class for the ONNX ops that have no tfjs layer of their own (elementwise
 * ops with broadcasting or constant operands, clip, hard sigmoid/swish, padding with a value, pooling that
 * excludes padding, means, softmax over any axis, concat, reshape and flatten in PyTorch's order). The op and
 * its (already NHWC-converted) attributes are its config, and constant operands are its weights, so a model
 * holding it saves and loads through models/io.ts like any other (registered as 'UlearnOnnxOp').
 *
 * Its output shape is found by running the op once on zeros of the input shape with batch 1: the ops are
 * cheap at build time, and it keeps one definition of each op instead of a second, shape-only one.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

export type OnnxOpName =
  | 'add'
  | 'sub'
  | 'mul'
  | 'div'
  | 'clip'
  | 'hardsigmoid'
  | 'hardswish'
  | 'pad'
  | 'avgpool'
  | 'mean'
  | 'max'
  | 'softmax'
  | 'concat'
  | 'reshape'
  | 'flatten'
  | 'transpose'
  | 'slice';

export interface OnnxOpAttrs {
  min?: number;
  max?: number;
  alpha?: number;
  beta?: number;
  /** pad: [before, after] per axis, batch included; value; mode. */
  paddings?: [number, number][];
  value?: number;
  mode?: 'constant' | 'reflect';
  /** avgpool (NHWC, padding excluded from the count): kernel, strides, [top, bottom], [left, right]. */
  kernel?: [number, number];
  strides?: [number, number];
  pads?: [[number, number], [number, number]];
  axes?: number[];
  keepDims?: boolean;
  axis?: number;
  /** reshape: the shape after the batch dimension (-1 once at most). */
  shape?: number[];
  /** flatten: a permutation (batch first) applied before flattening from axis 1 on; transpose: the permutation. */
  perm?: number[];
  /** slice: begin and size per axis, batch included (size -1: to the end). */
  begin?: number[];
  size?: number[];
}

export interface OnnxOpArgs {
  op: OnnxOpName;
  attrs?: OnnxOpAttrs;
  /** Operands in order: an input of the layer, or one of its constant weights (with its shape). */
  operands?: ({ input: number } | { weight: number })[];
  /** Shapes of the constant weights; weightTrainable[i] says whether weight i is a parameter (from an initializer). */
  weightShapes?: number[][];
  weightTrainable?: boolean[];
  name?: string;
}

function runOp(op: OnnxOpName, a: OnnxOpAttrs, xs: tf.Tensor[]): tf.Tensor {
  const x = xs[0];
  switch (op) {
    case 'add':
      return tf.add(x, xs[1]);
    case 'sub':
      return tf.sub(x, xs[1]);
    case 'mul':
      return tf.mul(x, xs[1]);
    case 'div':
      return tf.div(x, xs[1]);
    case 'clip':
      return tf.clipByValue(x, a.min ?? -Infinity, a.max ?? Infinity);
    case 'hardsigmoid':
      return tf.clipByValue(tf.add(tf.mul(x, a.alpha ?? 0.2), a.beta ?? 0.5), 0, 1);
    case 'hardswish':
      return tf.mul(x, tf.clipByValue(tf.add(tf.mul(x, 1 / 6), 0.5), 0, 1));
    case 'pad':
      return a.mode === 'reflect' ? tf.mirrorPad(x, a.paddings!, 'reflect') : tf.pad(x, a.paddings!, a.value ?? 0);
    case 'avgpool': {
      // ONNX's count_include_pad=0: each window's mean over its real pixels only = pooled sum / pooled count.
      const [[t, b], [l, r]] = a.pads!;
      const pad = (v: tf.Tensor4D) => tf.pad(v, [[0, 0], [t, b], [l, r], [0, 0]]);
      const sum = tf.avgPool(pad(x as tf.Tensor4D), a.kernel!, a.strides!, 'valid');
      const ones = tf.ones([1, x.shape[1]!, x.shape[2]!, 1]) as tf.Tensor4D;
      const count = tf.avgPool(pad(ones), a.kernel!, a.strides!, 'valid');
      return tf.div(sum, count);
    }
    case 'mean':
      return tf.mean(x, a.axes, a.keepDims);
    case 'max':
      return tf.max(x, a.axes, a.keepDims);
    case 'softmax': {
      const shifted = tf.sub(x, tf.max(x, a.axis, true));
      const e = tf.exp(shifted);
      return tf.div(e, tf.sum(e, a.axis, true));
    }
    case 'concat':
      return tf.concat(xs, a.axis);
    case 'reshape':
      return tf.reshape(x, [x.shape[0], ...a.shape!]);
    case 'flatten': {
      const t = a.perm ? tf.transpose(x, a.perm) : x;
      return tf.reshape(t, [t.shape[0], -1]);
    }
    case 'transpose':
      return tf.transpose(x, a.perm);
    case 'slice':
      return tf.slice(x, a.begin!, a.size!);
  }
}

export class OnnxOp extends tfl.layers.Layer {
  static className = 'UlearnOnnxOp';
  private readonly op: OnnxOpName;
  private readonly attrs: OnnxOpAttrs;
  private readonly operands: ({ input: number } | { weight: number })[];
  private readonly weightShapes: number[][];
  private readonly weightTrainable: boolean[];
  private consts: tfl.LayerVariable[] = [];

  constructor(args: OnnxOpArgs) {
    super({ name: args.name });
    this.op = args.op;
    this.attrs = args.attrs ?? {};
    this.weightShapes = args.weightShapes ?? [];
    this.weightTrainable = args.weightTrainable ?? this.weightShapes.map(() => false);
    this.operands = args.operands ?? [{ input: 0 }];
  }

  override build(): void {
    this.consts = this.weightShapes.map((shape, i) =>
      this.addWeight(`c${i}`, shape, 'float32', tfl.initializers.zeros(), undefined, this.weightTrainable[i]),
    );
    this.built = true;
  }

  private operandTensors(inputs: tf.Tensor[]): tf.Tensor[] {
    return this.operands.map((o) => ('input' in o ? inputs[o.input] : this.consts[o.weight].read()));
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const xs = Array.isArray(inputs) ? inputs : [inputs];
    return tf.tidy(() => runOp(this.op, this.attrs, this.operandTensors(xs)));
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const shapes = (Array.isArray(inputShape[0]) ? inputShape : [inputShape]) as tfl.Shape[];
    const batchless = shapes.every((s) => s[0] == null);
    const out = tf.tidy(() => {
      const xs = shapes.map((s) => tf.zeros(s.map((d) => d ?? 1)));
      const consts = this.weightShapes.map((s) => tf.zeros(s));
      const operands = this.operands.map((o) => ('input' in o ? xs[o.input] : consts[o.weight]));
      return runOp(this.op, this.attrs, operands).shape;
    });
    return batchless ? [null, ...out.slice(1)] : out;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      op: this.op,
      attrs: this.attrs as unknown as tf.serialization.ConfigDict,
      operands: this.operands as unknown as tf.serialization.ConfigDictArray,
      weightShapes: this.weightShapes,
      weightTrainable: this.weightTrainable,
    };
  }
}
tf.serialization.registerClass(OnnxOp);
