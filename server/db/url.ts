/**
 * Which database: `DATABASE_URL` decides.
 *   file:<path>                    -> SQLite (the embedded default), relative paths from the cwd
 *   postgres:// or postgresql://   -> PostgreSQL
 * Default: file:<CONTROLROOM_HOME or ./var>/controlroom.db
 */
import path from 'node:path'

export type Provider = 'sqlite' | 'postgresql'

export function controlroomHome(): string {
  return path.resolve(
    /*turbopackIgnore: true*/ process.env.CONTROLROOM_HOME || path.join(/*turbopackIgnore: true*/ process.cwd(), 'var'),
  )
}

export function defaultDatabaseUrl(): string {
  return `file:${path.join(controlroomHome(), 'controlroom.db')}`
}

export function databaseUrl(): string {
  return process.env.DATABASE_URL?.trim() || defaultDatabaseUrl()
}

export function providerOf(url: string): Provider {
  if (/^file:/i.test(url)) return 'sqlite'
  if (/^postgres(ql)?:\/\//i.test(url)) return 'postgresql'
  throw new Error(
    `DATABASE_URL must start with file: (SQLite) or postgres:// / postgresql:// (PostgreSQL); got '${redactUrl(url)}'`,
  )
}

/** Absolute file path of a SQLite URL (`file:./var/x.db`, `file:/abs/x.db`, `file:x.db?mode=...`). */
export function sqlitePath(url: string): string {
  const p = url.replace(/^file:(\/\/)?/i, '').replace(/\?.*$/, '')
  if (p === ':memory:') return p
  return path.resolve(/*turbopackIgnore: true*/ p)
}

/** A URL safe to print: the password is replaced. */
export function redactUrl(url: string): string {
  if (/^file:/i.test(url)) return url
  try {
    const u = new URL(url)
    if (u.password) u.password = '***'
    return u.toString()
  } catch {
    return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@')
  }
}
