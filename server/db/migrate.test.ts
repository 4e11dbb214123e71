import { afterAll, describe, expect, it } from 'vitest'
import path from 'node:path'
import { readFileSync } from 'node:fs'
import Database from 'better-sqlite3'
import pg from 'pg'
import { migrate, migrationsDirFor, readMigrationFolders } from './migrate.ts'
import { createDb } from './client.ts'
import { createEmptyDatabase, PROVIDERS } from './testing.ts'
import { openSchemaEngine, migrationList, NO_FILTER } from './schema-engine.ts'
import { sqlitePath } from './url.ts'

const root = path.resolve(import.meta.dirname, '../..')
const schemaFor = {
  sqlite: path.join(root, 'prisma/schema.prisma'),
  postgresql: path.join(root, 'prisma/postgres/schema.prisma'),
}
const cleanups: (() => Promise<void>)[] = []
afterAll(async () => {
  for (const c of cleanups.reverse()) await c()
})

async function tables(provider: string, url: string): Promise<string[]> {
  if (provider === 'sqlite') {
    const db = new Database(sqlitePath(url), { readonly: true })
    const rows = db.prepare(`SELECT name FROM sqlite_master WHERE type='table' ORDER BY name`).all() as {
      name: string
    }[]
    db.close()
    return rows.map((r) => r.name)
  }
  const c = new pg.Client({ connectionString: url })
  await c.connect()
  const { rows } = await c.query(`SELECT tablename AS name FROM pg_tables WHERE schemaname='public' ORDER BY tablename`)
  await c.end()
  return rows.map((r: { name: string }) => r.name)
}

describe('schemas', () => {
  it('the PostgreSQL schema is derived from the SQLite one (run bash scripts/db-generate.sh after editing)', async () => {
    const { derivePostgresSchema } = await import('../../scripts/db-derive-postgres.mjs')
    expect(readFileSync(schemaFor.postgresql, 'utf8')).toBe(
      derivePostgresSchema(readFileSync(schemaFor.sqlite, 'utf8')),
    )
  })
})

describe.each(PROVIDERS)('migrations on %s', (provider) => {
  it('applies every migration from scratch, is idempotent on restart, and matches the schema', async () => {
    const { url, drop } = await createEmptyDatabase(provider)
    cleanups.push(drop)
    const folders = readMigrationFolders(migrationsDirFor(provider), provider)
    expect(folders.length).toBeGreaterThan(0)

    const first = await migrate(url, { log: () => {} })
    expect(first.applied).toEqual(folders.map((f) => f.name))
    expect(first.alreadyApplied).toEqual([])

    const names = await tables(provider, url)
    for (const t of [
      'User',
      'Workflow',
      'WorkflowVersion',
      'Run',
      'Task',
      'Worker',
      'Event',
      'LogChunk',
      'Artifact',
      '_prisma_migrations',
    ]) {
      expect(names).toContain(t)
    }

    // restart: nothing re-applied
    const second = await migrate(url, { log: () => {} })
    expect(second.applied).toEqual([])
    expect(second.alreadyApplied).toEqual(folders.map((f) => f.name))

    // concurrent starts (server + CLI) on an already migrated database
    const both = await Promise.all([migrate(url, { log: () => {} }), migrate(url, { log: () => {} })])
    expect(both.flatMap((r) => r.applied)).toEqual([])

    if (provider === 'sqlite') {
      const db = new Database(sqlitePath(url))
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal')
      db.close()
    }

    // Prisma's own schema engine agrees: history in sync, no edited migration, no drift from the schema.
    const engine = await openSchemaEngine(provider, url, schemaFor[provider])
    try {
      const list = migrationList(migrationsDirFor(provider))
      const diag = await engine.diagnoseMigrationHistory({
        migrationsList: list,
        optInToShadowDatabase: false,
        filters: NO_FILTER,
      })
      expect(diag.hasMigrationsTable).toBe(true)
      expect(diag.history).toBeNull()
      expect(diag.editedMigrationNames).toEqual([])
      expect(diag.failedMigrationNames).toEqual([])
      const drift = await engine.diff({
        from: {
          tag: 'schemaDatasource',
          files: [{ path: schemaFor[provider], content: readFileSync(schemaFor[provider], 'utf8') }],
          configDir: root,
        },
        to: {
          tag: 'schemaDatamodel',
          files: [{ path: schemaFor[provider], content: readFileSync(schemaFor[provider], 'utf8') }],
        },
        script: true,
        exitCode: null,
        filters: NO_FILTER,
      })
      expect(
        (drift.stdout ?? '').replace(/^-- This is an empty migration\.\s*$/m, '').trim(),
        'prisma/schema.prisma changed without a migration: run `npx tsx scripts/db-migration.ts <name>` and `bash scripts/db-generate.sh`',
      ).toBe('')
    } finally {
      engine.free()
    }

    // and the generated client works on it
    const db = createDb(url)
    try {
      const u = await db.user.create({ data: { name: `u-${provider}` } })
      expect(await db.user.findUnique({ where: { id: u.id } })).toMatchObject({ name: `u-${provider}` })
    } finally {
      await db.$disconnect()
    }
  })

  it('migrates two fresh starts racing on the same empty database exactly once', async () => {
    const { url, drop } = await createEmptyDatabase(provider)
    cleanups.push(drop)
    const results = await Promise.all([migrate(url, { log: () => {} }), migrate(url, { log: () => {} })])
    const applied = results.flatMap((r) => r.applied)
    const folders = readMigrationFolders(migrationsDirFor(provider), provider)
    expect(applied.sort()).toEqual(folders.map((f) => f.name).sort())
  })

  it('rolls back a failing migration and reports it, leaving the database as it was', async () => {
    const { url, drop } = await createEmptyDatabase(provider)
    cleanups.push(drop)
    const { mkdtempSync, mkdirSync, writeFileSync, cpSync } = await import('node:fs')
    const os = await import('node:os')
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cr-mig-'))
    cpSync(migrationsDirFor(provider), dir, { recursive: true })
    mkdirSync(path.join(dir, '99999999999999_broken'))
    writeFileSync(
      path.join(dir, '99999999999999_broken', 'migration.sql'),
      'CREATE TABLE "Half" ("id" INTEGER);\nTHIS IS NOT SQL;\n',
    )
    await expect(migrate(url, { migrationsDir: dir, log: () => {} })).rejects.toThrow(
      /migration 99999999999999_broken failed/,
    )
    const names = await tables(provider, url)
    expect(names).toContain('Workflow')
    expect(names).not.toContain('Half')
    // fixed on the next start: the good migrations stay applied, nothing is re-applied
    const again = await migrate(url, { log: () => {} })
    expect(again.applied).toEqual([])
  })
})
