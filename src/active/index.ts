/** Active learning's public API: strategies (which samples to label next) and the light model. */
export { createStrategy, isStrategyName, STRATEGIES, STRATEGY_DESCRIPTIONS } from './strategy.js';
export type { SelectContext, Strategy, StrategyName, StrategyOptions } from './strategy.js';
export { buildLightGraph, LIGHT_MODEL_KINDS, trainLightModel } from './light-model.js';
export type { LightModel, LightModelKind, LightModelOptions } from './light-model.js';
export { uncertaintyScores } from './uncertainty.js';
export { kmeans } from './kmeans.js';
export { curveChart } from './curve-chart.js';
