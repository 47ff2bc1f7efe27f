/**
 * Checks that run before any training starts, so a bad setting costs a second, not a 45-minute run:
 * a threshold outside (0, 1], a label budget larger than the labeled pool, a class without labels, an empty
 * unlabeled pool. Each names what was given and what was expected.
 */
import { noLabelsError } from '../data/label-budget.js';
import { UlearnError } from '../errors.js';

export function checkThreshold(t: number, what = 'threshold'): number {
  if (typeof t !== 'number' || !(t > 0 && t <= 1)) {
    throw new UlearnError(`${what} must be in (0, 1], got ${String(t)}`, { code: 'E_CONFIG', hint: 'FixMatch uses 0.95' });
  }
  return t;
}

export interface SemiSetup {
  /** Dataset name for messages. */
  name: string;
  classes: string[];
  /** Visible labels (-1 = hidden). */
  y: Int32Array;
  /** Indices with visible labels. */
  labeled: ArrayLike<number>;
  /** Indices of the unlabeled pool. */
  unlabeled: ArrayLike<number>;
  /** Whether the method trains on the unlabeled pool (supervised-only and linear do not). */
  needsUnlabeled: boolean;
}

export function checkSemiSetup(s: SemiSetup): void {
  if (s.classes.length === 0 || s.labeled.length === 0) throw noLabelsError(s.name);
  const counts = new Array<number>(s.classes.length).fill(0);
  for (let k = 0; k < s.labeled.length; k++) {
    const c = s.y[s.labeled[k]];
    if (c >= 0 && c < counts.length) counts[c]++;
  }
  const missing = s.classes.filter((_, c) => counts[c] === 0);
  if (missing.length > 0) {
    throw new UlearnError(`${s.name}: class(es) ${missing.map((m) => `'${m}'`).join(', ')} have zero labels; every class needs at least one`, {
      code: 'E_BUDGET',
      hint: 'raise the label count, or label at least one example of each class',
    });
  }
  if (s.needsUnlabeled && s.unlabeled.length === 0) {
    throw new UlearnError(`${s.name}: the unlabeled pool is empty (all ${s.labeled.length} samples are labeled); a semi-supervised method needs unlabeled data`, {
      code: 'E_DATA',
      hint: 'use --method supervised, or give fewer labels',
    });
  }
}
