/**
 * Reading an ONNX file into plain data the importer can check before it builds anything: the decoded graph,
 * its default-domain opset, and every initializer as numbers (external data read from the files beside the
 * model). Everything a user can get wrong here (a truncated or non-ONNX file, an opset newer than we map,
 * external data files that are missing or short, initializers whose bytes do not match their shape) is
 * collected and thrown as one `UlearnError` naming the file and each tensor, so one run shows every problem.
 */
import { readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import onnxPackage from 'onnx-proto';
import type { onnx } from 'onnx-proto';

// onnx-proto is CommonJS: its namespace comes through the default export.
const proto = onnxPackage.onnx;
import { UlearnError } from '../../errors.js';

/** Newest default-domain opset whose semantics the op table follows (ops changed after it are not mapped). */
export const MAX_OPSET = 18;
/** Oldest: opset 7 is where the broadcasting Add/Mul and the Gemm we map start. */
export const MIN_OPSET = 7;

/** A tensor's values as numbers, in ONNX (row-major) order. int64 values beyond 2^53 are not representable. */
export interface ConstTensor {
  dims: number[];
  /** float32 for float data; number[] for integer data (shapes, indices, axes). */
  values: Float32Array | number[];
  float: boolean;
}

export interface OnnxGraphInfo {
  file: string;
  model: onnx.ModelProto;
  graph: onnx.GraphProto;
  opset: number;
  /** Initializers by name, decoded. */
  initializers: Map<string, ConstTensor>;
}

export function onnxError(file: string, problems: string[], hint?: string): UlearnError {
  const body = problems.length === 1 ? problems[0] : `${problems.length} problems:\n  - ${problems.join('\n  - ')}`;
  return new UlearnError(`${file}: ${body}`, { code: 'E_ONNX', ...(hint ? { hint } : {}) });
}

const num = (v: number | Long | null | undefined): number => (v == null ? 0 : typeof v === 'number' ? v : v.toNumber());
type Long = { toNumber(): number };

/** Decodes `file` (bytes given or read) and checks the opset; throws E_ONNX naming the file. */
export async function readOnnxModel(file: string): Promise<{ model: onnx.ModelProto; opset: number }> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UlearnError(`${file}: ${code === 'ENOENT' ? 'no such file' : `cannot be read (${code ?? (e as Error).message})`}`, { code: 'E_ONNX', cause: e });
  }
  let model: onnx.ModelProto;
  try {
    model = proto.ModelProto.decode(bytes);
  } catch (e) {
    throw new UlearnError(`${file}: not a readable ONNX model (${(e as Error).message}); the file is truncated or is not ONNX`, {
      code: 'E_ONNX',
      hint: 'export it again (torch.onnx.export) and copy the whole file',
      cause: e,
    });
  }
  // Protobuf decodes many byte strings without complaint; an ONNX model always has an IR version and a graph
  // with at least one node.
  if (!model.graph || num(model.irVersion) <= 0 || (model.graph.node ?? []).length === 0) {
    throw new UlearnError(`${file}: not an ONNX model (no IR version or no graph with nodes)`, { code: 'E_ONNX', hint: 'give a .onnx file written by an ONNX exporter' });
  }
  const defaults = model.opsetImport.filter((o) => !o.domain || o.domain === 'ai.onnx');
  const opset = defaults.length ? Math.max(...defaults.map((o) => num(o.version))) : 1;
  if (opset > MAX_OPSET) {
    throw new UlearnError(`${file}: ONNX opset ${opset} is newer than the importer supports (opsets ${MIN_OPSET} to ${MAX_OPSET})`, {
      code: 'E_ONNX',
      hint: `export with opset_version=${MAX_OPSET} or lower (torch.onnx.export(..., opset_version=13))`,
    });
  }
  if (opset < MIN_OPSET) {
    throw new UlearnError(`${file}: ONNX opset ${opset} is older than the importer supports (opsets ${MIN_OPSET} to ${MAX_OPSET})`, {
      code: 'E_ONNX',
      hint: 'convert it with onnx.version_converter, or export again with a newer exporter',
    });
  }
  return { model, opset };
}

const FLOAT = proto.TensorProto.DataType;
const ELEMENT_BYTES: Partial<Record<number, number>> = {
  [FLOAT.FLOAT]: 4,
  [FLOAT.DOUBLE]: 8,
  [FLOAT.INT64]: 8,
  [FLOAT.INT32]: 4,
  [FLOAT.INT8]: 1,
  [FLOAT.UINT8]: 1,
  [FLOAT.BOOL]: 1,
};

/**
 * Decodes one tensor. External data is read from `dir` (the model's folder; `files` caches what was read);
 * problems are pushed to `problems` (naming the tensor) and undefined returned.
 */
export function decodeTensor(t: onnx.ITensorProto, dir: string, problems: string[], files = new Map<string, Buffer>()): ConstTensor | undefined {
  const name = t.name || '(unnamed tensor)';
  const dims = (t.dims ?? []).map(num);
  const count = dims.reduce((a, b) => a * b, 1);
  const type = t.dataType ?? 0;
  const size = ELEMENT_BYTES[type];
  if (size === undefined) {
    problems.push(`tensor '${name}': data type ${proto.TensorProto.DataType[type] ?? type} is not supported (float, double, int8/32/64, uint8, bool are)`);
    return undefined;
  }
  let raw: Uint8Array | undefined = t.rawData && t.rawData.length ? t.rawData : undefined;
  if (t.dataLocation === proto.TensorProto.DataLocation.EXTERNAL) {
    const entry = (key: string) => t.externalData?.find((e) => e.key === key)?.value ?? undefined;
    const location = entry('location');
    if (!location || path.isAbsolute(location) || location.split(/[\\/]/).includes('..')) {
      problems.push(`tensor '${name}': external data location '${location ?? ''}' is not a file name beside the model`);
      return undefined;
    }
    const dataFile = path.join(dir, location);
    const offset = Number(entry('offset') ?? 0);
    const length = entry('length') !== undefined ? Number(entry('length')) : count * size;
    let fileSize: number;
    try {
      fileSize = statSync(dataFile).size;
    } catch {
      problems.push(`tensor '${name}': its external data file ${dataFile} is missing`);
      return undefined;
    }
    if (offset + length > fileSize) {
      problems.push(`tensor '${name}': its external data file ${dataFile} holds ${fileSize} bytes, fewer than offset ${offset} + length ${length}`);
      return undefined;
    }
    // Exporters put every tensor in one data file: it is read once per import (`files`), not once per tensor.
    let buf = files.get(dataFile);
    if (!buf) files.set(dataFile, (buf = readFileSync(dataFile)));
    raw = buf.subarray(offset, offset + length);
  }
  const mismatch = (have: number) => {
    problems.push(`tensor '${name}': shape [${dims.join(', ')}] needs ${count} values, the file holds ${have}`);
    return undefined;
  };
  if (raw) {
    if (raw.length !== count * size) return mismatch(Math.floor(raw.length / size));
    // Copy: raw data sits at any byte offset in the protobuf buffer, typed arrays need alignment.
    const bytes = new Uint8Array(raw);
    const view = new DataView(bytes.buffer);
    switch (type) {
      case FLOAT.FLOAT:
        return { dims, values: new Float32Array(bytes.buffer), float: true };
      case FLOAT.DOUBLE:
        return { dims, values: Float32Array.from(new Float64Array(bytes.buffer)), float: true };
      case FLOAT.INT64:
        return { dims, values: Array.from({ length: count }, (_, i) => Number(view.getBigInt64(i * 8, true))), float: false };
      case FLOAT.INT32:
        return { dims, values: Array.from(new Int32Array(bytes.buffer)), float: false };
      case FLOAT.INT8:
        return { dims, values: Array.from(new Int8Array(bytes.buffer)), float: false };
      default:
        return { dims, values: Array.from(bytes), float: false };
    }
  }
  const typed: (number | Long)[] =
    type === FLOAT.FLOAT ? (t.floatData ?? []) : type === FLOAT.DOUBLE ? (t.doubleData ?? []) : type === FLOAT.INT64 ? (t.int64Data ?? []) : (t.int32Data ?? []);
  if (typed.length !== count) return mismatch(typed.length);
  const values = typed.map(num);
  return type === FLOAT.FLOAT || type === FLOAT.DOUBLE ? { dims, values: Float32Array.from(values), float: true } : { dims, values, float: false };
}

/** The declared shape of a graph input or value: numbers, or null for a symbolic/unknown dimension. */
export function declaredShape(v: onnx.IValueInfoProto): (number | null)[] | undefined {
  const shape = v.type?.tensorType?.shape;
  if (!shape) return undefined;
  return (shape.dim ?? []).map((d) => (d.dimValue != null && num(d.dimValue) > 0 ? num(d.dimValue) : null));
}

export { num as toNumber };
