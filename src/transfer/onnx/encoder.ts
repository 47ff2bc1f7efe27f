/**
 * `loadOnnxEncoder(file, opts)`: an ONNX model as a ulearn encoder, shaped like `loadEncoder`'s result
 * (models/load-encoder.ts), so `--encoder model.onnx` can hand it to the same callers. ulearn's encoders map a
 * sample to one feature vector [N, D]; a cut that ends in a feature map [N, H, W, C] is pooled globally (the
 * mean over H and W, what these networks do before their classifier), and the description says so.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { UlearnError } from '../../errors.js';
import { setArchitecture, type EncoderArchitecture } from '../../models/architecture.js';
import { importOnnx, type ImportOnnxOptions } from './import.js';

export interface LoadedOnnxEncoder {
  encoder: tfl.LayersModel;
  /** family 'onnx': recorded for reports and metadata; it is not a buildable registry family. */
  architecture: EncoderArchitecture;
  path: string;
  /** Where the features end (and whether they were pooled), for logs. */
  description: string;
  /** The ONNX tensor the features are cut at, and whether they are its global average (a feature map). */
  cut: { tensor: string; pooled: boolean };
}

export async function loadOnnxEncoder(file: string, opts: Pick<ImportOnnxOptions, 'cutAt' | 'inputShape'> = {}): Promise<LoadedOnnxEncoder> {
  const imp = await importOnnx(file, opts);
  let encoder = imp.model;
  let description = imp.description;
  let pooled = false;
  const out = encoder.outputs[0];
  if (out.shape.length === 4 && imp.outputNhwc) {
    const mean = tfl.layers.globalAveragePooling2d({ name: 'onnx_features_pool' }).apply(out) as tfl.SymbolicTensor;
    encoder = tfl.model({ inputs: encoder.inputs, outputs: mean, name: encoder.name });
    description += ', pooled globally (mean over H and W)';
    pooled = true;
  }
  const features = encoder.outputs[0].shape;
  if (features.length !== 2) {
    encoder.dispose();
    throw new UlearnError(`${file}: the features at the cut have shape [${features.map((d) => d ?? 'N').join(', ')}], not [N, D] or an [N, C, H, W] map`, {
      code: 'E_ONNX',
      hint: 'cut at a node whose output is a feature vector or a feature map (cutAt)',
    });
  }
  const architecture: EncoderArchitecture = {
    family: 'onnx',
    modality: imp.inputShape.length === 3 ? 'image' : 'table',
    inputShape: [...imp.inputShape],
    widths: [features[1]!],
    method: 'onnx-import',
  };
  setArchitecture(encoder, architecture);
  return { encoder, architecture, path: file, description, cut: { tensor: imp.cut.tensor, pooled } };
}
