/**
 * The database client: one PrismaClient per process, chosen by DATABASE_URL.
 *   file:...                      -> SQLite through better-sqlite3 (WAL, busy timeout, foreign keys on)
 *   postgres:// | postgresql://   -> PostgreSQL through node-postgres
 *
 * Both generated clients have the same models (one schema, two providers); code uses the `Db`
 * type (the SQLite client's type) for either. JSON columns are Strings on both.
 *
 * Migrations are applied by `migrateDatabase()` (server/startup.ts calls it when the server starts).
 */
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3'
import { PrismaPg } from '@prisma/adapter-pg'
import type { SqlDriverAdapter, SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils'
import { PrismaClient as SqliteClient } from './generated/sqlite/client.ts'
import { PrismaClient as PostgresClient } from './generated/postgres/client.ts'
import { migrate, type MigrateResult } from './migrate.ts'
import { databaseUrl, providerOf, sqlitePath, type Provider } from './url.ts'
import { secureHome } from './permissions.ts'

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

/** A new client for `url` (callers own it: `await db.$disconnect()` when done). */
export function createDb(url: string = databaseUrl()): Db {
  const provider = providerOf(url)
  if (provider === 'sqlite') return new SqliteClient({ adapter: sqliteAdapter(url) })
  const client = new PostgresClient({
    adapter: new PrismaPg({ connectionString: url, max: Number(process.env.CONTROLROOM_PG_POOL ?? 10) }),
  })
  return client as unknown as Db
}

interface DbGlobal {
  __controlroomDb?: { url: string; db: Db }
  __controlroomMigrated?: Map<string, Promise<MigrateResult>>
}
const g = globalThis as unknown as DbGlobal

/** The process-wide client for DATABASE_URL (or the one given to `setDb`). */
export function getDb(): Db {
  const url = databaseUrl()
  if (!g.__controlroomDb) g.__controlroomDb = { url, db: createDb(url) }
  return g.__controlroomDb.db
}

/** The URL of the process-wide client (DATABASE_URL unless `setDb` chose another). */
export function currentDbUrl(): string {
  return g.__controlroomDb?.url ?? databaseUrl()
}

export function dbProvider(db?: Db): Provider {
  const url = g.__controlroomDb && (!db || g.__controlroomDb.db === db) ? g.__controlroomDb.url : databaseUrl()
  return providerOf(url)
}

/** Tests and tools: make `getDb()` return this client (for `url`). */
export function setDb(db: Db, url: string): void {
  g.__controlroomDb = { url, db }
}

export async function resetDb(): Promise<void> {
  const cur = g.__controlroomDb
  g.__controlroomDb = undefined
  if (cur) await cur.db.$disconnect()
}

/**
 * Applies pending migrations to DATABASE_URL once per process (later calls share the first result).
 * Called at server start (instrumentation.ts -> server/startup.ts) and by the CLI.
 */
export function migrateDatabase(url: string = databaseUrl()): Promise<MigrateResult> {
  g.__controlroomMigrated ??= new Map()
  let p = g.__controlroomMigrated.get(url)
  if (!p) {
    const file = providerOf(url) === 'sqlite' ? sqlitePath(url) : undefined
    secureHome(file)
    p = migrate(url).then((r) => {
      secureHome(file) // the database files it created
      return r
    })
    p.catch(() => g.__controlroomMigrated?.delete(url))
    g.__controlroomMigrated.set(url, p)
  }
  return p
}
