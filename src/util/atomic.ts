/**
 * Atomic file writes: readers (and a crash mid-write) only ever see the old file or the complete new one.
 * The temp file lives in the target's directory because rename() is only atomic within one filesystem.
 */
import { mkdir, open, rename, rm, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';

export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let renamed = false;
  try {
    const fh = await open(tmp, 'wx').catch((e: NodeJS.ErrnoException) => {
      // Name the file the caller asked for (a missing or read-only folder), not our temp name.
      e.path = path;
      throw e;
    });
    try {
      await fh.writeFile(data);
      // fsync before rename, or a crash can leave the new name pointing at an empty file.
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    renamed = true;
    await syncDir(dir);
  } finally {
    if (!renamed) await unlink(tmp).catch(() => undefined);
  }
}

/** Pretty-printed JSON with a trailing newline (diff- and human-friendly). */
export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n');
}

/** Makes the rename itself durable; best effort, since some platforms cannot open or fsync a directory. */
export async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // Not fatal: the data is already fsynced, only the directory entry may lag.
  }
}

/**
 * Puts the finished folder `tmp` (written and synced by the caller, in `dir`'s parent) at `dir` by rename. An
 * existing `dir` is moved aside first (as `.<name>.old-<hex>`, where a loader looking for the newest complete
 * copy after a crash can find it), put back if the rename fails, and removed after. Used by checkpoints, exports
 * and generated folders: readers see the old folder or the new one, never a mix.
 */
export async function replaceDir(tmp: string, dir: string): Promise<void> {
  const parent = dirname(resolve(dir));
  await mkdir(parent, { recursive: true });
  let old: string | undefined;
  if (await stat(dir).catch(() => undefined)) {
    old = join(parent, `.${basename(dir)}.old-${randomBytes(4).toString('hex')}`);
    await rename(dir, old);
  }
  try {
    await rename(tmp, dir);
  } catch (e) {
    if (old) await rename(old, dir);
    throw e;
  }
  await syncDir(parent);
  if (old) await rm(old, { recursive: true, force: true });
}
