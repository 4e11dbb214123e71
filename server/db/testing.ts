/**
 * Isolated databases for tests: a temporary SQLite file, or a fresh database in the test
 * PostgreSQL server (TEST_DATABASE_URL_PG, started by `npm test` / scripts/services/postgres.sh).
 * Each is migrated from scratch. `cleanup()` disconnects and removes it.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { createDb, type Db } from './client.ts'
import { migrate, type MigrateResult } from './migrate.ts'
import type { Provider } from './url.ts'

export const PROVIDERS: Provider[] = ['sqlite', 'postgresql']

export const PG_MISSING =
  'PostgreSQL not started: run npm test (or scripts/services/postgres.sh start and export TEST_DATABASE_URL_PG=<the URL it prints>)'

/** The test PostgreSQL server's URL; throws (the test FAILS, it is not skipped) when it is absent. */
export function requirePgUrl(): string {
  const url = process.env.TEST_DATABASE_URL_PG
  if (!url) throw new Error(PG_MISSING)
  return url
}

export interface TestDatabase {
  provider: Provider
  url: string
  db: Db
  migration: MigrateResult
  cleanup(): Promise<void>
}

/** An empty database (not migrated) and a way to drop it. */
export async function createEmptyDatabase(provider: Provider): Promise<{ url: string; drop(): Promise<void> }> {
  if (provider === 'sqlite') {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cr-test-db-'))
    return { url: `file:${path.join(dir, 'test.db')}`, drop: async () => rmSync(dir, { recursive: true, force: true }) }
  }
  const base = requirePgUrl()
  const name = `cr_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`
  const admin = new pg.Client({ connectionString: base })
  try {
    await admin.connect()
  } catch (e) {
    throw new Error(`${PG_MISSING}\n(cannot connect to ${base}: ${(e as Error).message})`)
  }
  await admin.query(`CREATE DATABASE "${name}"`)
  await admin.end()
  const u = new URL(base)
  u.pathname = `/${name}`
  return {
    url: u.toString(),
    drop: async () => {
      const a = new pg.Client({ connectionString: base })
      await a.connect()
      await a.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)
      await a.end()
    },
  }
}

/** A fresh, migrated database with a connected client. */
export async function createTestDatabase(provider: Provider): Promise<TestDatabase> {
  const { url, drop } = await createEmptyDatabase(provider)
  const migration = await migrate(url, { log: () => {} })
  const db = createDb(url)
  return {
    provider,
    url,
    db,
    migration,
    async cleanup() {
      await db.$disconnect().catch(() => {})
      await drop()
    },
  }
}
