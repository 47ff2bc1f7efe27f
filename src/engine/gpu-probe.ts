/**
 * A quiet pre-check for the WebGPU probe. Dawn tries Vulkan on Linux and, when the Vulkan loader is missing,
 * prints `Warning: Couldn't load Vulkan: libvulkan.so.1 ... BackendVk.cpp:368` from C++ straight to stderr,
 * before any ulearn output and on every command (`auto` probes for a GPU). Without the loader there is no
 * Vulkan device for Dawn to find, so the probe can stop before creating a Dawn instance.
 */

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
