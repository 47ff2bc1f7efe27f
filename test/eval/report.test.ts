import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { UlearnError } from '../../src/errors.js';
import { renderReport, writeReport, type ReportInput } from '../../src/eval/report.js';
import { sslVerdict } from '../../src/eval/comparison.js';
import { artifactDir, sampleReport } from './fixtures.js';

const svgCount = (html: string) => (html.match(/<svg\b/g) ?? []).length;
/** The page's visible text: tags dropped, the few entities we emit decoded, whitespace collapsed. */
const text = (html: string) =>
  html
    .replace(/<[^>]*>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');
const headline = (html: string) => text(/<p class="headline">(.*?)<\/p>/s.exec(html)?.[1] ?? '');

function minimal(over: Partial<ReportInput> = {}): ReportInput {
  return {
    title: 'Minimal',
    dataset: 'toy',
    totalLabels: 20,
    backend: 'cpu',
    seed: 1,
    createdAt: '2025-01-02T03:04:05Z',
    classes: ['a', 'b'],
    methods: [{ name: 'supervised-only', acc: 0.5 }],
    ...over,
  };
}

test('a full report has one SVG per chart: accuracy bars, pretraining curves, confusion matrix, embedding', () => {
  const html = renderReport(sampleReport());
  assert.equal(svgCount(html), 4);
  for (const id of ['results', 'pretraining', 'confusion', 'per-class', 'embedding']) assert.match(html, new RegExp(`id="${id}"`));
});

test('charts without data are left out rather than drawn empty', () => {
  const html = renderReport(minimal());
  assert.equal(svgCount(html), 1, 'only the accuracy bars');
  for (const id of ['pretraining', 'confusion', 'per-class', 'embedding']) assert.doesNotMatch(html, new RegExp(`id="${id}"`));
  const empty = renderReport(minimal({ methods: [], pretrain: { method: 'SimCLR', epochs: [], seconds: 0 }, embedding: { x: [], y: [], label: [] } }));
  assert.equal(svgCount(empty), 0);
  assert.match(headline(empty), /No evaluation results yet/);
  // Per-class numbers alone give the table but no heat map.
  const perClass = renderReport(minimal({ methods: [{ name: 'm', acc: 0.5, perClass: [1, null] }] }));
  assert.equal(svgCount(perClass), 1);
  assert.match(perClass, /id="per-class"/);
});

test('headline compares the best method with the baseline in formatted percentages', () => {
  const html = renderReport(sampleReport());
  assert.equal(
    headline(html),
    'With 100 labels (10 per class), SSL + fine-tune reaches 81.2% vs 65.3% supervised-only (+15.9 points).',
  );
  assert.ok(html.includes('81.2% ± 1.1'), 'accuracy ± std in the table');
  assert.ok(html.includes('76.8%'));
  assert.ok(html.includes('2025-03-14 09:26 UTC'));
  assert.ok(html.includes('13 min 32 s'));
});

test('headline arithmetic matches the rounded numbers shown, and a loss gets a minus sign', () => {
  // Raw gap 15.898 would round to 15.9, but the page shows 81.2 and 65.4, so it must say 15.8.
  const methods = [
    { name: 'base', acc: 0.65351 },
    { name: 'ssl', acc: 0.81249 },
  ];
  assert.match(headline(renderReport(minimal({ methods, baselineName: 'base' }))), /81\.2% vs 65\.4% base \(\+15\.8 points\)/);
  const worse = renderReport(minimal({ methods: [{ name: 'base', acc: 0.7 }, { name: 'ssl', acc: 0.67 }], baselineName: 'base', totalLabels: 1 }));
  assert.equal(headline(worse), 'With 1 label, ssl reaches 67.0% vs 70.0% base (−3.0 points).');
  assert.match(worse, /class="delta-down"/);
  // No baseline named: no comparison is invented.
  assert.equal(headline(renderReport(minimal())), 'With 20 labels, supervised-only reaches 50.0% test accuracy.');
});

test('user-controlled text is escaped everywhere', () => {
  const evil = '<script>alert("x")</script>';
  const input = sampleReport();
  input.classes[3] = evil;
  input.methods[1].name = 'probe & <b>bold</b>';
  input.title = `Report ${evil}`;
  const html = renderReport(input);
  assert.doesNotMatch(html, /<script/i);
  assert.doesNotMatch(html, /<b>bold/);
  assert.ok(html.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;'));
  assert.ok(html.includes('probe &amp; &lt;b&gt;bold&lt;/b&gt;'));
});

test('the page is self-contained: no URLs, scripts, external styles or fonts', () => {
  const html = renderReport(sampleReport());
  assert.doesNotMatch(html, /https?:\/\//i);
  assert.doesNotMatch(html, /<script|<link|@import|url\(|<iframe/i);
  // Images may only be inline data: (the CSP allows nothing else).
  for (const m of html.matchAll(/<img[^>]*src="([^"]*)"/g)) assert.match(m[1], /^data:image\/png;base64,/);
  assert.match(html, /<style>/);
  assert.match(html, /Content-Security-Policy/);
});

test('inconsistent input is rejected with a clear error', () => {
  assert.throws(() => renderReport(minimal({ methods: [{ name: 'm', acc: 0.5, confusion: [[1]] }] })), /not 2×2/);
  assert.throws(() => renderReport(minimal({ methods: [{ name: 'm', acc: 0.5, perClass: [1] }] })), /1 per-class values for 2 classes/);
  assert.throws(() => renderReport(minimal({ embedding: { x: [1], y: [], label: [0] } })), /embedding/);
  assert.throws(() => renderReport(minimal({ baselineName: 'nope' })), UlearnError);
});

test('writeReport writes report.html and results.json atomically (no temp files left)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ulearn-report-'));
  try {
    const input = sampleReport();
    const out = await writeReport(join(dir, 'run'), input);
    assert.deepEqual((await readdir(join(dir, 'run'))).sort(), ['report.html', 'results.json']);
    assert.deepEqual(JSON.parse(await readFile(out.jsonPath, 'utf8')), input);
    assert.equal(await readFile(out.htmlPath, 'utf8'), renderReport(input));
    // Bad input writes nothing.
    await assert.rejects(writeReport(join(dir, 'bad'), minimal({ baselineName: 'nope' })), UlearnError);
    assert.equal(existsSync(join(dir, 'bad')), false);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

const CHROMIUM = '/usr/bin/chromium';
test(
  'the sample report renders in headless Chromium (screenshot in test-artifacts/report/)',
  { skip: existsSync(CHROMIUM) ? false : `no ${CHROMIUM}: install it (apt-get install -y chromium) to screenshot the report` },
  async () => {
    const dir = await artifactDir('report');
    const { htmlPath } = await writeReport(dir, sampleReport());
    const png = join(dir, 'report.png');
    await rm(png, { force: true });
    const profile = await mkdtemp(join(tmpdir(), 'ulearn-chromium-'));
    try {
      await promisify(execFile)(
        CHROMIUM,
        [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-background-networking',
          '--disable-component-update',
          '--hide-scrollbars',
          `--user-data-dir=${profile}`,
          `--screenshot=${png}`,
          '--window-size=1200,2000',
          `file://${htmlPath}`,
        ],
        { timeout: 90_000 },
      );
    } finally {
      await rm(profile, { recursive: true, force: true });
    }
    const head = (await readFile(png)).subarray(0, 8);
    assert.deepEqual([...head], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG');
    // A blank page compresses to a few KB; charts and text make it far larger.
    assert.ok((await stat(png)).size > 50_000, 'screenshot has content');
  },
);

test('the report shows each arm’s estimate beside its test number, and its headline is about the chosen arm, not the best test number', () => {
  const input = sampleReport();
  const e = (acc: number) => ({ acc, stderr: 0.045, low: acc - 0.09, high: acc + 0.08, folds: 3, labels: 100 });
  const [sup, probe, ft] = [input.methods.find((m) => m.name === input.baselineName)!, ...input.methods.filter((m) => m.name !== input.baselineName)];
  sup.estimate = e(0.6);
  probe.estimate = e(0.74);
  probe.chosen = true;
  ft.estimate = e(0.7);
  const html = renderReport(input);
  assert.match(html, /Estimated from labels/);
  assert.ok(html.includes('74.0 ± 4.5%') && html.includes('60.0 ± 4.5%'), 'estimates in the table');
  assert.match(headline(html), new RegExp(`^With 100 labels \\(10 per class\\), ${probe.name.replace(/[+]/g, '\\+')} \\(chosen from the labels: estimated 74\\.0 ± 4\\.5%\\) reaches`));
  assert.doesNotMatch(html, /SSL did not help/);
});

test('when no SSL arm is estimated to beat supervised-only, the report says so plainly, with what to try', () => {
  const input = sampleReport();
  const e = (acc: number) => ({ acc, stderr: 0.045, low: acc - 0.09, high: acc + 0.08, folds: 3, labels: 100 });
  for (const m of input.methods) {
    m.estimate = e(m.name === input.baselineName ? 0.8 : 0.7);
    m.chosen = m.name === input.baselineName;
  }
  input.verdict = sslVerdict(input.methods, input.baselineName);
  const html = renderReport(input);
  assert.match(html, /<p class="verdict">SSL did not help here: no SSL arm is estimated to beat/);
  assert.match(html, /--budget/);
  assert.match(html, /--augment/);
  assert.match(html, /--encoder/);
});
