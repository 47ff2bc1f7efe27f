/**
 * A quiet pre-check for the WebGPU probe. Dawn tries Vulkan on Linux and, when the Vulkan loader is missing,
 * prints `Warning: Couldn't load Vulkan: libvulkan.so.1 ... BackendVk.cpp:368` from C++ straight to stderr,
 * before any ulearn output and on every command (`auto` probes for a GPU). Without the loader there is no
 * Vulkan device for Dawn to find, so the probe can stop before creating a Dawn instance.
 *
 * With the loader but no GPU (a machine where a package pulled in libvulkan1 and Mesa's software drivers, as
 * Debian's python3-torch does), Dawn still writes to stderr while it rejects the drivers ("XDG_RUNTIME_DIR is
 * invalid", "Vulkan shaderUniform*ArrayDynamicIndexing required … PhysicalDeviceVk.cpp"). So the adapter is
 * first asked for in a child process whose stderr is kept: only when it finds one does Dawn start in ours.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

/**
 * Whether the Vulkan loader can be loaded here, looked up the way Dawn's dlopen looks it up
 * (LD_LIBRARY_PATH, the ld.so cache, the system folders). Always true off Linux, where Dawn uses Metal or D3D12.
 */
export function vulkanLoaderPresent(platform: NodeJS.Platform = process.platform, dlopen: (module: { exports: unknown }, file: string) => void = process.dlopen): boolean {
  if (platform !== 'linux') return true;
  try {
    dlopen({ exports: {} }, 'libvulkan.so.1');
    return true;
  } catch (e) {
    // A library that loads is no Node add-on, so process.dlopen still throws ("did not self-register"): only
    // the loader's own "cannot open shared object file" means it is absent.
    return !/cannot open shared object file/i.test(String((e as Error)?.message));
  }
}

/** What the child probe found: an adapter's description, or why there is none (Dawn's own words are kept out). */
export type AdapterProbe = { found: true; adapter: string } | { found: false; why: string };

/**
 * Asks Dawn for a GPU adapter in a child process (its stderr captured, not shown); about half a second, paid
 * only where a Vulkan loader exists. `webgpuEntry`: the resolved path of the `webgpu` package.
 */
export function probeAdapterInChild(webgpuEntry = createRequire(import.meta.url).resolve('webgpu'), timeoutMs = 30_000): AdapterProbe {
  const script = [
    `const m = await import(${JSON.stringify(pathToFileURL(webgpuEntry).href)});`,
    'const mod = m.default ?? m;',
    'Object.assign(globalThis, mod.globals);',
    'const a = await mod.create([]).requestAdapter();',
    'const i = a && a.info;',
    "process.stdout.write(JSON.stringify(a ? { found: true, adapter: [i?.vendor, i?.architecture, i?.device].filter(Boolean).join(' ') || 'GPU adapter' } : { found: false, why: 'Dawn found no Vulkan/Metal/D3D12 device' }));",
    'process.exit(0);',
  ].join('\n');
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const out = JSON.parse(r.stdout) as AdapterProbe;
    if (typeof out.found === 'boolean') return out;
  } catch {
    // fall through: the child died or printed something else
  }
  return { found: false, why: r.error ? `the GPU probe failed (${r.error.message})` : `the GPU probe exited with ${r.status ?? r.signal}` };
}
