/**
 * Secrets of the access check: the access token (token mode) and the session-signing key
 * (users mode). Never logged; compared in constant time.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { readSetting } from '../settings.ts'

export function controlroomHome(): string {
  return readSetting('CONTROLROOM_HOME')
}

export function tokenFile(): string {
  return path.join(controlroomHome(), 'token')
}

/** Constant-time string equality (hashes first, so lengths leak nothing either). */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a, 'utf8').digest()
  const hb = createHash('sha256').update(b, 'utf8').digest()
  return timingSafeEqual(ha, hb) && a.length === b.length
}

let fileCache: { path: string; mtimeMs: number; value: string } | null = null

function readSecretFile(file: string): string | null {
  try {
    const st = statSync(file)
    if (fileCache && fileCache.path === file && fileCache.mtimeMs === st.mtimeMs) return fileCache.value
    const value = readFileSync(file, 'utf8').trim()
    fileCache = { path: file, mtimeMs: st.mtimeMs, value }
    return value || null
  } catch {
    return null
  }
}

/**
 * The access token: CONTROLROOM_TOKEN if set, else the one in <CONTROLROOM_HOME>/token, created
 * (random, 0600) when missing. The start script prints `http://127.0.0.1:PORT/?token=<token>`.
 */
export function ensureToken(): string {
  const env = readSetting('CONTROLROOM_TOKEN')
  if (env) return env
  const file = tokenFile()
  const existing = readSecretFile(file)
  if (existing) return existing
  mkdirSync(path.dirname(file), { recursive: true })
  const token = randomBytes(24).toString('hex')
  try {
    writeFileSync(file, token + '\n', { mode: 0o600, flag: 'wx' })
  } catch {
    // another process created it first: use theirs
    const other = readSecretFile(file)
    if (other) return other
    throw new Error(`cannot create the access token file ${file}`)
  }
  chmodSync(file, 0o600)
  return token
}

/** The token without creating one (null when there is none yet). */
export function currentToken(): string | null {
  const env = readSetting('CONTROLROOM_TOKEN')
  if (env) return env
  return readSecretFile(tokenFile())
}

/** Key for signing session cookies (users mode) and deriving the token cookie. */
export function sessionSecret(): string {
  const env = readSetting('CONTROLROOM_SESSION_SECRET')
  if (env) return env
  const file = path.join(controlroomHome(), 'session-secret')
  if (existsSync(file)) {
    const v = readFileSync(file, 'utf8').trim()
    if (v) return v
  }
  mkdirSync(path.dirname(file), { recursive: true })
  try {
    writeFileSync(file, randomBytes(32).toString('hex') + '\n', { mode: 0o600, flag: 'wx' })
  } catch {
    /* created concurrently */
  }
  return readFileSync(file, 'utf8').trim()
}

export function hmac(key: string, data: string): string {
  return createHmac('sha256', key).update(data).digest('base64url')
}
