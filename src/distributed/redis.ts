/**
 * Redis connections for the distributed steps, and the rule for printing a Redis URL (src/util/mask.ts): its password is
 * masked in every message (`maskUrl`, `maskSecrets`), including the errors ioredis and BullMQ raise.
 *
 * BullMQ needs `maxRetriesPerRequest: null` (a command waits for a reconnect instead of failing after a few
 * tries), which is what lets a run live through a Redis restart; but it also means a first connection to a
 * wrong URL would wait forever. So every connection starts with a bounded probe (`connectRedis`): a client
 * that does not retry, a ping, a deadline; only then the long-lived client, which reconnects for ever.
 */
import { Redis } from 'ioredis';
import { UlearnError } from '../errors.js';
import { maskSecrets, maskUrl } from '../util/mask.js';

export { maskSecrets, maskUrl };

/** Checks `url` is a redis:// or rediss:// URL; the error names it masked. */
export function checkRedisUrl(url: string, flag: string): void {
  let u: URL | undefined;
  try {
    u = new URL(url);
  } catch {
    u = undefined;
  }
  if (!u || (u.protocol !== 'redis:' && u.protocol !== 'rediss:') || !u.hostname) {
    throw new UlearnError(`${flag} ${maskUrl(url)}: not a Redis URL`, { code: 'E_ARG', hint: `e.g. ${flag} redis://:password@host:6379/0` });
  }
}

export interface ConnectOptions {
  /** How long the first connection may take before the command gives up; default 10 s. */
  timeoutMs?: number;
  /** Called (masked) when the long-lived client loses or regains its connection. */
  log?: (message: string) => void;
  /** For the message: which flag gave the URL. */
  flag?: string;
}

/**
 * A client for `url` that reconnects for ever (BullMQ's requirement), returned only once a ping within
 * `timeoutMs` has shown that the server is there; else a UlearnError (exit 2) naming the masked URL and why.
 */
export async function connectRedis(url: string, opts: ConnectOptions = {}): Promise<Redis> {
  const flag = opts.flag ?? '--redis';
  checkRedisUrl(url, flag);
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null, connectTimeout: timeoutMs });
  let lastError: Error | undefined;
  probe.on('error', (e: Error) => {
    lastError = e;
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      probe.connect().then(() => probe.ping()),
      new Promise((_r, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs);
      }),
    ]);
  } catch (e) {
    const why = maskSecrets((lastError ?? (e as Error)).message, url);
    throw new UlearnError(`cannot reach Redis at ${maskUrl(url)}: ${why}`, { code: 'E_REDIS', exitCode: 2, hint: `check ${flag}: host, port, password, and that redis-server runs and accepts connections from this machine` });
  } finally {
    clearTimeout(timer);
    probe.disconnect();
  }
  const client = new Redis(url, { maxRetriesPerRequest: null, retryStrategy: (times) => Math.min(100 * times, 2000) });
  let down = false;
  client.on('error', (e: Error) => {
    if (!down) opts.log?.(`Redis ${maskUrl(url)}: ${maskSecrets(e.message, url)}; reconnecting`);
    down = true;
  });
  client.on('ready', () => {
    if (down) opts.log?.(`Redis ${maskUrl(url)}: connected again`);
    down = false;
  });
  return client;
}
