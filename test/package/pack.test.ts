/**
 * The npm package as a user gets it: `npm pack` (its `prepack` builds dist/ and the labeling UI), then
 * `npm install <tarball>` into an empty folder outside the checkout. From there: the `ulearn` binary runs, the
 * library imports from ESM, a consumer type-checks against the shipped .d.ts (and a wrong one does not), and
 * `ulearn label` serves the shipped UI.
 *
 * Speed: the install reuses this checkout's node_modules (copied, not hard-linked: npm rewrites its hidden
 * lockfile in place) and runs --offline; npm only prunes what ulearn does not depend on. About a minute
 * here, most of it tsc and vite in `prepack`.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

const root = fileURLToPath(new URL('../..', import.meta.url));

function run(cmd: string, args: string[], opts: SpawnSyncOptions = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 300_000, ...opts });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} exited ${r.status}\n${String(r.stdout)}\n${String(r.stderr)}`);
  return String(r.stdout);
}

test('npm pack, installed into an empty folder, gives a working ulearn binary, library, types and labeling UI', async (t) => {
  const tmp = mkdtempSync(join(tmpdir(), 'ulearn-pack-'));
  t.after(() => rmSync(tmp, { recursive: true, force: true })); // it holds a copy of node_modules (~430 MB)
  run('npm', ['pack', '--pack-destination', tmp, '--silent'], { cwd: root });
  const tarball = join(tmp, readdirSync(tmp).find((f) => f.endsWith('.tgz'))!);
  const files = run('tar', ['tzf', tarball]).trim().split('\n').map((f) => f.replace(/^package\//, ''));
  for (const f of ['bin/ulearn.js', 'dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js', 'dist/label/retrain-child.js', 'web/label/dist/index.html']) {
    assert.ok(files.includes(f), `the package ships ${f}`);
  }
  assert.deepEqual(files.filter((f) => /^(src|test|bench|examples|web\/label\/src)\//.test(f)), [], 'sources and tests stay out of the package');

  const app = join(tmp, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  run('cp', ['-a', join(root, 'node_modules'), join(app, 'node_modules')]);
  run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--loglevel=error', tarball], { cwd: app });
  const ulearn = join(app, 'node_modules', '.bin', 'ulearn');
  const pkg = join(app, 'node_modules', 'ulearn');

  await t.test('the ulearn binary runs the compiled CLI', () => {
    const help = run(ulearn, ['--help'], { cwd: app });
    assert.match(help, /^Usage: ulearn/m);
    assert.match(help, /^\s+label\b/m);
    assert.ok(!existsSync(join(app, 'node_modules', 'vite')), 'vite (a dev dependency) was pruned: the installed package must not need it');
  });

  await t.test('the library imports from ESM', () => {
    const code = `import * as u from 'ulearn'; console.log(JSON.stringify([typeof u.loadDataset, typeof u.pretrain, typeof u.fit, typeof u.Classifier, typeof u.clean.runClean, typeof u.semi.labelSpreading, new u.UlearnError('x', { code: 'E_CONFIG' }).code]));`;
    assert.deepEqual(JSON.parse(run(process.execPath, ['--input-type=module', '-e', code], { cwd: app })), ['function', 'function', 'function', 'function', 'function', 'function', 'E_CONFIG']);
  });

  await t.test('a consumer type-checks against the shipped declarations, and a wrong one does not', () => {
    const good = [
      "import { applyLabelBudget, fit, loadDataset, models, pretrain, type Classifier, type Dataset, type Evaluation } from 'ulearn';",
      'export async function job(folder: string): Promise<Evaluation> {',
      '  const { train, test }: { train: Dataset; test?: Dataset } = await loadDataset({ folder, test: folder, size: 16 });',
      '  const encoder = models.buildResNetEncoder({ inputShape: [16, 16, 3], widths: [8], blocksPerStage: 1 });',
      '  await pretrain(encoder, train, { steps: 1 });',
      "  const clf: Classifier = await fit('linear', { train, labels: applyLabelBudget(train, { perClass: 1, seed: 0 }), encoder });",
      '  return clf.evaluate(test!);',
      '}',
    ].join('\n');
    writeFileSync(join(app, 'good.ts'), good);
    writeFileSync(join(app, 'bad.ts'), "import { pretrain } from 'ulearn';\nexport const n: number = pretrain;\n");
    const tsc = (file: string) =>
      spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--skipLibCheck', '--types', 'node', '--typeRoots', join(root, 'node_modules', '@types'), file], { cwd: app, encoding: 'utf8' });
    const ok = tsc('good.ts');
    assert.equal(ok.status, 0, ok.stdout);
    const bad = tsc('bad.ts');
    // TS2322 (wrong type) proves the declarations were found and read; TS2307 would mean they were not.
    assert.match(bad.stdout, /bad\.ts\(2,14\): error TS2322/);
  });

  await t.test('ulearn label serves the shipped UI from the installed package', async () => {
    const images = join(tmp, 'images');
    mkdirSync(images);
    for (let i = 0; i < 6; i++) {
      await sharp(Buffer.alloc(64, i * 40), { raw: { width: 8, height: 8, channels: 1 } }).png().toFile(join(images, `s${i}.png`));
    }
    const project = join(tmp, 'project');
    run(ulearn, ['label', 'init', project, '--data', images, '--classes', 'a,b'], { cwd: app });
    const proc = spawn(ulearn, ['label', project, '--port', '0'], { cwd: app, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let err = '';
      proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const address = await new Promise<string>((resolve, reject) => {
        let out = '';
        proc.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /listening (http:\/\/\S+)/.exec(out);
          if (m) resolve(m[1]);
        });
        proc.once('exit', (code) => reject(new Error(`label server exited with ${code}: ${err}`)));
      });
      const res = await fetch(`${address}/`);
      assert.equal(res.status, 200);
      assert.equal(await res.text(), readFileSync(join(pkg, 'web', 'label', 'dist', 'index.html'), 'utf8'));
      assert.doesNotMatch(err, /building the web UI/, 'the installed package uses its shipped build');
    } finally {
      proc.kill('SIGTERM');
    }
  });
});
