/**
 * S3-compatible object storage for data, models and the run folders of distributed steps: `s3://bucket/prefix`
 * URLs, one client made on first use, and the few operations ulearn needs (list, get, put, delete a prefix).
 *
 * - The SDK (@aws-sdk/client-s3) is imported only when an s3:// URL is used: it is large, and a command that
 *   never touches S3 should not pay for loading it.
 * - Configuration is the standard AWS one, read by the SDK: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or any
 *   other credential source of the default chain), AWS_REGION (default us-east-1 here), and AWS_ENDPOINT_URL_S3
 *   or AWS_ENDPOINT_URL for MinIO, Ceph, s3rver and the like, which are addressed path-style
 *   (`http://host:9000/bucket/key`: such servers rarely have a DNS name per bucket).
 * - Every failure a user can cause (endpoint unreachable, bucket missing, access denied, object missing) is a
 *   UlearnError E_S3, exit 2, naming the URL; the secret key, a session token and any password in the endpoint
 *   URL are removed from every message (`maskS3`).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { UlearnError } from '../errors.js';
import { maskSecrets, maskUrl } from './mask.js';

export const isS3Url = (s: string): boolean => /^s3:\/\//i.test(s);

export interface S3Location {
  bucket: string;
  /** The key or key prefix, without a leading slash ('' for the whole bucket). */
  key: string;
}

/** `s3://bucket/key…` → { bucket, key }; anything else is an E_ARG naming it. */
export function parseS3Url(url: string): S3Location {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/i.exec(url);
  if (!m || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(m[1])) {
    throw new UlearnError(`${url}: not an S3 URL`, { code: 'E_ARG', hint: 'e.g. s3://my-bucket/images/ (bucket names: 3 to 63 lower-case letters, digits, dots, dashes)' });
  }
  return { bucket: m[1], key: m[2] };
}

export const s3Url = (bucket: string, key: string): string => `s3://${bucket}/${key}`;

/** `url` as a folder (a trailing slash), and a name inside it. */
export const s3Join = (url: string, name: string): string => `${url.endsWith('/') ? url : `${url}/`}${name}`;

/** The endpoint override, if any (AWS_ENDPOINT_URL_S3 first, as the AWS tools read them). */
export function s3Endpoint(): string | undefined {
  return process.env.AWS_ENDPOINT_URL_S3 || process.env.AWS_ENDPOINT_URL || undefined;
}

/** `text` without the secret key, the session token or the endpoint's password. */
export function maskS3(text: string): string {
  let out = text;
  const endpoint = s3Endpoint();
  if (endpoint) out = maskSecrets(out, endpoint);
  for (const s of [process.env.AWS_SECRET_ACCESS_KEY, process.env.AWS_SESSION_TOKEN]) {
    if (s && s.length >= 4) out = out.split(s).join('****');
  }
  return out;
}

/** Where requests go, for messages: the endpoint (masked) or AWS. */
export function describeEndpoint(): string {
  const endpoint = s3Endpoint();
  return endpoint ? maskUrl(endpoint) : `AWS S3 (${process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || 'us-east-1'})`;
}

type Sdk = typeof import('@aws-sdk/client-s3');
let loaded: Promise<{ sdk: Sdk; client: S3Client }> | undefined;
let loadedFor = '';

/** The SDK and one client, made on first use (and again if the configuration in the environment changed). */
async function s3(): Promise<{ sdk: Sdk; client: S3Client }> {
  const env = process.env;
  const key = [s3Endpoint(), env.AWS_REGION, env.AWS_DEFAULT_REGION, env.AWS_ACCESS_KEY_ID, env.AWS_SECRET_ACCESS_KEY, env.AWS_SESSION_TOKEN].join('\0');
  if (!loaded || loadedFor !== key) {
    loadedFor = key;
    loaded = (async () => {
      // The SDK warns on every start under Node 20 (its support ends in 2027); ulearn supports Node 20. It
      // checks for the string 'true' (@aws-sdk/core), not '1'.
      process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
      const sdk = await import('@aws-sdk/client-s3');
      const endpoint = s3Endpoint();
      const client = new sdk.S3Client({
        region: env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
        ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
        // Checksums only where the API requires them: S3-compatible servers do not all know the newer ones.
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
        // Bounded, so a wrong endpoint fails in seconds rather than hanging.
        requestHandler: { connectionTimeout: 10_000, requestTimeout: 300_000 },
        maxAttempts: 3,
      });
      return { sdk, client };
    })();
  }
  return loaded;
}

/** The SDK's error as a UlearnError E_S3 (exit 2) naming `url` and what went wrong, secrets removed. */
export function s3Error(e: unknown, url: string, doing: string): UlearnError {
  if (e instanceof UlearnError) return e;
  const err = e as Error & { name?: string; code?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
  const status = err.$metadata?.httpStatusCode;
  const name = err.Code ?? err.name ?? '';
  const raw = maskS3(err.message || name || String(e));
  const where = maskS3(url);
  const net = err.code ?? (err.cause as { code?: string } | undefined)?.code;
  let message: string;
  let hint: string;
  if (name === 'CredentialsProviderError') {
    message = `${where}: no AWS credentials for ${describeEndpoint()} (${doing}): ${raw}`;
    hint = 'set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) on this machine';
  } else if (!status && (net || /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNRESET|timeout|socket/i.test(raw))) {
    message = `cannot reach S3 at ${describeEndpoint()} (${doing} ${where}): ${raw}`;
    hint = 'check AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_S3 (host and port), and that the server runs and accepts connections from this machine';
  } else if (name === 'NoSuchBucket' || (status === 404 && doing.startsWith('checking'))) {
    message = `${where}: the bucket ${parseS3Url(url).bucket} does not exist at ${describeEndpoint()}`;
    hint = 'create it first (aws s3 mb, mc mb), or check the bucket name';
  } else if (name === 'NoSuchKey' || status === 404) {
    message = `${where}: no such object at ${describeEndpoint()}`;
    hint = 'check the URL (keys are case-sensitive)';
  } else if (status === 403 || /AccessDenied|InvalidAccessKeyId|SignatureDoesNotMatch|Forbidden/i.test(name)) {
    message = `${where}: access denied at ${describeEndpoint()} (${doing}): ${name || raw}`;
    hint = 'check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY and the bucket policy';
  } else {
    message = `${where}: S3 error while ${doing} (${name}${status ? `, HTTP ${status}` : ''}): ${raw}`;
    hint = 'see the S3 server\'s log';
  }
  return new UlearnError(message, { code: 'E_S3', exitCode: 2, hint });
}

/**
 * Key order of a listing: path segment by segment, each compared as `collectImageFiles` compares the names
 * in one folder (localeCompare), so an S3 prefix lists its images in the order the same tree on a disk does.
 */
export function compareKeys(a: string, b: string): number {
  const x = a.split('/');
  const y = b.split('/');
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const c = x[i].localeCompare(y[i]);
    if (c !== 0) return c;
    // Equal under the locale but not the same bytes: the code units decide, so the order is total.
    if (x[i] !== y[i]) return x[i] < y[i] ? -1 : 1;
  }
  return x.length - y.length;
}

export interface S3Object {
  url: string;
  key: string;
  etag: string;
  size: number;
}

/** Every object whose key starts with the URL's key, in `compareKeys` order (all pages). */
export async function listS3(url: string): Promise<S3Object[]> {
  const { bucket, key } = parseS3Url(url);
  const { sdk, client } = await s3();
  const out: S3Object[] = [];
  let token: string | undefined;
  try {
    do {
      const page = await client.send(new sdk.ListObjectsV2Command({ Bucket: bucket, Prefix: key, ContinuationToken: token }));
      for (const o of page.Contents ?? []) if (o.Key !== undefined) out.push({ url: s3Url(bucket, o.Key), key: o.Key, etag: o.ETag ?? '', size: o.Size ?? 0 });
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  } catch (e) {
    throw s3Error(e, url, 'listing');
  }
  return out.sort((a, b) => compareKeys(a.key, b.key));
}

/** The objects of a "folder": the URL itself if it is an object, else the keys under `<key>/`. */
export async function listS3Folder(url: string): Promise<{ self?: S3Object; under: S3Object[] }> {
  const { key } = parseS3Url(url);
  const all = await listS3(url);
  const dir = key === '' || key.endsWith('/') ? key : `${key}/`;
  return { self: all.find((o) => o.key === key && !key.endsWith('/')), under: all.filter((o) => o.key.startsWith(dir) && o.key !== dir) };
}

export async function getS3(url: string): Promise<Uint8Array> {
  const { bucket, key } = parseS3Url(url);
  const { sdk, client } = await s3();
  try {
    const r = await client.send(new sdk.GetObjectCommand({ Bucket: bucket, Key: key }));
    return await r.Body!.transformToByteArray();
  } catch (e) {
    throw s3Error(e, url, 'reading');
  }
}

/** Writes one object: readers see the old object, or none, or the whole new one (an S3 PUT is atomic). */
export async function putS3(url: string, bytes: Uint8Array | string): Promise<void> {
  const { bucket, key } = parseS3Url(url);
  const { sdk, client } = await s3();
  try {
    await client.send(new sdk.PutObjectCommand({ Bucket: bucket, Key: key, Body: typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes }));
  } catch (e) {
    throw s3Error(e, url, 'writing');
  }
}

/** Whether the object exists (a 404 is false; anything else that fails is an E_S3). */
export async function existsS3(url: string): Promise<boolean> {
  const { bucket, key } = parseS3Url(url);
  const { sdk, client } = await s3();
  try {
    await client.send(new sdk.HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (e) {
    if ((e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404 && (e as Error).name !== 'NoSuchBucket') return false;
    throw s3Error(e, url, 'reading');
  }
}

/** Checks that the endpoint answers and the URL's bucket exists and may be read: a clear error before any work. */
export async function checkBucket(url: string): Promise<void> {
  const { bucket } = parseS3Url(url);
  const { sdk, client } = await s3();
  try {
    await client.send(new sdk.HeadBucketCommand({ Bucket: bucket }));
  } catch (e) {
    throw s3Error(e, url, 'checking the bucket of');
  }
}

/** Removes every object under the URL's key (a "folder"), a thousand per request. */
export async function deleteS3Prefix(url: string): Promise<void> {
  const { bucket } = parseS3Url(url);
  const objects = await listS3(url);
  const { sdk, client } = await s3();
  try {
    for (let i = 0; i < objects.length; i += 1000) {
      const r = await client.send(new sdk.DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects.slice(i, i + 1000).map((o) => ({ Key: o.key })), Quiet: true } }));
      if (r.Errors?.length) throw new UlearnError(`${maskS3(url)}: ${r.Errors.length} object(s) could not be deleted (${r.Errors[0].Key}: ${r.Errors[0].Code})`, { code: 'E_S3', exitCode: 2 });
    }
  } catch (e) {
    throw s3Error(e, url, 'deleting');
  }
}

/** What decodeImage reads for `file`: the path itself, or an S3 object's bytes. */
export async function imageInput(file: string): Promise<string | Uint8Array> {
  return isS3Url(file) ? getS3(file) : file;
}
