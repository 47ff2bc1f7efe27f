/**
 * End-to-end in a real browser: Debian's chromium driven by playwright-core (see DEVELOPERS.md). Labels 5
 * samples with the keyboard, undoes one, reloads, and checks exactly the right 4 labels persisted; then audio
 * projects: the waveform, playback by space, labels by key, and active-learning suggestions from the pooled
 * log-mel embedding. Keeps screenshots of the screens in test-artifacts/.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { initBackend } from '../../src/engine/backend.js';
import { retrain } from '../../src/label/retrain.js';
import { buildServer } from '../../src/label/server.js';
import { ensureWebBuilt } from '../../src/label/web-build.js';
import { initProject } from '../../src/label/init.js';
import { makeProject, sineWav, tempDir } from './fixtures.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = 'test-artifacts';

let browser: Browser;
before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/setup.sh (installs Debian's chromium) or set CHROMIUM_PATH`);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    // Autoplay without a gesture: play() from a synthetic key press must not depend on chromium's engagement heuristics.
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--autoplay-policy=no-user-gesture-required'],
  });
});
after(async () => {
  await browser?.close();
});

/**
 * A page that records Content-Security-Policy violations: the server's CSP allows no inline script or
 * style, so a UI change that needs one shows up here instead of as a silently broken screen.
 */
async function newPage(): Promise<{ page: Page; violations: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const violations: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
  });
  return { page, violations };
}

async function currentId(page: Page): Promise<number> {
  const text = await page.locator('.caption').innerText();
  return Number(/#(\d+)/.exec(text)![1]);
}

test('label 5 samples with the keyboard, undo one, reload: exactly the right 4 labels persist', async () => {
  const webDir = await ensureWebBuilt(() => undefined);
  await initBackend('cpu');
  const { store } = await makeProject(40);
  // Some earlier labels by another annotator and a model run, so the screen shows suggestions.
  const bob = (await store.annotatorByToken(await store.addAnnotator('bob')))!;
  for (let id = 1; id <= 8; id++) await store.label(id, (id - 1) % 2, bob.id);
  await retrain(store);
  const token = await store.addAnnotator('alice');
  const alice = (await store.annotatorByToken(token))!;
  const app = buildServer(store, { host: '127.0.0.1', webDir });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  const { page, violations } = await newPage();
  try {
    const res = await page.goto(`${address}/?token=${token}#label`);
    assert.match(res!.headers()['content-security-policy'], /script-src 'self'/);
    await page.locator('.stage img').waitFor();
    // The token moved from the address bar into localStorage.
    assert.ok(!page.url().includes('token='));
    // The model's suggestion is pre-selected.
    const sug = await page.locator('.suggestion b').innerText();
    assert.equal(await page.locator('button.class.selected').getAttribute('data-class'), sug);

    const done: { id: number; label: string }[] = [];
    const keys = ['1', '2', '3', '2', '1'];
    for (const key of keys) {
      const id = await currentId(page);
      await page.keyboard.press(key);
      await page.waitForFunction((prev) => !document.querySelector('.caption')?.textContent?.startsWith(`#${prev} `), id);
      done.push({ id, label: store.meta.classes[Number(key) - 1] });
    }
    // Skip one: it is not labeled.
    const skipped = await currentId(page);
    await page.keyboard.press('s');
    await page.waitForFunction((prev) => !document.querySelector('.caption')?.textContent?.startsWith(`#${prev} `), skipped);
    await page.screenshot({ path: `${mkdirOut()}/label-main.png` });

    // Undo brings the last labeled sample back on screen, unlabeled again.
    await page.keyboard.press('u');
    await page.waitForFunction((id) => document.querySelector('.caption')?.textContent?.startsWith(`#${id} `), done[4].id);
    await page.reload();
    await page.locator('.stage img').waitFor();
    await page.waitForFunction(() => /\d+ \/ \d+ labeled/.test(document.getElementById('progress-text')?.textContent ?? ''));
    assert.equal(await page.locator('#progress-text').innerText(), `12 / ${store.meta.target} labeled`);

    const mine = new Map((await store.currentLabelEvents()).filter((x) => x.event.annotatorId === alice.id).map((x) => [x.sample.id, store.meta.classes[x.sample.label!]]));
    assert.deepEqual(
      [...mine.entries()].sort((a, b) => a[0] - b[0]),
      done.slice(0, 4).map((d) => [d.id, d.label] as [number, string]).sort((a, b) => a[0] - b[0]),
    );
    assert.equal((await store.sample(done[4].id))!.label, null);
    assert.equal((await store.sample(skipped))!.label, null);
    assert.equal((await store.stats()).labeled, 12);

    await page.goto(`${address}/#overview`);
    await page.locator('.cards').waitFor();
    assert.match(await page.locator('.cards').innerText(), /12\s*labeled of 40/);
    await page.screenshot({ path: `${mkdirOut()}/label-overview.png`, fullPage: true });
    // The grid too, then: nothing on any screen needed what the CSP forbids.
    await page.goto(`${address}/#grid`);
    await page.locator('.grid img').first().waitFor();
    assert.deepEqual(violations, []);
  } finally {
    await page.close();
    await app.close();
    await store.close();
  }
});

test('audio: waveform drawn from the decoded file, play with space, label with a key', async () => {
  const webDir = await ensureWebBuilt(() => undefined);
  const root = tempDir('audio');
  mkdirSync(join(root, 'clips'));
  writeFileSync(join(root, 'clips', 'a.wav'), sineWav(440, 0.5));
  writeFileSync(join(root, 'clips', 'b.wav'), sineWav(880, 0.5));
  const store = await initProject(join(root, 'project'), { data: join(root, 'clips'), classes: ['low', 'high'], overlap: 0, log: () => undefined });
  const token = await store.addAnnotator('alice');
  const app = buildServer(store, { host: '127.0.0.1', webDir });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  const { page, violations } = await newPage();
  try {
    await page.goto(`${address}/?token=${token}#label`);
    await page.locator('.media.audio canvas').waitFor();
    // The waveform's envelope rises (the fixture's amplitude ramps up): bar heights at the right > left.
    await page.waitForFunction(() => {
      const c = document.querySelector('.media.audio canvas') as HTMLCanvasElement;
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let painted = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i] > 0) painted++;
      return painted > 1000;
    });
    // A string, not a function: tsx would wrap named inner functions in a helper the page does not have.
    const heights = (await page.evaluate(`(() => {
      const c = document.querySelector('.media.audio canvas');
      const ctx = c.getContext('2d');
      return [0.1, 0.9].map((f) => {
        const d = ctx.getImageData(Math.floor(c.width * f), 0, 1, c.height).data;
        let h = 0;
        for (let i = 3; i < d.length; i += 4) if (d[i] > 0) h++;
        return h;
      });
    })()`)) as number[];
    assert.ok(heights[1] > 3 * heights[0], `waveform envelope ${heights}`);
    await page.keyboard.press(' ');
    await page.waitForFunction(() => document.querySelector('.play')?.textContent?.includes('pause'));
    const id = await currentId(page);
    await page.keyboard.press('2');
    await page.waitForFunction((prev) => !document.querySelector('.caption')?.textContent?.startsWith(`#${prev} `), id);
    assert.equal((await store.sample(id))!.label, 1);
    await page.screenshot({ path: `${mkdirOut()}/label-audio.png` });
    assert.deepEqual(violations, []);
  } finally {
    await page.close();
    await app.close();
    await store.close();
  }
});

test('audio project: pooled log-mel embeddings give suggestions; play a clip, label it by key, see it stored', async () => {
  const webDir = await ensureWebBuilt(() => undefined);
  await initBackend('cpu');
  const root = tempDir('audio-al');
  mkdirSync(join(root, 'clips'));
  // Two kinds of clip: low tones (200–290 Hz) and high tones (1.6–2.3 kHz), interleaved in path order.
  for (let i = 0; i < 12; i++) writeFileSync(join(root, 'clips', `c${String(i).padStart(2, '0')}.wav`), sineWav(i % 2 === 0 ? 200 + 15 * i : 1600 + 60 * i, 0.5));
  const store = await initProject(join(root, 'project'), { data: join(root, 'clips'), classes: ['low', 'high'], overlap: 0, strategy: 'random', retrainEvery: 1000, log: () => undefined });
  assert.equal((await store.embeddings())?.dim, 80, 'audio samples get the 80-d pooled log-mel embedding');
  // Four earlier labels by another annotator and a model run, so the screen shows suggestions.
  const bob = (await store.annotatorByToken(await store.addAnnotator('bob')))!;
  for (let id = 1; id <= 4; id++) await store.label(id, (id - 1) % 2, bob.id);
  await retrain(store);
  const token = await store.addAnnotator('alice');
  const app = buildServer(store, { host: '127.0.0.1', webDir });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  const { page, violations } = await newPage();
  try {
    await page.goto(`${address}/?token=${token}#label`);
    await page.locator('.media.audio audio').waitFor({ state: 'attached' });
    // The active-learning suggestion is shown and pre-selected, and it is right: sample i is low when i is odd (ids from 1).
    await page.locator('.suggestion b').waitFor();
    const id = await currentId(page);
    const suggested = await page.locator('.suggestion b').innerText();
    assert.equal(suggested, id % 2 === 1 ? 'low' : 'high', `suggestion for #${id}`);
    assert.equal(await page.locator('button.class.selected').getAttribute('data-class'), suggested);
    // Space plays the clip: the audio element reports played time.
    await page.keyboard.press(' ');
    await page.waitForFunction(() => {
      const a = document.querySelector('.media.audio audio') as HTMLAudioElement | null;
      return a !== null && a.played.length > 0 && a.played.end(0) > 0;
    });
    assert.match(await page.locator('.play').innerText(), /pause|play/);
    await page.screenshot({ path: `${mkdirOut()}/label-audio-suggestion.png` });
    // Label it by key with the class it is not suggested as (so the key, not Enter's default, is what counts).
    const key = suggested === 'low' ? '2' : '1';
    await page.keyboard.press(key);
    await page.waitForFunction((prev) => !document.querySelector('.caption')?.textContent?.startsWith(`#${prev} `), id);
    assert.equal((await store.sample(id))!.label, Number(key) - 1);
    assert.deepEqual(violations, []);
  } finally {
    await page.close();
    await app.close();
    await store.close();
  }
});

function mkdirOut(): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  return ARTIFACTS;
}
