/** ulearn's public API: the same functions the CLI calls, one namespace per pipeline stage. */
export * from './engine/index.js';
export { UlearnError } from './errors.js';
export * as data from './data/load.js';
export type { Dataset, DatasetSplits, Modality, Split } from './data/dataset.js';
export { applyLabelBudget } from './data/label-budget.js';
export * as augment from './augment/index.js';
export * as models from './models/resnet.js';
export * as ssl from './ssl/index.js';
export { fitClassifier, predictProba } from './train/fit-classifier.js';
export { trainLinearProbe } from './train/linear-probe.js';
export * as metrics from './eval/metrics.js';
export { renderReport, writeReport } from './eval/report.js';
export type { ReportInput } from './eval/report.js';
export { pipelineConfig, PipelineConfigSchema } from './pipeline/config.js';
export type { PipelineConfig } from './pipeline/config.js';
export { runPipeline, resultsTable } from './pipeline/run-pipeline.js';
export { RunDir } from './runs/run-dir.js';
export { saveCheckpoint, loadCheckpoint } from './runs/checkpoint.js';
