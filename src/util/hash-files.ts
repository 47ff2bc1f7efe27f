/**
 * One sha256 over a file or a folder's files (names and bytes, sorted by relative path; dot-files skipped,
 * as replaceDir's leftovers are), so two machines can tell whether they hold the same model.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';

/** The files `sha256Files` reads, sorted, with the name each is hashed under. */
async function listFiles(source: string): Promise<{ file: string; name: string }[]> {
  const st = await stat(source);
  if (!st.isDirectory()) return [{ file: source, name: path.basename(source) }];
  const files: string[] = [];
  const walk = async (dir: string) => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      if (e.name.startsWith('.')) continue;
      const p = path.join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) files.push(p);
    }
  };
  await walk(source);
  files.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return files.map((file) => ({ file, name: path.relative(source, file).split(path.sep).join('/') }));
}

export async function sha256Files(source: string): Promise<string> {
  const hash = createHash('sha256');
  for (const { file, name } of await listFiles(source)) {
    const bytes = await readFile(file);
    // Name and length first, so moving bytes from one file to the next changes the hash.
    hash.update(`${name}\0${bytes.length}\0`);
    hash.update(bytes);
  }
  return hash.digest('hex');
}

const CACHE = new Map<string, { stamp: string; sha256: string }>();

/**
 * `sha256Files`, read again only when a file's name, size, modification time or inode changed since the last
 * call for `source` (a worker checks the model before every shard; re-reading a large model each time would
 * cost more than the shard). Rewrites and renames (how every ulearn save publishes) change the stamp.
 */
export async function sha256FilesCached(source: string): Promise<string> {
  const list = await listFiles(source);
  const stats = await Promise.all(list.map(async ({ file, name }) => {
    const s = await stat(file);
    return `${name}:${s.size}:${s.mtimeMs}:${s.ino}`;
  }));
  const stamp = stats.join('\n');
  const hit = CACHE.get(source);
  if (hit?.stamp === stamp) return hit.sha256;
  const sha256 = await sha256Files(source);
  CACHE.set(source, { stamp, sha256 });
  return sha256;
}
