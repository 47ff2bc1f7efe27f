/**
 * Fetching dataset files into the cache: downloaded bytes are checked against a pinned SHA-256 before they
 * touch the cache, and written atomically, so the cache never holds a partial or unverified file.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { UlearnError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic.js';

/** `$ULEARN_CACHE`, else `~/.cache/ulearn`. */
export function cacheDir(): string {
  const env = process.env.ULEARN_CACHE;
  return env && env.length > 0 ? env : join(homedir(), '.cache', 'ulearn');
}

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export interface FetchOptions {
  /** Per-request limit in ms (default 10 minutes: the largest file is ~26 MB). */
  timeoutMs?: number;
}

/** GETs `url` into memory and checks its SHA-256; throws a UlearnError naming the URL on any failure. */
export async function fetchVerified(url: string, expectedSha256: string, opts: FetchOptions = {}): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(opts.timeoutMs ?? 600_000), redirect: 'follow' });
  } catch (err) {
    throw new UlearnError(`download of ${url} failed: ${describeFetchError(err)}`, {
      code: 'E_DOWNLOAD',
      cause: err,
    });
  }
  if (!res.ok) {
    throw new UlearnError(`download of ${url} failed: HTTP ${res.status} ${res.statusText}`, { code: 'E_DOWNLOAD' });
  }
  let body: Uint8Array;
  try {
    body = new Uint8Array(await res.arrayBuffer());
  } catch (err) {
    throw new UlearnError(`download of ${url} was cut off: ${describeFetchError(err)}`, { code: 'E_DOWNLOAD', cause: err });
  }
  const actual = sha256Hex(body);
  if (actual !== expectedSha256.toLowerCase()) {
    throw new UlearnError(
      `download of ${url} has the wrong SHA-256: expected ${expectedSha256}, got ${actual} (${body.length} bytes); nothing was saved`,
      { code: 'E_CHECKSUM', hint: 'the mirror may serve a different or damaged file; try again later or another mirror' },
    );
  }
  return body;
}

/**
 * Returns the path of `dest` once it holds a file with the given SHA-256: an existing verified file is kept,
 * otherwise each URL is tried in turn (network and HTTP errors move on to the next; a checksum mismatch is
 * reported at once, since it means a mirror serves something else). A stale or damaged cached file is replaced.
 */
export async function ensureCachedFile(dest: string, urls: string[], expectedSha256: string, opts: FetchOptions = {}): Promise<string> {
  const existing = await readFile(dest).catch(() => undefined);
  if (existing && sha256Hex(existing) === expectedSha256.toLowerCase()) return dest;
  if (urls.length === 0) {
    const what = existing ? `has SHA-256 ${sha256Hex(existing)}, expected ${expectedSha256}` : 'is missing';
    throw new UlearnError(`${dest}: ${what}, and there is no URL to download it from`, {
      code: existing ? 'E_CHECKSUM' : 'E_DATA_MISSING',
      hint: 'delete the file and allow downloads, or replace it with the published one',
    });
  }
  const failures: UlearnError[] = [];
  const offline = `no network? fetch the file elsewhere and copy it to ${dest}`;
  for (const url of urls) {
    try {
      const body = await fetchVerified(url, expectedSha256, opts);
      await mkdir(dirname(dest), { recursive: true });
      await writeFileAtomic(dest, body);
      return dest;
    } catch (err) {
      if (!(err instanceof UlearnError) || err.code === 'E_CHECKSUM') throw err;
      failures.push(err);
    }
  }
  if (failures.length === 1) throw new UlearnError(failures[0].message, { code: failures[0].code, hint: offline, cause: failures[0] });
  throw new UlearnError(`could not download ${dest}: every mirror failed:\n${failures.map((f) => `  ${f.message}`).join('\n')}`, {
    code: 'E_DOWNLOAD',
    hint: offline,
  });
}

function describeFetchError(err: unknown): string {
  if (err instanceof Error) {
    if (err.name === 'TimeoutError') return 'timed out';
    // undici hides the useful part (ECONNREFUSED, ENOTFOUND...) in `cause`.
    const cause = (err as Error & { cause?: unknown }).cause;
    if (cause instanceof Error) return `${err.message} (${(cause as NodeJS.ErrnoException).code ?? cause.message})`;
    return err.message;
  }
  return String(err);
}
