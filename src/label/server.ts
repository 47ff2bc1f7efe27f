/**
 * The labeling server: a JSON API over a LabelStore, the project's media, and the built web UI.
 *
 * Security model (it may be bound to a LAN address for a team; docs/security.md says more):
 * - every route declares its access level (`config.access`), and one onRequest hook enforces it on the
 *   route the router matched: never on the URL string, which the router decodes and normalises first
 *   (`/%61pi/export` *is* `/api/export`). A route without a level refuses to register;
 * - writes always need an annotator token (`Authorization: Bearer <token>`, from `ulearn label add-annotator`);
 *   reads need one too unless the server listens on loopback only;
 * - the `Host` header must name the bound address (or a loopback name on loopback, or a name given with
 *   `allowedHosts`), so a DNS-rebinding page cannot read a loopback server;
 * - media is addressed by sample id, never by path, and opened only as the regular file registered at
 *   init, under the data root, unchanged (media.ts);
 * - every response carries a strict CSP, anti-framing, nosniff and no-referrer headers;
 * - bodies and query params are validated with zod; anything else is a 4xx with a message and changes nothing.
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { createReadStream, existsSync, readdirSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { extname, join, relative, resolve } from 'node:path';
import { z } from 'zod';
import { UlearnError } from '../errors.js';
import { agreement } from './agreement.js';
import { EXPORT_FORMATS, exportLabels, type ExportFormat } from './import-export.js';
import { openMedia } from './media.js';
import type { Annotator, LabelStore, SampleRow } from './store.js';

/**
 * Who may call a route: `public` (the UI's files: no data), `read` (a token unless bound to loopback),
 * `write` (always a token, and only from the Authorization header: never the cookie).
 */
export type Access = 'public' | 'read' | 'write';

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
  interface FastifyRequest {
    /** The annotator whose token came with the request (set by the access hook). */
    annotator: Annotator | null;
  }
}

export interface ServerOptions {
  /** The address the server will listen on; anything but loopback makes every API call need a token. */
  host: string;
  /** Built UI (index.html + assets); when absent only the API is served. */
  webDir?: string;
  /** Called after every accepted label write (the retrain scheduler listens). */
  onLabel?: () => void;
  /** Status of the background retrain, shown in the UI. */
  modelStatus?: () => { running: boolean; pendingLabels: number; retrainEvery: number };
  /** Largest request body in bytes (default 16 KiB; a label write is ~50 bytes). */
  bodyLimit?: number;
  /** More names the server may be reached by (the `Host` header), e.g. `labbox.lan` for a LAN bind. */
  allowedHosts?: string[];
}

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.gif': 'image/gif',
  '.wav': 'audio/wav',
  '.mp3': 'audio/mpeg',
  '.ogg': 'audio/ogg',
  '.flac': 'audio/flac',
  '.json': 'application/json',
};

export function isLoopback(host: string): boolean {
  return host === '127.0.0.1' || host === 'localhost' || host === '::1' || /^127\./.test(host);
}

/**
 * Whether a `Host` header names this server. A DNS-rebinding page reaches a loopback server under the
 * attacker's *name*, so names are what must be checked; an IP literal cannot be rebound. Allowed: names
 * in `extra`; on a loopback bind, `localhost`, `*.localhost` (RFC 6761: always loopback) and loopback
 * addresses; on a wildcard bind (0.0.0.0, ::), any IP literal and the loopback names; on any other bind,
 * the bound address itself.
 */
export function hostAllowed(header: string | undefined, bound: string, extra: readonly string[] = []): boolean {
  const m = /^(?:\[([0-9a-f:.]+)\]|([a-z0-9._-]+))(?::\d{1,5})?$/i.exec(header ?? '');
  if (!m) return false;
  const name = (m[1] ?? m[2]).toLowerCase().replace(/\.$/, '');
  const b = bound.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (name === b || extra.some((h) => h.toLowerCase() === name)) return true;
  const loopbackName = name === 'localhost' || name.endsWith('.localhost') || (isIP(name) !== 0 && isLoopback(name));
  if (b === '0.0.0.0' || b === '::' || b === '') return loopbackName || isIP(name) !== 0;
  return isLoopback(b) && loopbackName;
}

/**
 * Sent with every response. The UI is one module script and one stylesheet from the server itself, with
 * no inline code or styles, so nothing else is needed: an injected script or style is not run, no other
 * site can frame the app (clickjacking a label), and a `?token=` in the address never leaks in a Referer.
 * `data:` images: the page's empty favicon. CORP: no other site can embed the media.
 */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
  'cross-origin-opener-policy': 'same-origin',
};

/**
 * A non-negative decimal integer from a query string or path, within [min, max]. Digits only: no sign,
 * exponent, hex, blanks or repeated parameter (all of which `Number()` would accept or turn into NaN), and
 * at most a safe integer, so SQLite never sees a number it cannot bind (`offset=1e20` was a 500).
 */
const intString = (min: number, max: number = Number.MAX_SAFE_INTEGER) =>
  z
    .string({ invalid_type_error: 'expected a single value' })
    .regex(/^\d+$/, 'expected a decimal integer')
    .transform(Number)
    .pipe(z.number().min(min).max(max));
const ID = /^[1-9]\d{0,15}$/;
const safeId = (n: number) => Number.isSafeInteger(n);

const LabelBody = z.object({ sampleId: z.number().int().positive().max(Number.MAX_SAFE_INTEGER), label: z.string().min(1).max(200) }).strict();
const UndoBody = z.object({}).strict();
const QueueQuery = z.object({
  limit: intString(1, 200).default('20'),
  exclude: z
    .string({ invalid_type_error: 'expected a single value' })
    .max(20000)
    .refine((s) => s === '' || s.split(',').every((x) => ID.test(x) && safeId(Number(x))), 'expected comma-separated sample ids')
    .default('')
    .transform((s) => (s ? s.split(',').map(Number) : [])),
});
const SamplesQuery = z.object({
  offset: intString(0).default('0'),
  limit: intString(1, 500).default('60'),
  filter: z.enum(['all', 'labeled', 'unlabeled']).default('all'),
});
const IdParam = z.object({
  id: z
    .string()
    .refine((s) => ID.test(s) && safeId(Number(s)), 'a sample id (positive integer)')
    .transform(Number),
});
const ExportQuery = z.object({ format: z.enum(EXPORT_FORMATS as [ExportFormat, ...ExportFormat[]]).default('csv') });

/** HTTP status of the UlearnErrors a request can cause. */
const STATUS: Record<string, number> = { E_NOT_FOUND: 404, E_CONFLICT: 409, E_MEDIA_CHANGED: 409, E_MEDIA_LINK: 403 };

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function parse<T>(schema: z.ZodType<T, z.ZodTypeDef, unknown>, value: unknown, what: string): T {
  const r = schema.safeParse(value ?? {});
  if (!r.success) {
    const first = r.error.issues[0];
    const where = first.path.length ? `${first.path.join('.')}: ` : '';
    throw new HttpError(400, `invalid ${what}: ${where}${first.message}`);
  }
  return r.data;
}

export function buildServer(store: LabelStore, opts: ServerOptions): FastifyInstance {
  const app = Fastify({ bodyLimit: opts.bodyLimit ?? 16 * 1024, logger: false });
  const readsNeedToken = !isLoopback(opts.host);
  const classes = store.meta.classes;
  const allowedHosts = opts.allowedHosts ?? [];

  const annotatorOf = async (req: FastifyRequest): Promise<Annotator | undefined> => {
    const h = req.headers.authorization;
    const m = typeof h === 'string' ? /^Bearer ([A-Za-z0-9_-]{1,200})$/.exec(h) : null;
    if (m) return store.annotatorByToken(m[1]);
    // <img>, <audio> and download links cannot send a header: reads may carry the token in a SameSite=Strict
    // cookie the UI sets. Writes never accept the cookie, so another site cannot make a browser label.
    const read = req.routeOptions.config.access !== 'write';
    const c = read && typeof req.headers.cookie === 'string' ? /(?:^|;\s*)ulearn_token=([A-Za-z0-9_-]{1,200})(?:;|$)/.exec(req.headers.cookie) : null;
    return c ? store.annotatorByToken(c[1]) : undefined;
  };
  /** The annotator of a `write` route (the access hook already refused requests without one). */
  const writer = (req: FastifyRequest): Annotator => {
    if (!req.annotator) throw new HttpError(401, 'this needs an annotator token (Authorization: Bearer <token>)');
    return req.annotator;
  };

  // Fail closed: a route that does not say who may call it is a bug, caught when the server is built.
  app.addHook('onRoute', (route) => {
    if (!route.config?.access) throw new Error(`label server: route ${route.method} ${route.url} declares no access level`);
  });
  app.decorateRequest('annotator', null);
  app.addHook('onRequest', async (req, reply) => {
    reply.headers(SECURITY_HEADERS);
    if (!hostAllowed(req.headers.host, opts.host, allowedHosts)) {
      throw new HttpError(403, `this server does not answer to Host '${(req.headers.host ?? '').slice(0, 100)}' (bound to ${opts.host}); add the name with --allow-host if it is yours`);
    }
    // The access level of the route the router matched; a 404 (no route) is treated as a read.
    const access = req.is404 ? 'read' : req.routeOptions.config.access;
    if (access === 'public') return;
    const a = await annotatorOf(req);
    const sent = req.headers.authorization || (access !== 'write' && req.headers.cookie?.includes('ulearn_token='));
    if (!a && (access === 'write' || readsNeedToken)) throw new HttpError(401, sent ? 'unknown annotator token' : 'this needs an annotator token (Authorization: Bearer <token>)');
    req.annotator = a ?? null;
    // Data is not for caches (the media route sets its own, private, policy).
    reply.header('cache-control', 'no-store');
  });

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, _req, reply) => {
    if (err instanceof HttpError) return reply.code(err.status).send({ error: err.message });
    if (err instanceof UlearnError) return reply.code(STATUS[err.code] ?? 400).send({ error: err.hint ? `${err.message} (${err.hint})` : err.message });
    // Fastify's own errors: oversized body (413), bad JSON (400), wrong content type (415).
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) return reply.code(err.statusCode).send({ error: err.message });
    console.error(err);
    return reply.code(500).send({ error: 'internal error' });
  });
  app.setNotFoundHandler((_req, reply) => reply.code(404).send({ error: 'not found' }));

  const view = async (s: SampleRow) => {
    const sug = await store.suggestion(s.id);
    return {
      id: s.id,
      file: s.file,
      kind: s.kind,
      media: `/media/${s.id}`,
      label: s.label === null ? null : classes[s.label],
      suggestion: sug ? { label: classes[sug.label], confidence: sug.confidence } : null,
    };
  };

  app.get('/api/project', { config: { access: 'read' } }, async (req) => {
    const me = req.annotator;
    const runs = await store.modelRuns();
    const last = runs.filter((r) => !r.error).at(-1);
    return {
      name: store.meta.name,
      classes,
      stats: await store.stats(),
      annotator: me?.name ?? null,
      readsNeedToken,
      model: {
        ...(opts.modelStatus?.() ?? { running: false, pendingLabels: 0, retrainEvery: store.meta.retrainEvery }),
        kind: store.meta.model,
        strategy: store.meta.strategy,
        embeddings: (await store.embeddings())?.source ?? null,
        runs: runs.length,
        last: last ? { at: new Date(last.createdAt).toISOString(), trainLabels: last.trainLabels, holdoutLabels: last.holdoutLabels, holdoutAccuracy: last.holdoutAccuracy } : null,
      },
    };
  });

  app.get('/api/queue', { config: { access: 'read' } }, async (req) => {
    const q = parse(QueueQuery, req.query, 'query');
    const me = req.annotator;
    // Second opinions are blind: neither the first label nor the model's suggestion is shown.
    const second = me ? await Promise.all((await store.secondOpinions(me.id, q.limit, q.exclude)).map(async (s) => ({ ...(await view(s)), label: null, suggestion: null, secondOpinion: true }))) : [];
    const fresh = await Promise.all((await store.nextSamples(q.limit - second.length, q.exclude)).map(async (s) => ({ ...(await view(s)), secondOpinion: false })));
    return { samples: [...second, ...fresh] };
  });

  app.get('/api/samples', { config: { access: 'read' } }, async (req) => {
    const q = parse(SamplesQuery, req.query, 'query');
    return { total: await store.countSamples(q.filter), samples: await Promise.all((await store.listSamples(q.offset, q.limit, q.filter)).map(view)) };
  });

  app.get('/api/samples/:id', { config: { access: 'read' } }, async (req) => {
    const { id } = parse(IdParam, req.params, 'sample id');
    const s = await store.sample(id);
    if (!s) throw new HttpError(404, `no sample with id ${id}`);
    return view(s);
  });

  app.post('/api/labels', { config: { access: 'write' } }, async (req, reply) => {
    const who = writer(req);
    const body = parse(LabelBody, req.body, 'body');
    const label = store.classIndex(body.label);
    if (label === undefined) throw new HttpError(400, `unknown class '${body.label}' (classes: ${classes.join(', ')})`);
    if (!(await store.sample(body.sampleId))) throw new HttpError(404, `no sample with id ${body.sampleId}`);
    const e = await store.label(body.sampleId, label, who.id);
    opts.onLabel?.();
    return reply.code(201).send({ eventId: e.id, sampleId: e.sampleId, label: body.label, annotator: who.name });
  });

  app.post('/api/undo', { config: { access: 'write' } }, async (req) => {
    const who = writer(req);
    parse(UndoBody, req.body, 'body');
    const e = await store.undo(who.id);
    opts.onLabel?.();
    return { eventId: e.id, sampleId: e.sampleId, label: e.label === null ? null : classes[e.label], undid: e.undoes };
  });

  app.get('/api/overview', { config: { access: 'read' } }, async () => {
    const names = new Map((await store.annotators()).map((a) => [a.id, a.name]));
    const ag = agreement(await store.events(), classes.length);
    return {
      stats: await store.stats(),
      classes,
      annotators: (await store.labelsPerAnnotator()).map((r) => ({ name: names.get(r.annotatorId), labels: r.labels })),
      agreement: {
        multiplyLabeled: ag.multiplyLabeled,
        overall: ag.overall,
        pairs: ag.pairs.map((p) => ({ a: names.get(p.a), b: names.get(p.b), shared: p.shared, agreement: p.agreement, kappa: Number.isNaN(p.kappa) ? null : p.kappa })),
      },
      modelRuns: (await store.modelRuns()).map((r) => ({ ...r, createdAt: new Date(r.createdAt).toISOString() })),
    };
  });

  app.get('/api/export', { config: { access: 'read' } }, async (req, reply) => {
    const { format } = parse(ExportQuery, req.query, 'query');
    const type = format === 'csv' ? 'text/csv; charset=utf-8' : format === 'json' ? 'application/json' : 'application/x-ndjson';
    return reply
      .header('content-type', type)
      .header('content-disposition', `attachment; filename="labels.${format}"`)
      .send(await exportLabels(store, format));
  });

  app.get('/media/:id', { config: { access: 'read' } }, async (req, reply) => {
    const { id } = parse(IdParam, req.params, 'sample id');
    const { handle, file, size } = await openMedia(store, id);
    reply.header('content-type', MIME[extname(file).toLowerCase()] ?? 'application/octet-stream').header('cache-control', 'private, max-age=3600').header('accept-ranges', 'bytes');
    // Byte ranges: browsers need them to seek in audio. The stream closes the handle when done or aborted.
    const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '');
    if (range && (range[1] || range[2])) {
      const start = range[1] ? Number(range[1]) : Math.max(0, size - Number(range[2]));
      const end = range[1] && range[2] ? Math.min(Number(range[2]), size - 1) : size - 1;
      if (start > end || start >= size) {
        await handle.close();
        return reply.code(416).header('content-range', `bytes */${size}`).header('content-type', 'application/json; charset=utf-8').send({ error: 'range not satisfiable' });
      }
      return reply.code(206).header('content-range', `bytes ${start}-${end}/${size}`).header('content-length', end - start + 1).send(handle.createReadStream({ start, end }));
    }
    // An explicit start: the content check may have read the file, moving the handle's position.
    return reply.header('content-length', size).send(handle.createReadStream({ start: 0 }));
  });

  if (opts.webDir && existsSync(join(opts.webDir, 'index.html'))) registerStatic(app, opts.webDir);
  return app;
}

/**
 * The built UI, from a whitelist made at startup: only files that were in the build folder are served, so
 * a crafted URL can never name anything outside it. Every non-API path without a file gets index.html.
 */
function registerStatic(app: FastifyInstance, webDir: string): void {
  const root = resolve(webDir);
  const files = new Map<string, string>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else files.set('/' + relative(root, p).split('\\').join('/'), p);
    }
  };
  walk(root);
  const send = (reply: FastifyReply, path: string) =>
    reply
      .header('content-type', MIME[extname(path)] ?? 'application/octet-stream')
      .header('cache-control', path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache')
      .send(createReadStream(path));
  app.get('/*', { config: { access: 'public' } }, async (req, reply) => {
    // The path as the router decoded it (never the raw URL), looked up in the whitelist.
    const url = '/' + (req.params as { '*': string })['*'];
    if (url.startsWith('/api/') || url.startsWith('/media/')) throw new HttpError(404, 'not found');
    const file = files.get(url);
    if (file) return send(reply, file);
    if (url.includes('.')) throw new HttpError(404, 'not found');
    return send(reply, files.get('/index.html')!);
  });
}
