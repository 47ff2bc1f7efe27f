/** Method names, apart from the code that runs them, so configs and CLIs can validate without loading tfjs models. */
export const FIT_METHODS = ['supervised', 'linear', 'finetune', 'label-propagation', 'pseudo-label', 'fixmatch', 'ssvae'] as const;
export type FitMethod = (typeof FIT_METHODS)[number];
/** Methods that cannot run without a pretrained encoder (they train no encoder of their own). */
export const NEEDS_ENCODER: readonly FitMethod[] = ['linear', 'finetune', 'label-propagation'];
