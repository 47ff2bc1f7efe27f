/**
 * A throwaway S3-compatible server for the tests: s3rver (objects kept in a temp folder) on a free loopback
 * port, with the environment ulearn reads (AWS_ENDPOINT_URL and s3rver's fixed credentials) to point at it.
 * `bucket()` makes a fresh bucket, so each test has its own; `stop()` closes the server and removes its folder.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import S3rver from 's3rver';
import { freePort } from './ports.js';

/** s3rver accepts this one key pair (its built-in account). */
export const S3RVER_KEY = { id: 'S3RVER', secret: 'S3RVER' };

export class TestS3 {
  private count = 0;
  private constructor(
    private readonly server: S3rver,
    private readonly dir: string,
    readonly port: number,
  ) {}

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The variables a ulearn process needs to use this server (set them in process.env, or pass to a child). */
  get env(): Record<string, string> {
    return { AWS_ENDPOINT_URL: this.endpoint, AWS_ACCESS_KEY_ID: S3RVER_KEY.id, AWS_SECRET_ACCESS_KEY: S3RVER_KEY.secret, AWS_REGION: 'us-east-1' };
  }

  static async start(): Promise<TestS3> {
    const dir = mkdtempSync(join(tmpdir(), 'ulearn-s3rver-'));
    const port = await freePort();
    const server = new S3rver({ address: '127.0.0.1', port, silent: true, directory: dir });
    await server.run();
    return new TestS3(server, dir, port);
  }

  /** A new, empty bucket (`<prefix>-<n>`) through the SDK; its name. */
  async bucket(prefix = 'test'): Promise<string> {
    const name = `${prefix}-${++this.count}`;
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
    const { S3Client, CreateBucketCommand } = await import('@aws-sdk/client-s3');
    const client = new S3Client({ region: 'us-east-1', endpoint: this.endpoint, forcePathStyle: true, credentials: { accessKeyId: S3RVER_KEY.id, secretAccessKey: S3RVER_KEY.secret } });
    try {
      await client.send(new CreateBucketCommand({ Bucket: name }));
    } finally {
      client.destroy();
    }
    return name;
  }

  async stop(): Promise<void> {
    await this.server.close().catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Every file under `dir` (relative paths with '/'), sorted: what uploadDir puts under a prefix. */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else out.push(relative(dir, join(d, e.name)).split(sep).join('/'));
    }
  };
  walk(dir);
  return out.sort();
}

/** Uploads every file under `dir` to `<url>/<relative path>` with `put` (ulearn's own putS3). */
export async function uploadDir(dir: string, url: string, put: (url: string, bytes: Uint8Array) => Promise<void>): Promise<void> {
  const base = url.endsWith('/') ? url : `${url}/`;
  for (const f of filesUnder(dir)) await put(`${base}${f}`, readFileSync(join(dir, ...f.split('/'))));
}
