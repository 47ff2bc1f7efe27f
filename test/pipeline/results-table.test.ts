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
