/**
 * The database client: one PrismaClient per process, chosen by DATABASE_URL.
 *   file:...                      -> SQLite through better-sqlite3 (WAL, busy timeout, foreign keys on)
 *   postgres:// | postgresql://   -> PostgreSQL through node-postgres
 *
 * Both generated clients have the same models (one schema, two providers); code uses the `Db`
 * type (the SQLite client's type) for either. JSON columns are Strings on both.
 *
 * Migrations are applied by `migrateDatabase()` (server/startup.ts calls it when the server starts).
 *
 * The PostgreSQL driver (node-postgres, through @prisma/adapter-pg) loads when a PostgreSQL client
 * first connects: a SQLite process (a CLI run) never loads it.
 */
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3'
import type { SqlDriverAdapter, SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils'
import { PrismaClient as SqliteClient } from './generated/sqlite/client.ts'
import { PrismaClient as PostgresClient } from './generated/postgres/client.ts'
import { migrate, type MigrateResult } from './migrate.ts'
import { databaseUrl, providerOf, sqlitePath, type Provider } from './url.ts'
import { secureHome } from './permissions.ts'
import { readSetting } from '../settings.ts'
import { processSingleton } from '../singleton.ts'

export type Db = SqliteClient
/** The client inside `db.$transaction(async (tx) => ...)`. */
export type DbTx = Parameters<Parameters<Db['$transaction']>[0]>[0]
export type { Provider }
export type {
  User,
  Workflow,
  WorkflowVersion,
  Run,
  Task,
  Worker,
  Event,
  LogChunk,
  Artifact,
} from './generated/sqlite/client.ts'

const SQLITE_BUSY_TIMEOUT_MS = 15_000

/** better-sqlite3 adapter whose connection gets foreign keys, WAL and a busy timeout. */
function sqliteAdapter(url: string): SqlMigrationAwareDriverAdapterFactory {
  const base = new PrismaBetterSqlite3({ url: sqlitePath(url), timeout: SQLITE_BUSY_TIMEOUT_MS })
  const init = async (a: SqlDriverAdapter) => {
    await a.executeScript(
      `PRAGMA foreign_keys = ON; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS};`,
    )
    return a
  }
  return {
    provider: base.provider,
    adapterName: base.adapterName,
    connect: async () => init(await base.connect()),
    connectToShadowDb: () => base.connectToShadowDb(),
  } as SqlMigrationAwareDriverAdapterFactory
}

/** @prisma/adapter-pg's factory, imported on the first connection (its names are known up front) */
function postgresAdapter(url: string): SqlMigrationAwareDriverAdapterFactory {
  let base: Promise<SqlMigrationAwareDriverAdapterFactory> | null = null
  const load = () => {
    base ??= import('@prisma/adapter-pg').then(
      ({ PrismaPg }) => new PrismaPg({ connectionString: url, max: readSetting('CONTROLROOM_PG_POOL') }),
    )
    return base
  }
  return {
    provider: 'postgres',
    adapterName: '@prisma/adapter-pg',
    connect: async () => (await load()).connect(),
    connectToShadowDb: async () => (await load()).connectToShadowDb(),
  } as SqlMigrationAwareDriverAdapterFactory
}

/** A new client for `url` (callers own it: `await db.$disconnect()` when done). */
export function createDb(url: string = databaseUrl()): Db {
  const provider = providerOf(url)
  if (provider === 'sqlite') return new SqliteClient({ adapter: sqliteAdapter(url) })
  return new PostgresClient({ adapter: postgresAdapter(url) }) as unknown as Db
}

/** the process-wide client, and the URL it was made for */
const current = processSingleton('db.client', (): { slot?: { url: string; db: Db } } => ({}))
/** the migration of each URL, once per process */
const migrated = processSingleton('db.migrated', () => new Map<string, Promise<MigrateResult>>())

/** The process-wide client for DATABASE_URL (or the one given to `setDb`). */
export function getDb(): Db {
  if (!current.slot) {
    const url = databaseUrl()
    current.slot = { url, db: createDb(url) }
  }
  return current.slot.db
}

/** The URL of the process-wide client (DATABASE_URL unless `setDb` chose another). */
export function currentDbUrl(): string {
  return current.slot?.url ?? databaseUrl()
}

export function dbProvider(db?: Db): Provider {
  const url = current.slot && (!db || current.slot.db === db) ? current.slot.url : databaseUrl()
  return providerOf(url)
}

/** Tests and tools: make `getDb()` return this client (for `url`). */
export function setDb(db: Db, url: string): void {
  current.slot = { url, db }
}

/** Tests: drop the process-wide client without disconnecting it (its owner closes it). */
export function forgetDb(): void {
  current.slot = undefined
}

export async function resetDb(): Promise<void> {
  const cur = current.slot
  current.slot = undefined
  if (cur) await cur.db.$disconnect()
}

/**
 * Applies pending migrations to DATABASE_URL once per process (later calls share the first result).
 * Called at server start (instrumentation.ts -> server/startup.ts) and by the CLI.
 */
export function migrateDatabase(url: string = databaseUrl()): Promise<MigrateResult> {
  let p = migrated.get(url)
  if (!p) {
    const file = providerOf(url) === 'sqlite' ? sqlitePath(url) : undefined
    secureHome(file)
    p = migrate(url).then((r) => {
      secureHome(file) // the database files it created
      return r
    })
    p.catch(() => migrated.delete(url))
    migrated.set(url, p)
  }
  return p
}
