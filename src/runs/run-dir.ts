/**
 * A run is a directory written so that a kill at any moment leaves it readable and resumable:
 *
 *   runs/<id>/config.json    the config the run was started with (never changes)
 *             state.json     which stages finished (resume skips them)
 *             log.jsonl      one JSON event per line, append-only
 *             checkpoints/   see checkpoint.ts
 *             results.json   final metrics
 *             report.html
 *
 * Whole files are replaced atomically (temp + rename); the log is appended and fsynced line by line, and a
 * torn last line from a crash is dropped.
 */
import { createHash } from 'node:crypto';
import { mkdir, open, readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { UlearnError } from '../errors.js';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic.js';

export type LogEvent = Record<string, unknown>;

export interface StageRecord {
  doneAt: string;
  [key: string]: unknown;
}

interface RunState {
  stages: Record<string, StageRecord>;
}

export interface CreateOptions {
  /** Directory name under root; default `<UTC timestamp>-<config hash>`, e.g. `20250314-153012-3fa9c1`. */
  id?: string;
  /** For the default id (tests). */
  now?: Date;
}

export class RunDir {
  /** Serializes appends and state updates issued without awaiting, so lines never interleave or get lost. */
  private queue: Promise<unknown> = Promise.resolve();
  private logChecked = false;

  private constructor(
    /** Absolute path of the run directory. */
    readonly dir: string,
    /** The parsed config.json; validate it with the pipeline's schema. */
    readonly config: unknown,
  ) {}

  get id(): string {
    return this.dir.split(/[\\/]/).pop()!;
  }

  /**
   * Creates `root/<id>/` with config.json and checkpoints/. If the directory already holds the same config
   * (same id passed again: resuming), it is opened instead; a different config there is an error, since
   * mixing two configs' checkpoints and logs would make both runs meaningless.
   */
  static async create(root: string, config: unknown, opts: CreateOptions = {}): Promise<RunDir> {
    const canonical = canonicalJson(config);
    const id = opts.id ?? defaultId(canonical, opts.now ?? new Date());
    if (!/^[\w.-]+$/.test(id) || id === '.' || id === '..') {
      throw new UlearnError(`invalid run id '${id}': use letters, digits, '.', '_' and '-'`, { code: 'E_RUN' });
    }
    const dir = resolve(root, id);
    await mkdir(dir, { recursive: true });
    const existing = await readJson(join(dir, 'config.json'));
    if (existing.found) {
      if (canonicalJson(existing.value) !== canonical) {
        throw new UlearnError(`run '${dir}' already exists with a different config`, {
          code: 'E_RUN_EXISTS',
          hint: 'choose another --id, or delete that run directory',
        });
      }
    } else {
      // Dot files are our own interrupted temp files; anything else means the folder is not ours to take.
      const others = (await readdir(dir)).filter((n) => !n.startsWith('.') && n !== 'checkpoints');
      if (others.length > 0) {
        throw new UlearnError(`'${dir}' exists and is not a run directory (no config.json, but has ${others[0]})`, {
          code: 'E_RUN_EXISTS',
        });
      }
      await writeJsonAtomic(join(dir, 'config.json'), config);
    }
    await mkdir(join(dir, 'checkpoints'), { recursive: true });
    return new RunDir(dir, existing.found ? existing.value : JSON.parse(JSON.stringify(config)));
  }

  /** Opens an existing run (to resume or report on it); errors unless it has a readable config.json. */
  static async open(path: string): Promise<RunDir> {
    const dir = resolve(path);
    const cfg = await readJson(join(dir, 'config.json'));
    if (!cfg.found) {
      throw new UlearnError(`'${path}' is not a run directory: it has no config.json`, { code: 'E_RUN' });
    }
    await mkdir(join(dir, 'checkpoints'), { recursive: true });
    return new RunDir(dir, cfg.value);
  }

  /** A path inside the run, e.g. `run.path('checkpoints', 'pretrain')`. */
  path(...parts: string[]): string {
    return join(this.dir, ...parts);
  }

  /** Appends one event as a JSON line, fsynced; `time` (ISO) is added unless the event has one. */
  appendLog(event: object): Promise<void> {
    const line = JSON.stringify({ time: new Date().toISOString(), ...event }) + '\n';
    return this.serialize(async () => {
      const file = this.path('log.jsonl');
      if (!this.logChecked) {
        await dropTornTail(file);
        this.logChecked = true;
      }
      const fh = await open(file, 'a');
      try {
        await fh.write(line);
        await fh.sync();
      } finally {
        await fh.close();
      }
    });
  }

  /** All logged events in order. A torn last line (crash mid-append) is skipped; a bad line elsewhere is an error. */
  async readLog(): Promise<LogEvent[]> {
    await this.queue;
    let text: string;
    try {
      text = await readFile(this.path('log.jsonl'), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    const lines = text.split('\n');
    const events: LogEvent[] = [];
    for (let i = 0; i < lines.length; i++) {
      if (lines[i].trim() === '') continue;
      try {
        events.push(JSON.parse(lines[i]) as LogEvent);
      } catch (e) {
        // Only the last line can be torn: it is the only one not yet terminated by '\n'.
        if (i === lines.length - 1) break;
        throw new UlearnError(`${this.path('log.jsonl')}:${i + 1}: not valid JSON`, { code: 'E_RUN_LOG', cause: e });
      }
    }
    return events;
  }

  async writeResults(results: unknown): Promise<void> {
    await writeJsonAtomic(this.path('results.json'), results);
  }

  /** The results, or undefined if the run has not written any. */
  async readResults(): Promise<unknown> {
    const r = await readJson(this.path('results.json'));
    return r.found ? r.value : undefined;
  }

  async writeReport(html: string): Promise<void> {
    await writeFileAtomic(this.path('report.html'), html);
  }

  /** Marks a stage finished (with optional details, e.g. its metrics), so a resumed run skips it. */
  stageDone(name: string, details: Record<string, unknown> = {}): Promise<void> {
    return this.serialize(async () => {
      const state = await this.readState();
      state.stages[name] = { ...details, doneAt: new Date().toISOString() };
      await writeJsonAtomic(this.path('state.json'), state);
    });
  }

  async isStageDone(name: string): Promise<boolean> {
    return (await this.stage(name)) !== undefined;
  }

  /** The record stageDone wrote, or undefined. */
  async stage(name: string): Promise<StageRecord | undefined> {
    await this.queue;
    const stages = (await this.readState()).stages;
    return Object.hasOwn(stages, name) ? stages[name] : undefined;
  }

  private async readState(): Promise<RunState> {
    const r = await readJson(this.path('state.json'));
    const v = r.found ? (r.value as Partial<RunState> | null) : null;
    return { stages: v && typeof v.stages === 'object' && v.stages !== null ? v.stages : {} };
  }

  private serialize(task: () => Promise<void>): Promise<void> {
    const next = this.queue.then(task);
    // The chain must survive a failed task; the caller still sees the failure through `next`.
    this.queue = next.catch(() => undefined);
    return next;
  }
}

/** Key-sorted JSON, so key order in a YAML file does not make "the same config" look different. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

function defaultId(canonical: string, now: Date): string {
  const ts = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  const hash = createHash('sha256').update(canonical).digest('hex').slice(0, 6);
  return `${ts}-${hash}`;
}

async function readJson(path: string): Promise<{ found: true; value: unknown } | { found: false }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { found: false };
    throw new UlearnError(`cannot read ${path}: ${(e as Error).message}`, { code: 'E_RUN', cause: e });
  }
  try {
    return { found: true, value: JSON.parse(text) };
  } catch (e) {
    throw new UlearnError(`${path} is not valid JSON: ${(e as Error).message}`, { code: 'E_RUN', cause: e });
  }
}

/**
 * After a crash mid-append the log may end without '\n'; appending to it would glue the next event onto the
 * torn one and corrupt a line in the middle. Cut back to the last complete line first.
 */
async function dropTornTail(file: string): Promise<void> {
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch {
    return;
  }
  if (size === 0) return;
  const fh = await open(file, 'r+');
  try {
    const last = Buffer.alloc(1);
    await fh.read(last, 0, 1, size - 1);
    if (last[0] === 0x0a) return;
    const all = await readFile(file);
    await fh.truncate(all.lastIndexOf(0x0a) + 1);
    await fh.sync();
  } finally {
    await fh.close();
  }
}
