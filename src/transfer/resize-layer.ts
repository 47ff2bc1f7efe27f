/**
 * `ResizeImages`: bilinear resize of NHWC images to a fixed [height, width] as a layer, for imported encoders
 * that read another size than the data's (transfer/adapt.ts). tfjs-layers' own Resizing layer computes its
 * output shape without the batch dimension, so nothing can follow it in a functional model. Registered, and
 * imported by models/io.ts, so a saved model that holds one loads in any process.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

export interface ResizeImagesArgs {
  height: number;
  width: number;
  name?: string;
}

export class ResizeImages extends tfl.layers.Layer {
  static className = 'UlearnResizeImages';
  readonly height: number;
  readonly width: number;

  constructor(args: ResizeImagesArgs) {
    super({ name: args.name, trainable: false });
    this.height = args.height;
    this.width = args.width;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    return [s[0], this.height, this.width, s[3]];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
    // Half-pixel centres: what PIL / torchvision's bilinear resize (without antialiasing) samples.
    return tf.image.resizeBilinear(x, [this.height, this.width], false, true);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), height: this.height, width: this.width };
  }
}
tf.serialization.registerClass(ResizeImages);
