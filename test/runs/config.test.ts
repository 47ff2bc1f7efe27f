import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { loadConfigFile, parseConfig, zBudget } from '../../src/runs/config.js';
import { UlearnError } from '../../src/errors.js';
import { tempDir } from '../data/fixtures.js';

const schema = z
  .object({
    data: z.string(),
    budget: zBudget().optional(),
    pretrain: z
      .object({
        epochs: z.number().int().positive(),
        lr: z.number().positive().max(1).default(0.001),
        method: z.enum(['simclr', 'vicreg']),
      })
      .strict(),
    stages: z.array(z.object({ name: z.string(), weight: z.number().min(0).max(1) }).strict()).optional(),
  })
  .strict();

async function write(name: string, text: string): Promise<string> {
  const path = join(await tempDir(), name);
  await writeFile(path, text);
  return path;
}

/** Asserts a UlearnError whose message matches. */
function fails(re: RegExp): (e: unknown) => boolean {
  return (e) => {
    assert.ok(e instanceof UlearnError, String(e));
    assert.match(e.message, re);
    return true;
  };
}

test('YAML and JSON configs load, with defaults and durations applied', async () => {
  const yaml = await write('config.yaml', 'data: mnist\nbudget: 10m\npretrain:\n  epochs: 5\n  method: simclr\n');
  assert.deepEqual(await loadConfigFile(yaml, schema), { data: 'mnist', budget: '10m', pretrain: { epochs: 5, lr: 0.001, method: 'simclr' } });
  assert.equal(parseConfig('data: mnist\nbudget: none\npretrain: {epochs: 1, method: simclr}', 'c.yaml', schema).budget, 'none');
  const json = await write('run.json', JSON.stringify({ data: 'cifar', pretrain: { epochs: 1, lr: 0.5, method: 'vicreg' } }));
  assert.deepEqual(await loadConfigFile(json, schema), { data: 'cifar', pretrain: { epochs: 1, lr: 0.5, method: 'vicreg' } });
  const yml = await write('c.yml', '{"data": "x", "pretrain": {"epochs": 2, "method": "simclr"}}');
  assert.equal((await loadConfigFile(yml, schema)).pretrain.epochs, 2);
});

test('a bad value names the file, the dotted path, what was expected and what was there', async () => {
  const path = await write('config.yaml', 'data: mnist\npretrain:\n  epochs: -3\n  method: simclr\n');
  await assert.rejects(loadConfigFile(path, schema), fails(/config\.yaml: pretrain\.epochs: expected a positive integer, got -3$/));
  const cases: [string, RegExp][] = [
    ['data: mnist\npretrain: {epochs: 2.5, method: simclr}', /pretrain\.epochs: expected a positive integer, got 2\.5/],
    ['data: mnist\npretrain: {epochs: "5", method: simclr}', /pretrain\.epochs: expected a positive integer, got "5"/],
    ['data: mnist\npretrain: {method: simclr}', /pretrain\.epochs: missing \(expected a positive integer\)/],
    ['data: mnist\npretrain: {epochs: 1, lr: 3, method: simclr}', /pretrain\.lr: expected a number in \(0, 1\], got 3/],
    ['data: mnist\npretrain: {epochs: 1, method: byol}', /pretrain\.method: expected one of "simclr", "vicreg", got "byol"/],
    ['data: mnist\nbudget: 10 minutes\npretrain: {epochs: 1, method: simclr}', /budget: expected a duration .*got "10 minutes"/],
    ['data: mnist\npretrain: {epochs: 1, method: simclr}\nstages: [{name: a, weight: 0.5}, {name: b, weight: 2}]', /stages\[1\]\.weight: expected a number in \[0, 1\], got 2/],
    ['data: [1, 2]\npretrain: {epochs: 1, method: simclr}', /: data: expected a string, got a list of 2/],
    ['', /c\.yaml: expected a mapping \(key: value\), got null/],
  ];
  for (const [text, re] of cases) assert.throws(() => parseConfig(text, 'c.yaml', schema), fails(re), text);
  // Every problem at once, one line each.
  assert.throws(
    () => parseConfig('pretrain: {epochs: 0, method: x}', 'c.yaml', schema),
    (e: unknown) => (e as Error).message.split('\n').length === 3,
  );
});

test('unknown keys are rejected with a suggestion (strict schemas)', async () => {
  const path = await write('config.yaml', 'data: mnist\npretrain:\n  epoch: 5\n  epochs: 5\n  method: simclr\n  zzz: 1\n');
  await assert.rejects(
    loadConfigFile(path, schema),
    fails(/config\.yaml: pretrain\.epoch: unknown key \(did you mean 'epochs'\?\)\n.*config\.yaml: pretrain\.zzz: unknown key$/),
  );
});

test('an unreadable file, an unknown extension and syntax errors are UlearnErrors with locations', async () => {
  const dir = await tempDir();
  await assert.rejects(loadConfigFile(join(dir, 'missing.yaml'), schema), fails(/cannot read config .*missing\.yaml: no such file/));
  await mkdir(join(dir, 'd.yaml'));
  await assert.rejects(loadConfigFile(join(dir, 'd.yaml'), schema), fails(/d\.yaml: it is a directory/));
  assert.throws(() => parseConfig('a = 1', 'config.toml', schema), fails(/config\.toml: unknown config format '\.toml'/));

  const yaml = await write('config.yaml', 'data: mnist\npretrain:\n  epochs: 5\n method: simclr\n');
  await assert.rejects(loadConfigFile(yaml, schema), fails(/config\.yaml:4:\d+: .+\n {2}/));
  assert.throws(() => parseConfig('data: a\ndata: b\n', 'x.yaml', schema), fails(/x\.yaml:2:1: Map keys must be unique/));

  const json = await write('run.json', '{\n  "data": "x",\n}\n');
  await assert.rejects(loadConfigFile(json, schema), fails(/run\.json:3:1: invalid JSON/));
});
