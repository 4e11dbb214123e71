/**
 * Which database: `DATABASE_URL` decides.
 *   file:<path>                    -> SQLite (the embedded default), relative paths from the cwd
 *   postgres:// or postgresql://   -> PostgreSQL
 * Default: file:<CONTROLROOM_HOME or ./var>/controlroom.db
 */
import path from 'node:path'
import { readSetting } from '../settings.ts'

export type Provider = 'sqlite' | 'postgresql'

export function controlroomHome(): string {
  return readSetting('CONTROLROOM_HOME')
}

export function defaultDatabaseUrl(): string {
  return `file:${path.join(controlroomHome(), 'controlroom.db')}`
}

export function databaseUrl(): string {
  return readSetting('DATABASE_URL') || defaultDatabaseUrl()
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
