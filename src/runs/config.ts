/**
 * Loading `ulearn run <config>` files: JSON or YAML (by extension) validated by a zod schema the caller
 * supplies, with errors a user can act on without reading zod's output:
 *
 *   config.yaml: pretrain.epochs: expected a positive integer, got -3
 *   config.yaml: pretrain.epoch: unknown key (did you mean 'epochs'?)
 *   config.yaml:4:3: All mapping items must start at the same column
 *
 * Schemas should use `.strict()` objects: a misspelt key that is silently ignored trains the wrong thing.
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import { UlearnError } from '../errors.js';
import { Budget, UNLIMITED } from '../util/budget.js';
import { DURATION_FORMS } from '../util/duration.js';

/** Reads, parses and validates a config file; every problem is a UlearnError that names the file. */
export async function loadConfigFile<S extends z.ZodTypeAny>(path: string, schema: S): Promise<z.output<S>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
    throw new UlearnError(`cannot read config ${path}: ${why}`, { code: 'E_CONFIG', cause: e });
  }
  return parseConfig(text, path, schema);
}

/** As loadConfigFile, for text already in hand; `file` picks the format and names the source in errors. */
export function parseConfig<S extends z.ZodTypeAny>(text: string, file: string, schema: S): z.output<S> {
  const data = parseText(text, file);
  const result = schema.safeParse(data);
  if (!result.success) {
    throw new UlearnError(formatZodError(result.error, file, data, schema), { code: 'E_CONFIG' });
  }
  return result.data as z.output<S>;
}

/**
 * A wall-clock budget field: a duration ('90s', '10m', '1h30m') or 'none', kept as written (run directories
 * store the config as the user wrote it) but checked when the config is read, so a typo is reported against
 * the file and key instead of when the run starts.
 */
export function zBudget(): z.ZodEffects<z.ZodString, string> {
  return z.string().superRefine((v, ctx) => {
    try {
      Budget.parse(v);
    } catch {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `expected a duration (${DURATION_FORMS}) or '${UNLIMITED}', got ${JSON.stringify(v)}` });
    }
  });
}

function parseText(text: string, file: string): unknown {
  const ext = extname(file).toLowerCase();
  if (ext === '.json') {
    try {
      return JSON.parse(text);
    } catch (e) {
      const msg = (e as Error).message;
      const pos = /at position (\d+)/.exec(msg);
      const where = pos ? `:${lineCol(text, Number(pos[1]))}` : '';
      throw new UlearnError(`${file}${where}: invalid JSON: ${msg.replace(/ in JSON at position \d+.*$/, '')}`, { code: 'E_CONFIG', cause: e });
    }
  }
  if (ext === '.yaml' || ext === '.yml') {
    const doc = YAML.parseDocument(text);
    const err = doc.errors[0];
    if (err) {
      const at = err.linePos?.[0];
      // yaml's message is "<what> at line L, column C:\n\n<snippet>"; keep the what and the snippet.
      const [what, ...snippet] = err.message.split('\n');
      const short = what.replace(/ at line \d+, column \d+:?$/, '');
      const context = snippet.filter((l) => l.trim() !== '').map((l) => `  ${l}`);
      throw new UlearnError([`${file}${at ? `:${at.line}:${at.col}` : ''}: ${short}`, ...context].join('\n'), { code: 'E_CONFIG', cause: err });
    }
    try {
      // yaml caps alias expansion (maxAliasCount) and throws when a "billion laughs" document exceeds it.
      return doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      throw new UlearnError(`${file}: cannot expand this YAML (${(e as Error).message})`, {
        code: 'E_CONFIG',
        hint: 'a config needs no nested aliases (&a / *a); write the values out',
        cause: e,
      });
    }
  }
  throw new UlearnError(`${file}: unknown config format '${ext || '(no extension)'}'`, { code: 'E_CONFIG', hint: 'use a .yaml, .yml or .json file' });
}

function lineCol(text: string, pos: number): string {
  const before = text.slice(0, pos).split('\n');
  return `${before.length}:${before[before.length - 1].length + 1}`;
}

/** One line per issue: `<file>: <dotted.path>: <what was expected>, got <value>`. */
export function formatZodError(error: z.ZodError, file: string, data: unknown, schema?: z.ZodTypeAny): string {
  const lines: string[] = [];
  for (const issue of error.issues) {
    if (issue.code === z.ZodIssueCode.unrecognized_keys) {
      // One line per key, with the key in the path: the user searches the file for it.
      const known = objectKeys(schema && schemaAt(schema, issue.path));
      for (const key of issue.keys) {
        const guess = closest(key, known);
        lines.push(prefix(file, [...issue.path, key]) + `unknown key${guess ? ` (did you mean '${guess}'?)` : ''}`);
      }
      continue;
    }
    lines.push(prefix(file, issue.path) + describeIssue(issue, valueAt(data, issue.path), schema && schemaAt(schema, issue.path)));
  }
  return lines.join('\n');
}

function prefix(file: string, path: (string | number)[]): string {
  return path.length ? `${file}: ${formatPath(path)}: ` : `${file}: `;
}

export function formatPath(path: (string | number)[]): string {
  return path
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : /^[A-Za-z_$][\w$-]*$/.test(p) ? (i === 0 ? p : `.${p}`) : `[${JSON.stringify(p)}]`))
    .join('');
}

function describeIssue(issue: z.ZodIssue, value: unknown, schema: z.ZodTypeAny | undefined): string {
  // A message the schema author wrote (refine, .min(1, 'msg')) beats anything generic we could say.
  const standard = z.defaultErrorMap(issue, { defaultError: issue.message, data: value }).message;
  if (issue.message !== standard) return issue.message;
  const got = `got ${describeValue(value)}`;
  const num = schema && numberSchema(schema);
  switch (issue.code) {
    case z.ZodIssueCode.invalid_type:
      if (issue.received === 'undefined') return `missing (expected ${num ? describeNumber(num) : typeName(issue.expected)})`;
      return `expected ${num ? describeNumber(num) : typeName(issue.expected)}, ${got}`;
    case z.ZodIssueCode.too_small:
    case z.ZodIssueCode.too_big: {
      if (issue.type === 'number' || issue.type === 'bigint') return `expected ${num ? describeNumber(num) : 'a number in range'}, ${got}`;
      const unit = issue.type === 'string' ? 'characters' : 'items';
      const bound = issue.code === z.ZodIssueCode.too_small ? 'at least' : 'at most';
      const limit = issue.code === z.ZodIssueCode.too_small ? issue.minimum : issue.maximum;
      const size = typeof value === 'string' || Array.isArray(value) ? `got ${value.length}` : got;
      return `expected ${issue.exact ? 'exactly' : bound} ${limit} ${unit}, ${size}`;
    }
    case z.ZodIssueCode.not_multiple_of:
    case z.ZodIssueCode.not_finite:
      return `expected ${num ? describeNumber(num) : 'a finite number'}, ${got}`;
    case z.ZodIssueCode.invalid_enum_value:
      return `expected one of ${issue.options.map((o) => JSON.stringify(o)).join(', ')}, ${got}`;
    case z.ZodIssueCode.invalid_literal:
      return `expected ${JSON.stringify(issue.expected)}, ${got}`;
    case z.ZodIssueCode.invalid_union_discriminator:
      return `expected one of ${issue.options.map((o) => JSON.stringify(o)).join(', ')}, ${got}`;
    default:
      return `${issue.message.charAt(0).toLowerCase()}${issue.message.slice(1)}, ${got}`;
  }
}

function typeName(t: string): string {
  const names: Record<string, string> = {
    string: 'a string',
    number: 'a number',
    integer: 'an integer',
    boolean: 'true or false',
    object: 'a mapping (key: value)',
    array: 'a list',
  };
  return names[t] ?? t;
}

function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return `a list of ${v.length}`;
  if (typeof v === 'object') return 'a mapping';
  const s = JSON.stringify(v);
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

/** 'a positive integer', 'a non-negative number', 'a number in (0, 1]', 'an integer >= 2'. */
function describeNumber(n: z.ZodNumber): string {
  let isInt = false;
  let min: { value: number; inclusive: boolean } | undefined;
  let max: { value: number; inclusive: boolean } | undefined;
  for (const c of n._def.checks) {
    if (c.kind === 'int') isInt = true;
    else if (c.kind === 'min') min = { value: c.value, inclusive: c.inclusive };
    else if (c.kind === 'max') max = { value: c.value, inclusive: c.inclusive };
  }
  const noun = isInt ? 'integer' : 'number';
  const a = isInt ? 'an' : 'a';
  if (min && !max) {
    const positive = min.value === 0 ? !min.inclusive : isInt && min.value === 1 && min.inclusive;
    if (positive) return `a positive ${noun}`;
    if (min.value === 0 && min.inclusive) return `a non-negative ${noun}`;
    return `${a} ${noun} ${min.inclusive ? '>=' : '>'} ${min.value}`;
  }
  if (max && !min) return `${a} ${noun} ${max.inclusive ? '<=' : '<'} ${max.value}`;
  if (min && max) return `${a} ${noun} in ${min.inclusive ? '[' : '('}${min.value}, ${max.value}${max.inclusive ? ']' : ')'}`;
  return `${a} ${noun}`;
}

/** Peels wrappers (optional, default, transforms...) off a schema. */
function unwrap(s: z.ZodTypeAny): z.ZodTypeAny {
  for (;;) {
    if (s instanceof z.ZodOptional || s instanceof z.ZodNullable) s = s.unwrap();
    else if (s instanceof z.ZodDefault) s = s._def.innerType;
    else if (s instanceof z.ZodCatch) s = s._def.innerType;
    else if (s instanceof z.ZodEffects) s = s.innerType();
    else if (s instanceof z.ZodBranded) s = s.unwrap();
    else if (s instanceof z.ZodReadonly) s = s._def.innerType;
    else if (s instanceof z.ZodPipeline) s = s._def.in;
    else if (s instanceof z.ZodLazy) s = s.schema;
    else return s;
  }
}

/** The schema that validates the value at `path`, where it can be followed (objects, arrays, records, tuples). */
function schemaAt(schema: z.ZodTypeAny, path: (string | number)[]): z.ZodTypeAny | undefined {
  let s: z.ZodTypeAny | undefined = schema;
  for (const key of path) {
    if (!s) return undefined;
    const u = unwrap(s);
    if (u instanceof z.ZodObject) s = (u.shape as Record<string, z.ZodTypeAny>)[String(key)];
    else if (u instanceof z.ZodArray) s = u.element;
    else if (u instanceof z.ZodRecord) s = u.valueSchema;
    else if (u instanceof z.ZodTuple && typeof key === 'number') s = u.items[key];
    else return undefined;
  }
  return s;
}

function numberSchema(s: z.ZodTypeAny): z.ZodNumber | undefined {
  const u = unwrap(s);
  return u instanceof z.ZodNumber ? u : undefined;
}

function objectKeys(s: z.ZodTypeAny | undefined): string[] {
  const u = s && unwrap(s);
  return u instanceof z.ZodObject ? Object.keys(u.shape as object) : [];
}

function valueAt(data: unknown, path: (string | number)[]): unknown {
  let v = data;
  for (const key of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[key];
  }
  return v;
}

/** The known key within a small edit distance of a misspelt one, if any. */
function closest(key: string, known: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Math.max(1, Math.floor(key.length / 3)) + 1;
  for (const k of known) {
    const d = editDistance(key.toLowerCase(), k.toLowerCase());
    if (d < bestD) {
      best = k;
      bestD = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}
