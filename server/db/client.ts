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
 * The PostgreSQL driver and client load only for a PostgreSQL URL (a SQLite CLI run never pays for
 * them): `loadDatabaseDriver(url)` loads them, and `migrateDatabase()` calls it, so every process
 * that migrates before it connects (the server, the CLI, the test databases) has them in time.
 */
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3'
import type { SqlDriverAdapter, SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils'
import { PrismaClient as SqliteClient } from './generated/sqlite/client.ts'
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

/** the PostgreSQL client and driver, once loaded (loadDatabaseDriver) */
const postgres = processSingleton(
  'db.postgres',
  (): {
    loaded?: {
      PostgresClient: typeof import('./generated/postgres/client.ts').PrismaClient
      PrismaPg: typeof import('@prisma/adapter-pg').PrismaPg
    }
    loading?: Promise<void>
  } => ({}),
)

/** Loads what a client for `url` needs that is not loaded up front (PostgreSQL's driver); idempotent. */
export function loadDatabaseDriver(url: string = databaseUrl()): Promise<void> {
  if (providerOf(url) === 'sqlite' || postgres.loaded) return Promise.resolve()
  postgres.loading ??= Promise.all([import('./generated/postgres/client.ts'), import('@prisma/adapter-pg')]).then(
    ([client, adapter]) => {
      postgres.loaded = { PostgresClient: client.PrismaClient, PrismaPg: adapter.PrismaPg }
    },
    (e) => {
      postgres.loading = undefined
      throw e
    },
  )
  return postgres.loading
}

/** A new client for `url` (callers own it: `await db.$disconnect()` when done). */
export function createDb(url: string = databaseUrl()): Db {
  const provider = providerOf(url)
  if (provider === 'sqlite') return new SqliteClient({ adapter: sqliteAdapter(url) })
  const pg = postgres.loaded
  if (!pg)
    throw new Error(
      'the PostgreSQL driver is not loaded: await loadDatabaseDriver(url) (or migrateDatabase(url)) before the first client',
    )
  const client = new pg.PostgresClient({
    adapter: new pg.PrismaPg({ connectionString: url, max: readSetting('CONTROLROOM_PG_POOL') }),
  })
  return client as unknown as Db
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
    p = Promise.all([migrate(url), loadDatabaseDriver(url)]).then(([r]) => {
      secureHome(file) // the database files it created
      return r
    })
    p.catch(() => migrated.delete(url))
    migrated.set(url, p)
  }
  return p
}
