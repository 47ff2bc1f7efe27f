/**
 * What the CLI prints when a command fails. Errors a user can cause arrive as UlearnError; the system's own
 * (a missing or read-only folder, a port in use, a locked database, a tensor of the wrong shape inside tfjs)
 * are translated here, at the command boundary, into the same one line `ulearn: error: …` with a hint,
 * instead of a stack trace. Anything else is a bug and keeps its stack. `--verbose` adds the stack (and the
 * cause's) to every error.
 */
import { UlearnError } from '../errors.js';

type Errno = NodeJS.ErrnoException & { address?: string; port?: number; dest?: string };

/** errno code: what it means to a user, and what to do. */
const ERRNO: Record<string, [string, string]> = {
  ENOENT: ['no such file or folder', 'check the path; folders are not created for you'],
  ENOTDIR: ['a part of the path is a file, not a folder', 'check the path'],
  EISDIR: ['is a folder, expected a file', 'give a file name'],
  EACCES: ['permission denied', 'choose a location you may read and write, or change its permissions'],
  EPERM: ['operation not permitted', 'choose a location you may read and write, or change its permissions'],
  EROFS: ['read-only file system', 'choose a writable location (e.g. --runs /tmp/ulearn-runs)'],
  ENOSPC: ['no space left on the device', 'free some disk space or write elsewhere'],
  EDQUOT: ['disk quota exceeded', 'free some disk space or write elsewhere'],
  EEXIST: ['already exists', 'remove it or choose another name'],
  ENOTEMPTY: ['folder not empty', 'remove it or choose another name'],
  EMFILE: ['too many open files', 'raise the open-file limit (ulimit -n) or lower the concurrency'],
  EADDRINUSE: ['address already in use', 'another program listens there: choose another --port, or --port 0 for any free one'],
  EADDRNOTAVAIL: ['address not available on this machine', 'check --host (127.0.0.1 for this machine only)'],
};

/** The UlearnError a user should see for `err`, or undefined when it is a bug (not a user-caused error). */
export function toUserError(err: unknown): UlearnError | undefined {
  if (err instanceof UlearnError) return err;
  if (!(err instanceof Error)) return undefined;
  const e = err as Errno;
  const known = typeof e.code === 'string' ? ERRNO[e.code] : undefined;
  if (known) {
    const where = e.code === 'EADDRINUSE' || e.code === 'EADDRNOTAVAIL' ? `${e.address ?? ''}:${e.port ?? ''}` : (e.path ?? '');
    const op = e.syscall ? `${e.syscall} ` : '';
    return new UlearnError(`${op}${where}${where ? ': ' : ''}${known[0]}`, { code: `E_${e.code}`, hint: known[1], cause: err });
  }
  if (e.code === 'ERR_SOCKET_BAD_PORT') return new UlearnError(`bad port: ${err.message}`, { code: 'E_ARG', hint: 'a port is an integer 0..65535 (0 = any free port)', cause: err });
  if (err.name === 'SqliteError' || (typeof e.code === 'string' && e.code.startsWith('SQLITE_'))) {
    return new UlearnError(`label database: ${err.message} (${String(e.code)})`, {
      code: 'E_DATABASE',
      hint: e.code === 'SQLITE_BUSY' ? 'another ulearn process holds the project; stop it first' : 'the project database may be damaged or on a read-only disk',
      cause: err,
    });
  }
  const pg = postgresError(err);
  if (pg) return pg;
  if (fromTfjs(err)) {
    return new UlearnError(`the compute engine refused an operation: ${firstLine(err.message)}`, {
      code: 'E_ENGINE',
      hint: 'usually an input or a checkpoint of another shape than the model; --verbose shows where',
      cause: err,
    });
  }
  return undefined;
}

/**
 * PostgreSQL errors after a connection was made (the label store on `postgres://`; connecting is checked by the
 * store itself, which names the masked URL). pg's server errors carry a five-character SQLSTATE and a severity;
 * a connection the server dropped is a plain Error with pg's own message. Neither holds the password.
 */
function postgresError(err: Error): UlearnError | undefined {
  const e = err as Error & { code?: unknown; severity?: unknown };
  const sqlstate = typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) && typeof e.severity === 'string' ? e.code : undefined;
  const dropped = /^Connection terminated( unexpectedly| due to connection timeout)?$/.test(err.message);
  if (!sqlstate && !dropped) return undefined;
  const gone = dropped || sqlstate!.startsWith('57P') || sqlstate!.startsWith('08');
  return new UlearnError(`label database (PostgreSQL): ${firstLine(err.message)}${sqlstate ? ` (SQLSTATE ${sqlstate})` : ''}`, {
    code: 'E_DATABASE',
    hint: gone
      ? 'the database server closed the connection (stopped, restarted or unreachable); start it and run the command again: acknowledged labels are kept'
      : sqlstate!.startsWith('28')
        ? 'the database refused the login: check PGPASSWORD or ~/.pgpass for the user in store.json'
        : "the database refused the operation; its server log says why",
    cause: err,
  });
}

/** The text printed for a failed command and its exit code. */
export function formatCliError(err: unknown, verbose: boolean): { text: string; exitCode: number } {
  const user = toUserError(err);
  if (!user) {
    // A bug: always with its stack, so it can be reported.
    const text = err instanceof Error ? (err.stack ?? err.message) : String(err);
    return { text: `ulearn: error: ${text}`, exitCode: 1 };
  }
  let text = `ulearn: error: ${oneLine(user.message)}`;
  if (user.hint) text += `\n  hint: ${user.hint}`;
  if (verbose) text += `\n${stacks(user)}`;
  return { text, exitCode: user.exitCode };
}

/** Multi-line messages (a YAML snippet) keep their lines; only the first may not start with a stack. */
function oneLine(message: string): string {
  return message.split('\n').filter((l) => !/^\s+at /.test(l)).join('\n');
}

function firstLine(s: string): string {
  return s.split('\n')[0];
}

function stacks(err: Error): string {
  const parts: string[] = [];
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) parts.push(`${depth ? 'caused by: ' : ''}${e.stack ?? e.message}`);
  return parts.join('\n');
}

/**
 * Thrown inside @tensorflow/* (tfjs-core asserts, tfjs-layers ValueErrors): its top frame says so. With
 * source maps the frame names tfjs's own source path (tfjs-core/src/…) instead of node_modules.
 */
function fromTfjs(err: Error): boolean {
  const frame = (err.stack ?? '').split('\n').find((l) => /^\s+at /.test(l));
  return frame !== undefined && /[\\/](@tensorflow[\\/]|tfjs-(core|layers|backend-[a-z]+)[\\/])/.test(frame);
}
