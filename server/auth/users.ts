/**
 * Users mode (CONTROLROOM_AUTH=users): a configured list of accounts, passwords hashed with scrypt.
 *
 * The list comes from CONTROLROOM_USERS (inline) or the file CONTROLROOM_USERS_FILE
 * (default <CONTROLROOM_HOME>/users.json). Either holds JSON:
 *   [{ "name": "alice", "password": "scrypt$16384$8$1$<salt b64>$<hash b64>", "admin": true,
 *      "osUser": "alice" }, ...]
 * or one `name:hash[:admin[:osUser]]` per line. `osUser` is the OS account the user's tasks run
 * as (the server, running as root, switches to it); without it the account cannot run tasks. Make a hash with:
 *   npx tsx server/auth/hash-password.ts            (reads the password from stdin)
 */
import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto'
import { readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { controlroomHome } from './secrets.ts'
import { readSetting } from '../settings.ts'

export interface UserEntry {
  name: string
  password: string
  admin: boolean
  displayName?: string
  /** users mode: the OS user this account's tasks run as (server/auth/os-user.ts) */
  osUser?: string
}

const N = 16384
const R = 8
const P = 1
const KEYLEN = 32

export function hashPassword(password: string): string {
  if (typeof password !== 'string' || password.length < 8) throw new Error('passwords have at least 8 characters')
  const salt = randomBytes(16)
  const hash = scryptSync(password, salt, KEYLEN, { N, r: R, p: P, maxmem: 64 * 1024 * 1024 })
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64')}$${hash.toString('base64')}`
}

// a fixed hash to spend the same time when the user does not exist
const DUMMY = 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA='

export function verifyPassword(password: string, stored: string): boolean {
  const m = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(stored)
  if (!m || typeof password !== 'string') return false
  const [, n, r, p, salt = '', hash = ''] = m
  const want = Buffer.from(hash, 'base64')
  let got: Buffer
  try {
    got = scryptSync(password, Buffer.from(salt, 'base64'), want.length, {
      N: Number(n),
      r: Number(r),
      p: Number(p),
      maxmem: 256 * 1024 * 1024,
    })
  } catch {
    return false
  }
  return got.length === want.length && timingSafeEqual(got, want)
}

function parseUsers(text: string, source: string): UserEntry[] {
  const t = text.trim()
  if (!t) return []
  let list: UserEntry[]
  if (t.startsWith('[')) {
    const raw = JSON.parse(t) as {
      name?: unknown
      password?: unknown
      admin?: unknown
      displayName?: unknown
      osUser?: unknown
    }[]
    list = raw.map((u, i) => {
      if (typeof u?.name !== 'string' || typeof u?.password !== 'string')
        throw new Error(`${source}: entry ${i + 1} needs "name" and "password" (a scrypt hash)`)
      return {
        name: u.name,
        password: u.password,
        admin: u.admin === true,
        displayName: typeof u.displayName === 'string' ? u.displayName : undefined,
        osUser: typeof u.osUser === 'string' && u.osUser ? u.osUser : undefined,
      }
    })
  } else {
    list = t
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => {
        const [name, password, admin, osUser] = l.split(':')
        if (!name || !password) throw new Error(`${source}: lines are name:scrypt-hash[:admin[:osUser]]`)
        return { name, password, admin: admin === 'admin', osUser: osUser || undefined }
      })
  }
  for (const u of list)
    if (!/^[A-Za-z0-9._@-]{1,64}$/.test(u.name)) throw new Error(`${source}: invalid user name '${u.name}'`)
  return list
}

let cache: { key: string; users: UserEntry[] } | null = null

export function usersFile(): string {
  return readSetting('CONTROLROOM_USERS_FILE') || path.join(controlroomHome(), 'users.json')
}

export function loadUsers(): UserEntry[] {
  const fromEnv = readSetting('CONTROLROOM_USERS')
  if (fromEnv) {
    const key = `env:${fromEnv}`
    if (cache?.key !== key) cache = { key, users: parseUsers(fromEnv, 'CONTROLROOM_USERS') }
    return cache.users
  }
  const file = usersFile()
  let key: string
  try {
    key = `file:${file}:${statSync(/*turbopackIgnore: true*/ file).mtimeMs}`
  } catch {
    return []
  }
  if (cache?.key !== key) cache = { key, users: parseUsers(readFileSync(/*turbopackIgnore: true*/ file, 'utf8'), file) }
  return cache.users
}

/** The user when name and password match, else null (same time spent either way). */
export function checkLogin(name: string, password: string): UserEntry | null {
  const u = loadUsers().find((x) => x.name === name)
  const ok = verifyPassword(password, u?.password ?? DUMMY)
  return u && ok ? u : null
}
