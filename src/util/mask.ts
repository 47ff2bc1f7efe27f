/**
 * The one rule for printing a URL that may hold a password (a Redis URL, an S3 endpoint): `maskUrl` replaces
 * the password, `maskSecrets` removes it from any text, in raw and URL-decoded form (libraries quote either).
 */

/** `url` with its password (and a password-only user part) replaced by `****`. */
export function maskUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)([^@/]*)@/i, (_m, scheme: string, auth: string) => {
    const i = auth.indexOf(':');
    return `${scheme}${i >= 0 ? `${auth.slice(0, i)}:****` : '****'}@`;
  });
}

/** The password of `url`, raw and URL-decoded (both may appear in a library's message); none: []. */
function secretsOf(url: string): string[] {
  const m = /^[a-z][a-z0-9+.-]*:\/\/([^@/]*)@/i.exec(url);
  if (!m) return [];
  const auth = m[1];
  const raw = auth.includes(':') ? auth.slice(auth.indexOf(':') + 1) : auth;
  if (!raw) return [];
  let decoded = raw;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    // Not valid percent-encoding: the raw form is what a message could contain.
  }
  return [...new Set([raw, decoded])].filter((s) => s.length > 0);
}

/** `text` with `url` masked and any occurrence of its password replaced by `****`. */
export function maskSecrets(text: string, url: string): string {
  let out = text.split(url).join(maskUrl(url));
  for (const s of secretsOf(url)) out = out.split(s).join('****');
  return out;
}

