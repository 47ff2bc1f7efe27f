/**
 * From a clone, `bash scripts/setup.sh` puts `ulearn` on the PATH (README "Two commands"): a link to the
 * checkout's bin/ulearn.js that runs from any folder. ULEARN_BIN_DIR points it at a temp folder here.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

test('scripts/setup.sh links ulearn into a bin folder, and `ulearn --help` runs from any folder through it', () => {
  const binDir = mkdtempSync(join(tmpdir(), 'ulearn-bin-'));
  const env = { ...process.env, ULEARN_BIN_DIR: binDir, PATH: `${binDir}${delimiter}${process.env.PATH ?? ''}` };
  const setup = spawnSync('bash', [join(root, 'scripts', 'setup.sh')], { env, encoding: 'utf8', timeout: 600_000 });
  assert.equal(setup.status, 0, setup.stdout + setup.stderr);
  assert.equal(readlinkSync(join(binDir, 'ulearn')), join(root, 'bin', 'ulearn.js'));
  const help = spawnSync('ulearn', ['--help'], { env, cwd: tmpdir(), encoding: 'utf8', timeout: 120_000 });
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /^Usage: ulearn/m);
});
