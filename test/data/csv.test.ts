import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCsv } from '../../src/data/csv.js';

test('parseCsv handles quotes, escaped quotes, CRLF, BOM, blank lines and multi-line fields with line numbers', () => {
  const rows = parseCsv('\ufefffile,label\r\n"a,b.png","say ""hi"""\r\n\r\n"multi\nline",x\nlast,\n', 't.csv');
  assert.deepEqual(rows, [
    { line: 1, fields: ['file', 'label'] },
    { line: 2, fields: ['a,b.png', 'say "hi"'] },
    { line: 4, fields: ['multi\nline', 'x'] },
    { line: 6, fields: ['last', ''] },
  ]);
});

test('parseCsv without a trailing newline and with lone CR line endings', () => {
  assert.deepEqual(parseCsv('a,b\rc,d', 't.csv'), [
    { line: 1, fields: ['a', 'b'] },
    { line: 2, fields: ['c', 'd'] },
  ]);
  assert.throws(() => parseCsv('a\n"open', 'u.csv'), /u\.csv line 2: unterminated quoted field/);
});
