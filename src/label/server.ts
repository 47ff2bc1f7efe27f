/**
 * The labeling server: a JSON API over a LabelStore, the project's media, and the built web UI.
 *
 * Security model (it may be bound to a LAN address for a team):
 * - writes always need an annotator token (`Authorization: Bearer <token>`, from `ulearn label add-annotator`);
 *   reads need one too unless the server listens on loopback only;
 * - media is addressed by sample id, never by path, and resolved only to files registered in the project
 *   (inside its data root), so no URL can reach another file;
 * - bodies are small JSON validated with zod; anything else is a 4xx with a message and changes nothing.
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { createReadStream, existsSync, readdirSync, statSync } from 'node:fs';
import { extname, join, relative, resolve } from 'node:path';
import { z } from 'zod';
import { UlearnError } from '../errors.js';
import { agreement } from './agreement.js';
import { EXPORT_FORMATS, exportLabels, type ExportFormat } from './import-export.js';
import type { Annotator, LabelStore, SampleRow } from './store.js';

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

const LabelBody = z.object({ sampleId: z.number().int().positive(), label: z.string().min(1).max(200) }).strict();
const UndoBody = z.object({}).strict();
const QueueQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(20),
  exclude: z
    .string()
    .max(20000)
    .regex(/^(\d+(,\d+)*)?$/, 'comma-separated sample ids')
    .default('')
    .transform((s) => (s ? s.split(',').map(Number) : [])),
});
const SamplesQuery = z.object({
  offset: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(500).default(60),
  filter: z.enum(['all', 'labeled', 'unlabeled']).default('all'),
});
const IdParam = z.object({ id: z.string().regex(/^[1-9]\d{0,9}$/, 'a sample id (positive integer)').transform(Number) });
const ExportQuery = z.object({ format: z.enum(EXPORT_FORMATS as [ExportFormat, ...ExportFormat[]]).default('csv') });

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

  const annotatorOf = (req: FastifyRequest): Annotator | undefined => {
    const h = req.headers.authorization;
    const m = typeof h === 'string' ? /^Bearer ([A-Za-z0-9_-]{1,200})$/.exec(h) : null;
    if (m) return store.annotatorByToken(m[1]);
    // <img>, <audio> and download links cannot send a header: GETs may carry the token in a SameSite=Strict
    // cookie the UI sets. Writes never accept the cookie, so another site cannot make a browser label.
    const c = req.method === 'GET' && typeof req.headers.cookie === 'string' ? /(?:^|;\s*)ulearn_token=([A-Za-z0-9_-]{1,200})(?:;|$)/.exec(req.headers.cookie) : null;
    return c ? store.annotatorByToken(c[1]) : undefined;
  };
  const requireAnnotator = (req: FastifyRequest): Annotator => {
    const a = annotatorOf(req);
    if (!a) throw new HttpError(401, req.headers.authorization || req.headers.cookie ? 'unknown annotator token' : 'this needs an annotator token (Authorization: Bearer <token>)');
    return a;
  };

  app.addHook('onRequest', async (req) => {
    if (readsNeedToken && (req.url.startsWith('/api/') || req.url.startsWith('/media/'))) requireAnnotator(req);
  });

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, _req, reply) => {
    if (err instanceof HttpError) return reply.code(err.status).send({ error: err.message });
    if (err instanceof UlearnError) {
      const status = err.code === 'E_NOT_FOUND' ? 404 : err.code === 'E_CONFLICT' ? 409 : 400;
      return reply.code(status).send({ error: err.message });
    }
    // Fastify's own errors: oversized body (413), bad JSON (400), wrong content type (415).
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) return reply.code(err.statusCode).send({ error: err.message });
    console.error(err);
    return reply.code(500).send({ error: 'internal error' });
  });
  app.setNotFoundHandler((_req, reply) => reply.code(404).send({ error: 'not found' }));

  const view = (s: SampleRow) => {
    const sug = store.suggestion(s.id);
    return {
      id: s.id,
      file: s.file,
      kind: s.kind,
      media: `/media/${s.id}`,
      label: s.label === null ? null : classes[s.label],
      suggestion: sug ? { label: classes[sug.label], confidence: sug.confidence } : null,
    };
  };

  app.get('/api/project', async (req) => {
    const me = annotatorOf(req);
    const runs = store.modelRuns();
    const last = runs.filter((r) => !r.error).at(-1);
    return {
      name: store.meta.name,
      classes,
      stats: store.stats(),
      annotator: me?.name ?? null,
      readsNeedToken,
      model: {
        ...(opts.modelStatus?.() ?? { running: false, pendingLabels: 0, retrainEvery: store.meta.retrainEvery }),
        kind: store.meta.model,
        strategy: store.meta.strategy,
        embeddings: store.embeddings()?.source ?? null,
        runs: runs.length,
        last: last ? { at: new Date(last.createdAt).toISOString(), trainLabels: last.trainLabels, holdoutLabels: last.holdoutLabels, holdoutAccuracy: last.holdoutAccuracy } : null,
      },
    };
  });

  app.get('/api/queue', async (req) => {
    const q = parse(QueueQuery, req.query, 'query');
    const me = annotatorOf(req);
    // Second opinions are blind: neither the first label nor the model's suggestion is shown.
    const second = me ? store.secondOpinions(me.id, q.limit, q.exclude).map((s) => ({ ...view(s), label: null, suggestion: null, secondOpinion: true })) : [];
    const fresh = store.nextSamples(q.limit - second.length, q.exclude).map((s) => ({ ...view(s), secondOpinion: false }));
    return { samples: [...second, ...fresh] };
  });

  app.get('/api/samples', async (req) => {
    const q = parse(SamplesQuery, req.query, 'query');
    return { total: store.countSamples(q.filter), samples: store.listSamples(q.offset, q.limit, q.filter).map(view) };
  });

  app.get('/api/samples/:id', async (req) => {
    const { id } = parse(IdParam, req.params, 'sample id');
    const s = store.sample(id);
    if (!s) throw new HttpError(404, `no sample with id ${id}`);
    return view(s);
  });

  app.post('/api/labels', async (req, reply) => {
    const who = requireAnnotator(req);
    const body = parse(LabelBody, req.body, 'body');
    const label = store.classIndex(body.label);
    if (label === undefined) throw new HttpError(400, `unknown class '${body.label}' (classes: ${classes.join(', ')})`);
    if (!store.sample(body.sampleId)) throw new HttpError(404, `no sample with id ${body.sampleId}`);
    const e = store.label(body.sampleId, label, who.id);
    opts.onLabel?.();
    return reply.code(201).send({ eventId: e.id, sampleId: e.sampleId, label: body.label, annotator: who.name });
  });

  app.post('/api/undo', async (req) => {
    const who = requireAnnotator(req);
    parse(UndoBody, req.body, 'body');
    const e = store.undo(who.id);
    opts.onLabel?.();
    return { eventId: e.id, sampleId: e.sampleId, label: e.label === null ? null : classes[e.label], undid: e.undoes };
  });

  app.get('/api/overview', async () => {
    const names = new Map(store.annotators().map((a) => [a.id, a.name]));
    const ag = agreement(store.events(), classes.length);
    return {
      stats: store.stats(),
      classes,
      annotators: store.labelsPerAnnotator().map((r) => ({ name: names.get(r.annotatorId), labels: r.labels })),
      agreement: {
        multiplyLabeled: ag.multiplyLabeled,
        overall: ag.overall,
        pairs: ag.pairs.map((p) => ({ a: names.get(p.a), b: names.get(p.b), shared: p.shared, agreement: p.agreement, kappa: Number.isNaN(p.kappa) ? null : p.kappa })),
      },
      modelRuns: store.modelRuns().map((r) => ({ ...r, createdAt: new Date(r.createdAt).toISOString() })),
    };
  });

  app.get('/api/export', async (req, reply) => {
    const { format } = parse(ExportQuery, req.query, 'query');
    const type = format === 'csv' ? 'text/csv; charset=utf-8' : format === 'json' ? 'application/json' : 'application/x-ndjson';
    return reply
      .header('content-type', type)
      .header('content-disposition', `attachment; filename="labels.${format}"`)
      .send(exportLabels(store, format));
  });

  app.get('/media/:id', async (req, reply) => {
    const { id } = parse(IdParam, req.params, 'sample id');
    const path = store.mediaPath(id);
    if (!path || !existsSync(path)) throw new HttpError(404, `no media for sample ${id}`);
    const size = statSync(path).size;
    reply.header('content-type', MIME[extname(path).toLowerCase()] ?? 'application/octet-stream').header('cache-control', 'private, max-age=3600').header('accept-ranges', 'bytes');
    // Byte ranges: browsers need them to seek in audio.
    const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '');
    if (range && (range[1] || range[2])) {
      const start = range[1] ? Number(range[1]) : Math.max(0, size - Number(range[2]));
      const end = range[1] && range[2] ? Math.min(Number(range[2]), size - 1) : size - 1;
      if (start > end || start >= size) return reply.code(416).header('content-range', `bytes */${size}`).header('content-type', 'application/json; charset=utf-8').send({ error: 'range not satisfiable' });
      return reply.code(206).header('content-range', `bytes ${start}-${end}/${size}`).header('content-length', end - start + 1).send(createReadStream(path, { start, end }));
    }
    return reply.header('content-length', size).send(createReadStream(path));
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
  app.get('/*', async (req, reply) => {
    const url = req.url.split('?')[0];
    if (url.startsWith('/api/') || url.startsWith('/media/')) throw new HttpError(404, 'not found');
    const file = files.get(url);
    if (file) return send(reply, file);
    if (url.includes('.')) throw new HttpError(404, 'not found');
    return send(reply, files.get('/index.html')!);
  });
}
