/**
 * A throwaway PostgreSQL cluster for one test file: `initdb` into a temporary folder, `postgres` on a free
 * loopback port (and a socket in the same folder, so it never meets a system cluster), stopped with
 * `pg_ctl stop -m immediate` and deleted when the file's tests end. Each test asks for a fresh database.
 * Usage: `const cluster = await startPostgres(); after(() => cluster.stop());` and `{ skip: skipPostgres() }`
 * on the PostgreSQL variants.
 *
 * fsync and synchronous_commit stay on (PostgreSQL's defaults), so a test that kills a label server with
 * `kill -9` checks the durability the store really promises.
 *
 * PostgreSQL refuses to run as root, and CI runs as root: there every command runs as the `postgres` OS
 * user (Debian's package creates it), which owns the folder. Without the binaries the PostgreSQL variants
 * skip, except under CI (`CI` set), where they fail with the reason (see skipPostgres).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './ports.js';

export interface PgCluster {
  /** URL of the `postgres` database (superuser, trust auth on loopback). */
  url: string;
  /** Creates an empty database and returns its URL. */
  newDatabase(): Promise<string>;
  stop(): void;
}

/** The newest installed PostgreSQL's bin folder (Debian's layout), or ULEARN_PG_BIN. */
function binDir(): string | undefined {
  const given = process.env.ULEARN_PG_BIN;
  if (given) return existsSync(join(given, 'initdb')) ? given : undefined;
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length ? join(root, versions[0], 'bin') : undefined;
}

const MISSING = 'PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb; set ULEARN_PG_BIN, or run scripts/setup.sh --services)';

/**
 * The `skip` option of a PostgreSQL variant: why it is skipped here, or false where it runs. Under CI it
 * always runs, and without PostgreSQL fails in `newDatabase` with the reason: CI must not pass by skipping.
 */
export function skipPostgres(): string | false {
  return binDir() || process.env.CI ? false : MISSING;
}

/** Starts a cluster; where PostgreSQL is not installed, one whose `newDatabase` fails saying so. */
export async function startPostgres(): Promise<PgCluster> {
  if (!binDir()) {
    return {
      url: '',
      newDatabase: () => Promise.reject(new Error(`${MISSING}: the PostgreSQL store tests cannot run`)),
      stop: () => undefined,
    };
  }
  const bin = binDir()!;
  const dir = mkdtempSync(join(tmpdir(), 'ulearn-pg-'));
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }));
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }));
    chownSync(dir, uid, gid);
  }
  chmodSync(dir, 0o700);
  // Timeouts only guard against a hang; they never decide a result.
  const run = (cmd: string, args: string[]) =>
    execFileSync(asRoot ? 'runuser' : join(bin, cmd), asRoot ? ['-u', 'postgres', '--', join(bin, cmd), ...args] : args, { stdio: 'pipe', timeout: 120_000, cwd: dir });
  const data = join(dir, 'data');
  run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync']);
  const port = await freePort();
  try {
    run('pg_ctl', ['start', '-w', '-t', '120', '-D', data, '-l', join(dir, 'log'), '-o', `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=on -c synchronous_commit=on`]);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let n = 0;
  return {
    url,
    async newDatabase() {
      const name = `ulearn_test_${++n}`;
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        await c.query(`CREATE DATABASE ${name}`);
      } finally {
        await c.end();
      }
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    stop() {
      try {
        run('pg_ctl', ['stop', '-m', 'immediate', '-D', data]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
