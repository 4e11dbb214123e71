/**
 * The server start hook (instrumentation.ts -> server/startup.ts): migrates DATABASE_URL from
 * scratch, creates the access token file, and does nothing more on a second start.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { mkdtempSync, statSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import Database from 'better-sqlite3'

const home = mkdtempSync(path.join(os.tmpdir(), 'cr-startup-'))
process.env.CONTROLROOM_HOME = home
delete process.env.CONTROLROOM_TOKEN
delete process.env.CONTROLROOM_AUTH
delete process.env.DATABASE_URL // the default: file:<CONTROLROOM_HOME>/controlroom.db

afterAll(() => rmSync(home, { recursive: true, force: true }))

describe('server start', () => {
  it('refuses to start on a mistyped setting, naming it', async () => {
    const { prepareServer } = await import('./startup.ts')
    process.env.CONTROLROOM_SESSION_HOURS = 'twelve'
    try {
      await expect(prepareServer(() => {})).rejects.toThrow(/invalid settings:\n {2}CONTROLROOM_SESSION_HOURS="twelve"/)
    } finally {
      delete process.env.CONTROLROOM_SESSION_HOURS
    }
  })

  it('migrates the default SQLite database (WAL) and creates the token file', async () => {
    const { onServerStart, prepareServer } = await import('./startup.ts')
    const logs: string[] = []
    const info = await prepareServer((m) => logs.push(m))
    expect(info.provider).toBe('sqlite')
    expect(info.database).toBe(`file:${path.join(home, 'controlroom.db')}`)
    expect(info.appliedMigrations.length).toBeGreaterThan(0)
    expect(logs.join('\n')).toMatch(/applied/)
    expect(logs.join('\n')).not.toMatch(/[0-9a-f]{48}/) // the token is never logged
    expect(statSync(path.join(home, 'token')).mode & 0o777).toBe(0o600)
    const db = new Database(path.join(home, 'controlroom.db'))
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal')
    const tables = db
      .prepare(
        `SELECT count(*) AS n FROM sqlite_master WHERE type='table' AND name IN ('Workflow','WorkflowVersion','Run','Event')`,
      )
      .get() as { n: number }
    expect(tables.n).toBe(4)
    db.close()
    await onServerStart() // idempotent in one process
  })

  it('a restart (new process) applies nothing', async () => {
    const { migrate } = await import('./db/migrate.ts')
    const again = await migrate(`file:${path.join(home, 'controlroom.db')}`, { log: () => {} })
    expect(again.applied).toEqual([])
    expect(again.alreadyApplied.length).toBeGreaterThan(0)
  })
})
