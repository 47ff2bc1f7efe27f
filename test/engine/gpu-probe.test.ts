import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { probeAdapterInChild, vulkanLoaderPresent } from '../../src/engine/gpu-probe.js';

test('the Vulkan pre-check: absent only when the loader cannot be opened; never checked off Linux', () => {
  const throwing = (message: string) => () => {
    throw new Error(message);
  };
  assert.equal(vulkanLoaderPresent('linux', throwing('libvulkan.so.1: cannot open shared object file: No such file or directory')), false);
  assert.equal(vulkanLoaderPresent('linux', throwing("Module did not self-register: 'libvulkan.so.1'.")), true);
  assert.equal(vulkanLoaderPresent('darwin', throwing('cannot open shared object file')), true);
  // The real lookup agrees with a library every Linux has and one nobody has.
  if (process.platform === 'linux') {
    assert.equal(vulkanLoaderPresent('linux', (m, f) => process.dlopen(m as NodeModule, f === 'libvulkan.so.1' ? 'libm.so.6' : f)), true);
    assert.equal(vulkanLoaderPresent('linux', (m) => process.dlopen(m as NodeModule, 'libulearn-absent.so.9')), false);
  }
});

test('the adapter probe runs Dawn in a child: its stderr stays there, and what it found comes back', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ulearn-gpu-probe-'));
  const fake = (adapter: string) =>
    `process.stderr.write('error: XDG_RUNTIME_DIR is invalid\\n');\n` +
    `export const globals = {};\nexport function create() { return { requestAdapter: async () => ${adapter} }; }\n`;
  await writeFile(join(dir, 'none.mjs'), fake('null'));
  await writeFile(join(dir, 'one.mjs'), fake("({ info: { vendor: 'acme', device: 'x1' } })"));
  await writeFile(join(dir, 'dies.mjs'), 'process.exit(3);\n');
  assert.deepEqual(probeAdapterInChild(join(dir, 'none.mjs')), { found: false, why: 'Dawn found no Vulkan/Metal/D3D12 device' });
  assert.deepEqual(probeAdapterInChild(join(dir, 'one.mjs')), { found: true, adapter: 'acme x1' });
  assert.deepEqual(probeAdapterInChild(join(dir, 'dies.mjs')), { found: false, why: 'the GPU probe exited with 3' });
});
