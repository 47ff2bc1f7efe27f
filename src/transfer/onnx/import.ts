/**
 * `importOnnx(file, opts)`: an ONNX vision model (PyTorch's exports and the like) as a trainable tfjs-layers
 * model in ulearn's NHWC layout, cut where the features end (by default just before the classifier), so the
 * trainer, fine-tuning and every `loadEncoder` caller use it like one of ulearn's own encoders.
 *
 * Order of work, so that a bad file costs nothing: decode and check the opset (read.ts); find the cut and the
 * nodes it needs; check every one of them against the op table (ops.ts) and decode every initializer they use
 * (external data included); throw ONE error listing every problem; only then build the layers, and convert
 * and set the weights last. Nothing is written anywhere unless `saveTo` is given, and then only after the
 * whole import succeeded (models/io.ts writes atomically).
 */
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { onnx } from 'onnx-proto';
import { UlearnError } from '../../errors.js';
import { saveModel } from '../../models/io.js';
import { onnxShape, opSpec, SUPPORTED_OPS, type BuildContext, type CheckContext, type Value } from './ops.js';
import { declaredShape, decodeTensor, onnxError, readOnnxModel, toNumber, type ConstTensor } from './read.js';

export interface ImportOnnxOptions {
  /**
   * Where the features end: a node name (its first output) or a tensor name (a graph output keeps the whole
   * model, classifier included). Default: the input of the last Gemm/MatMul on the way to the first output,
   * i.e. just before the classifier (and whatever follows it, such as a Softmax).
   */
  cutAt?: string;
  /** Sample shape [H, W, C] (NHWC) for an input whose ONNX dims are symbolic; the batch stays free. */
  inputShape?: number[];
  /** Save the imported model here (models/io.ts layout) once the import has succeeded. */
  saveTo?: string;
}

export interface ImportedOnnx {
  model: tfl.LayersModel;
  /** Where the features were cut: the node whose output (or, for the default, whose input) ends the model. */
  cut: { tensor: string; node: string | undefined; how: 'default' | 'cutAt' | 'output' };
  /** One line saying where the cut is, for logs. */
  description: string;
  /** Whether the output is a feature map held NHWC (ulearn's layout); false: ONNX's own layout (e.g. [N, D]). */
  outputNhwc: boolean;
  /** The sample shape the model reads (NHWC for images). */
  inputShape: number[];
  opset: number;
  file: string;
}

const CLASSIFIER_OPS = new Set(['Gemm', 'MatMul']);

export async function importOnnx(file: string, opts: ImportOnnxOptions = {}): Promise<ImportedOnnx> {
  const { model: proto, opset } = await readOnnxModel(file);
  const graph = proto.graph!;
  const nodes = graph.node ?? [];
  const producer = new Map<string, onnx.INodeProto>();
  for (const n of nodes) for (const o of n.output ?? []) if (o) producer.set(o, n);
  const initByName = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', t]));
  const graphInputs = (graph.input ?? []).filter((i) => !initByName.has(i.name ?? ''));
  const outputName = graph.output?.[0]?.name ?? '';

  // ---- the cut --------------------------------------------------------------------------------------------
  const ancestors = (tensor: string): Set<onnx.INodeProto> => {
    const seen = new Set<onnx.INodeProto>();
    const stack = [tensor];
    while (stack.length) {
      const n = producer.get(stack.pop()!);
      if (!n || seen.has(n)) continue;
      seen.add(n);
      stack.push(...(n.input ?? []).filter(Boolean));
    }
    return seen;
  };
  let cut: ImportedOnnx['cut'];
  if (opts.cutAt !== undefined) {
    const byNode = nodes.find((n) => n.name === opts.cutAt);
    if (byNode) cut = { tensor: byNode.output![0], node: byNode.name!, how: 'cutAt' };
    else if (producer.has(opts.cutAt) || graphInputs.some((i) => i.name === opts.cutAt)) cut = { tensor: opts.cutAt, node: producer.get(opts.cutAt)?.name ?? undefined, how: opts.cutAt === outputName ? 'output' : 'cutAt' };
    else {
      throw new UlearnError(`${file}: no node or tensor named '${opts.cutAt}'`, {
        code: 'E_ONNX',
        hint: `nodes near the end: ${nodes.slice(-6).map((n) => `'${n.name}' (${n.opType})`).join(', ')}; the graph output is '${outputName}'`,
      });
    }
  } else {
    const upstream = ancestors(outputName);
    const classifier = [...nodes].reverse().find((n) => upstream.has(n) && CLASSIFIER_OPS.has(n.opType ?? ''));
    cut = classifier ? { tensor: classifier.input![0], node: classifier.name!, how: 'default' } : { tensor: outputName, node: undefined, how: 'output' };
  }
  const needed = ancestors(cut.tensor);
  const order = nodes.filter((n) => needed.has(n));

  // ---- static checks: ops, attributes, constness, initializers -----------------------------------------
  const problems: string[] = [];
  const constNames = new Set(initByName.keys());
  const checkCtx: CheckContext = {
    opset,
    isConst: (name) => constNames.has(name),
    initDims: (name) => initByName.get(name)?.dims?.map(toNumber),
  };
  const unsupported: string[] = [];
  const provided = new Set([...initByName.keys(), ...graphInputs.map((i) => i.name ?? ''), ...producer.keys()]);
  for (const n of order) {
    const label = `${n.opType} (node '${n.name || n.output?.[0]}')`;
    for (const i of n.input ?? []) {
      if (i && !provided.has(i)) problems.push(`${label} reads '${i}', which no node, initializer or input provides (is the file complete?)`);
    }
    const spec = n.domain && n.domain !== 'ai.onnx' ? undefined : opSpec(n.opType ?? '');
    if (!spec) {
      unsupported.push(`${label}${n.domain ? ` in domain '${n.domain}'` : ''}`);
      continue;
    }
    const why = spec.check?.(n, checkCtx);
    if (why) unsupported.push(`${label}: ${why}`);
    const ins = (n.input ?? []).filter(Boolean);
    if (n.opType === 'Constant' || n.opType === 'Shape' || (spec.folds && ins.length > 0 && ins.every((i) => constNames.has(i)))) {
      for (const o of n.output ?? []) constNames.add(o);
    }
  }
  if (unsupported.length) problems.push(`unsupported ops: ${unsupported.join('; ')}`);

  const used = new Set(order.flatMap((n) => (n.input ?? []).filter((i) => initByName.has(i))));
  const initializers = new Map<string, ConstTensor>();
  const dir = path.dirname(file);
  const dataFiles = new Map<string, Buffer>();
  for (const name of used) {
    const t = decodeTensor(initByName.get(name)!, dir, problems, dataFiles);
    if (!t) continue;
    // Older exporters also list initializers as graph inputs, with a declared shape that must agree.
    const declared = (graph.input ?? []).find((i) => i.name === name);
    const shape = declared && declaredShape(declared);
    if (shape && (shape.length !== t.dims.length || shape.some((d, i) => d !== null && d !== t.dims[i]))) {
      problems.push(`tensor '${name}': the graph declares shape [${shape.join(', ')}], the initializer has [${t.dims.join(', ')}]`);
    }
    initializers.set(name, t);
  }

  const neededInputs = graphInputs.filter((i) => order.some((n) => n.input?.includes(i.name ?? '')) || i.name === cut.tensor);
  if (neededInputs.length !== 1) problems.push(`the model reads ${neededInputs.length} inputs (${neededInputs.map((i) => i.name).join(', ')}); one image or row input is supported`);
  const input = neededInputs[0];
  const declared = input ? declaredShape(input) : undefined;
  let sample: number[] | undefined;
  let nhwcInput = false;
  if (input) {
    if (input.type?.tensorType?.elemType !== 1) problems.push(`input '${input.name}' is not float32`);
    if (!declared) problems.push(`input '${input.name}' has no declared shape`);
    else if (declared.length === 4 && !nhwcFile(input.name ?? '', nodes)) {
      nhwcInput = true;
      const [, ch, h, w] = declared;
      sample = opts.inputShape ?? (ch && h && w ? [h, w, ch] : undefined);
      if (!sample) problems.push(`input '${input.name}' has symbolic dims [${declared.map((d) => d ?? '?').join(', ')}]; give inputShape [H, W, C]`);
      else if (sample.length !== 3 || (ch !== null && sample[2] !== ch)) problems.push(`inputShape [${sample.join(', ')}] does not fit input '${input.name}' [N, ${ch ?? '?'}, ${h ?? '?'}, ${w ?? '?'}] (give [H, W, C])`);
    } else {
      sample = opts.inputShape ?? (declared.slice(1).every((d) => d !== null) ? (declared.slice(1) as number[]) : undefined);
      if (!sample) problems.push(`input '${input.name}' has symbolic dims [${declared.map((d) => d ?? '?').join(', ')}]; give inputShape`);
    }
  }
  if (problems.length) {
    throw onnxError(file, problems, unsupported.length ? `supported ops: ${SUPPORTED_OPS.join(', ')}; or cut earlier with cutAt` : undefined);
  }

  // ---- build --------------------------------------------------------------------------------------------
  const values = new Map<string, Value>();
  for (const [name, t] of initializers) values.set(name, { kind: 'const', t, param: true });
  const inputLayer = tfl.input({ shape: sample!, name: layerName(input!.name || 'input', new Set()) });
  values.set(input!.name!, { kind: 'sym', s: inputLayer, nhwc: nhwcInput });
  const pending: { layer: tfl.layers.Layer; make: () => tf.Tensor[] }[] = [];
  const names = new Set<string>([inputLayer.sourceLayer.name]);
  const buildCtx = (n: onnx.INodeProto): BuildContext => ({
    opset,
    value(name) {
      const v = values.get(name);
      if (!v) throw onnxError(file, [`node '${n.name}' (${n.opType}) reads '${name}', which no node, input or initializer provides`]);
      return v;
    },
    apply(node, layer, ins) {
      // Layer names come from the nodes (readable in summaries and weight names), made valid and unique.
      (layer as unknown as { name: string }).name = layerName(node.name || `${node.opType}`, names);
      built.push(layer);
      return layer.apply(ins.length === 1 ? ins[0] : ins) as tfl.SymbolicTensor;
    },
    weights: (layer, make) => pending.push({ layer, make }),
    fail(node, why) {
      throw onnxError(file, [`${node.opType} (node '${node.name}'): ${why}`]);
    },
  });
  const built: tfl.layers.Layer[] = [];
  try {
    for (const n of order) {
      const outs = opSpec(n.opType!)!.build(n, buildCtx(n));
      (n.output ?? []).forEach((o, i) => {
        if (o && outs[i]) values.set(o, outs[i]);
      });
    }
  } catch (e) {
    // A shape that does not fit stops the build: free the layers made so far (their initial weights).
    for (const layer of built) if (layer.built) layer.dispose();
    throw e;
  }
  const last = values.get(cut.tensor)!;
  if (last.kind === 'const') throw onnxError(file, [`the cut '${cut.tensor}' is a constant, not computed from the input`]);
  const model = tfl.model({ inputs: inputLayer, outputs: last.s, name: layerName(`onnx_${path.basename(file, '.onnx')}`, new Set()) });
  for (const { layer, make } of pending) {
    const ws = make();
    layer.setWeights(ws);
    tf.dispose(ws);
  }
  const outShape = onnxShape(last);
  const description =
    cut.how === 'default'
      ? `features end before the classifier node '${cut.node}': tensor '${cut.tensor}' [${outShape.map((d) => d ?? 'N').join(', ')}]`
      : cut.how === 'output'
        ? `the whole model, up to output '${cut.tensor}'${cut.node ? '' : ' (no Gemm/MatMul classifier found to cut before)'}`
        : `features end at '${opts.cutAt}': tensor '${cut.tensor}'`;
  if (opts.saveTo) {
    try {
      await saveModel(model, opts.saveTo);
    } catch (e) {
      model.dispose();
      throw e;
    }
  }
  return { model, cut, description, outputNhwc: last.nhwc, inputShape: sample!, opset, file };
}

/** A valid, unique tfjs layer name for an ONNX node or tensor name ('/layer1/conv/Conv' → 'layer1_conv_Conv'). */
function layerName(raw: string, taken: Set<string>): string {
  let base = raw.replace(/[^A-Za-z0-9_.-]+/g, '_').replace(/^[^A-Za-z0-9]+/, '');
  if (!base) base = 'node';
  let name = base;
  for (let i = 2; taken.has(name); i++) name = `${base}_${i}`;
  taken.add(name);
  return name;
}

/**
 * Whether a 4-D input is already NHWC in the file: every node reading it is a Transpose to NCHW (what tf2onnx
 * writes in front of a Keras model). Such an input keeps its own layout, which is ours.
 */
export function nhwcFile(input: string, nodes: onnx.INodeProto[]): boolean {
  const readers = nodes.filter((n) => n.input?.includes(input));
  return readers.length > 0 && readers.every((n) => n.opType === 'Transpose' && n.attribute?.find((a) => a.name === 'perm')?.ints?.map(Number).join() === '0,3,1,2');
}
