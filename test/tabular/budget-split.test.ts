/**
 * `ulearn tabular` splits its budget: the trained arms (supervised, ssl-finetune, ssl-pseudo-label) each get
 * a share of what is left as they start, so none is left 0 steps by the ones before it (before, each arm was
 * handed the whole run budget and pretraining could use all of it: the supervised MLP trained 0 steps and an
 * untrained network was scored). The clock is a counter that advances on every look at it, so "time" is a
 * deterministic function of the work done: no wall time, no machine load.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Dataset } from '../../src/data/dataset.js';
import { initBackend } from '../../src/engine/backend.js';
import { Rng } from '../../src/engine/seed.js';
import { mlpEncoder } from '../../src/models/mlp.js';
import { tabularTable } from '../../src/cli/commands/tabular.js';
import { compareTabular } from '../../src/pipeline/tabular.js';
import { tabularConfig } from '../../src/pipeline/tabular-config.js';
import { Budget } from '../../src/util/budget.js';

before(async () => {
  await initBackend('wasm', { threads: 1 });
});

function table(n: number, seed: number, split: 'train' | 'test'): Dataset {
  const rng = new Rng(seed);
  const x = new Float32Array(n * 4);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % 2;
    for (let k = 0; k < 4; k++) x[i * 4 + k] = (k === 0 ? 2 * y[i] - 1 : 0) + rng.normal() * 0.5;
  }
  return { name: `toy/${split}`, modality: 'table', inputShape: [4], classes: ['a', 'b'], size: n, ids: Array.from({ length: n }, (_, i) => `${i}`), x, y, split, source: 'toy' };
}

test('each trained arm gets a share of the budget and trains; the budget, not the step cap, stops each', () => {
  const train = table(80, 1, 'train');
  const test_ = table(40, 2, 'test');
  const labeled = Int32Array.from({ length: 20 }, (_, i) => i);
  const cfg = tabularConfig({ data: 'toy.csv', labelColumn: 'y', encoder: { widths: [8] }, finetune: { steps: 100_000, batchSize: 8 }, methods: ['logreg', 'supervised', 'ssl-linear', 'ssl-finetune', 'ssl-pseudo-label'] });
  let t = 0;
  const budget = new Budget(600, () => t++);
  const pretrained = mlpEncoder({ inputDim: 4, widths: [8], seed: 3 });
  const { results, model } = compareTabular({ train, test: test_ }, labeled, pretrained, cfg, 0, budget);
  const byName = Object.fromEntries(results.map((r) => [r.method, r]));
  for (const m of ['supervised', 'ssl-finetune', 'ssl-pseudo-label']) {
    assert.ok(byName[m].steps! > 20, `${m}: ${byName[m].steps} steps`);
    assert.equal(byName[m].stoppedByBudget, true, m);
  }
  // The first arm may take a third of the budget, not all of it.
  assert.ok(byName.supervised.steps! < 250, `supervised took ${byName.supervised.steps} steps`);
  // Closed-form arms take no steps and say so by having none.
  assert.equal(byName.logreg.steps, undefined);
  assert.equal(byName['ssl-linear'].steps, undefined);
  // The table `ulearn tabular` prints shows them: steps for the trained arms, '(budget)' where the share ran out.
  const lines = tabularTable({ results }).split('\n');
  assert.deepEqual(lines[0].split(/\s{2,}/), ['method', 'test accuracy', 'time', 'steps']);
  assert.match(lines.find((l) => l.startsWith('supervised'))!, new RegExp(`\\s${byName.supervised.steps} \\(budget\\)$`));
  assert.match(lines.find((l) => l.startsWith('logreg'))!, /\d s$/);
  model?.encoder.dispose();
  model?.head.dispose();
  pretrained.dispose();
});
