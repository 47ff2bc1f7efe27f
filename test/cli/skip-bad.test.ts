/**
 * `--skip-bad` on a folder of audio clips with a truncated WAV and one holding a NaN sample: without it the
 * first bad file stops the command with an error naming the file and the problem; with it every bad file is
 * listed with its reason, then counted, and the load goes on.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nanWav, toneFolder, truncatedWav } from '../data/audio-folder-fixtures.js';
import { folderSpec, loadDataset } from '../../src/data/load.js';
import { ulearn } from './run-cli.js';

function badFolder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ulearn-skip-bad-'));
  toneFolder(dir, { perClass: 3 });
  writeFileSync(join(dir, 'low', 'cut.wav'), truncatedWav());
  writeFileSync(join(dir, 'high', 'nan.wav'), nanWav());
  return dir;
}

test('train on an audio folder with bad files: a clear error without --skip-bad', () => {
  const dir = badFolder();
  const r = ulearn('train', dir, '--method', 'supervised', '--out', join(dir, 'model'));
  assert.equal(r.code, 2, r.err);
  // Files load concurrently, so either bad file may be the one reported; each names the file and the problem.
  assert.match(r.err, /(low\/cut\.wav: cannot read audio: truncated: the data chunk|high\/nan\.wav: cannot read audio: sample 100 at byte \d+ is NaN)/);
  assert.match(r.err, /--skip-bad|skipBad/);
  assert.doesNotMatch(r.err, /at .*\.ts:\d+/, 'no stack trace');
});

test('--skip-bad lists each skipped audio file with its reason and the count, and goes on', () => {
  const dir = badFolder();
  const r = ulearn('train', dir, '--method', 'supervised', '--skip-bad', '--epochs', '1', '--out', join(dir, 'model'));
  assert.match(r.err, new RegExp(`skipped ${dir}/high/nan\\.wav: sample 100 at byte \\d+ is NaN`));
  assert.match(r.err, new RegExp(`skipped ${dir}/low/cut\\.wav: truncated: the data chunk at byte 36 declares 16000 bytes`));
  assert.match(r.err, /skipped 2 unreadable files \(skipBad\)/);
  // Whatever training then does with audio, the bad files are not what stops it.
  assert.doesNotMatch(r.err, /cannot read audio/);
});

test('the pipeline commands get skipBad through the spec; loadDataset with only a log lists the skipped files there', async () => {
  const dir = badFolder();
  // pretrain/demo pass this spec to the pipeline, which loads it with { log } only (no onSkip).
  const spec = await folderSpec(dir, { skipBad: true });
  assert.deepEqual(spec, { audio: dir, skipBad: true });
  const lines: string[] = [];
  const { train } = await loadDataset(spec, { log: (l) => lines.push(l) });
  assert.equal(train.size, 6);
  assert.deepEqual(lines, [
    `skipped ${join(dir, 'high/nan.wav')}: sample 100 at byte 444 is NaN; a WAV file must hold finite numbers`,
    `skipped ${join(dir, 'low/cut.wav')}: truncated: the data chunk at byte 36 declares 16000 bytes, but the file ends 100 bytes after its header`,
    'skipped 2 unreadable files (skipBad)',
  ]);
  // Without --skip-bad (and a test folder), the path stays as it was; a test folder routes by content.
  assert.equal(await folderSpec(dir), dir);
  assert.deepEqual(await folderSpec(dir, { test: dir }), { audio: dir, test: dir });
  assert.equal(await folderSpec('mnist', { skipBad: true }), 'mnist');
});

test('--skip-bad is in the help of train, pretrain and demo', () => {
  for (const cmd of ['train', 'pretrain', 'demo']) assert.match(ulearn(cmd, '--help').out, /--skip-bad/, cmd);
});
