/**
 * Opening a sample's file for the server, safely. The data root is a folder other people may write to
 * (a shared dataset, a synced drive), so what is on disk now is not trusted to be what `label init`
 * registered:
 *
 * - **No links.** `label init` registers regular files only (its walk skips links), so any link found
 *   later, as the file or as a folder on its way, is a change, and is refused: the file is opened with
 *   `O_NOFOLLOW` (a link as the last component fails to open), and the path the open file really has
 *   (`/proc/self/fd`, else `realpath`) must be exactly `<real data root>/<registered path>`. Checking the
 *   opened descriptor rather than the path before opening leaves no window to swap a link in between.
 * - **No changed files.** The size and mtime recorded at import must match the open file. When they do
 *   not (or were not recorded: projects made before they were), the content's sha256 decides: the same
 *   bytes (a `touch`, a copy that kept the content) are served and the new size and mtime recorded;
 *   other bytes are refused, because the labels given so far were given to the old content.
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { open, readlink, realpath, type FileHandle } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { UlearnError } from '../errors.js';
import type { LabelStore } from './store.js';

export interface OpenMedia {
  handle: FileHandle;
  /** The registered path, relative to the data root (for the MIME type and messages). */
  file: string;
  size: number;
}

/** Where an open descriptor really points; undefined where the OS does not say (no /proc). */
async function pathOfFd(fd: number): Promise<string | undefined> {
  if (process.platform !== 'linux') return undefined;
  return readlink(`/proc/self/fd/${fd}`).catch(() => undefined);
}

/**
 * Opens sample `id`'s file for reading; the caller streams from `handle` and must close it. Throws
 * UlearnError: E_NOT_FOUND (no such sample, or its file is gone), E_MEDIA_LINK (a link, or a path that
 * leaves the data root), E_MEDIA_CHANGED (the content differs from what was registered).
 */
export async function openMedia(store: LabelStore, id: number): Promise<OpenMedia> {
  const rec = await store.sampleFile(id);
  if (!rec) throw new UlearnError(`no sample with id ${id}`, { code: 'E_NOT_FOUND' });
  const root = await realpath(store.meta.dataRoot).catch(() => {
    throw new UlearnError(`the project's data root ${store.meta.dataRoot} is missing`, { code: 'E_NOT_FOUND' });
  });
  const expected = join(root, rec.file);
  // A registered path is relative and inside the root; a project database edited by hand might not be.
  if (!expected.startsWith(root + sep)) throw new UlearnError(`sample ${id}: ${rec.file} is outside the data root`, { code: 'E_MEDIA_LINK' });
  let handle: FileHandle;
  try {
    handle = await open(expected, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new UlearnError(`sample ${id}: ${rec.file} is missing from the data root`, { code: 'E_NOT_FOUND' });
    if (code === 'ELOOP') throw linkError(id, rec.file);
    throw err;
  }
  try {
    const real = (await pathOfFd(handle.fd)) ?? (await realpath(expected));
    if (real !== expected) throw linkError(id, rec.file);
    const st = await handle.stat();
    if (!st.isFile()) throw new UlearnError(`sample ${id}: ${rec.file} is not a regular file`, { code: 'E_MEDIA_LINK' });
    if (st.size !== rec.size || st.mtimeMs !== rec.mtimeMs) {
      const hash = createHash('sha256').update(await handle.readFile()).digest('hex');
      if (hash !== rec.hash) {
        const what = rec.size !== null && st.size !== rec.size ? `${rec.size} bytes then, ${st.size} now` : 'its sha256 differs';
        throw new UlearnError(`sample ${id}: ${rec.file} changed since it was registered (${what}); its labels were given to the old content`, {
          code: 'E_MEDIA_CHANGED',
          hint: 'restore the original file, or make a new project with `ulearn label init` (carry labels over with export and import)',
        });
      }
      await store.recordFileStat(id, st.size, st.mtimeMs);
    }
    return { handle, file: rec.file, size: st.size };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

function linkError(id: number, file: string): UlearnError {
  return new UlearnError(`sample ${id}: ${file} is a symbolic link or leads outside the data root; not served`, {
    code: 'E_MEDIA_LINK',
    hint: 'a registered file must stay a regular file under the data root: replace the link with the file itself',
  });
}
