/**
 * The generative quality measures against references that do not share their code: the Jacobi
 * eigendecomposition reconstructs its matrix; FD is 0 for identical sets, |Δμ|² for shifted ones, the
 * closed form for diagonal covariances, and the 2×2 closed form (tr √M = √(tr M + 2√det M)) for random
 * non-commuting ones; precision/recall on point sets worked out by hand; CAS on a separable generated set
 * (high) and on the same set with its labels permuted (low); `ulearn evaluate-generated` prints them and
 * writes report.html with the gallery, the measures and the not-Inception note.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../../src/engine/seed.js';
import { folderSpec, loadDataset } from '../../src/data/load.js';
import { generatedDataset, readGeneratedFolder } from '../../src/generate/generated-folder.js';
import { classificationAccuracyScore, frechetDistance, gaussianStats, knnRadii, precisionRecall, sqrtPsd, symmetricEigen } from '../../src/generate/metrics.js';
import { Budget } from '../../src/util/budget.js';
import { useWasm } from '../engine/helpers.js';
import { renderReport, type ReportInput } from '../../src/eval/report.js';
import { buildEncoder } from '../../src/models/architecture.js';
import { modality } from '../../src/modality.js';
import { saveCheckpoint } from '../../src/runs/checkpoint.js';
import { runUlearn } from '../cli/run-cli.js';
import { writeStripes } from '../semi/fixtures.js';
import { writeGeneratedStripes } from './write-generated.js';

function randomSym(rng: Rng, n: number): Float64Array {
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) a[i * n + j] = a[j * n + i] = rng.normal();
  return a;
}

function randomRows(rng: Rng, n: number, dim: number, mix?: number[]): Float64Array {
  const x = new Float64Array(n * dim);
  for (let i = 0; i < n; i++) {
    const z = Array.from({ length: dim }, () => rng.normal());
    for (let d = 0; d < dim; d++) x[i * dim + d] = mix ? z.reduce((s, v, k) => s + v * mix[d * dim + k], 0) : z[d];
  }
  return x;
}

test('Jacobi: V diag(λ) Vᵀ rebuilds the matrix, V is orthonormal; √A √A = A for a PSD A', () => {
  const rng = new Rng(1);
  const n = 7;
  const a = randomSym(rng, n);
  const { values, vectors: v } = symmetricEigen(a, n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let rebuilt = 0;
      let dot = 0;
      for (let k = 0; k < n; k++) {
        rebuilt += v[i * n + k] * values[k] * v[j * n + k];
        dot += v[k * n + i] * v[k * n + j];
      }
      assert.ok(Math.abs(rebuilt - a[i * n + j]) < 1e-12, `A[${i}][${j}]`);
      assert.ok(Math.abs(dot - (i === j ? 1 : 0)) < 1e-12, `VᵀV[${i}][${j}]`);
    }
  }
  const psd = gaussianStats(randomRows(rng, 50, n), n).cov;
  const s = sqrtPsd(psd, n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let ss = 0;
      for (let k = 0; k < n; k++) ss += s[i * n + k] * s[k * n + j];
      assert.ok(Math.abs(ss - psd[i * n + j]) < 1e-12, `√A√A[${i}][${j}]`);
    }
  }
});

test('FD: identical sets 0, shifted means |Δμ|², diagonal covariances Σ(σ1 − σ2)²', () => {
  const rng = new Rng(2);
  const dim = 5;
  const a = randomRows(rng, 40, dim);
  assert.ok(frechetDistance(a, a, dim) < 1e-10);
  const shift = [1, -2, 0.5, 0, 3];
  const b = a.map((v, i) => v + shift[i % dim]);
  assert.ok(Math.abs(frechetDistance(a, b, dim) - (1 + 4 + 0.25 + 9)) < 1e-9);
  assert.throws(() => frechetDistance([0, NaN, 1, 2], [0, 1, 2, 3], 2), /feature 1 of sample 0 is NaN/);
  // Points μ ± s_d e_d: the sample covariance is exactly diag(2 s_d² / (n − 1)).
  const axisSet = (mu: number[], s: number[]) => {
    const rows: number[] = [];
    for (let d = 0; d < dim; d++) for (const sign of [1, -1]) rows.push(...mu.map((m, k) => m + (k === d ? sign * s[d] : 0)));
    return Float64Array.from(rows);
  };
  const mu1 = [0, 1, 2, 3, 4];
  const mu2 = [1, 1, 0, 3, 5];
  const s1 = [1, 2, 3, 0.5, 1];
  const s2 = [2, 2, 1, 0.1, 4];
  const n = 2 * dim;
  let expected = mu1.reduce((t, m, d) => t + (m - mu2[d]) ** 2, 0);
  for (let d = 0; d < dim; d++) expected += (Math.sqrt((2 * s1[d] ** 2) / (n - 1)) - Math.sqrt((2 * s2[d] ** 2) / (n - 1))) ** 2;
  assert.ok(Math.abs(frechetDistance(axisSet(mu1, s1), axisSet(mu2, s2), dim) - expected) < 1e-9, `${frechetDistance(axisSet(mu1, s1), axisSet(mu2, s2), dim)} vs ${expected}`);
});

test('FD: random non-commuting 2-D covariances against the 2×2 closed form', () => {
  const rng = new Rng(3);
  for (let trial = 0; trial < 5; trial++) {
    const a = randomRows(rng, 30, 2, [1, 0.8, 0, 0.5]);
    const b = randomRows(rng, 30, 2, [0.3, -1, 2, 0.2]).map((v) => v + 0.7);
    const A = gaussianStats(a, 2);
    const B = gaussianStats(b, 2);
    const [a11, a12, , a22] = A.cov;
    const [b11, b12, , b22] = B.cov;
    // tr √(Σ1^½ Σ2 Σ1^½) = tr √(Σ1 Σ2) (same eigenvalues) = √(tr(Σ1Σ2) + 2√(det Σ1 det Σ2)) for 2×2.
    const trProd = a11 * b11 + 2 * a12 * b12 + a22 * b22;
    const detProd = (a11 * a22 - a12 * a12) * (b11 * b22 - b12 * b12);
    const expected = (A.mean[0] - B.mean[0]) ** 2 + (A.mean[1] - B.mean[1]) ** 2 + a11 + a22 + b11 + b22 - 2 * Math.sqrt(trProd + 2 * Math.sqrt(detProd));
    const fd = frechetDistance(a, b, 2);
    assert.ok(Math.abs(fd - expected) < 1e-10 * Math.max(1, expected), `trial ${trial}: ${fd} vs ${expected}`);
  }
});

test('precision/recall on point sets worked out by hand', () => {
  // Real: 0..9 on a line; k = 1 gives each a ball of radius 1. Generated: 0.5 and 2.2 land in real balls,
  // 20 and 30 do not: precision 2/4. Generated radii (k = 1): 1.7, 1.7, 10, 10; the balls around 0.5 and 2.2
  // cover real 0, 1, 2, 3, the far ones none: recall 4/10.
  const real = Float64Array.from({ length: 10 }, (_, i) => i);
  const gen = Float64Array.from([0.5, 2.2, 20, 30]);
  assert.deepEqual(Array.from(knnRadii(gen, 1, 1)).map((r) => Math.sqrt(r).toFixed(6)), ['1.700000', '1.700000', '10.000000', '10.000000']);
  const pr = precisionRecall(real, gen, 1, 1);
  assert.equal(pr.precision, 0.5);
  assert.equal(pr.recall, 0.4);
  // k = 3 (the default): identical sets cover each other; a far cluster covers nothing.
  const rng = new Rng(4);
  const x = randomRows(rng, 30, 3);
  assert.deepEqual(precisionRecall(x, x, 3), { precision: 1, recall: 1 });
  assert.deepEqual(precisionRecall(x, x.map((v) => v + 100), 3), { precision: 0, recall: 0 });
  // A generator that collapses onto a few real points: every sample is realistic, little of the data is covered.
  // (4 near-copies each of real points 0 and 1: k = 3 balls shrink to the copies, so recall is 2/30.)
  const collapsed = Float64Array.from({ length: 8 * 3 }, (_, i) => x[(Math.floor(i / 12) * 3) + (i % 3)] + (Math.floor(i / 3) % 4) * 1e-9);
  const c = precisionRecall(x, collapsed, 3);
  assert.equal(c.precision, 1);
  assert.equal(c.recall, 2 / 30);
  assert.throws(() => precisionRecall(x.subarray(0, 9), x, 3), /k = 3 needs more than 3 samples per set, got 3/);
});

let root: string;
before(async () => {
  await useWasm();
  root = mkdtempSync(join(tmpdir(), 'ulearn-gen-metrics-'));
  await writeGeneratedStripes(join(root, 'gen'), 10, 11);
  await writeStripes(join(root, 'test'), 8, 12);
  await writeStripes(join(root, 'train'), 6, 13);
  const encoder = buildEncoder({ ...modality('image').encoder([16, 16, 1], { widths: [4, 8], blocksPerStage: 1 }), method: 'none' }, 1);
  await saveCheckpoint(join(root, 'encoder'), encoder);
  encoder.dispose();
});
after(() => rmSync(root, { recursive: true, force: true }));

test('CAS: a classifier trained on separable generated samples scores high on real ones; with permuted labels, low', async () => {
  const set = await readGeneratedFolder(join(root, 'gen'));
  const test = (await loadDataset(await folderSpec(join(root, 'test')))).train;
  const common = { test, encoder: { widths: [4, 8], blocksPerStage: 1 }, settings: { epochs: 12, batchSize: 10, flip: false }, seed: 0, budget: Budget.parse('none') };
  const good = await classificationAccuracyScore({ ...common, generated: generatedDataset(set) });
  assert.ok(good.cas >= 0.9, `CAS ${good.cas}`);
  assert.ok(good.steps >= 20, `${good.steps} steps`);
  const swapped = generatedDataset(set);
  swapped.y = swapped.y.map((c) => (c + 1) % 3);
  const bad = await classificationAccuracyScore({ ...common, generated: swapped });
  assert.ok(bad.cas <= 0.2, `CAS with permuted labels ${bad.cas}`);
});

test('ulearn evaluate-generated: prints CAS, FD, precision, recall with the note; report.html has the gallery and the measures', () => {
  const out = join(root, 'eval');
  const r = runUlearn(['evaluate-generated', join(root, 'gen'), '--data', join(root, 'train'), '--test-data', join(root, 'test'), '--encoder', join(root, 'encoder'), '--epochs', '4', '--widths', '4,8', '--gallery', '3', '--backend', 'wasm', '--out', out], { timeout: 180_000 });
  assert.equal(r.code, 0, r.err);
  for (const name of ['CAS', 'FD', 'precision', 'recall']) assert.match(r.out, new RegExp(`^${name} +[\\d.]+%?`, 'm'), r.out);
  assert.match(r.out, /not comparable with Inception-based FID/);
  assert.match(r.out, /features: 18 real and 30 generated samples/);
  const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as ReportInput;
  const m = results.generated!.metrics!;
  assert.ok(m.fd >= 0 && m.precision >= 0 && m.precision <= 1 && m.recall >= 0 && m.recall <= 1 && m.k === 3, JSON.stringify(m));
  assert.equal(m.fd.toFixed(4), /^FD +([\d.]+)/m.exec(r.out)![1]);
  const html = readFileSync(join(out, 'report.html'), 'utf8');
  assert.match(html, /<section class="card" id="generated">/);
  assert.equal((html.match(/<div class="gen-row">/g) ?? []).length, 3);
  assert.equal((html.match(/<img src="data:image\/png;base64,[A-Za-z0-9+/=]+" width="56" height="56" alt="generated /g) ?? []).length, 9);
  for (const s of ['Fréchet distance', 'Precision', 'Recall', 'CAS', 'not comparable with Inception-based FID', 'Kynkäänniemi']) assert.ok(html.includes(s), s);
  // Bad input: an encoder that is not there, before any work.
  const bad = runUlearn(['evaluate-generated', join(root, 'gen'), '--data', join(root, 'train'), '--encoder', join(root, 'nope'), '--out', join(root, 'never')]);
  assert.equal(bad.code, 2, bad.err);
  assert.match(bad.err, /encoder .*nope: no such folder/);
  assert.ok(!existsSync(join(root, 'never')));
});

test('report: the generated section appears only with generated input, and bad gallery input is refused', () => {
  const base: ReportInput = { title: 't', dataset: 'd', totalLabels: 3, backend: 'cpu', seed: 0, createdAt: '2026-01-01T00:00:00Z', classes: ['a', 'b'], methods: [] };
  assert.doesNotMatch(renderReport(base), /id="generated"/);
  const png = 'data:image/png;base64,iVBORw0KGgo=';
  const generated = { model: 'vae', folder: 'g', samples: 4, gallery: [{ label: 1, images: [png] }], use: { filter: 'knn', ratio: 1, available: [2, 2], kept: [1, 2], used: [1, 1] } };
  const html = renderReport({ ...base, generated });
  assert.match(html, /id="generated"/);
  assert.match(html, /Kept \(knn filter\)/);
  assert.doesNotMatch(html, /Fréchet/, 'no measures given, none shown');
  const metrics = { fd: 1.5, precision: 0.8, recall: 0.25, k: 3, realSamples: 10, generatedSamples: 4, encoder: 'enc' };
  assert.match(renderReport({ ...base, generated: { ...generated, metrics } }), /<p class="headline">4 <strong>vae<\/strong> samples: precision <strong>80.0%<\/strong>, recall <strong>25.0%<\/strong>, FD 1.5 in the SSL encoder's feature space \(not comparable with Inception-based FID\)/);
  assert.throws(() => renderReport({ ...base, generated: { ...generated, gallery: [{ label: 2, images: [png] }] } }), /generated gallery of class 2: there are 2 classes/);
  assert.throws(() => renderReport({ ...base, generated: { ...generated, gallery: [{ label: 0, images: ['javascript:x'] }] } }), /PNG data: URIs/);
});
