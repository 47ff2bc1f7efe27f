/**
 * A streaming delimited-text reader for tables larger than memory: the file is read in chunks and fed to a
 * state machine (`DelimitedParser`) that hands out one row at a time, so memory is one chunk plus one row no
 * matter how long the file is. Rows that straddle a chunk boundary (including quoted fields with newlines
 * inside) are carried over and parsed again once the rest arrives.
 *
 * `src/data/csv.ts` stays the small in-memory parser for label files; this one adds the things tables need:
 * delimiter sniffing (and a clear error when the configured delimiter is wrong), ragged-row detection with
 * file/line/column, `skipBadRows` with a report of each skipped row, and ARFF's dialect (single quotes,
 * `%` comments, spaces after commas) through options.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { UlearnError } from '../errors.js';

export interface ParserOptions {
  /** Single-character field delimiter. */
  delimiter: string;
  /** Characters that open a quoted field (CSV: `"`; ARFF: `'` and `"`). A quote only counts at a field's start. */
  quotes?: string;
  /** Skip spaces and tabs around unquoted values and before quotes (ARFF style). Default false (RFC 4180). */
  trim?: boolean;
  /** A line whose first character is this is a comment (ARFF: '%'). */
  comment?: string;
  /** Inside quotes, this character escapes the next one (Weka writes 'it\\'s' and '\\n'). Default none. */
  escape?: string;
}

/** A row the parser could not read (the parser resynchronises at the next line). */
export interface RowProblem {
  line: number;
  /** 1-based field index where the problem is. */
  column: number;
  message: string;
}

export interface ParserSink {
  row(fields: string[], line: number): void;
  bad(problem: RowProblem): void;
}

const LF = 10;
const CR = 13;
const SPACE = 32;
const TAB = 9;

/**
 * Push chunks of text, get rows. `end()` flushes the last row (a file need not end with a newline). Quotes
 * follow RFC 4180: a doubled quote inside a quoted field is one quote; text after a closing quote other than
 * a delimiter or line end is a bad row; an unterminated quote at the end of input is fatal, since everything
 * after it was swallowed into one field and no row boundary can be trusted.
 */
export class DelimitedParser {
  private carry = '';
  /** Line number (1-based) of the first character of `carry`. */
  private line = 1;
  private readonly delim: number;
  private readonly quoteSet: Set<number>;
  private readonly trim: boolean;
  private readonly comment: number;
  private readonly escape: number;
  private first = true;

  constructor(
    private readonly source: string,
    opts: ParserOptions,
    private readonly sink: ParserSink,
    startLine = 1,
  ) {
    if (opts.delimiter.length !== 1) throw new UlearnError(`delimiter must be one character, got '${opts.delimiter}'`, { code: 'E_CONFIG' });
    this.delim = opts.delimiter.charCodeAt(0);
    this.quoteSet = new Set([...(opts.quotes ?? '"')].map((c) => c.charCodeAt(0)));
    this.trim = opts.trim ?? false;
    this.comment = opts.comment ? opts.comment.charCodeAt(0) : -1;
    this.escape = opts.escape ? opts.escape.charCodeAt(0) : -1;
    this.line = startLine;
  }

  push(chunk: string): void {
    if (this.first) {
      this.first = false;
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
    }
    const text = this.carry.length > 0 ? this.carry + chunk : chunk;
    const used = this.parse(text, false);
    this.carry = used < text.length ? text.slice(used) : '';
  }

  end(): void {
    if (this.carry.length > 0) this.parse(this.carry, true);
    this.carry = '';
  }

  /**
   * The quoted field opening at `start`: its value and the index after the closing quote; undefined when the
   * closing quote is not in `text` yet (more input may come), null when it never comes (end of input).
   */
  private readQuoted(text: string, start: number, final: boolean): { value: string; end: number } | undefined | null {
    const n = text.length;
    const q = text.charCodeAt(start);
    let value = '';
    let seg = start + 1;
    for (let j = seg; j < n; j++) {
      const c = text.charCodeAt(j);
      if (c === this.escape) {
        if (j + 1 >= n) break;
        value += text.slice(seg, j) + unescapeChar(text[j + 1]);
        seg = ++j + 1;
      } else if (c === q) {
        if (j + 1 >= n && !final) return undefined; // the next char (a possible doubled quote) is not here yet
        if (text.charCodeAt(j + 1) === q) {
          value += text.slice(seg, j + 1);
          seg = ++j + 1;
          continue;
        }
        return { value: value + text.slice(seg, j), end: j + 1 };
      }
    }
    return final ? null : undefined;
  }

  /** Parses complete rows from `text`; returns how many characters were consumed. */
  private parse(text: string, final: boolean): number {
    const n = text.length;
    const d = this.delim;
    let i = 0;
    while (i < n) {
      const rowStart = i;
      const rowLine = this.line;
      let newlines = 0;
      const c0 = text.charCodeAt(i);
      if (c0 === this.comment || c0 === LF || c0 === CR) {
        // Blank and comment lines: skip to the end of the line.
        let j = i;
        while (j < n && text.charCodeAt(j) !== LF && text.charCodeAt(j) !== CR) j++;
        if ((j >= n || (text.charCodeAt(j) === CR && j + 1 >= n)) && !final) return rowStart;
        i = skipNewline(text, j);
        this.line++;
        continue;
      }
      const fields: string[] = [];
      let problem: RowProblem | undefined;
      for (;;) {
        if (this.trim) while (i < n && (text.charCodeAt(i) === SPACE || text.charCodeAt(i) === TAB)) i++;
        if (i >= n && !final) return rowStart;
        const c = i < n ? text.charCodeAt(i) : -1;
        if (this.quoteSet.has(c)) {
          const quoted = this.readQuoted(text, i, final);
          if (quoted === undefined) return rowStart;
          if (quoted === null) {
            throw new UlearnError(`${this.source} line ${rowLine}, column ${fields.length + 1}: unterminated quoted field (the quote opened here is never closed)`, {
              code: 'E_DATA',
              hint: 'check for a stray quote character in this row',
            });
          }
          const value = quoted.value;
          // Count line ends in the raw text: an escaped '\\n' is not one.
          newlines += countNewlines(text.slice(i, quoted.end));
          i = quoted.end;
          fields.push(value);
          if (this.trim) while (i < n && (text.charCodeAt(i) === SPACE || text.charCodeAt(i) === TAB)) i++;
          if (i < n) {
            const after = text.charCodeAt(i);
            if (after !== d && after !== LF && after !== CR) {
              problem = { line: rowLine + newlines, column: fields.length, message: `unexpected '${text[i]}' after a closing quote (expected the delimiter or the end of the line)` };
            }
          } else if (!final) return rowStart;
        } else {
          let j = i;
          while (j < n) {
            const cj = text.charCodeAt(j);
            if (cj === d || cj === LF || cj === CR) break;
            j++;
          }
          if (j >= n && !final) return rowStart;
          let end = j;
          if (this.trim) while (end > i && (text.charCodeAt(end - 1) === SPACE || text.charCodeAt(end - 1) === TAB)) end--;
          fields.push(text.slice(i, end));
          i = j;
        }
        if (problem) {
          // Resynchronise at the next line end (a bad row never swallows the next one).
          while (i < n && text.charCodeAt(i) !== LF && text.charCodeAt(i) !== CR) i++;
          if (i >= n && !final) return rowStart;
          break;
        }
        if (i < n && text.charCodeAt(i) === d) {
          i++;
          if (i >= n && final) {
            fields.push('');
            break;
          }
          continue;
        }
        break; // line end or end of input
      }
      if (i < n && text.charCodeAt(i) === CR && i + 1 >= n && !final) return rowStart; // maybe a CRLF split
      i = skipNewline(text, i);
      this.line += newlines + 1;
      if (problem) this.sink.bad(problem);
      else this.sink.row(fields, rowLine);
    }
    return i;
  }
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r' };

function unescapeChar(ch: string): string {
  return ESCAPES[ch] ?? ch;
}

function skipNewline(text: string, i: number): number {
  if (i < text.length && text.charCodeAt(i) === CR) i++;
  if (i < text.length && text.charCodeAt(i) === LF) i++;
  return i;
}

/** Line ends (LF, CRLF or a lone CR) in s. */
function countNewlines(s: string): number {
  let count = 0;
  for (let k = s.indexOf('\n'); k >= 0; k = s.indexOf('\n', k + 1)) count++;
  // A lone CR is a line end too (the same rule the row loop applies).
  for (let k = s.indexOf('\r'); k >= 0; k = s.indexOf('\r', k + 1)) if (s.charCodeAt(k + 1) !== LF) count++;
  return count;
}

const CANDIDATES = [',', '\t', ';', '|'];
const SNIFF_CHARS = 65536;

/**
 * Guesses the delimiter from the first lines: the candidate that splits every sampled row into the same number
 * (> 1) of fields, preferring more fields. Returns undefined when nothing splits consistently (a one-column
 * file, or one too ragged to tell).
 */
export function sniffDelimiter(sample: string, quotes = '"'): string | undefined {
  let best: { delim: string; fields: number } | undefined;
  for (const delim of CANDIDATES) {
    const counts: number[] = [];
    const parser = new DelimitedParser('sample', { delimiter: delim, quotes }, { row: (f) => counts.push(f.length), bad: () => counts.push(-1) });
    try {
      parser.push(sample.slice(0, SNIFF_CHARS));
    } catch {
      continue;
    }
    const rows = counts.slice(0, 50);
    if (rows.length === 0) continue;
    const k = rows[0];
    if (k > 1 && rows.every((c) => c === k) && (!best || k > best.fields)) best = { delim, fields: k };
  }
  return best?.delim;
}

export interface CsvStreamOptions {
  /** Field delimiter; default: sniffed from the first 64 KiB (',' when nothing splits consistently). */
  delimiter?: string;
  /** First row is a header (default true). Without one, columns are named column1, column2, ... */
  header?: boolean;
  /** Skip (and report through onSkip) rows that cannot be read, instead of failing on the first. */
  skipBadRows?: boolean;
  onSkip?: (problem: RowProblem) => void;
  /** Bytes per read. Default 1 MiB. */
  chunkBytes?: number;
}

export interface CsvHeader {
  source: string;
  delimiter: string;
  columns: string[];
  /** Line of the header row (0 when the file has none). */
  line: number;
}

/**
 * Streams a CSV file: `onHeader` once, then `onRow(fields, line)` for every data row (fields.length always
 * equals the header's). Bad rows (ragged, text after a closing quote) throw with file, line and column, or
 * with `skipBadRows` are reported and skipped. Resolves with the number of rows delivered and skipped.
 */
export async function streamCsv(
  path: string,
  opts: CsvStreamOptions,
  onHeader: (header: CsvHeader) => void,
  onRow: (fields: string[], line: number) => void,
): Promise<{ rows: number; skipped: number }> {
  const st = await stat(path).catch(() => undefined);
  if (!st) throw new UlearnError(`${path}: no such file`, { code: 'E_DATA_MISSING' });
  if (!st.isFile()) throw new UlearnError(`${path}: not a file`, { code: 'E_DATA' });
  if (st.size === 0) throw new UlearnError(`${path}: the file is empty (expected a header row and data rows)`, { code: 'E_DATA' });

  const wantHeader = opts.header ?? true;
  let header: CsvHeader | undefined;
  let rows = 0;
  let skipped = 0;
  const skip = (p: RowProblem) => {
    if (!opts.skipBadRows) {
      throw new UlearnError(`${path} line ${p.line}, column ${p.column}: ${p.message}`, { code: 'E_DATA', hint: 'fix the row, or pass --skip-bad-rows to skip (and list) such rows' });
    }
    skipped++;
    opts.onSkip?.(p);
  };
  const sink: ParserSink = {
    row(fields, line) {
      if (fields.length === 1 && fields[0].trim() === '') return; // a line of spaces is blank, not a ragged row
      if (!header) {
        header = makeHeader(path, delimiter!, fields, wantHeader ? line : 0);
        onHeader(header);
        if (wantHeader) return;
      }
      const k = header.columns.length;
      if (fields.length !== k) {
        const column = Math.min(fields.length, k) + 1;
        const what = fields.length > k ? `an extra field '${truncate(fields[k])}'` : `only ${fields.length}`;
        skip({ line, column, message: `expected ${k} fields like the header, got ${fields.length} (${what}${fields.length < k ? ` — column '${header.columns[fields.length]}' is missing` : ''})` });
        return;
      }
      rows++;
      onRow(fields, line);
    },
    bad: skip,
  };

  let delimiter = opts.delimiter;
  let parser: DelimitedParser | undefined;
  const stream = createReadStream(path, { encoding: 'utf8', highWaterMark: opts.chunkBytes ?? 1 << 20 });
  try {
    // The delimiter is sniffed from the first 64 KiB, so small chunks are pooled until there is that much.
    let head = '';
    const start = () => {
      delimiter = checkDelimiter(path, head, opts.delimiter);
      parser = new DelimitedParser(path, { delimiter }, sink);
      parser.push(head);
      head = '';
    };
    for await (const chunk of stream as AsyncIterable<string>) {
      if (parser) parser.push(chunk);
      else if ((head += chunk).length >= SNIFF_CHARS) start();
    }
    if (!parser) start();
    parser!.end();
  } finally {
    stream.destroy();
  }
  if (!header) throw new UlearnError(`${path}: the file has no rows (only blank lines)`, { code: 'E_DATA' });
  return { rows, skipped };
}

/** The delimiter to use: the configured one (checked against the first lines) or the sniffed one. */
function checkDelimiter(path: string, head: string, configured: string | undefined): string {
  const sniffed = sniffDelimiter(head);
  if (configured === undefined) return sniffed ?? ',';
  if (configured.length !== 1) throw new UlearnError(`delimiter must be one character, got '${configured}'`, { code: 'E_CONFIG' });
  if (sniffed !== undefined && sniffed !== configured) {
    // Only an error when the configured delimiter does not split the header at all; a file can legitimately
    // contain other candidate characters inside its values.
    let headerFields = 0;
    new DelimitedParser(path, { delimiter: configured }, { row: (f) => (headerFields ||= f.length), bad: () => undefined }).push(head.slice(0, SNIFF_CHARS));
    if (headerFields <= 1) {
      throw new UlearnError(`${path} line 1: the delimiter '${show(configured)}' does not split the header, but '${show(sniffed)}' does: wrong delimiter?`, {
        code: 'E_DATA',
        hint: `use delimiter '${show(sniffed)}' (or leave it out to detect it)`,
      });
    }
  }
  return configured;
}

function makeHeader(path: string, delimiter: string, fields: string[], line: number): CsvHeader {
  const columns = line > 0 ? fields.map((f, i) => (f.trim() === '' ? `column${i + 1}` : f.trim())) : fields.map((_, i) => `column${i + 1}`);
  const seen = new Map<string, number>();
  columns.forEach((name, i) => {
    const prev = seen.get(name);
    if (prev !== undefined) {
      throw new UlearnError(`${path} line ${line}: column name '${name}' appears twice (columns ${prev + 1} and ${i + 1})`, { code: 'E_DATA' });
    }
    seen.set(name, i);
  });
  return { source: path, delimiter, columns, line };
}

function show(d: string): string {
  return d === '\t' ? '\\t' : d;
}

function truncate(s: string, max = 30): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}
