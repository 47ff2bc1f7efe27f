/**
 * A misleading headline (issue 17 #7): a baseline the budget cut before it trained (0 epochs, chance
 * accuracy) must not yield "+49 points vs supervised". The CLI table, results.json's comparison and the
 * report all mark such a comparison not meaningful, by one rule on optimizer steps (never on time).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareWithBaseline, formatResultsTable, MIN_TRAIN_STEPS } from '../../src/eval/comparison.js';
import { renderReport } from '../../src/eval/report.js';
import type { ReportInput } from '../../src/eval/report-input.js';
import { resultsTable, type MethodResult } from '../../src/pipeline/run-pipeline.js';

const methods = (baseSteps: number): MethodResult[] => [
  { name: 'supervised only', acc: 0.1, steps: baseSteps, seconds: 0, perClass: [], confusion: [] },
  { name: 'SSL + linear probe', acc: 0.59, seconds: 3, perClass: [], confusion: [] },
  { name: 'SSL + fine-tune', acc: 0.6, steps: 240, seconds: 20, perClass: [], confusion: [] },
];

function input(baseSteps: number): ReportInput {
  return {
    title: 't',
    dataset: 'fashion-mnist',
    labelsPerClass: 10,
    totalLabels: 100,
    backend: 'cpu',
    seed: 0,
    createdAt: '2026-01-01T00:00:00Z',
    classes: ['a', 'b'],
    methods: methods(baseSteps).map((m) => ({ name: m.name, acc: m.acc, steps: m.steps })),
    baselineName: 'supervised only',
  };
}

test('the rule: fewer than MIN_TRAIN_STEPS steps is not trained; the probe (no steps) always counts', () => {
  assert.equal(compareWithBaseline(methods(0), 'supervised only')?.meaningful, false);
  assert.match(compareWithBaseline(methods(0), 'supervised only')?.reason ?? '', /'supervised only' trained 0 optimizer steps/);
  assert.equal(compareWithBaseline(methods(MIN_TRAIN_STEPS - 1), 'supervised only')?.meaningful, false);
  assert.equal(compareWithBaseline(methods(MIN_TRAIN_STEPS), 'supervised only')?.meaningful, true);
  assert.equal(compareWithBaseline(methods(0), undefined), undefined);
});

test('the CLI table shows n/m and a warning instead of "+49.0" when the baseline did not train', () => {
  const t = resultsTable(methods(0));
  assert.doesNotMatch(t, /\+49\.0/);
  assert.match(t, /supervised only \(not trained\)/);
  assert.match(t, /SSL \+ fine-tune\s+60\.0%\s+n\/m/);
  assert.match(t, /warning: n\/m = not meaningful: .*0 optimizer steps/);
  // Trained: the deltas are back and there is no warning.
  const ok = formatResultsTable(methods(240), 'supervised only');
  assert.match(ok, /SSL \+ fine-tune\s+60\.0%\s+\+50\.0/);
  assert.doesNotMatch(ok, /warning/);
});

test('the report says the comparison is not meaningful and shows no points gained', () => {
  const html = renderReport(input(0));
  assert.match(html, /not meaningful/);
  assert.doesNotMatch(html, /\+49\.0|\+50\.0/);
  assert.match(html, /not trained: 0 optimizer steps/);
  const ok = renderReport(input(240));
  assert.match(ok, /\+50\.0 points/);
  assert.doesNotMatch(ok, /not meaningful/);
});
