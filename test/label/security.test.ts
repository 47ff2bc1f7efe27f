/**
 * The label server under hostile requests (issue 17): encoded URLs must not get around the token, media
 * must not follow links out of the data root or serve changed files, the Host header is checked against
 * the bound address (DNS rebinding), every response carries the security headers, numeric query params are
 * validated, and CSV exports cannot carry spreadsheet formulas.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import sharp from 'sharp';
import { exportLabels, importLabels, parseLabelFile } from '../../src/label/import-export.js';
import { initProject } from '../../src/label/init.js';
import { buildServer } from '../../src/label/server.js';
import { parseCsv } from '../../src/data/csv.js';
import { makeProject, rawQuery, tempDir } from './fixtures.js';

/**
 * A raw HTTP request: unlike fetch, it sends the path exactly as given (no dot-segment or case
 * normalisation). An answer Node's HTTP layer gives without the app (a 400 for a request target that
 * does not start with `/`, which the client cannot parse after a HEAD) comes back as status 0.
 */
function raw(port: number, method: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' || err.code?.startsWith('HPE_') ? resolve({ status: 0, headers: {}, body: Buffer.alloc(0) }) : reject(err)));
    req.end();
  });
}

/** Every way of writing `path` that a URL parser or router might map back onto it. */
function encodedVariants(path: string): string[] {
  const [p, q] = path.split('?');
  const query = q === undefined ? '' : `?${q}`;
  const out = new Set<string>();
  const hex = (c: string) => c.charCodeAt(0).toString(16);
  // Each letter percent-encoded on its own, in lower- and upper-case hex; then all of them at once.
  for (let i = 0; i < p.length; i++) {
    if (!/[a-z0-9]/i.test(p[i])) continue;
    out.add(p.slice(0, i) + '%' + hex(p[i]) + p.slice(i + 1) + query);
    out.add(p.slice(0, i) + '%' + hex(p[i]).toUpperCase() + p.slice(i + 1) + query);
  }
  out.add(p.replace(/[a-z]/gi, (c) => '%' + hex(c)) + query);
  const segs = p.split('/').slice(1);
  const first = segs[0];
  const rest = segs.slice(1).join('/');
  for (const v of [
    `/${p}`, // double slash at the start
    `/${first}//${rest}`, // double slash inside
    `${p}/`, // trailing slash
    `${p}//`,
    p.toUpperCase(),
    `/${first.toUpperCase()}/${rest}`,
    `/${first[0].toUpperCase()}${first.slice(1)}/${rest}`,
    `/x/..${p}`, // dot segments
    `/./${first}/${rest}`,
    `/${first}/./${rest}`,
    `/${first}/x/../${rest}`,
    `/%2e/${first}/${rest}`,
    `/x/%2e%2e/${first}/${rest}`,
    `/x/%2E%2E/${first}/${rest}`,
    `/${first}/x/%2e%2e/${rest}`,
    `/${first};/${rest}`, // semicolons (matrix parameters)
    `/${first};x=1/${rest}`,
    `${p};`,
    `${p};x=1`,
    `/${first}%2f${rest}`, // encoded slash
    `/${first}%2F${rest}`,
    `%2f${first}/${rest}`,
    `/${first}%5c${rest}`, // encoded backslash
    `${p}%00`,
    `${p}%20`,
    `${p}%09`,
    `${p}#x`,
  ]) {
    out.add(v + query);
  }
  out.delete(path);
  return [...out];
}

describe('label server: no token bypass with encoded URLs (LAN bind)', async () => {
  const { store } = await makeProject(6);
  const alice = await store.addAnnotator('alice');
  await store.label(1, 0, (await store.annotatorByToken(alice))!.id);
  // A stand-in for the built UI: the static route answers every other GET path with index.html.
  const web = tempDir('web');
  mkdirSync(join(web, 'assets'));
  const INDEX = '<!doctype html><title>ui</title>';
  writeFileSync(join(web, 'index.html'), INDEX);
  writeFileSync(join(web, 'assets', 'app.js'), 'console.log(1)');
  const withUi = buildServer(store, { host: '0.0.0.0', webDir: web });
  const apiOnly = buildServer(store, { host: '0.0.0.0' });
  await withUi.listen({ port: 0, host: '127.0.0.1' });
  await apiOnly.listen({ port: 0, host: '127.0.0.1' });
  after(async () => {
    await withUi.close();
    await apiOnly.close();
    await store.close();
  });
  const png = readFileSync(join(store.meta.dataRoot, 's000.png'));
  // Things that only an authorised reader may see: annotator names, the event log, image bytes.
  const secret = (body: Buffer) => body.includes(Buffer.from('alice')) || body.includes(Buffer.from('"sampleId"')) || body.includes(Buffer.from('"classes"')) || body.includes(png.subarray(0, 16));

  const routes: [string, string][] = [
    ['GET', '/api/project'],
    ['GET', '/api/queue?limit=2'],
    ['GET', '/api/samples?offset=0'],
    ['GET', '/api/samples/1'],
    ['GET', '/api/overview'],
    ['GET', '/api/export?format=jsonl'],
    ['GET', '/api/export?format=csv'],
    ['GET', '/media/1'],
    ['HEAD', '/media/1'],
    ['HEAD', '/api/export?format=jsonl'],
    ['POST', '/api/labels'],
    ['POST', '/api/undo'],
  ];

  test('the canonical routes need a token, and work with one', async () => {
    for (const app of [withUi, apiOnly]) {
      const port = (app.server.address() as AddressInfo).port;
      for (const [method, path] of routes) {
        const r = await raw(port, method, path);
        assert.equal(r.status, 401, `${method} ${path} without a token`);
        if (method === 'GET') {
          const ok = await raw(port, method, path, { authorization: `Bearer ${alice}` });
          assert.equal(ok.status, 200, `${method} ${path} with a token`);
        }
      }
    }
  });

  test('no encoded, doubled, dotted, cased or semicolon variant of a route reads anything without a token', async () => {
    let tried = 0;
    for (const [app, ui] of [[apiOnly, false], [withUi, true]] as const) {
      const port = (app.server.address() as AddressInfo).port;
      for (const [method, path] of routes) {
        for (const v of encodedVariants(path)) {
          const r = await raw(port, method, v);
          tried++;
          const what = `${method} ${v} (${ui ? 'with' : 'without'} UI) -> ${r.status} ${r.body.toString('latin1').slice(0, 80)}`;
          assert.ok(!secret(r.body), `leaked: ${what}`);
          // Either refused, or (with the UI) answered with the UI's index page, which holds no data.
          if (r.status > 0 && r.status < 400) {
            assert.ok(ui && method !== 'POST' && (method === 'HEAD' || r.body.toString() === INDEX), `answered: ${what}`);
          }
          assert.ok(r.status < 500, `server error: ${what}`);
        }
      }
    }
    assert.ok(tried > 800, `tried ${tried} variants`);
  });

  test('the issue\'s reproductions: /%61pi/export and /%6dedia/1 are refused without a token', async () => {
    const port = (apiOnly.server.address() as AddressInfo).port;
    for (const path of ['/%61pi/export?format=jsonl', '/%6dedia/1', '/%6Dedia/1', '/a%70i/overview']) {
      const r = await raw(port, 'GET', path);
      assert.equal(r.status, 401, `${path}: ${r.body.toString().slice(0, 100)}`);
    }
    // The same with the token: the router does map them onto the API, so the token is what guards them.
    const ok = await raw(port, 'GET', '/%61pi/export?format=jsonl', { authorization: `Bearer ${alice}` });
    assert.equal(ok.status, 200);
  });
});

describe('label server: media stays inside the data root and unchanged', async () => {
  const { store, root } = await makeProject(8);
  const app = buildServer(store, { host: '127.0.0.1' });
  after(async () => {
    await app.close();
    await store.close();
  });
  const dataRoot = store.meta.dataRoot;
  const get = (id: number) => app.inject({ url: `/media/${id}` });

  test('init records each file\'s size and mtime', async () => {
    const st = statSync(join(dataRoot, 's003.png'));
    const s = (await store.sampleFile(4))!;
    assert.equal(s.size, st.size);
    assert.equal(s.mtimeMs, st.mtimeMs);
  });

  test('a data file replaced by a link to /etc/passwd is refused, not followed', async () => {
    assert.equal((await get(2)).statusCode, 200);
    const f = join(dataRoot, 's001.png');
    unlinkSync(f);
    symlinkSync('/etc/passwd', f);
    const r = await get(2);
    assert.equal(r.statusCode, 403, r.body);
    assert.ok(!r.body.includes('root:x:0'), 'served /etc/passwd');
    assert.match(r.json().error, /symbolic link|outside the data root/);
  });

  test('a link to another file inside the root is refused too (a registered file is a regular file)', async () => {
    const f = join(dataRoot, 's002.png');
    unlinkSync(f);
    symlinkSync(join(dataRoot, 's004.png'), f);
    assert.equal((await get(3)).statusCode, 403);
  });

  test('a linked parent folder is refused', async () => {
    const outside = tempDir('outside');
    const data = join(root, 'nested');
    mkdirSync(join(data, 'sub'), { recursive: true });
    const img = await sharp(Buffer.alloc(64, 9), { raw: { width: 8, height: 8, channels: 1 } }).png().toBuffer();
    writeFileSync(join(data, 'sub', 'a.png'), img);
    writeFileSync(join(data, 'sub', 'b.png'), img);
    const st2 = await initProject(join(root, 'p2'), { data, classes: ['x', 'y'], log: () => undefined });
    const app2 = buildServer(st2, { host: '127.0.0.1' });
    try {
      assert.equal((await app2.inject({ url: '/media/1' })).statusCode, 200);
      writeFileSync(join(outside, 'a.png'), 'secret outside the root');
      renameSync(join(data, 'sub'), join(data, 'sub-old'));
      symlinkSync(outside, join(data, 'sub'));
      const r = await app2.inject({ url: '/media/1' });
      assert.equal(r.statusCode, 403, r.body);
      assert.ok(!r.body.includes('secret'));
    } finally {
      await app2.close();
      await st2.close();
    }
  });

  test('a file whose content changed since init is refused with a message; a touched but identical file is served', async () => {
    const f = join(dataRoot, 's005.png');
    const orig = readFileSync(f);
    // Same bytes, new mtime (a backup tool, `touch`): still the same sample.
    utimesSync(f, new Date(), new Date(Date.now() + 5000));
    const touched = await get(6);
    assert.equal(touched.statusCode, 200);
    assert.deepEqual(touched.rawPayload, orig);
    // Different bytes: the labels were given to the old content.
    writeFileSync(f, await sharp(Buffer.alloc(64, 200), { raw: { width: 8, height: 8, channels: 1 } }).png().toBuffer());
    const r = await get(6);
    assert.equal(r.statusCode, 409, r.body);
    assert.match(r.json().error, /s005\.png.*changed since/);
    // Same size, different bytes, mtime put back: the recorded size and mtime cannot tell (documented), but a range
    // request of a file whose size changed is refused the same way.
    writeFileSync(f, Buffer.concat([orig, Buffer.from('x')]));
    assert.equal((await app.inject({ url: '/media/6', headers: { range: 'bytes=0-3' } })).statusCode, 409);
  });

  test('a project from before size/mtime were recorded verifies the hash once, then records them', async () => {
    await rawQuery(store, 'UPDATE samples SET size = NULL, mtime_ms = NULL WHERE id IN (7, 8)');
    assert.equal((await get(7)).statusCode, 200);
    assert.equal((await store.sampleFile(7))!.size, statSync(join(dataRoot, 's006.png')).size);
    writeFileSync(join(dataRoot, 's007.png'), 'not the registered bytes');
    assert.equal((await get(8)).statusCode, 409);
    assert.equal((await store.sampleFile(8))!.size, null);
  });

  test('no file handle is left open: full, ranged, HEAD, unsatisfiable and refused requests', { skip: process.platform !== 'linux' }, async () => {
    const fds = () => readdirSync('/proc/self/fd').length;
    const before = fds();
    for (let i = 0; i < 20; i++) {
      await get(1);
      await app.inject({ url: '/media/1', headers: { range: 'bytes=2-5' } });
      await app.inject({ url: '/media/1', headers: { range: 'bytes=999999-' } });
      await app.inject({ method: 'HEAD', url: '/media/1' });
      await get(2); // the link to /etc/passwd
      await get(6); // changed content
    }
    assert.ok(fds() <= before + 2, `open descriptors ${before} -> ${fds()}`);
  });

  test('a deleted file is a 404 with a message', async () => {
    unlinkSync(join(dataRoot, 's000.png'));
    const r = await get(1);
    assert.equal(r.statusCode, 404);
    assert.match(r.json().error, /s000\.png/);
  });
});

describe('label server: Host header and security headers', async () => {
  const { store } = await makeProject(4);
  const token = await store.addAnnotator('alice');
  after(() => store.close());
  const host = (h: string) => ({ host: h });

  test('a loopback server answers only to loopback names and addresses (DNS rebinding)', async () => {
    const app = buildServer(store, { host: '127.0.0.1' });
    try {
      for (const h of ['127.0.0.1:8765', 'localhost:8765', 'localhost', 'LOCALHOST:8765', '127.0.0.1']) {
        assert.equal((await app.inject({ url: '/api/project', headers: host(h) })).statusCode, 200, h);
      }
      for (const h of ['evil.example:8765', 'evil.example', '127.0.0.1.evil.example', 'localhost.evil.example', '192.168.1.5:8765', '[::1]:8765x', 'localhost:8765@evil.example']) {
        const r = await app.inject({ url: '/api/project', headers: host(h) });
        assert.equal(r.statusCode, 403, `Host: ${h}`);
        assert.match(r.json().error, /Host/);
      }
      // Also the media and the UI routes, and writes.
      assert.equal((await app.inject({ url: '/media/1', headers: host('evil.example') })).statusCode, 403);
      const w = await app.inject({ method: 'POST', url: '/api/labels', headers: { ...host('evil.example'), authorization: `Bearer ${token}` }, payload: { sampleId: 1, label: 'dark' } });
      assert.equal(w.statusCode, 403);
      assert.equal(await store.eventCount(), 0);
    } finally {
      await app.close();
    }
  });

  test('a LAN server answers to its bound address and to names given with allowedHosts', async () => {
    const app = buildServer(store, { host: '192.168.1.5', allowedHosts: ['labbox.lan'] });
    const auth = { authorization: `Bearer ${token}` };
    try {
      for (const h of ['192.168.1.5:8765', 'labbox.lan:8765', 'LABBOX.lan']) assert.equal((await app.inject({ url: '/api/project', headers: { ...host(h), ...auth } })).statusCode, 200, h);
      for (const h of ['10.0.0.1:8765', 'evil.example', 'labbox.lan.evil.example']) assert.equal((await app.inject({ url: '/api/project', headers: { ...host(h), ...auth } })).statusCode, 403, h);
    } finally {
      await app.close();
    }
    // Bound to every interface: any IP literal (a rebinding page always has a name), no other names.
    const any = buildServer(store, { host: '0.0.0.0' });
    try {
      for (const h of ['10.0.0.7:8765', '[fe80::1]:8765', 'localhost:8765']) assert.equal((await any.inject({ url: '/api/project', headers: { ...host(h), ...auth } })).statusCode, 200, h);
      assert.equal((await any.inject({ url: '/api/project', headers: { ...host('evil.example'), ...auth } })).statusCode, 403);
    } finally {
      await any.close();
    }
  });

  test('every response carries CSP, frame, nosniff and referrer headers', async () => {
    const web = tempDir('web');
    writeFileSync(join(web, 'index.html'), '<!doctype html>');
    const app = buildServer(store, { host: '127.0.0.1', webDir: web });
    try {
      const cases = [
        { url: '/' },
        { url: '/api/project' },
        { url: '/media/1' },
        { url: '/api/samples/999' },
        { url: '/api/queue?limit=0' },
        { url: '/api/project', headers: host('evil.example') },
        { url: '/api/labels', method: 'POST' as const, payload: {} },
      ];
      for (const c of cases) {
        const r = await app.inject(c);
        const csp = String(r.headers['content-security-policy']);
        assert.match(csp, /default-src 'none'/, c.url);
        assert.match(csp, /script-src 'self'(;|$)/, c.url);
        assert.match(csp, /frame-ancestors 'none'/, c.url);
        assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/, c.url);
        assert.equal(r.headers['x-frame-options'], 'DENY', c.url);
        assert.equal(r.headers['x-content-type-options'], 'nosniff', c.url);
        assert.equal(r.headers['referrer-policy'], 'no-referrer', c.url);
        assert.equal(r.headers['cross-origin-resource-policy'], 'same-origin', c.url);
      }
    } finally {
      await app.close();
    }
  });
});

describe('label server: numeric query params are validated', async () => {
  const { store } = await makeProject(5);
  const token = await store.addAnnotator('alice');
  const app = buildServer(store, { host: '127.0.0.1' });
  after(async () => {
    await app.close();
    await store.close();
  });

  test('out-of-range, non-integer and malformed numbers are a 400 with a message, never a 500', async () => {
    const bad = ['99999999999999999999', '9007199254740993', '-1', '1.5', '1e3', '0x10', '', '%20', '+1', 'NaN', 'Infinity', '1,2', 'abc'];
    const urls: string[] = [];
    for (const v of bad) {
      urls.push(`/api/samples?offset=${v}`, `/api/samples?limit=${v}`, `/api/queue?limit=${v}`, `/api/samples/${v}`, `/media/${v}`);
      if (v !== '' && v !== '1,2') urls.push(`/api/queue?exclude=${v}`, `/api/queue?exclude=1,${v}`);
    }
    urls.push('/api/samples?offset=1&offset=2', '/api/queue?limit=1&limit=2', '/api/samples?limit=501', '/api/queue?limit=201', '/api/samples/0', '/api/samples?offset=9007199254740992');
    for (const url of urls) {
      const r = await app.inject({ url });
      assert.ok(r.statusCode === 400 || (r.statusCode === 404 && /^\/(media|api\/samples)\/[^?]*$/.test(url)), `${url} -> ${r.statusCode} ${r.body}`);
      assert.ok(typeof r.json().error === 'string' && r.json().error.length > 0, `${url}: has a message`);
    }
    // A huge offset that is still a safe integer just gives an empty page.
    const far = await app.inject({ url: '/api/samples?offset=9007199254740991' });
    assert.equal(far.statusCode, 200);
    assert.deepEqual(far.json().samples, []);
    // The body's sample id, too.
    for (const sampleId of [1e20, 2 ** 53, 1.5, 0]) {
      const r = await app.inject({ method: 'POST', url: '/api/labels', headers: { authorization: `Bearer ${token}` }, payload: { sampleId, label: 'dark' } });
      assert.equal(r.statusCode, 400, `sampleId ${sampleId}: ${r.body}`);
    }
    assert.equal(await store.eventCount(), 0);
  });
});

describe('CSV export: no spreadsheet formulas (CSV injection), and an exact round trip', async () => {
  const root = tempDir('csvinj');
  const data = join(root, 'data');
  mkdirSync(data);
  const img = await sharp(Buffer.alloc(64, 50), { raw: { width: 8, height: 8, channels: 1 } }).png().toBuffer();
  const names = ['=HYPERLINK("evil.example";"x").png', '+1.png', '-2+3.png', '@SUM(A1).png', '\tcmd.png', "'=quoted.png", "''plain.png", "'x.png", 'ok.png', '=a,b"c.png'];
  names.forEach((n, i) => writeFileSync(join(data, n), Buffer.concat([img, Buffer.from([i])])));
  const store = await initProject(join(root, 'project'), { data, classes: ['=cmd|\'/C calc\'!A0', '-1', '+1', '@x', 'plain'], log: () => undefined });
  after(() => store.close());
  const files = (await store.listSamples(0, 100)).map((s) => s.file);
  await store.importLabels('=evil()', files.map((_, i) => ({ sampleId: i + 1, label: i % 5, expected: null })));

  test('no cell of the exported CSV starts with = + - @ tab or CR', async () => {
    const csv = await exportLabels(store, 'csv');
    const rows = parseCsv(csv, 'export.csv');
    assert.equal(rows.length, names.length + 1);
    for (const r of rows) for (const f of r.fields) assert.doesNotMatch(f, /^[=+\-@\t\r]/, `cell ${JSON.stringify(f)} on line ${r.line}`);
  });

  test('importing our own export restores the original file names and labels exactly', async () => {
    const rows = parseLabelFile(await exportLabels(store, 'csv'), 'export.csv');
    const want = (await store.currentLabelEvents()).map((x) => [x.sample.file, store.meta.classes[x.sample.label!]]);
    assert.deepEqual(rows.map((r) => [r.file, r.label]), want);
    const report = await importLabels(store, rows, { source: 'export.csv', annotatorName: 'import:again' });
    assert.equal(report.unchanged, names.length);
    assert.equal(report.added, 0);
  });

  test('a hand-made CSV with a quote-guarded cell reads as the spreadsheet shows it', () => {
    const rows = parseLabelFile("file,label\n'-2+3.png,'-1\n'x.png,plain\n", 'hand.csv');
    assert.deepEqual(rows.map((r) => [r.file, r.label]), [['-2+3.png', '-1'], ["'x.png", 'plain']]);
  });
});
