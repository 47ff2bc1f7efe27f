/**
 * The library's classifier: an encoder and a head with what is needed to use them (class names, input
 * shape), made by `fit` and offering what a tfjs-layers user expects of a model: predict, evaluate, save.
 * `fit` is `fitMethod` (the one trainer of every method `ulearn train` offers) with library defaults; `save`
 * writes the model folder `ulearn predict` reads.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Dataset } from '../data/dataset.js';
import type { LabelBudgetResult } from '../data/label-budget.js';
import { UlearnError } from '../errors.js';
import { accuracy, argmaxRows, confusionMatrix, perClassAccuracy } from '../eval/metrics.js';
import { predictProba } from '../train/fit-classifier.js';
import { Budget } from '../util/budget.js';
import { fitMethod, type EncoderSpec, type FitMethod, type SemiSettings } from './fit.js';
import { saveClassifier } from '../predict/image-model.js';

export interface FitOptions {
  train: Dataset;
  /** The visible labels: `applyLabelBudget`'s result, or your own (y: -1 = unknown, labeled: their indices). */
  labels: LabelBudgetResult;
  /** A pretrained encoder (e.g. after `pretrain`); required by 'linear', 'finetune' and 'label-propagation'. */
  encoder?: tfl.LayersModel;
  /** The architecture of a fresh encoder, when none is given. Default: the modality's (src/modality.ts). */
  architecture?: EncoderSpec;
  settings?: Partial<SemiSettings>;
  /** Default 0. */
  seed?: number;
  /** Default: none (methods stop at their epoch or step counts). */
  budget?: Budget;
  log?: (line: string) => void;
}

export interface Evaluation {
  /** Share of test samples classified correctly, in [0, 1]. */
  accuracy: number;
  /** Per class (null where the test set has none). */
  perClass: (number | null)[];
  /** confusion[true][predicted] counts. */
  confusion: number[][];
}

/** Trains a classifier on the labeled samples (and the unlabeled ones, for the semi-supervised methods). */
export async function fit(method: FitMethod, o: FitOptions): Promise<Classifier> {
  const out = await fitMethod({
    method,
    train: o.train,
    y: o.labels.y,
    labeled: o.labels.labeled,
    encoder: o.architecture ?? {},
    pretrained: o.encoder,
    settings: o.settings,
    seed: o.seed ?? 0,
    budget: o.budget ?? new Budget(undefined),
    log: o.log,
  });
  return new Classifier(out.encoder, out.head, o.train.classes, o.train.inputShape as [number, number, number], { method, ...out.info });
}

export class Classifier {
  constructor(
    readonly encoder: tfl.LayersModel,
    readonly head: tfl.LayersModel,
    readonly classes: string[],
    readonly inputShape: [number, number, number],
    /** What training did (method, epochs or steps, ...); saved with the model. */
    readonly info: Record<string, unknown> = {},
  ) {}

  /** Class probabilities, n × classes.length values row-major, for a dataset or raw samples (NHWC in [0, 1]). */
  predictProba(x: Dataset | Float32Array): Float32Array {
    return predictProba(this.encoder, this.head, this.samples(x), this.inputShape);
  }

  /** The most probable class index of each sample. */
  predict(x: Dataset | Float32Array): Int32Array {
    return argmaxRows(this.predictProba(x), this.classes.length);
  }

  /** Accuracy, per-class accuracy and confusion matrix on a labeled dataset (unlabeled samples are an error). */
  evaluate(test: Dataset): Evaluation {
    if (test.y.some((c) => c < 0)) throw new UlearnError(`${test.name}: evaluate needs every sample labeled`, { code: 'E_LABELS' });
    const k = this.classes.length;
    const pred = this.predict(test);
    return { accuracy: accuracy(test.y, pred), perClass: perClassAccuracy(test.y, pred, k), confusion: confusionMatrix(test.y, pred, k) };
  }

  /** A model folder for `ulearn predict` (tfjs model + class names + preprocessing); `training` is recorded as is. */
  async save(dir: string, training: Record<string, unknown> = {}): Promise<void> {
    await saveClassifier(dir, this.encoder, this.head, {
      classes: this.classes,
      preprocessing: { inputShape: this.inputShape, resize: 'crop', scale: '1/255' },
      method: String(this.info.method ?? 'custom'),
      training: { ...this.info, ...training },
    });
  }

  dispose(): void {
    this.encoder.dispose();
    this.head.dispose();
  }

  private samples(x: Dataset | Float32Array): Float32Array {
    if (x instanceof Float32Array) return x;
    const shape = x.inputShape;
    if (shape.length !== 3 || shape.some((v, i) => v !== this.inputShape[i])) {
      throw new UlearnError(`${x.name}: samples are [${shape}], this classifier takes [${this.inputShape}]`, { code: 'E_SHAPE' });
    }
    return x.x;
  }
}
