import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend } from '../../src/engine/backend.js';
import { Rng } from '../../src/engine/seed.js';
import { propagateLabels } from '../../src/train/label-propagation.js';

before(async () => {
  await initBackend('wasm', { threads: 2 });
});

/** Plain-loop reference: brute-force cosine kNN, W = max(W, Wᵀ), closed form F = (I - alpha S)^-1 Y by Gaussian elimination, optional class mass normalization. */
function reference(x: number[][], y: number[], nClasses: number, k: number, alpha: number, cmn: boolean): number[][] {
  const n = x.length;
  const cos = (a: number[], b: number[]) => {
    let d = 0;
    let na = 0;
    let nb = 0;
    for (let i = 0; i < a.length; i++) [d, na, nb] = [d + a[i] * b[i], na + a[i] * a[i], nb + b[i] * b[i]];
    return d / Math.sqrt(na * nb);
  };
  const W = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    const order = Array.from({ length: n }, (_, j) => j).filter((j) => j !== i).sort((a, b) => cos(x[i], x[b]) - cos(x[i], x[a]));
    for (const j of order.slice(0, k)) {
      const w = Math.max(0, cos(x[i], x[j]));
      W[i][j] = Math.max(W[i][j], w);
      W[j][i] = Math.max(W[j][i], w);
    }
  }
  const d = W.map((r) => r.reduce((a, b) => a + b, 0));
  // A = I - alpha S; solve A F = (1 - alpha) Y.
  const A = W.map((r, i) => r.map((w, j) => (i === j ? 1 : 0) - (d[i] && d[j] ? (alpha * w) / Math.sqrt(d[i] * d[j]) : 0)));
  const B = y.map((c) => Array.from({ length: nClasses }, (_, j) => (c === j ? 1 - alpha : 0)));
  for (let col = 0; col < n; col++) {
    let p = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(A[r][col]) > Math.abs(A[p][col])) p = r;
    [A[col], A[p]] = [A[p], A[col]];
    [B[col], B[p]] = [B[p], B[col]];
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const f = A[r][col] / A[col][col];
      for (let c = col; c < n; c++) A[r][c] -= f * A[col][c];
      for (let c = 0; c < nClasses; c++) B[r][c] -= f * B[col][c];
    }
  }
  let F = B.map((row, i) => row.map((b) => b / A[i][i]));
  if (cmn) {
    // Zhu et al.'s class mass normalization: column c scaled to (labels of c) / (mass of c).
    const prior = Array.from({ length: nClasses }, (_, c) => y.filter((v) => v === c).length);
    const mass = Array.from({ length: nClasses }, (_, c) => F.reduce((a, r) => a + r[c], 0));
    F = F.map((r) => r.map((v, c) => (v * prior[c]) / mass[c]));
  }
  return F.map((v) => {
    const s = v.reduce((a, b) => a + b, 0);
    return v.map((t) => (s > 0 ? t / s : 0));
  });
}

test('label propagation converges to the closed form computed by brute force', () => {
  const rng = new Rng(2);
  const n = 40;
  const dim = 3;
  // Two noisy directions (cosine geometry), 3 labels each.
  const x = Array.from({ length: n }, (_, i) => (i < n / 2 ? [1, 0.2, 0] : [0, 0.3, 1]).map((v) => v + rng.normal() * 0.25));
  const truth = x.map((_, i) => (i < n / 2 ? 0 : 1));
  const y = truth.map((c, i) => (i % 7 === 0 ? c : -1));
  const alpha = 0.9;
  // Unbalanced labels (3 of class 0, 2 of class 1) so class mass normalization changes the scores.
  y[35] = -1;
  const plain = propagateLabels(Float32Array.from(x.flat()), dim, Int32Array.from(y), 2, { k: 5, alpha, iterations: 400, knn: { mode: 'exact' }, classMassNormalization: false });
  const refPlain = reference(x, y, 2, 5, alpha, false);
  for (let i = 0; i < n; i++) for (let c = 0; c < 2; c++) assert.ok(Math.abs(plain.scores[i * 2 + c] - refPlain[i][c]) < 1e-3, `row ${i} class ${c}: ${plain.scores[i * 2 + c]} vs ${refPlain[i][c]}`);
  const lp = propagateLabels(Float32Array.from(x.flat()), dim, Int32Array.from(y), 2, { k: 5, alpha, iterations: 400, knn: { mode: 'exact' } });
  const ref = reference(x, y, 2, 5, alpha, true);
  for (let i = 0; i < n; i++) for (let c = 0; c < 2; c++) assert.ok(Math.abs(lp.scores[i * 2 + c] - ref[i][c]) < 1e-3, `CMN row ${i} class ${c}: ${lp.scores[i * 2 + c]} vs ${ref[i][c]}`);
  assert.ok(refPlain.some((r, i) => Math.abs(r[0] - ref[i][0]) > 1e-3), 'the normalization matters on this data');
  // And it is useful: the unlabeled rows get their cluster's label; new points near a cluster get it too.
  const wrong = truth.filter((c, i) => (lp.scores[i * 2 + 1] > 0.5 ? 1 : 0) !== c).length;
  assert.ok(wrong <= 2, `${wrong} of ${n} rows mislabeled`);
  const p = lp.predict(Float32Array.from([1, 0.2, 0, 0, 0.3, 1]));
  assert.ok(p[0] > 0.5 && p[3] > 0.5, `predict ${Array.from(p)}`);
});
