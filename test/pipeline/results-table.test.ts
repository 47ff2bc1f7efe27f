/** What the CLI table and the report say about each arm's training: steps, epochs, and a budget cut. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resultsTable, trainingNote, type MethodResult } from '../../src/pipeline/run-pipeline.js';
import { fitEpochs } from '../../src/semi/fit.js';

const arm = (name: string, acc: number, extra: Partial<MethodResult> = {}): MethodResult => ({ name, acc, perClass: [], confusion: [], seconds: 12, ...extra });

test('the table shows each trained arm’s steps and marks the one the budget cut short', () => {
  const table = resultsTable([
    arm('supervised only', 0.6, { steps: 120, epochs: 23, stoppedByBudget: true }),
    arm('SSL + linear probe', 0.7),
    arm('SSL + fine-tune', 0.72, { steps: 240, epochs: 60, stoppedByBudget: false }),
  ]);
  assert.equal(
    table,
    [
      'method              test accuracy  vs supervised         steps  time',
      '------------------  -------------  -------------  ------------  ----',
      'supervised only             60.0%                 120 (budget)  12 s',
      'SSL + linear probe          70.0%          +10.0                12 s',
      'SSL + fine-tune             72.0%          +12.0           240  12 s',
    ].join('\n'),
  );
  assert.equal(trainingNote({ steps: 120, epochs: 23, stoppedByBudget: true }), 'stopped by the budget after 23 epochs (120 steps)');
  assert.equal(trainingNote({ steps: 240, epochs: 60, stoppedByBudget: false }), '60 epochs (240 steps)');
  assert.equal(trainingNote({ steps: 400, stoppedByBudget: true }), 'stopped by the budget after 400 steps');
  assert.equal(trainingNote({}), undefined);
});

test('one epochs rule for fine-tune and baseline: 60 at 10 labels per class, the same steps’ worth elsewhere, at least 20', () => {
  assert.equal(fitEpochs(10), 60);
  assert.equal(fitEpochs(4), 150);
  assert.equal(fitEpochs(25), 24);
  assert.equal(fitEpochs(100), 20);
});

const estimate = (acc: number) => ({ acc, stderr: 0.045, low: acc - 0.09, high: acc + 0.08, folds: 3, labels: 100 });

test('the table shows each arm’s estimate from the labels beside its test accuracy and marks the chosen arm', () => {
  const table = resultsTable([
    arm('supervised only', 0.6, { steps: 180, epochs: 60, estimate: estimate(0.58), chosen: false }),
    arm('SSL + linear probe', 0.7, { estimate: estimate(0.66), chosen: false }),
    arm('SSL + fine-tune', 0.72, { steps: 180, epochs: 60, estimate: estimate(0.69), chosen: true }),
  ]);
  assert.equal(
    table,
    [
      'method              estimated from labels  test accuracy  vs supervised  steps  time',
      '------------------  ---------------------  -------------  -------------  -----  ----',
      'supervised only               58.0 ± 4.5%          60.0%                   180  12 s',
      'SSL + linear probe            66.0 ± 4.5%          70.0%          +10.0         12 s',
      'SSL + fine-tune *             69.0 ± 4.5%          72.0%          +12.0    180  12 s',
      '',
      'estimated from labels: 3-fold cross-validation on the 100 labels before the final fit (± standard error); * = the arm chosen from it',
    ].join('\n'),
  );
  assert.doesNotMatch(table, /SSL did not help/);
  const curved = resultsTable([arm('supervised only', 0.6, { estimate: { ...estimate(0.58), curve: true }, chosen: true })]);
  assert.match(curved, /estimated from labels: 3-fold cross-validation on the 100 labels, extrapolated along the learning curve to all of them, before the final fit/);
});

test('when no SSL arm is estimated to beat supervised-only, the table says so plainly and says what to try', () => {
  const table = resultsTable([
    arm('supervised only', 0.806, { steps: 180, estimate: estimate(0.79), chosen: true }),
    arm('SSL + linear probe', 0.755, { estimate: estimate(0.74), chosen: false }),
    arm('SSL + fine-tune', 0.779, { steps: 180, estimate: estimate(0.79), chosen: false }),
  ]);
  assert.match(table, /supervised only \*/);
  assert.match(table, /SSL did not help here: no SSL arm is estimated to beat 'supervised only' \(cross-validation on the labels: best 'SSL \+ fine-tune' 79\.0 ± 4\.5% vs 79\.0 ± 4\.5%\)/);
  assert.match(table, /--budget/);
  assert.match(table, /--augment/);
  assert.match(table, /--encoder/);
  // With the curve, arms are ranked by plain cross-validation (cv), as chooseArm ranks them.
  const ranked = resultsTable([
    arm('supervised only', 0.61, { estimate: { ...estimate(0.73), curve: true, cv: 0.6 }, chosen: false }),
    arm('SSL + fine-tune', 0.74, { estimate: { ...estimate(0.69), curve: true, cv: 0.7 }, chosen: true }),
  ]);
  assert.doesNotMatch(ranked, /SSL did not help/);
  const behind = resultsTable([
    arm('supervised only', 0.61, { estimate: { ...estimate(0.6), curve: true, cv: 0.72 }, chosen: true }),
    arm('SSL + fine-tune', 0.74, { estimate: { ...estimate(0.75), curve: true, cv: 0.7 }, chosen: false }),
  ]);
  assert.match(behind, /SSL did not help here: .*best 'SSL \+ fine-tune' 70\.0% vs 72\.0%\)/);
});
