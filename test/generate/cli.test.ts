/**
 * `ulearn generate` end to end on a tiny labeled folder (3 classes of 16×16 stripes): each model writes its
 * checkpoint, the grid and the generated folder in the agreed format; sampling from a checkpoint of another
 * kind, or from one trained on other data, is refused with a clear error and writes nothing.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { CLASSES, writeStripes } from '../semi/fixtures.js';
import { runUlearn } from '../cli/run-cli.js';

let root: string;
const ulearn = (...args: string[]) => runUlearn(args, { timeout: 180_000 });
const tiny = ['--total-labels', '6', '--steps', '6', '--batch-size', '8', '--samples-per-class', '2', '--widths', '4,8', '--backend', 'wasm', '--threads', '1', '--budget', 'none'];

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'ulearn-generate-cli-'));
  await writeStripes(join(root, 'train'), 8, 1);
});
after(() => rmSync(root, { recursive: true, force: true }));

for (const model of ['vae', 'ssvae', 'diffusion']) {
  test(`generate --model ${model} writes a checkpoint, a grid and the generated folder`, async () => {
    const out = join(root, model);
    const extra = model === 'diffusion' ? ['--timesteps', '20', '--sample-steps', '3'] : [];
    const r = ulearn('generate', join(root, 'train'), '--model', model, ...tiny, ...extra, '--out', out);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /generated: .* \(6 samples\)/);
    const ck = JSON.parse(readFileSync(join(out, 'checkpoint', 'manifest.json'), 'utf8'));
    assert.equal(ck.state.generator.kind, model);
    assert.equal(ck.state.step, 6);
    // The VAE samples from a per-class latent prior fitted on the labelled samples, saved with the model.
    if (model === 'vae') assert.deepEqual([ck.state.generator.config.classPrior.mean.length, ck.state.generator.config.classPrior.std[2].length], [3, 16]);
    const m = JSON.parse(readFileSync(join(out, 'generated', 'manifest.json'), 'utf8'));
    assert.deepEqual(Object.keys(m).sort(), ['checkpoint', 'classes', 'kind', 'model', 'samples', 'shape', 'version']);
    assert.equal(m.version, 1);
    assert.equal(m.kind, 'ulearn-generated');
    assert.equal(m.model, model);
    assert.equal(m.checkpoint, '../checkpoint');
    assert.deepEqual(m.shape, [16, 16, 1]);
    assert.deepEqual(m.classes, CLASSES);
    assert.equal(m.samples.length, 6);
    assert.deepEqual(m.samples[3], { file: 'horizontal/1.png', label: 1, labelSource: 'conditional' });
    for (const s of m.samples) {
      const meta = await sharp(join(out, 'generated', s.file)).metadata();
      assert.deepEqual([meta.format, meta.width, meta.height, meta.channels, meta.depth], ['png', 16, 16, 1, 'uchar'], s.file);
    }
    const grid = await sharp(join(out, 'samples.png')).metadata();
    // 3 rows (classes) and 2 columns of 16-pixel samples with 2-pixel gutters.
    assert.deepEqual([grid.width, grid.height], [2 * 18 + 2, 3 * 18 + 2]);
    assert.deepEqual(readdirSync(out).filter((f) => f.startsWith('.')), []);
  });
}

test('sampling from a checkpoint: the same kind works; another kind or other data is refused, nothing written', () => {
  const ckpt = join(root, 'vae', 'checkpoint');
  const again = join(root, 'again');
  const ok = ulearn('generate', join(root, 'train'), '--model', 'vae', '--checkpoint', ckpt, '--samples-per-class', '2', '--backend', 'wasm', '--threads', '1', '--out', again);
  assert.equal(ok.code, 0, ok.err);
  const m = JSON.parse(readFileSync(join(again, 'generated', 'manifest.json'), 'utf8'));
  assert.equal(m.samples.length, 6);
  assert.equal(m.checkpoint, '../../vae/checkpoint');

  const never = join(root, 'never');
  const wrong = ulearn('generate', join(root, 'train'), '--model', 'diffusion', '--checkpoint', ckpt, '--backend', 'wasm', '--out', never);
  assert.notEqual(wrong.code, 0);
  assert.match(wrong.err, /holds a vae generator, not a diffusion/);
  assert.ok(!existsSync(never));

  const two = join(root, 'two-classes');
  for (const c of CLASSES.slice(0, 2)) cpSync(join(root, 'train', c), join(two, c), { recursive: true });
  const other = ulearn('generate', two, '--model', 'vae', '--checkpoint', ckpt, '--backend', 'wasm', '--out', never);
  assert.notEqual(other.code, 0);
  assert.match(other.err, /was trained on samples \[16,16,1\] of classes diagonal, horizontal, vertical; the data has \[16,16,1\] and diagonal, horizontal/);
  assert.ok(!existsSync(never));
});

test('bad input: a class without a visible label, both label options; exit non-zero, nothing written', () => {
  const never = join(root, 'never2');
  const cases: [string[], RegExp][] = [
    [['--model', 'vae', '--total-labels', '2'], /every class needs at least one label|no visible label/],
    [['--model', 'vae', '--total-labels', '3', '--labels-per-class', '1'], /not both/],
    [['--model', 'gan'], /--model.*gan|invalid/i],
  ];
  for (const [args, re] of cases) {
    const r = ulearn('generate', join(root, 'train'), ...args, '--backend', 'wasm', '--out', never);
    assert.notEqual(r.code, 0, args.join(' '));
    assert.match(r.err, re, r.err);
    assert.ok(!existsSync(never));
  }
});
