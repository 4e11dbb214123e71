/**
 * The access check, shared by proxy.ts (every route) and the tRPC context (every procedure).
 *
 * Mode "token" (default, CONTROLROOM_AUTH unset or "token"): one secret token (CONTROLROOM_TOKEN or
 * <CONTROLROOM_HOME>/token). A browser presents it once as `?token=`; the proxy answers with an
 * http-only, SameSite=Strict cookie holding an HMAC of the token (not the token itself). Scripts
 * send `Authorization: Bearer <token>`.
 *
 * Mode "users" (CONTROLROOM_AUTH=users): accounts from a users list (server/auth/users.ts); a login
 * page sets a session cookie (a JWT signed with HS256 by jose, key: the session secret); scripts
 * may send `Authorization: Basic`.
 */
import os from 'node:os'
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose'
import { ensureToken, hmac, safeEqual, sessionSecret } from './secrets.ts'
import { checkLogin, loadUsers } from './users.ts'
import { readSetting } from '../settings.ts'

export type AuthMode = 'token' | 'users'

export interface AuthUser {
  name: string
  admin: boolean
  mode: AuthMode
  via: 'bearer' | 'cookie' | 'session' | 'basic' | 'internal'
}

export type AuthResult =
  | { ok: true; user: AuthUser }
  | { ok: false; reason: 'missing' | 'invalid' | 'expired' | 'misconfigured'; message: string }

export function authMode(): AuthMode {
  return readSetting('CONTROLROOM_AUTH')
}

/** The single user of token mode: the OS account running the server (or CONTROLROOM_USER). */
export function localUserName(): string {
  const configured = readSetting('CONTROLROOM_USER')
  if (configured) return configured
  try {
    return os.userInfo().username || 'local'
  } catch {
    return 'local'
  }
}

export interface RequestLike {
  url: string
  headers: Headers
  method?: string
}

/** Cookie names carry the port, so two servers on one host (3000, 3217) do not clobber each other. */
export function cookieName(req: RequestLike, mode: AuthMode = authMode()): string {
  const host = req.headers.get('host') ?? new URL(req.url).host
  const port = /:(\d+)$/.exec(host)?.[1] ?? 'default'
  return mode === 'token' ? `cr_auth_${port}` : `cr_session_${port}`
}

export function tokenCookieValue(token: string): string {
  return hmac(token, 'controlroom-cookie-v1')
}

export function readCookie(headers: Headers, name: string): string | null {
  const raw = headers.get('cookie')
  if (!raw) return null
  for (const part of raw.split(';')) {
    const i = part.indexOf('=')
    if (i < 0) continue
    if (part.slice(0, i).trim() === name) {
      const v = part.slice(i + 1).trim()
      try {
        return decodeURIComponent(v)
      } catch {
        return v
      }
    }
  }
  return null
}

const SESSION_HOURS = () => readSetting('CONTROLROOM_SESSION_HOURS')

const SESSION_AUDIENCE = 'controlroom-session'

function sessionKey(): Uint8Array {
  return new TextEncoder().encode(sessionSecret())
}

/** A session cookie value: a JWT (HS256, jose) naming the account, valid SESSION_HOURS. */
export async function createSessionValue(name: string, now = Date.now()): Promise<string> {
  const iat = Math.floor(now / 1000)
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(name)
    .setAudience(SESSION_AUDIENCE)
    .setIssuedAt(iat)
    .setExpirationTime(iat + SESSION_HOURS() * 3600)
    .sign(sessionKey())
}

async function verifySession(value: string): Promise<{ ok: true; name: string } | { ok: false; expired: boolean }> {
  try {
    const { payload } = await jwtVerify(value, sessionKey(), { algorithms: ['HS256'], audience: SESSION_AUDIENCE })
    return typeof payload.sub === 'string' && payload.sub
      ? { ok: true, name: payload.sub }
      : { ok: false, expired: false }
  } catch (e) {
    return { ok: false, expired: e instanceof joseErrors.JWTExpired }
  }
}

function bearer(headers: Headers): string | null {
  const h = headers.get('authorization')
  if (!h) return null
  const m = /^Bearer\s+(.+)$/i.exec(h.trim())
  return m?.[1] ? m[1].trim() : null
}

function basic(headers: Headers): { name: string; password: string } | null {
  const h = headers.get('authorization')
  const m = h && /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(h.trim())
  if (!m?.[1]) return null
  const s = Buffer.from(m[1], 'base64').toString('utf8')
  const i = s.indexOf(':')
  return i < 0 ? null : { name: s.slice(0, i), password: s.slice(i + 1) }
}

/** Who sent this request (never throws; never logs secrets). */
export async function authenticate(req: RequestLike): Promise<AuthResult> {
  let mode: AuthMode
  try {
    mode = authMode()
  } catch (e) {
    return { ok: false, reason: 'misconfigured', message: (e as Error).message }
  }
  if (mode === 'token') {
    let token: string
    try {
      token = ensureToken()
    } catch (e) {
      return { ok: false, reason: 'misconfigured', message: (e as Error).message }
    }
    const b = bearer(req.headers)
    if (b !== null) {
      return safeEqual(b, token)
        ? { ok: true, user: { name: localUserName(), admin: true, mode, via: 'bearer' } }
        : { ok: false, reason: 'invalid', message: 'wrong access token' }
    }
    const c = readCookie(req.headers, cookieName(req, mode))
    if (c !== null) {
      return safeEqual(c, tokenCookieValue(token))
        ? { ok: true, user: { name: localUserName(), admin: true, mode, via: 'cookie' } }
        : {
            ok: false,
            reason: 'invalid',
            message:
              "the access cookie does not match this server's token (it changed?): open the URL with ?token= printed at start",
          }
    }
    return {
      ok: false,
      reason: 'missing',
      message:
        'an access token is required: open the URL printed at start (…/?token=…) or send Authorization: Bearer <token>',
    }
  }

  // users mode
  let users
  try {
    users = loadUsers()
  } catch (e) {
    return { ok: false, reason: 'misconfigured', message: `users list: ${(e as Error).message}` }
  }
  const cred = basic(req.headers)
  if (cred) {
    const u = checkLogin(cred.name, cred.password)
    return u
      ? { ok: true, user: { name: u.name, admin: u.admin, mode, via: 'basic' } }
      : { ok: false, reason: 'invalid', message: 'wrong user name or password' }
  }
  const s = readCookie(req.headers, cookieName(req, mode))
  if (s !== null) {
    const v = await verifySession(s)
    if (v.ok) {
      const u = users.find((x) => x.name === v.name)
      if (u) return { ok: true, user: { name: u.name, admin: u.admin, mode, via: 'session' } }
      return { ok: false, reason: 'invalid', message: 'this account no longer exists' }
    }
    return v.expired
      ? { ok: false, reason: 'expired', message: 'your session expired: log in again' }
      : { ok: false, reason: 'invalid', message: 'invalid session: log in again' }
  }
  return { ok: false, reason: 'missing', message: 'log in first' }
}

/** Token mode: is this the token? (for `?token=` on the first visit) */
export function isValidToken(candidate: string): boolean {
  try {
    return safeEqual(candidate, ensureToken())
  } catch {
    return false
  }
}

/**
 * CSRF defence for state-changing requests: POST only, JSON body (a form cannot send it without
 * CORS preflight), and the browser's Origin / Sec-Fetch-Site must say same origin.
 * Returns null when fine, else the reason.
 */
export function csrfProblem(req: RequestLike, opts: { requireJson?: boolean } = {}): string | null {
  const method = (req.method ?? 'GET').toUpperCase()
  if (method !== 'POST') return `changes must be sent with POST, not ${method}`
  if (opts.requireJson !== false) {
    const ct = (req.headers.get('content-type') ?? '').toLowerCase()
    if (!ct.startsWith('application/json')) return 'changes must be sent as application/json'
  }
  return crossSiteProblem(req)
}

/** Origin / Sec-Fetch-Site check (null when the request comes from this site or from a script). */
export function crossSiteProblem(req: RequestLike): string | null {
  const site = req.headers.get('sec-fetch-site')
  if (site && site !== 'same-origin' && site !== 'none') return `cross-site request refused (Sec-Fetch-Site: ${site})`
  const origin = req.headers.get('origin')
  if (origin && origin !== 'null') {
    let host: string
    try {
      host = new URL(origin).host
    } catch {
      return 'invalid Origin header'
    }
    const own = req.headers.get('host') ?? new URL(req.url).host
    if (host !== own) return `cross-origin request refused (Origin ${origin})`
  } else if (origin === 'null') {
    return 'cross-origin request refused (Origin null)'
  }
  return null
}
