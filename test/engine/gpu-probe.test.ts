import { test } from 'node:test';
import assert from 'node:assert/strict';
import { vulkanLoaderPresent } from '../../src/engine/gpu-probe.js';

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
