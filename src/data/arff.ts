/**
 * A streaming reader for Weka's ARFF files: the header (`@relation`, `@attribute name type`, `@data`) is parsed
 * up front, then the data section goes through the same chunked `DelimitedParser` as CSV, in ARFF's dialect
 * (single or double quotes with backslash escapes, `%` comments, spaces after commas). Dense rows, sparse rows
 * (`{index value, ...}`) and instance weights (a trailing `{w}`, ignored) are accepted.
 *
 * Each row is checked against the header: field count, nominal values that were declared, numbers in numeric
 * attributes; a bad row is an error with file, line and column, or skipped and reported with `skipBadRows`.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { UlearnError } from '../errors.js';
import { DelimitedParser, type ParserOptions, type RowProblem } from './csv-stream.js';

export type ArffType = 'numeric' | 'nominal' | 'string' | 'date';

export interface ArffAttribute {
  name: string;
  type: ArffType;
  /** Declared values of a nominal attribute, in declaration order. */
  values?: string[];
  /** Line of its @attribute declaration. */
  line: number;
}

export interface ArffHeader {
  source: string;
  relation: string;
  attributes: ArffAttribute[];
  /** Line of `@data`. */
  dataLine: number;
}

export interface ArffStreamOptions {
  skipBadRows?: boolean;
  onSkip?: (problem: RowProblem) => void;
  chunkBytes?: number;
}

/** The value ARFF writes for "missing". */
export const ARFF_MISSING = '?';

const DATA_DIALECT: Omit<ParserOptions, 'delimiter'> = { quotes: `'"`, trim: true, comment: '%', escape: '\\' };
const MAX_HEADER_CHARS = 64 << 20;

export async function streamArff(
  path: string,
  opts: ArffStreamOptions,
  onHeader: (header: ArffHeader) => void,
  onRow: (fields: string[], line: number) => void,
): Promise<{ rows: number; skipped: number }> {
  const st = await stat(path).catch(() => undefined);
  if (!st) throw new UlearnError(`${path}: no such file`, { code: 'E_DATA_MISSING' });
  if (!st.isFile()) throw new UlearnError(`${path}: not a file`, { code: 'E_DATA' });
  if (st.size === 0) throw new UlearnError(`${path}: the file is empty (expected an ARFF header: @relation, @attribute lines, @data)`, { code: 'E_DATA' });

  let pending = '';
  let parser: DelimitedParser | undefined;
  let rows = 0;
  let skipped = 0;
  const bad = (p: RowProblem) => {
    if (!opts.skipBadRows) throw new UlearnError(`${path} line ${p.line}, column ${p.column}: ${p.message}`, { code: 'E_DATA', hint: 'fix the row, or pass --skip-bad-rows to skip (and list) such rows' });
    skipped++;
    opts.onSkip?.(p);
  };
  const stream = createReadStream(path, { encoding: 'utf8', highWaterMark: opts.chunkBytes ?? 1 << 20 });
  try {
    for await (const chunk of stream as AsyncIterable<string>) {
      if (parser) {
        parser.push(chunk);
        continue;
      }
      pending += chunk;
      const split = findData(pending);
      if (!split) {
        if (pending.length > MAX_HEADER_CHARS) throw new UlearnError(`${path}: no @data line in the first ${MAX_HEADER_CHARS >> 20} MiB: not an ARFF file?`, { code: 'E_DATA' });
        continue;
      }
      const h: ArffHeader = parseArffHeader(path, pending.slice(0, split.headerEnd), split.line);
      onHeader(h);
      parser = new DelimitedParser(path, { delimiter: ',', ...DATA_DIALECT }, {
        row(fields, line) {
          const problem = checkRow(h, fields, line);
          if (typeof problem === 'object' && !Array.isArray(problem)) return bad(problem);
          rows++;
          onRow(problem, line);
        },
        bad,
      }, split.line + 1);
      parser.push(pending.slice(split.dataStart));
      pending = '';
    }
    if (!parser && findData(pending + '\n')) {
      // The file ends right after its @data line (no rows, no final newline).
      const split = findData(pending + '\n')!;
      onHeader(parseArffHeader(path, pending.slice(0, split.headerEnd), split.line));
      return { rows, skipped };
    }
    if (!parser) {
      const text = pending.replace(/^\ufeff/, '');
      if (text.trim() === '') throw new UlearnError(`${path}: the file is empty (expected an ARFF header)`, { code: 'E_DATA' });
      // Parse what there is first, so a broken header is reported as such rather than as "no @data".
      parseArffHeader(path, text, countLines(text) + 1, false);
      throw new UlearnError(`${path}: no @data line after the header`, { code: 'E_DATA', hint: 'an ARFF file needs @relation, @attribute lines, then @data and the rows' });
    }
    parser.end();
  } finally {
    stream.destroy();
  }
  return { rows, skipped };
}

/** Where the `@data` line is: end of the header text, start of the data text, and its line number. */
function findData(text: string): { headerEnd: number; dataStart: number; line: number } | undefined {
  const m = /^[ \t]*@data[ \t]*(%[^\n]*)?\r?\n/im.exec(text);
  if (!m) return undefined;
  const line = countLines(text.slice(0, m.index)) + 1;
  return { headerEnd: m.index, dataStart: m.index + m[0].length, line };
}

function countLines(s: string): number {
  let n = 0;
  for (let k = s.indexOf('\n'); k >= 0; k = s.indexOf('\n', k + 1)) n++;
  return n;
}

/** Parses the lines before `@data`. `requireData` false: only validate what is there (for error messages). */
export function parseArffHeader(source: string, text: string, dataLine: number, requireData = true): ArffHeader {
  let relation: string | undefined;
  const attributes: ArffAttribute[] = [];
  const seen = new Map<string, number>();
  const lines = text.replace(/^\ufeff/, '').split(/\r?\n|\r/);
  lines.forEach((raw, idx) => {
    const line = idx + 1;
    const s = stripComment(raw).trim();
    if (s === '') return;
    const where = `${source} line ${line}`;
    const kw = /^@(\w+)/.exec(s)?.[1].toLowerCase();
    if (kw === 'relation') {
      if (relation !== undefined) throw new UlearnError(`${where}: a second @relation`, { code: 'E_DATA' });
      const rest = s.slice('@relation'.length).trim();
      relation = rest === '' ? '' : readName(rest, where).name;
    } else if (kw === 'attribute') {
      if (relation === undefined) throw new UlearnError(`${where}: @attribute before @relation`, { code: 'E_DATA', hint: 'an ARFF file starts with @relation <name>' });
      const attr = parseAttribute(s.slice('@attribute'.length), where, line);
      const prev = seen.get(attr.name);
      if (prev !== undefined) throw new UlearnError(`${where}: attribute '${attr.name}' already declared on line ${prev}`, { code: 'E_DATA' });
      seen.set(attr.name, line);
      attributes.push(attr);
    } else {
      throw new UlearnError(`${where}: expected @relation, @attribute or @data, got '${s.length > 40 ? s.slice(0, 40) + '…' : s}'`, { code: 'E_DATA' });
    }
  });
  if (requireData && relation === undefined) throw new UlearnError(`${source} line ${dataLine}: @data before @relation`, { code: 'E_DATA' });
  if (requireData && attributes.length === 0) throw new UlearnError(`${source} line ${dataLine}: @data without any @attribute`, { code: 'E_DATA' });
  return { source, relation: relation ?? '', attributes, dataLine };
}

/** The line without a trailing `% comment` (a % inside quotes is text). */
function stripComment(line: string): string {
  let quote = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = '';
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '%') return line.slice(0, i);
  }
  return line;
}

function parseAttribute(rest: string, where: string, line: number): ArffAttribute {
  const trimmed = rest.trim();
  if (trimmed === '') throw new UlearnError(`${where}: @attribute needs a name and a type`, { code: 'E_DATA' });
  const { name, after } = readName(trimmed, where);
  const type = after.trim();
  if (type === '') throw new UlearnError(`${where}: attribute '${name}' has no type (expected numeric, real, integer, string, date or {values})`, { code: 'E_DATA' });
  if (type.startsWith('{')) {
    if (!type.endsWith('}')) throw new UlearnError(`${where}: attribute '${name}': nominal values must end with '}'`, { code: 'E_DATA' });
    const values: string[] = [];
    const inner = type.slice(1, -1);
    new DelimitedParser(where, { delimiter: ',', ...DATA_DIALECT, comment: undefined }, {
      row: (f) => values.push(...f),
      bad: (p) => {
        throw new UlearnError(`${where}: attribute '${name}': ${p.message}`, { code: 'E_DATA' });
      },
    }).push(inner + '\n');
    const distinct = new Set(values);
    if (values.length === 0 || (values.length === 1 && values[0] === '')) throw new UlearnError(`${where}: attribute '${name}' declares no nominal values`, { code: 'E_DATA' });
    if (distinct.size !== values.length) throw new UlearnError(`${where}: attribute '${name}' declares a nominal value twice`, { code: 'E_DATA' });
    return { name, type: 'nominal', values, line };
  }
  const word = type.split(/\s+/)[0].toLowerCase();
  if (word === 'numeric' || word === 'real' || word === 'integer') return { name, type: 'numeric', line };
  if (word === 'string') return { name, type: 'string', line };
  if (word === 'date') return { name, type: 'date', line };
  if (word === 'relational') throw new UlearnError(`${where}: relational attributes (multi-instance ARFF) are not supported`, { code: 'E_DATA' });
  throw new UlearnError(`${where}: attribute '${name}' has unknown type '${word}' (expected numeric, real, integer, string, date or {values})`, { code: 'E_DATA' });
}

/** A possibly quoted name at the start of s, and the text after it. */
function readName(s: string, where: string): { name: string; after: string } {
  const q = s[0];
  if (q === "'" || q === '"') {
    let name = '';
    for (let i = 1; i < s.length; i++) {
      if (s[i] === '\\' && i + 1 < s.length) name += s[++i];
      else if (s[i] === q) return { name, after: s.slice(i + 1) };
      else name += s[i];
    }
    throw new UlearnError(`${where}: unterminated quoted name`, { code: 'E_DATA' });
  }
  const m = /^[^\s{]+/.exec(s)!;
  return { name: m[0], after: s.slice(m[0].length) };
}

/** The row's values in attribute order, or the problem with it. */
function checkRow(h: ArffHeader, fields: string[], line: number): string[] | RowProblem {
  const attrs = h.attributes;
  const k = attrs.length;
  let values: string[];
  if (fields[0].startsWith('{')) {
    const sparse = expandSparse(h, fields, line);
    if (!Array.isArray(sparse)) return sparse;
    values = sparse;
  } else {
    values = fields;
    // A trailing {weight} is Weka's instance weight; the weight is not a feature.
    if (values.length === k + 1 && /^\{.*\}$/.test(values[k])) values = values.slice(0, k);
    if (values.length !== k) {
      return { line, column: Math.min(values.length, k) + 1, message: `expected ${k} values (one per @attribute), got ${values.length}` };
    }
  }
  for (let j = 0; j < k; j++) {
    const v = values[j];
    if (v === ARFF_MISSING) continue;
    const a = attrs[j];
    if (a.type === 'numeric' && (v === '' || !Number.isFinite(Number(v)))) {
      return { line, column: j + 1, message: `attribute '${a.name}' is numeric, got '${v}'` };
    }
    if (a.type === 'nominal' && !a.values!.includes(v)) {
      return { line, column: j + 1, message: `attribute '${a.name}': '${v}' is not one of its declared values {${a.values!.slice(0, 8).join(',')}${a.values!.length > 8 ? ',…' : ''}}` };
    }
  }
  return values;
}

/** `{i v, j w}`: unlisted attributes are 0 (numeric) or the first declared value (nominal), as in Weka. */
function expandSparse(h: ArffHeader, fields: string[], line: number): string[] | RowProblem {
  const attrs = h.attributes;
  const values = attrs.map((a) => (a.type === 'nominal' ? a.values![0] : a.type === 'numeric' ? '0' : ''));
  const joined = fields.join(',').trim();
  if (!joined.endsWith('}')) return { line, column: 1, message: `sparse row must end with '}'` };
  const body = joined.slice(1, -1).trim();
  if (body === '') return values;
  for (const [n, part] of body.split(',').entries()) {
    const m = /^\s*(\d+)\s+(.*?)\s*$/.exec(part);
    if (!m) return { line, column: n + 1, message: `sparse entry '${part.trim()}': expected '<index> <value>'` };
    const index = Number(m[1]);
    if (index >= attrs.length) return { line, column: n + 1, message: `sparse index ${index} is past the last attribute (${attrs.length - 1})` };
    values[index] = m[2].replace(/^'(.*)'$|^"(.*)"$/, '$1$2');
  }
  return values;
}
