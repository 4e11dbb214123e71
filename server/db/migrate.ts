/**
 * Applies pending migration folders at start. Prisma's `migrate deploy` needs a native schema engine
 * that it downloads from Prisma's binary host, which an offline machine cannot reach: this applies the
 * same SQL files itself.
 *
 * Reads the standard folders written by `scripts/db-migration.ts`:
 *   prisma/migrations/<ts>_<name>/migration.sql            (SQLite)
 *   prisma/postgres/migrations/<ts>_<name>/migration.sql   (PostgreSQL)
 * and records each in the standard `_prisma_migrations` table (same columns and checksum as
 * Prisma Migrate, so `prisma migrate status` / the schema engine see them as applied).
 *
 * Safe to run concurrently from several processes (server + CLI): SQLite takes a write lock per
 * migration (BEGIN IMMEDIATE) and re-checks; PostgreSQL holds an advisory lock. Each migration
 * runs in one transaction: a failure leaves the database as it was and throws with the reason.
 * SQLite databases are switched to WAL mode.
 */
import { createHash, randomUUID } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { databaseUrl, providerOf, redactUrl, sqlitePath, type Provider } from './url.ts'
import { readSetting } from '../settings.ts'

export interface MigrationFolder {
  name: string
  sql: string
  checksum: string
}

export interface MigrateResult {
  provider: Provider
  applied: string[]
  alreadyApplied: string[]
}

export interface MigrateOptions {
  /** override the folder (default: prisma/migrations or prisma/postgres/migrations of the app root) */
  migrationsDir?: string
  log?: (msg: string) => void
}

/** The repository root (holds prisma/schema.prisma): CONTROLROOM_APP_ROOT, the cwd, or above this file. */
export function appRoot(): string {
  const candidates: string[] = []
  // unset, the setting is the cwd
  candidates.push(readSetting('CONTROLROOM_APP_ROOT'))
  try {
    let dir = path.dirname(fileURLToPath(import.meta.url))
    for (let i = 0; i < 8; i++) {
      candidates.push(dir)
      dir = path.dirname(dir)
    }
  } catch {
    /* bundled without a file URL */
  }
  for (const c of candidates)
    if (existsSync(/*turbopackIgnore: true*/ path.join(/*turbopackIgnore: true*/ c, 'prisma', 'schema.prisma')))
      return path.resolve(/*turbopackIgnore: true*/ c)
  return /*turbopackIgnore: true*/ process.cwd()
}

export function migrationsDirFor(provider: Provider): string {
  return path.join(
    /*turbopackIgnore: true*/ appRoot(),
    'prisma',
    ...(provider === 'sqlite' ? ['migrations'] : ['postgres', 'migrations']),
  )
}

/** Prisma's checksum: sha256 (hex) of the migration script. */
export function checksumOf(sql: string): string {
  return createHash('sha256').update(sql).digest('hex')
}

export function readMigrationFolders(dir: string, provider: Provider): MigrationFolder[] {
  if (!existsSync(dir)) throw new Error(`migrations folder not found: ${dir}`)
  const lock = path.join(dir, 'migration_lock.toml')
  if (existsSync(lock)) {
    const m = /provider\s*=\s*"([^"]+)"/.exec(readFileSync(lock, 'utf8'))
    if (m && m[1] !== provider) throw new Error(`${dir} holds ${m[1]} migrations, not ${provider}`)
  }
  return readdirSync(dir)
    .filter((d) => statSync(path.join(dir, d)).isDirectory() && existsSync(path.join(dir, d, 'migration.sql')))
    .sort()
    .map((name) => {
      const sql = readFileSync(path.join(dir, name, 'migration.sql'), 'utf8')
      return { name, sql, checksum: checksumOf(sql) }
    })
}

const SQLITE_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    TEXT PRIMARY KEY NOT NULL,
    "checksum"              TEXT NOT NULL,
    "finished_at"           DATETIME,
    "migration_name"        TEXT NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        DATETIME,
    "started_at"            DATETIME NOT NULL DEFAULT current_timestamp,
    "applied_steps_count"   INTEGER UNSIGNED NOT NULL DEFAULT 0
)`

const PG_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`

/** Arbitrary constant for pg_advisory_lock ("CRMIGR"). */
const PG_LOCK_KEY = 0x43524d49

function warnEdited(log: (m: string) => void, name: string) {
  log(`[db] warning: migration ${name} was edited after it was applied (checksum differs); it is not re-applied`)
}

async function migrateSqlite(
  url: string,
  folders: MigrationFolder[],
  log: (m: string) => void,
): Promise<MigrateResult> {
  const { default: Database } = await import('better-sqlite3')
  const file = sqlitePath(url)
  if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true })
  const db = new Database(file, { timeout: 15_000 })
  const applied: string[] = []
  const already: string[] = []
  try {
    db.pragma('journal_mode = WAL')
    db.pragma('busy_timeout = 15000')
    // As SQLite recommends for schema changes: foreign keys off during the change, checked before commit.
    db.pragma('foreign_keys = OFF')
    db.exec(SQLITE_TABLE)
    for (const m of folders) {
      db.exec('BEGIN IMMEDIATE')
      try {
        const rows = db
          .prepare(
            `SELECT checksum FROM "_prisma_migrations" WHERE migration_name = ? AND finished_at IS NOT NULL AND rolled_back_at IS NULL`,
          )
          .all(m.name) as { checksum: string }[]
        if (rows.length) {
          db.exec('COMMIT')
          already.push(m.name)
          if (!rows.some((r) => r.checksum === m.checksum)) warnEdited(log, m.name)
          continue
        }
        const id = randomUUID()
        const now = new Date().toISOString()
        db.prepare(
          `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count) VALUES (?, ?, ?, ?, 0)`,
        ).run(id, m.checksum, m.name, now)
        db.exec(m.sql)
        const bad = db.prepare('PRAGMA foreign_key_check').all()
        if (bad.length) throw new Error(`foreign key check failed after migration: ${JSON.stringify(bad.slice(0, 5))}`)
        db.prepare(`UPDATE "_prisma_migrations" SET finished_at = ?, applied_steps_count = 1 WHERE id = ?`).run(
          new Date().toISOString(),
          id,
        )
        db.exec('COMMIT')
        applied.push(m.name)
        log(`[db] applied migration ${m.name}`)
      } catch (e) {
        if (db.inTransaction) db.exec('ROLLBACK')
        throw new Error(`migration ${m.name} failed on SQLite ${file}: ${(e as Error).message}`)
      }
    }
  } finally {
    db.close()
  }
  return { provider: 'sqlite', applied, alreadyApplied: already }
}

async function migratePostgres(
  url: string,
  folders: MigrationFolder[],
  log: (m: string) => void,
): Promise<MigrateResult> {
  const { default: pg } = await import('pg')
  const client = new pg.Client({ connectionString: url })
  try {
    await client.connect()
  } catch (e) {
    throw new Error(`cannot connect to PostgreSQL at ${redactUrl(url)}: ${(e as Error).message}`)
  }
  const applied: string[] = []
  const already: string[] = []
  try {
    await client.query('SELECT pg_advisory_lock($1)', [PG_LOCK_KEY])
    await client.query(PG_TABLE)
    const { rows } = await client.query<{ migration_name: string; checksum: string }>(
      `SELECT migration_name, checksum FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`,
    )
    const done = new Map<string, string[]>()
    for (const r of rows) done.set(r.migration_name, [...(done.get(r.migration_name) ?? []), r.checksum])
    for (const m of folders) {
      const sums = done.get(m.name)
      if (sums) {
        already.push(m.name)
        if (!sums.includes(m.checksum)) warnEdited(log, m.name)
        continue
      }
      const id = randomUUID()
      try {
        await client.query('BEGIN')
        await client.query(
          `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count) VALUES ($1, $2, $3, now(), 0)`,
          [id, m.checksum, m.name],
        )
        await client.query(m.sql)
        await client.query(
          `UPDATE "_prisma_migrations" SET finished_at = now(), applied_steps_count = 1 WHERE id = $1`,
          [id],
        )
        await client.query('COMMIT')
      } catch (e) {
        await client.query('ROLLBACK').catch(() => {})
        throw new Error(`migration ${m.name} failed on PostgreSQL ${redactUrl(url)}: ${(e as Error).message}`)
      }
      applied.push(m.name)
      log(`[db] applied migration ${m.name}`)
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [PG_LOCK_KEY]).catch(() => {})
    await client.end().catch(() => {})
  }
  return { provider: 'postgresql', applied, alreadyApplied: already }
}

/** Applies every pending migration to the database at `url` (default: DATABASE_URL). */
export async function migrate(url: string = databaseUrl(), opts: MigrateOptions = {}): Promise<MigrateResult> {
  const provider = providerOf(url)
  const log = opts.log ?? ((m: string) => console.log(m))
  const folders = readMigrationFolders(opts.migrationsDir ?? migrationsDirFor(provider), provider)
  return provider === 'sqlite' ? migrateSqlite(url, folders, log) : migratePostgres(url, folders, log)
}
