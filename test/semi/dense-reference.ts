/**
 * Label spreading's closed form, written independently of src/: the kNN graph by brute force (cosine),
 * A_ij = max(0, cos)^gamma, W = A + A^T, S = D^-1/2 W D^-1/2, and F* = (1 - alpha)(I - alpha S)^-1 Y with each
 * class's column of Y divided by its label count, solved by Gauss-Jordan elimination in float64.
 * Used by the label-spreading tests and the active-learning light-model tests (which call the same solver).
 */
export function denseReference(x: Float32Array, dim: number, y: Int32Array, K: number, k: number, alpha: number, gamma: number): number[][] {
  const n = x.length / dim;
  const cos = (a: number, b: number) => {
    let d = 0, na = 0, nb = 0;
    for (let j = 0; j < dim; j++) {
      d += x[a * dim + j] * x[b * dim + j];
      na += x[a * dim + j] ** 2;
      nb += x[b * dim + j] ** 2;
    }
    return d / Math.sqrt(na * nb);
  };
  const A = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    const order = Array.from({ length: n }, (_, j) => j).filter((j) => j !== i).sort((a, b) => cos(i, b) - cos(i, a));
    for (const j of order.slice(0, k)) A[i][j] = Math.max(0, cos(i, j)) ** gamma;
  }
  const W = A.map((row, i) => row.map((v, j) => v + A[j][i]));
  const d = W.map((row) => row.reduce((s, v) => s + v, 0));
  const counts = new Array<number>(K).fill(0);
  for (const c of y) if (c >= 0) counts[c]++;
  // Augmented system [I - alpha S | (1 - alpha) Y], solved by Gauss-Jordan with partial pivoting.
  const M = W.map((row, i) => [
    ...row.map((v, j) => (i === j ? 1 : 0) - (alpha * v) / Math.sqrt(d[i] * d[j])),
    ...Array.from({ length: K }, (_, c) => (y[i] === c ? (1 - alpha) / counts[c] : 0)),
  ]);
  for (let col = 0; col < n; col++) {
    let piv = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(M[r][col]) > Math.abs(M[piv][col])) piv = r;
    [M[col], M[piv]] = [M[piv], M[col]];
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const f = M[r][col] / M[col][col];
      for (let c = col; c < n + K; c++) M[r][c] -= f * M[col][c];
    }
  }
  return M.map((row, i) => row.slice(n).map((v) => v / M[i][i]));
}
