/**
 * Inter-annotator agreement from the label event history. Each annotator's judgment of a sample is their
 * latest label (or import) event on it that was not undone; pairs of annotators are compared on the samples
 * both judged: observed agreement and Cohen's kappa (agreement corrected for what the two annotators' class
 * frequencies would give by chance).
 */
import type { LabelEvent } from './store.js';

export interface PairAgreement {
  a: number;
  b: number;
  shared: number;
  agreement: number;
  /** NaN when chance agreement is 1 (both annotators used a single, identical class). */
  kappa: number;
}

export interface AgreementSummary {
  /** Samples judged by at least two annotators. */
  multiplyLabeled: number;
  pairs: PairAgreement[];
  /** Agreement over all annotator pairs on all shared samples (pooled). */
  overall: number | null;
}

/** judgments.get(sampleId).get(annotatorId) = class index. */
export function judgments(events: Iterable<LabelEvent>): Map<number, Map<number, number>> {
  const all = [...events];
  const undone = new Set(all.filter((e) => e.undoes !== null).map((e) => e.undoes!));
  const out = new Map<number, Map<number, number>>();
  for (const e of all) {
    if (e.kind === 'undo' || undone.has(e.id) || e.label === null) continue;
    let m = out.get(e.sampleId);
    if (!m) out.set(e.sampleId, (m = new Map()));
    m.set(e.annotatorId, e.label); // events come in id order: the latest wins
  }
  return out;
}

export function agreement(events: Iterable<LabelEvent>, numClasses: number): AgreementSummary {
  const byPair = new Map<string, { a: number; b: number; ys: [number, number][] }>();
  let multiplyLabeled = 0;
  for (const m of judgments(events).values()) {
    if (m.size < 2) continue;
    multiplyLabeled++;
    const ids = [...m.keys()].sort((x, y) => x - y);
    for (let i = 0; i < ids.length; i++) {
      for (let j = i + 1; j < ids.length; j++) {
        const key = `${ids[i]}:${ids[j]}`;
        let p = byPair.get(key);
        if (!p) byPair.set(key, (p = { a: ids[i], b: ids[j], ys: [] }));
        p.ys.push([m.get(ids[i])!, m.get(ids[j])!]);
      }
    }
  }
  let agreeAll = 0;
  let totalAll = 0;
  const pairs = [...byPair.values()].map(({ a, b, ys }) => {
    const pa = new Array<number>(numClasses).fill(0);
    const pb = new Array<number>(numClasses).fill(0);
    let same = 0;
    for (const [x, y] of ys) {
      pa[x]++;
      pb[y]++;
      if (x === y) same++;
    }
    const n = ys.length;
    const po = same / n;
    let pe = 0;
    for (let c = 0; c < numClasses; c++) pe += (pa[c] / n) * (pb[c] / n);
    agreeAll += same;
    totalAll += n;
    return { a, b, shared: n, agreement: po, kappa: pe >= 1 ? NaN : (po - pe) / (1 - pe) };
  });
  return { multiplyLabeled, pairs, overall: totalAll > 0 ? agreeAll / totalAll : null };
}
