/**
 * Models on S3 (`--encoder s3://bucket/models/enc/`, `ulearn predict s3://bucket/models/clf/ …`): downloaded
 * once into `<cache>/s3-models/<key>/` and used from there, by the coordinator and by every worker alike.
 *
 * The key is the sha256 of the URL and every object's key and ETag, so a model changed on S3 (new ETags) is a
 * new download, never a stale copy; and the sha256 a distributed run checks (util/hash-files.ts) is taken over
 * the downloaded files, so a worker whose copy differs still refuses the job. A copy is published by one
 * rename of a complete folder: a crash mid-download leaves a temp folder, never a half model under the key.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { cacheDir } from '../data/download.js';
import { UlearnError } from '../errors.js';
import { getS3, isS3Url, listS3Folder, parseS3Url } from '../util/s3.js';

/** What to load `source` from on this machine: a local path as given, an s3:// model's cached copy. */
export async function localModel(source: string): Promise<string> {
  if (!isS3Url(source)) return source;
  const { self, under } = await listS3Folder(source);
  const objects = self ? [self] : under;
  if (objects.length === 0) throw new UlearnError(`${source}: no model there (no object, and no objects under it)`, { code: 'E_S3', exitCode: 2, hint: 'give the S3 prefix of a model folder (…/enc/) or a model file' });
  const base = self ? parseS3Url(source).key.slice(0, parseS3Url(source).key.lastIndexOf('/') + 1) : prefixOf(source);
  const key = createHash('sha256').update([source, ...objects.map((o) => `${o.key}\0${o.etag}`)].join('\n')).digest('hex');
  const root = path.join(cacheDir(), 's3-models');
  const dir = path.join(root, key);
  const local = self ? path.join(dir, self.key.slice(base.length)) : dir;
  if (existsSync(dir)) return local;
  await mkdir(root, { recursive: true });
  const tmp = path.join(root, `.${key}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    for (const o of objects) {
      const rel = o.key.slice(base.length);
      // A key with `..` segments would write outside the copy.
      if (rel.split('/').some((p) => p === '..' || p === '.')) throw new UlearnError(`${o.url}: a key with '.' or '..' segments cannot be a model file`, { code: 'E_S3', exitCode: 2 });
      if (rel === '' || rel.endsWith('/')) continue; // "folder" marker objects some tools create
      const file = path.join(tmp, ...rel.split('/'));
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, await getS3(o.url));
    }
    // Another process may have published the same key meanwhile: same bytes, keep theirs.
    await rename(tmp, dir).catch((e: NodeJS.ErrnoException) => {
      if (!existsSync(dir)) throw e;
    });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return local;
}

/** The key prefix of a folder URL, with its trailing slash. */
function prefixOf(url: string): string {
  const { key } = parseS3Url(url);
  return key === '' || key.endsWith('/') ? key : `${key}/`;
}
