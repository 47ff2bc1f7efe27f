/**
 * The pipeline's optional `semi` stage: configured in a run config, it trains from the run's pretrained
 * encoder, lands in the results and leaves a model folder `ulearn predict` can load; bad semi settings are
 * config errors naming the key.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PipelineConfigSchema, pipelineConfig } from '../../src/pipeline/config.js';
import { runPipeline } from '../../src/pipeline/run-pipeline.js';
import { parseConfig } from '../../src/runs/config.js';
import { loadClassifier } from '../../src/predict/image-model.js';
import { UlearnError } from '../../src/errors.js';
import { writeStripes } from './fixtures.js';

let root: string;
before(async () => {
  root = mkdtempSync(join(tmpdir(), 'ulearn-semi-pipe-'));
  await writeStripes(join(root, 'train'), 12, 3);
  await writeStripes(join(root, 'test'), 4, 4);
});
after(() => rmSync(root, { recursive: true, force: true }));

test('semi: label-propagation runs on the pretrained encoder and saves a loadable model', async () => {
  const cfg = pipelineConfig({
    data: join(root, 'train'),
    testData: join(root, 'test'),
    totalLabels: 6,
    seed: 2,
    // Epochs and k alone decide the run: no wall-clock cap.
    budget: 'none',
    backend: 'wasm',
    encoder: { widths: [4, 8], blocksPerStage: 1 },
    pretrain: { method: 'vicreg', batchSize: 16, epochs: 1, monitorEvery: 2 },
    semi: { method: 'label-propagation', k: 5 },
  });
  const res = await runPipeline(cfg, { runsRoot: join(root, 'runs'), stages: ['pretrain', 'semi'], log: () => {} });
  const semi = res.methods.find((m) => m.name === 'semi: label-propagation');
  assert.ok(semi, JSON.stringify(res.methods.map((m) => m.name)));
  assert.ok(semi.acc >= 0 && semi.acc <= 1);
  const { meta } = await loadClassifier(join(res.runDir, 'model'));
  assert.equal(meta.method, 'label-propagation');
  assert.equal(meta.training.labels, 6);
  assert.equal(meta.training.testAccuracy, semi.acc);
});

test('semi settings are validated with the key named', () => {
  assert.throws(
    () => parseConfig('semi:\n  method: fixmatch\n  threshold: 1.5\n', 'run.yaml', PipelineConfigSchema),
    (e: unknown) => e instanceof UlearnError && /run\.yaml: semi\.threshold/.test(e.message),
  );
  assert.throws(
    () => parseConfig('semi:\n  method: mixmatch\n', 'run.yaml', PipelineConfigSchema),
    (e: unknown) => e instanceof UlearnError && /semi\.method/.test(e.message),
  );
});
