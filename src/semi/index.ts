/** Semi-supervised learning: methods over a shared base, label spreading, the trainer and `fitMethod` (model folders: src/predict/). */
export { SemiMethod, maskedPseudoLabelLoss } from './method.js';
export type { SemiMethodOptions, SemiStepStats, UnlabeledLoss } from './method.js';
export { FixMatch } from './fixmatch.js';
export { PseudoLabel } from './pseudo-label.js';
export type { PseudoLabelOptions } from './pseudo-label.js';
export { WeightEma } from './ema.js';
export { trainSemi } from './train.js';
export type { TrainSemiOptions, TrainSemiResult } from './train.js';
export { labelSpreading, spreadingGraph, solveSpreading } from './label-spreading.js';
export type { LabelSpreadingOptions, LabelSpreadingResult, SparseGraph } from './label-spreading.js';
export { fitMethod, checkFitInput, DEFAULT_SEMI_SETTINGS } from './fit.js';
export type { FitInput, FitOutput, SemiSettings, EncoderSpec } from './fit.js';
export { fit, Classifier } from './classifier.js';
export type { FitOptions, Evaluation } from './classifier.js';
export { FIT_METHODS, NEEDS_ENCODER } from './names.js';
export type { FitMethod } from './names.js';
export { checkThreshold, checkSemiSetup } from './validate.js';
