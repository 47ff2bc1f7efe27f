/** The server's JSON API (src/label/server.ts), with the annotator token from localStorage. */
export interface SampleView {
  id: number;
  file: string;
  kind: 'image' | 'audio';
  media: string;
  label: string | null;
  suggestion: { label: string; confidence: number } | null;
  /** Labeled by someone else; shown blind for a second opinion (agreement). */
  secondOpinion?: boolean;
}

export interface ProjectInfo {
  name: string;
  classes: string[];
  stats: { total: number; labeled: number; target: number; perClass: number[]; events: number };
  annotator: string | null;
  readsNeedToken: boolean;
  model: {
    running: boolean;
    pendingLabels: number;
    retrainEvery: number;
    kind: string;
    strategy: string;
    /** Where the embeddings came from; null: none (audio without an encoder), so no model. */
    embeddings: string | null;
    runs: number;
    last: { at: string; trainLabels: number; holdoutLabels: number; holdoutAccuracy: number | null } | null;
  };
}

export interface Overview {
  stats: ProjectInfo['stats'];
  classes: string[];
  annotators: { name: string; labels: number }[];
  agreement: { multiplyLabeled: number; overall: number | null; pairs: { a: string; b: string; shared: number; agreement: number; kappa: number | null }[] };
  modelRuns: { id: number; createdAt: string; kind: string; strategy: string; trainLabels: number; holdoutLabels: number; holdoutAccuracy: number | null; seconds: number; error: string | null }[];
}

const TOKEN_KEY = 'ulearn-label-token';

/** Takes `?token=` from the address once, keeps it in localStorage and removes it from the address bar. */
export function adoptTokenFromUrl(): void {
  const url = new URL(location.href);
  const t = url.searchParams.get('token');
  if (t) {
    token.set(t);
    url.searchParams.delete('token');
    history.replaceState(null, '', url.pathname + url.search + url.hash);
  }
}

/** The cookie copy lets <img>/<audio>/download GETs authenticate on a server bound to a LAN address. */
function setCookie(t: string | null): void {
  document.cookie = t ? `ulearn_token=${encodeURIComponent(t)}; path=/; SameSite=Strict` : 'ulearn_token=; path=/; max-age=0';
}

export const token = {
  get: (): string | null => localStorage.getItem(TOKEN_KEY),
  set: (t: string) => {
    localStorage.setItem(TOKEN_KEY, t);
    setCookie(t);
  },
  clear: () => {
    localStorage.removeItem(TOKEN_KEY);
    setCookie(null);
  },
  /** Refreshes the cookie from localStorage (it may have been cleared with the browser's cookies). */
  sync: () => setCookie(localStorage.getItem(TOKEN_KEY)),
};

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  const t = token.get();
  if (t) headers.authorization = `Bearer ${t}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = (await res.json().catch(() => ({}))) as T & { error?: string };
  if (!res.ok) throw new ApiError(res.status, data.error ?? `${res.status} ${res.statusText}`);
  return data;
}

export const api = {
  project: () => call<ProjectInfo>('GET', '/api/project'),
  queue: (limit: number, exclude: number[]) => call<{ samples: SampleView[] }>('GET', `/api/queue?limit=${limit}&exclude=${exclude.join(',')}`),
  samples: (offset: number, limit: number, filter: string) => call<{ total: number; samples: SampleView[] }>('GET', `/api/samples?offset=${offset}&limit=${limit}&filter=${filter}`),
  sample: (id: number) => call<SampleView>('GET', `/api/samples/${id}`),
  label: (sampleId: number, label: string) => call<{ eventId: number }>('POST', '/api/labels', { sampleId, label }),
  undo: () => call<{ sampleId: number; label: string | null }>('POST', '/api/undo', {}),
  overview: () => call<Overview>('GET', '/api/overview'),
};
