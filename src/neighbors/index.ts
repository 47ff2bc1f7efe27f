export { searchKnn, knnGraph, DEFAULT_EXACT_LIMIT } from './knn.js';
export type { KnnMetric, KnnOptions, KnnResult } from './knn.js';
