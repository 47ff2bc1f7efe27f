/**
 * The browser UI lives in web/label/ (TypeScript, built by Vite into web/label/dist/, which is not
 * committed). `ensureWebBuilt` builds it when the build is missing or older than its sources, so a fresh
 * clone works with `ulearn label` and the e2e tests without a separate build step. The npm package ships
 * only the build (package.json `files`, built by `prepack`) and no sources or Vite: there the build is used
 * as it is.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UlearnError } from '../errors.js';

/** web/label, found from this module's location (src/label/ under tsx, dist/label/ when built). */
export const WEB_ROOT = fileURLToPath(new URL('../../web/label/', import.meta.url));
export const WEB_DIST = join(WEB_ROOT, 'dist');

function newestMtime(dir: string): number {
  let t = 0;
  for (const name of readdirSync(dir)) {
    if (name === 'dist' || name === 'node_modules') continue;
    const p = join(dir, name);
    const st = statSync(p);
    t = Math.max(t, st.isDirectory() ? newestMtime(p) : st.mtimeMs);
  }
  return t;
}

export function webBuildIsFresh(): boolean {
  const index = join(WEB_DIST, 'index.html');
  return existsSync(index) && statSync(index).mtimeMs >= newestMtime(WEB_ROOT);
}

export async function ensureWebBuilt(log: (line: string) => void = (l) => console.error(l)): Promise<string> {
  if (!existsSync(join(WEB_ROOT, 'src'))) {
    // An installed package: nothing to build from, so the shipped build must be there.
    if (existsSync(join(WEB_DIST, 'index.html'))) return WEB_DIST;
    throw new UlearnError(`the labeling UI build is missing (${WEB_DIST}) and there are no sources to build it from`, {
      code: 'E_SETUP',
      hint: 'reinstall ulearn; a package made with `npm pack` from a checkout includes web/label/dist',
    });
  }
  if (webBuildIsFresh()) return WEB_DIST;
  let vite: typeof import('vite');
  try {
    vite = await import('vite');
  } catch (err) {
    throw new UlearnError(`the labeling UI is not built (${WEB_DIST}) and Vite is not installed to build it`, {
      code: 'E_SETUP',
      hint: 'run `npm ci` (Vite is a dev dependency) or `npm run build:web`',
      cause: err,
    });
  }
  log('label: building the web UI (vite)…');
  await vite.build({ root: WEB_ROOT, configFile: join(WEB_ROOT, 'vite.config.ts'), logLevel: 'warn' });
  return WEB_DIST;
}
