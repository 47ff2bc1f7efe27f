/**
 * A small RFC 4180 CSV parser (quotes, "" escapes, CRLF, BOM) that remembers the line each row starts on,
 * so label-file errors can say "labels.csv line 17". Label files are small; no streaming needed.
 */
import { UlearnError } from '../errors.js';

export interface CsvRow {
  /** 1-based line number where the row starts. */
  line: number;
  fields: string[];
}

/** All non-blank rows, header included. */
export function parseCsv(text: string, source: string): CsvRow[] {
  const rows: CsvRow[] = [];
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  while (i < text.length) {
    const start = line;
    const fields: string[] = [];
    let field = '';
    let quoted = false;
    for (; i < text.length; i++) {
      const ch = text[i];
      if (quoted) {
        if (ch === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i++;
          } else quoted = false;
        } else {
          if (ch === '\n') line++;
          field += ch;
        }
      } else if (ch === '"' && field.length === 0) quoted = true;
      else if (ch === ',') {
        fields.push(field);
        field = '';
      } else if (ch === '\n' || ch === '\r') break;
      else field += ch;
    }
    if (quoted) throw new UlearnError(`${source} line ${start}: unterminated quoted field`, { code: 'E_DATA' });
    fields.push(field);
    // Consume the line ending (\n, \r\n or a lone \r).
    if (text[i] === '\r') i++;
    if (text[i] === '\n') i++;
    line++;
    if (!(fields.length === 1 && fields[0].trim() === '')) rows.push({ line: start, fields });
  }
  return rows;
}
