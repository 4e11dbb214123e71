/**
 * `redactSecrets(text)`: a last line of defence for anything written to logs, events or sent to
 * the browser (job stdout/stderr tails, command errors). It removes:
 *  - PEM blocks (certificates, private keys, proxies), also a block cut off by a log chunk;
 *  - JWT-shaped strings (header.payload.signature starting with `eyJ`);
 *  - bearer token values: `BEARER_TOKEN=...`, `Authorization: Bearer ...`, `--token ...`;
 *  - any extra secret value given by the caller (e.g. the current $BEARER_TOKEN).
 */

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?(?:-----END \1-----|$)/g
const JWT = /\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g
const BEARER_ENV = /\b(BEARER_TOKEN)(\s*[=:]\s*)(["']?)[^\s"']+\3/g
const AUTH_HEADER = /\b(Authorization\s*:\s*Bearer\s+)[^\s"']+/gi
const BEARER_WORD = /\b(Bearer\s+)[A-Za-z0-9._~+/=-]{16,}/g

export interface RedactOptions {
  /** exact secret values to remove wherever they appear (shorter than 8 characters are ignored) */
  secrets?: string[]
  /** also remove the value of $BEARER_TOKEN found in this environment (default process.env) */
  env?: Record<string, string | undefined>
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

export function redactSecrets(text: string, opts: RedactOptions = {}): string {
  if (!text) return text
  let out = text
  const env = opts.env ?? process.env
  const secrets = [...(opts.secrets ?? [])]
  const bt = env.BEARER_TOKEN?.trim()
  if (bt) secrets.push(bt)
  for (const s of secrets) {
    const v = s.trim()
    if (v.length >= 8) out = out.replace(new RegExp(escapeRe(v), 'g'), '[REDACTED]')
  }
  out = out.replace(PEM_BLOCK, (_m, label: string) => `[REDACTED ${label.trim()}]`)
  out = out.replace(JWT, '[REDACTED JWT]')
  out = out.replace(BEARER_ENV, (_m, name: string, sep: string) => `${name}${sep}[REDACTED]`)
  out = out.replace(AUTH_HEADER, (_m, pre: string) => `${pre}[REDACTED]`)
  out = out.replace(BEARER_WORD, (_m, pre: string) => `${pre}[REDACTED]`)
  return out
}

/** redact every string inside a JSON-like value (for events and API payloads) */
export function redactDeep<T>(value: T, opts: RedactOptions = {}): T {
  if (typeof value === 'string') return redactSecrets(value, opts) as unknown as T
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, opts)) as unknown as T
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = redactDeep(v, opts)
    return out as T
  }
  return value
}
