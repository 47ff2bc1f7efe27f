/**
 * The CLI as a user meets it: help for every command, and bad input answered with a clear message and a
 * non-zero exit code, never a stack trace.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runUlearn, ulearn } from './run-cli.js';

test('every command has --help', () => {
  const top = ulearn('--help');
  assert.equal(top.code, 0);
  for (const cmd of ['demo', 'run', 'pretrain', 'finetune', 'eval', 'info']) {
    assert.match(top.out, new RegExp(`\\b${cmd}\\b`), `top-level help lists ${cmd}`);
    const h = ulearn(cmd, '--help');
    assert.equal(h.code, 0, `${cmd} --help exits 0`);
    assert.match(h.out, /Usage: ulearn /);
  }
  // label init's help describes each active-learning strategy it offers.
  const init = ulearn('label', 'init', '--help');
  assert.equal(init.code, 0);
  assert.match(init.out, /Strategies \(--strategy\):\n\s+random\s+uniform random/);
  assert.match(init.out, /\n\s+coreset\s+k-center greedy/);
});

test('unknown backend: names the choices, exit 2', () => {
  const r = ulearn('info', '--backend', 'tpu');
  assert.equal(r.code, 2);
  assert.match(r.err, /'tpu' is invalid.*auto, native, wasm, webgpu, cpu, tensorflow/s);
});

test('a requested backend that cannot start says why and exits non-zero; wasm starts', () => {
  const wasm = ulearn('info', '--backend', 'wasm');
  assert.equal(wasm.code, 0);
  assert.match(wasm.out, /engine: wasm \(SIMD, \d+ threads?\)/);
  const tfn = ulearn('info', '--backend', 'tensorflow');
  assert.equal(tfn.code, 2);
  assert.match(tfn.err, /@tensorflow\/tfjs-node is not installed/);
  assert.doesNotMatch(tfn.err, /\n\s+at /, 'no stack trace');
  // No GPU here (or in CI): webgpu must fail with the reason, not fall back. With a GPU it must really run webgpu.
  const gpu = ulearn('info', '--backend', 'webgpu');
  if (gpu.code === 0) assert.match(gpu.out, /engine: webgpu/);
  else assert.match(gpu.err, /webgpu backend unavailable: (no GPU adapter|the optional package)/);
  // The GPU probe is quiet: Dawn's own Vulkan warning (a C++ source path on stderr) never reaches the user,
  // and without a GPU the engine line says so.
  assert.doesNotMatch(gpu.err, /Couldn't load Vulkan|BackendVk/);
  const auto = ulearn('info');
  assert.equal(auto.code, 0);
  assert.equal(auto.err, '');
  if (!/engine: webgpu/.test(auto.out)) assert.match(auto.out, /no GPU/);
});

test('bad option values and bad config files are refused before any work', () => {
  const t = ulearn('info', '--threads', '0');
  assert.notEqual(t.code, 0);
  assert.match(t.err, /--threads must be an integer >= 1, got '0'/);
  const b = ulearn('demo', '--budget', 'soon');
  assert.notEqual(b.code, 0);
  assert.match(b.err, /soon/);
  const dir = mkdtempSync(join(tmpdir(), 'ulearn-cli-'));
  const cfg = join(dir, 'bad.yaml');
  writeFileSync(cfg, 'data: fashion-mnist\nlabelsPerClass: 10\npretrain:\n  method: simclr\n  batchSize: -3\n');
  const c = ulearn('run', cfg);
  assert.equal(c.code, 2);
  assert.match(c.err, /bad\.yaml: pretrain\.batchSize/);
  const m = ulearn('run', join(dir, 'missing.yaml'));
  assert.notEqual(m.code, 0);
  assert.match(m.err, /missing\.yaml/);
  const e = ulearn('eval', dir);
  assert.notEqual(e.code, 0);
  assert.match(e.err, /not a run directory/);
});

test('commands that do not label never load the labeling app (fastify, better-sqlite3)', () => {
  // A resolve hook reports every package entry the CLI imports; `ulearn --help` registers every command.
  const dir = mkdtempSync(join(tmpdir(), 'ulearn-imports-'));
  const hooks = join(dir, 'hooks.mjs');
  writeFileSync(hooks, `export async function resolve(s, c, next) { const r = await next(s, c); if (/node_modules\\/(fastify|better-sqlite3)\\//.test(r.url)) console.log('LOADED ' + r.url); return r; }\n`);
  const setup = join(dir, 'setup.mjs');
  writeFileSync(setup, `import { register } from 'node:module'; import { pathToFileURL } from 'node:url'; register(pathToFileURL(${JSON.stringify(hooks)}).href);\n`);
  const r = runUlearn(['train', '--help'], { nodeArgs: ['--import', setup] });
  assert.equal(r.code, 0, r.err);
  assert.doesNotMatch(r.out, /LOADED/, 'a label-only library was loaded by a command that does not label');
  // The hook itself works: the label server's own module graph does load fastify.
  const probe = spawnSync(process.execPath, ['--import', setup, '--import', 'tsx', '-e', "await import('./src/label/server.ts')"], { encoding: 'utf8', timeout: 120_000, cwd: join(import.meta.dirname, '..', '..') });
  assert.match(probe.stdout, /LOADED .*fastify/, probe.stderr);
});
