/**
 * ulearn's public API: the same functions the CLI calls, one namespace per pipeline stage, plus the few calls
 * the whole job needs at the top level (README "The library"):
 *
 *   loadDataset → applyLabelBudget → models.buildResNetEncoder → pretrain → fit → Classifier.evaluate / save
 */
export * from './engine/index.js';
export { UlearnError } from './errors.js';
export { Budget } from './util/budget.js';
export * as data from './data/load.js';
export { loadDataset } from './data/load.js';
export type { DatasetSpec } from './data/load.js';
export type { Dataset, DatasetSplits, Modality, Split } from './data/dataset.js';
export * as audio from './data/audio.js';
export { applyLabelBudget } from './data/label-budget.js';
export type { LabelBudget, LabelBudgetResult } from './data/label-budget.js';
export * as augment from './augment/index.js';
export * as models from './models/resnet.js';
export * as ssl from './ssl/index.js';
export { pretrain } from './ssl/pretrain.js';
export type { PretrainOptions, PretrainResult } from './ssl/pretrain.js';
export * as semi from './semi/index.js';
/** Generative models (VAE, semi-supervised VAE M2, diffusion) and `generate` (docs/generative.md). */
export * as generative from './generate/index.js';
export * as predict from './predict/index.js';
export { fit, Classifier } from './semi/classifier.js';
export type { FitOptions, Evaluation } from './semi/classifier.js';
export * as clean from './clean/index.js';
export * as distributed from './distributed/index.js';
export { fitClassifier, predictProba } from './train/fit-classifier.js';
export { headFromProbe, trainLinearProbe } from './train/linear-probe.js';
export { EncoderHeadStep } from './train/step.js';
export * as metrics from './eval/metrics.js';
export { renderReport, writeReport } from './eval/report.js';
export type { ReportInput } from './eval/report.js';
export { pipelineConfig, PipelineConfigSchema } from './pipeline/config.js';
export type { PipelineConfig } from './pipeline/config.js';
export { runPipeline, resultsTable } from './pipeline/run-pipeline.js';
export { RunDir } from './runs/run-dir.js';
export { saveCheckpoint, loadCheckpoint } from './runs/checkpoint.js';
export { inspectCheckpoint } from './runs/checkpoint.js';
export { loadEncoder } from './models/load-encoder.js';
export type { LoadEncoderOptions, LoadedEncoder } from './models/load-encoder.js';
export { architectureOf, buildEncoder, registerEncoderFamily } from './models/architecture.js';
export type { EncoderArchitecture, EncoderFamily } from './models/architecture.js';
export { encode } from './models/encode.js';
export { modality, modalityOfPath, registerModality } from './modality.js';
export type { ModalityDefinition } from './modality.js';
export { runClean } from './clean/run-clean.js';
export { runTabularClean } from './clean/run-tabular.js';
export { registerCheck, unregisterCheck, checkNames } from './clean/registry.js';
export type { Check, CheckContext, CheckResult, ImageSamples, TableCheck, TableCheckContext, TableSamples } from './clean/types.js';
