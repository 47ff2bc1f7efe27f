/** ulearn's public API: the same functions the CLI calls. */
export * from './engine/index.js';
export { UlearnError } from './errors.js';
