import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseCsv } from '../../src/data/csv.js';
import { DelimitedParser, sniffDelimiter, streamCsv, type RowProblem } from '../../src/data/csv-stream.js';
import { Rng } from '../../src/engine/seed.js';
import { tempDir } from './fixtures.js';

function parseChunks(text: string, chunk: number, opts = { delimiter: ',' }) {
  const rows: { line: number; fields: string[] }[] = [];
  const p = new DelimitedParser('t.csv', opts, { row: (fields, line) => rows.push({ line, fields }), bad: (b) => assert.fail(JSON.stringify(b)) });
  for (let i = 0; i < text.length; i += chunk) p.push(text.slice(i, i + chunk));
  p.end();
  return rows;
}

/** Random CSV text with quotes, doubled quotes, embedded delimiters and newlines, CRLF and lone-CR line ends. */
function randomCsv(rng: Rng, rows: number): string {
  const alphabet = ['a', 'b', '1', ' ', ',', '"', '\n', '\r\n', 'é'];
  const ends = ['\n', '\r\n', '\r'];
  let out = '';
  for (let r = 0; r < rows; r++) {
    const fields: string[] = [];
    for (let f = 0; f < 3; f++) {
      let v = '';
      for (let k = rng.int(5); k > 0; k--) v += alphabet[rng.int(alphabet.length)];
      // Quote whenever the value needs it (and sometimes when it does not).
      fields.push(/[",\r\n]/.test(v) || rng.random() < 0.2 ? `"${v.replace(/"/g, '""')}"` : v);
    }
    // A row whose only field is empty would be a blank line, which both parsers skip; keep row counts equal.
    if (fields.join('') === '') fields[0] = 'x';
    out += fields.join(',') + ends[rng.int(3)];
  }
  return out;
}

test('every chunking of random CSV gives the rows and line numbers of the in-memory parser (an independent implementation)', () => {
  const rng = new Rng(7);
  for (let trial = 0; trial < 20; trial++) {
    const text = randomCsv(rng, 12);
    const expected = parseCsv(text, 't.csv');
    for (const chunk of [1, 2, 3, 5, 17, text.length]) {
      assert.deepEqual(parseChunks(text, chunk), expected, `trial ${trial}, chunk ${chunk}: ${JSON.stringify(text)}`);
    }
  }
});

test('ARFF dialect: single quotes, backslash escapes, spaces after commas, % comments', () => {
  const rows: string[][] = [];
  const p = new DelimitedParser('t.arff', { delimiter: ',', quotes: `'"`, trim: true, comment: '%', escape: '\\' }, { row: (f) => rows.push(f), bad: (b) => assert.fail(b.message) });
  const text = "% comment\n1, 'a b' ,\"c,d\"\n'it\\'s', 'x\\ny', ? \n";
  for (const ch of text) p.push(ch);
  p.end();
  assert.deepEqual(rows, [
    ['1', 'a b', 'c,d'],
    ["it's", 'x\ny', '?'],
  ]);
});

test('text after a closing quote is a bad row with its line and column; the next row still parses', () => {
  const bad: RowProblem[] = [];
  const rows: string[][] = [];
  const p = new DelimitedParser('t.csv', { delimiter: ',' }, { row: (f) => rows.push(f), bad: (b) => bad.push(b) });
  p.push('a,b\n1,"x"y\n2,3\n');
  p.end();
  assert.deepEqual(rows, [['a', 'b'], ['2', '3']]);
  assert.equal(bad.length, 1);
  assert.equal(bad[0].line, 2);
  assert.equal(bad[0].column, 2);
  assert.match(bad[0].message, /after a closing quote/);
});

test('sniffDelimiter picks the delimiter that splits every line the same way', () => {
  assert.equal(sniffDelimiter('a;b;c\n1;2,5;3\n4;5;6\n'), ';');
  assert.equal(sniffDelimiter('a\tb\n"x\ty"\t2\n'), '\t');
  assert.equal(sniffDelimiter('a,b|c\n1,2|3\n'), ',');
  assert.equal(sniffDelimiter('justone\n1\n2\n'), undefined);
});

async function collect(path: string, opts: Parameters<typeof streamCsv>[1] = {}) {
  const rows: { line: number; fields: string[] }[] = [];
  let columns: string[] = [];
  const res = await streamCsv(path, opts, (h) => (columns = h.columns), (fields, line) => rows.push({ line, fields }));
  return { columns, rows, delivered: res.rows, skipped: res.skipped };
}

test('streamCsv: sniffed delimiter, header, line numbers past multi-line fields, tiny chunks', async () => {
  const dir = await tempDir();
  const path = join(dir, 'a.csv');
  await writeFile(path, '\ufeffx;y;name\n1;2;"two\nlines"\n\n3;4;plain\n');
  const out = await collect(path, { chunkBytes: 3 });
  assert.deepEqual(out.columns, ['x', 'y', 'name']);
  assert.deepEqual(out.rows, [
    { line: 2, fields: ['1', '2', 'two\nlines'] },
    { line: 5, fields: ['3', '4', 'plain'] },
  ]);
  assert.deepEqual([out.delivered, out.skipped], [2, 0]);
});

test('streamCsv errors: ragged row, unclosed quote, wrong delimiter, empty file, duplicate header', async () => {
  const dir = await tempDir();
  const write = async (name: string, text: string) => {
    const p = join(dir, name);
    await writeFile(p, text);
    return p;
  };
  const ragged = await write('ragged.csv', 'a,b,c\n1,2,3\n4,5\n6,7,8\n');
  await assert.rejects(collect(ragged), /ragged\.csv line 3, column 3: expected 3 fields like the header, got 2 .*column 'c' is missing/);
  const extra = await write('extra.csv', 'a,b\n1,2\n3,4,5\n');
  await assert.rejects(collect(extra), /extra\.csv line 3, column 3: expected 2 fields.*extra field '5'/);
  const open = await write('open.csv', 'a,b\n1,2\n3,"never closed\n4,5\n');
  await assert.rejects(collect(open, { chunkBytes: 4 }), /open\.csv line 3, column 2: unterminated quoted field/);
  const semi = await write('semi.csv', 'a;b;c\n1;2;3\n');
  await assert.rejects(collect(semi, { delimiter: ',' }), /semi\.csv line 1: the delimiter ',' does not split the header, but ';' does/);
  const empty = await write('empty.csv', '');
  await assert.rejects(collect(empty), /empty\.csv: the file is empty/);
  const blank = await write('blank.csv', '\n\n');
  await assert.rejects(collect(blank), /blank\.csv: the file has no rows/);
  const dup = await write('dup.csv', 'a,b,a\n1,2,3\n');
  await assert.rejects(collect(dup), /dup\.csv line 1: column name 'a' appears twice \(columns 1 and 3\)/);
});

test('streamCsv skipBadRows reports each skipped row and keeps the good ones', async () => {
  const dir = await tempDir();
  const path = join(dir, 'bad.csv');
  await writeFile(path, 'a,b\n1,2\n3\n"q"x,4\n5,6\n');
  const skipped: RowProblem[] = [];
  const out = await collect(path, { skipBadRows: true, onSkip: (p) => skipped.push(p) });
  assert.deepEqual(out.rows.map((r) => r.fields), [['1', '2'], ['5', '6']]);
  assert.deepEqual(skipped.map((s) => [s.line, s.column]), [[3, 2], [4, 1]]);
  assert.equal(out.skipped, 2);
});

test('streamCsv without a header names the columns and delivers the first row', async () => {
  const dir = await tempDir();
  const path = join(dir, 'nohead.csv');
  await writeFile(path, '1,2\n3,4');
  const out = await collect(path, { header: false });
  assert.deepEqual(out.columns, ['column1', 'column2']);
  assert.deepEqual(out.rows.map((r) => [r.line, ...r.fields]), [[1, '1', '2'], [2, '3', '4']]);
});
