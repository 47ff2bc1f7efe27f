/**
 * Atomic file writes: readers (and a crash mid-write) only ever see the old file or the complete new one.
 * The temp file lives in the target's directory because rename() is only atomic within one filesystem.
 */
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
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
