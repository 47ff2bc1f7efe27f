/**
 * One sha256 over a file or a folder's files (names and bytes, sorted by relative path; dot-files skipped,
 * as replaceDir's leftovers are), so two machines can tell whether they hold the same model.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';

export async function sha256Files(source: string): Promise<string> {
  const hash = createHash('sha256');
  const st = await stat(source);
  const files: string[] = [];
  if (st.isDirectory()) {
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
  } else {
    files.push(source);
  }
  for (const f of files) {
    const rel = st.isDirectory() ? path.relative(source, f).split(path.sep).join('/') : path.basename(f);
    const bytes = await readFile(f);
    // Name and length first, so moving bytes from one file to the next changes the hash.
    hash.update(`${rel}\0${bytes.length}\0`);
    hash.update(bytes);
  }
  return hash.digest('hex');
}
