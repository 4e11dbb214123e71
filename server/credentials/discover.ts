/**
 * Finding credentials in the usual places, and turning one into a browser-safe status.
 *
 * X509 proxy:  $X509_USER_PROXY, else /tmp/x509up_u$UID (the Globus/VOMS default).
 * Bearer token (WLCG Bearer Token Discovery, in this order):
 *   1. $BEARER_TOKEN           - the token itself
 *   2. $BEARER_TOKEN_FILE      - a file holding it
 *   3. $XDG_RUNTIME_DIR/bt_u$ID
 *   4. /tmp/bt_u$ID
 */
import { readFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type { CredentialRef } from '../workflow/types.ts'
import { inspectToken, TokenInspectError } from './token.ts'
import type { CredentialKind, CredentialLocation, CredentialStatus } from './types.ts'
import { inspectX509Pem, X509InspectError } from './x509.ts'

export interface DiscoveryOptions {
  /** environment to read (default process.env) */
  env?: Record<string, string | undefined>
  /** numeric user id for the default file names (default process.getuid()) */
  uid?: number
  /** reference time (default now) */
  now?: Date
  /** directory relative paths are resolved against (default process.cwd()) */
  baseDir?: string
}

export interface Discovery {
  location: CredentialLocation
  /** every place looked at, in order (for the "not found" message) */
  tried: string[]
}

function uidOf(opts: DiscoveryOptions): number {
  if (opts.uid !== undefined) return opts.uid
  return typeof process.getuid === 'function' ? process.getuid() : 0
}

async function fileExists(p: string): Promise<boolean> {
  try {
    const { stat } = await import('node:fs/promises')
    return (await stat(p)).isFile()
  } catch {
    return false
  }
}

/** expand `~`, `$VAR` and `${VAR}` (and `$UID`) in a configured path */
export function expandPath(p: string, opts: DiscoveryOptions = {}): string {
  const env = opts.env ?? process.env
  const uid = String(uidOf(opts))
  let out = p.replace(
    /\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (_m, a: string | undefined, b: string | undefined) => {
      const name = (a ?? b)!
      if (name === 'UID' && env.UID === undefined) return uid
      return env[name] ?? ''
    },
  )
  if (out === '~' || out.startsWith('~/')) out = path.join(env.HOME ?? os.homedir(), out.slice(1))
  return path.resolve(opts.baseDir ?? process.cwd(), out)
}

const JWTISH = /^\s*[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\s*$/

/** find an X509 proxy: $X509_USER_PROXY, else /tmp/x509up_u$UID */
export async function discoverX509(opts: DiscoveryOptions = {}): Promise<Discovery> {
  const env = opts.env ?? process.env
  const tried: string[] = []
  const fromEnv = env.X509_USER_PROXY
  if (fromEnv?.trim()) {
    const p = expandPath(fromEnv.trim(), opts)
    tried.push(`$X509_USER_PROXY (${p})`)
    return { location: { kind: 'x509', source: 'env:X509_USER_PROXY', path: p }, tried }
  }
  tried.push('$X509_USER_PROXY (unset)')
  const def = `/tmp/x509up_u${uidOf(opts)}`
  tried.push(def)
  return { location: { kind: 'x509', source: `default:${def}`, path: def }, tried }
}

/** find a bearer token following the WLCG discovery order */
export async function discoverToken(opts: DiscoveryOptions = {}): Promise<Discovery> {
  const env = opts.env ?? process.env
  const uid = uidOf(opts)
  const tried: string[] = []
  if (env.BEARER_TOKEN?.trim()) {
    tried.push('$BEARER_TOKEN')
    return { location: { kind: 'scitoken', source: 'env:BEARER_TOKEN', path: null, valueEnv: 'BEARER_TOKEN' }, tried }
  }
  tried.push('$BEARER_TOKEN (unset)')
  if (env.BEARER_TOKEN_FILE?.trim()) {
    const p = expandPath(env.BEARER_TOKEN_FILE.trim(), opts)
    tried.push(`$BEARER_TOKEN_FILE (${p})`)
    return { location: { kind: 'scitoken', source: 'env:BEARER_TOKEN_FILE', path: p }, tried }
  }
  tried.push('$BEARER_TOKEN_FILE (unset)')
  if (env.XDG_RUNTIME_DIR?.trim()) {
    const p = path.join(env.XDG_RUNTIME_DIR.trim(), `bt_u${uid}`)
    tried.push(p)
    if (await fileExists(p))
      return { location: { kind: 'scitoken', source: `default:$XDG_RUNTIME_DIR/bt_u${uid}`, path: p }, tried }
  } else tried.push('$XDG_RUNTIME_DIR (unset)')
  const p = `/tmp/bt_u${uid}`
  tried.push(p)
  return { location: { kind: 'scitoken', source: `default:${p}`, path: p }, tried }
}

export function discoverCredential(kind: CredentialKind, opts: DiscoveryOptions = {}): Promise<Discovery> {
  return kind === 'x509' ? discoverX509(opts) : discoverToken(opts)
}

/** where a plan's credential reference points */
export async function resolveCredentialRef(ref: CredentialRef, opts: DiscoveryOptions = {}): Promise<Discovery> {
  const env = opts.env ?? process.env
  if (ref.source === 'path') {
    if (!ref.path) return { location: { kind: ref.kind, source: 'path', path: null }, tried: ['(no path given)'] }
    const p = expandPath(ref.path, opts)
    return { location: { kind: ref.kind, source: 'path', path: p }, tried: [p] }
  }
  if (ref.source === 'env') {
    const name = ref.env ?? (ref.kind === 'x509' ? 'X509_USER_PROXY' : 'BEARER_TOKEN_FILE')
    const v = env[name]
    if (v === undefined || v.trim() === '') {
      return { location: { kind: ref.kind, source: `env:${name}`, path: null }, tried: [`$${name} (unset)`] }
    }
    // a token variable may hold the token itself (BEARER_TOKEN) or a file name (BEARER_TOKEN_FILE)
    if (ref.kind === 'scitoken' && (name === 'BEARER_TOKEN' || JWTISH.test(v))) {
      return { location: { kind: 'scitoken', source: `env:${name}`, path: null, valueEnv: name }, tried: [`$${name}`] }
    }
    const p = expandPath(v.trim(), opts)
    return { location: { kind: ref.kind, source: `env:${name}`, path: p }, tried: [`$${name} (${p})`] }
  }
  return discoverCredential(ref.kind, opts)
}

// ------------------------------------------------------------------ status

function emptyStatus(loc: CredentialLocation, now: Date): CredentialStatus {
  return {
    kind: loc.kind,
    id: `${loc.kind}:${loc.path ?? loc.source}`,
    source: loc.source,
    path: loc.path,
    found: false,
    readable: false,
    subject: null,
    issuer: null,
    identity: null,
    vo: null,
    fqans: [],
    vomsExpiresAt: null,
    scopes: [],
    audience: [],
    notBefore: null,
    expiresAt: null,
    secondsLeft: null,
    expired: false,
    error: null,
    checkedAt: now.toISOString(),
  }
}

function secondsBetween(a: Date, b: Date): number {
  return Math.floor((b.getTime() - a.getTime()) / 1000)
}

/**
 * Read the credential at a location and summarise it. The material is read into memory only to
 * be decoded; it is not part of the result.
 */
export async function inspectCredential(
  loc: CredentialLocation,
  opts: DiscoveryOptions = {},
  tried: string[] = [],
): Promise<CredentialStatus> {
  const now = opts.now ?? new Date()
  const st = emptyStatus(loc, now)
  const env = opts.env ?? process.env
  let text: string
  if (loc.valueEnv) {
    const v = env[loc.valueEnv]
    if (v === undefined || v.trim() === '') {
      st.error = `$${loc.valueEnv} is not set`
      return st
    }
    text = v
  } else if (loc.path) {
    try {
      text = await readFile(loc.path, 'utf8')
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      st.error =
        code === 'ENOENT'
          ? `no ${loc.kind === 'x509' ? 'X509 proxy' : 'bearer token'} at ${loc.path}` +
            (tried.length > 1 ? ` (looked at: ${tried.join(', ')})` : '')
          : code === 'EACCES'
            ? `${loc.path} is not readable (permission denied)`
            : `${loc.path} could not be read (${code ?? 'error'})`
      return st
    }
  } else {
    st.error =
      `no ${loc.kind === 'x509' ? 'X509 proxy' : 'bearer token'} found` +
      (tried.length ? ` (looked at: ${tried.join(', ')})` : '')
    return st
  }
  st.found = true
  try {
    if (loc.kind === 'x509') {
      const x = inspectX509Pem(text)
      st.readable = true
      st.subject = x.subject
      st.issuer = x.issuer
      st.identity = x.identity
      st.proxyType = x.proxyType
      const v = x.voms[0]
      st.vo = v?.vo ?? null
      st.fqans = v?.fqans ?? []
      st.vomsExpiresAt = v?.notAfter ? v.notAfter.toISOString() : null
      let expires = x.notAfter
      if (v?.notAfter && v.notAfter < expires) expires = v.notAfter
      st.notBefore = x.notBefore.toISOString()
      st.expiresAt = expires.toISOString()
      st.secondsLeft = secondsBetween(now, expires)
    } else {
      const t = inspectToken(text)
      st.readable = true
      st.subject = t.subject
      st.issuer = t.issuer
      st.scopes = t.scopes
      st.audience = t.audience
      st.profile = t.profile
      st.notBefore = t.notBefore ? t.notBefore.toISOString() : null
      st.expiresAt = t.expiresAt ? t.expiresAt.toISOString() : null
      st.secondsLeft = t.expiresAt ? secondsBetween(now, t.expiresAt) : null
    }
    st.expired = st.secondsLeft !== null && st.secondsLeft <= 0
  } catch (e) {
    if (e instanceof X509InspectError || e instanceof TokenInspectError) st.error = e.message
    else st.error = 'the credential could not be decoded'
  }
  return st
}

/** discover and inspect both kinds (for the credential badges, without a plan) */
export async function discoverAll(opts: DiscoveryOptions = {}): Promise<CredentialStatus[]> {
  const out: CredentialStatus[] = []
  for (const kind of ['x509', 'scitoken'] as const) {
    const d = await discoverCredential(kind, opts)
    out.push(await inspectCredential(d.location, opts, d.tried))
  }
  return out
}
