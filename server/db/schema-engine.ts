/**
 * Prisma's schema engine compiled to WebAssembly (@prisma/schema-engine-wasm), driven through a
 * driver adapter. Prisma 7's migrate CLI needs a native engine that cannot be downloaded here; this
 * is the same engine, offline.
 *
 * DEV-TIME and TEST-TIME only: `scripts/db-migration.ts` uses it to write migration SQL for both
 * providers, and a test checks that the migrations recorded by our runtime runner
 * (server/db/migrate.ts) are seen by Prisma's engine as applied and in sync.
 * The server does not load it at start (the runner is plain SQL).
 */
import { readFileSync, readdirSync, existsSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { randomUUID } from 'node:crypto'
import pg from 'pg'
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3'
import { PrismaPg } from '@prisma/adapter-pg'
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils'
import type { SqlDriverAdapter, SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils'
import type { Provider } from './url.ts'

const require = createRequire(import.meta.url)

// The wasm engine's types (kept loose: the package's d.ts is large and unstable).
export interface WasmSchemaEngine {
  diff(params: unknown): Promise<{ exitCode: number; stdout: string | null }>
  applyMigrations(input: unknown): Promise<{ appliedMigrationNames: string[] }>
  diagnoseMigrationHistory(input: unknown): Promise<{
    editedMigrationNames: string[]
    failedMigrationNames: string[]
    hasMigrationsTable: boolean
    history: unknown
  }>
  free(): void
}

let loaded: Promise<{
  SchemaEngine: { new: (o: unknown, cb: unknown, a: unknown) => Promise<WasmSchemaEngine> }
}> | null = null

async function loadWasm() {
  loaded ??= (async () => {
    const bg = (await import('@prisma/schema-engine-wasm/schema_engine_bg')) as Record<string, unknown> & {
      __wbg_set_wasm: (w: unknown) => void
    }
    const wasmPath = path.join(
      path.dirname(require.resolve('@prisma/schema-engine-wasm/schema_engine_bg')),
      'schema_engine_bg.wasm',
    )
    const { instance } = await WebAssembly.instantiate(readFileSync(wasmPath), {
      './schema_engine_bg.js': bg as WebAssembly.ModuleImports,
    })
    bg.__wbg_set_wasm(instance.exports)
    ;(instance.exports.__wbindgen_start as () => void)()
    return bg as never
  })()
  return loaded
}

/**
 * adapter-pg 7.10 cannot map the PostgreSQL `"char"` column type (OID 18) that the engine's
 * introspection queries return: report it as text (OID 25) in this process.
 */
let pgCharPatched = false
function patchPgChar() {
  if (pgCharPatched) return
  pgCharPatched = true
  const fix = (res: unknown) => {
    for (const r of Array.isArray(res) ? res : [res]) {
      const fields = (r as { fields?: { dataTypeID: number }[] } | null)?.fields
      if (fields) for (const f of fields) if (f.dataTypeID === 18) f.dataTypeID = 25
    }
    return res
  }
  const proto = pg.Client.prototype as unknown as { query: (...a: unknown[]) => unknown }
  const orig = proto.query
  proto.query = function (this: unknown, ...args: unknown[]) {
    const last = args[args.length - 1]
    if (typeof last === 'function') {
      args[args.length - 1] = (err: unknown, res: unknown) =>
        (last as (e: unknown, r: unknown) => void)(err, err ? res : fix(res))
      return orig.apply(this, args)
    }
    const first = args[0] as { callback?: (e: unknown, r: unknown) => void } | undefined
    if (first && typeof first === 'object' && typeof first.callback === 'function') {
      const cb = first.callback
      first.callback = (err, res) => cb(err, err ? res : fix(res))
      return orig.apply(this, args)
    }
    const out = orig.apply(this, args) as Promise<unknown> | unknown
    if (out && typeof (out as Promise<unknown>).then === 'function') return (out as Promise<unknown>).then(fix)
    return out
  }
}

/** A PostgreSQL adapter factory whose shadow database is a uniquely named database, dropped after use. */
function pgFactory(url: string): SqlMigrationAwareDriverAdapterFactory {
  const base = new PrismaPg({ connectionString: url })
  return {
    provider: base.provider,
    adapterName: base.adapterName,
    connect: () => base.connect(),
    async connectToShadowDb() {
      const name = `cr_shadow_${randomUUID().replace(/-/g, '')}`
      const admin = new pg.Client({ connectionString: url })
      await admin.connect()
      await admin.query(`CREATE DATABASE "${name}"`)
      await admin.end()
      const u = new URL(url)
      u.pathname = `/${name}`
      const shadow = await new PrismaPg({ connectionString: u.toString() }).connect()
      const dispose = shadow.dispose.bind(shadow)
      shadow.dispose = async () => {
        await dispose()
        const a = new pg.Client({ connectionString: url })
        await a.connect()
        await a.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)
        await a.end()
      }
      return shadow
    },
  } as SqlMigrationAwareDriverAdapterFactory
}

/**
 * SQLite: the engine replays migration scripts on the shadow database with `executeRaw`, which
 * better-sqlite3 refuses for more than one statement: run those through `executeScript`.
 */
function sqliteFactory(file: string): SqlMigrationAwareDriverAdapterFactory {
  const base = new PrismaBetterSqlite3({ url: file })
  const fix = <T extends SqlDriverAdapter>(a: T): T => {
    const orig = a.executeRaw.bind(a)
    a.executeRaw = async (q) => {
      try {
        return await orig(q)
      } catch (e) {
        if (q.args.length === 0 && /more than one statement/.test(String(e))) {
          await a.executeScript(q.sql)
          return 0
        }
        throw e
      }
    }
    return a
  }
  return {
    provider: base.provider,
    adapterName: base.adapterName,
    connect: async () => fix(await base.connect()),
    connectToShadowDb: async () => fix(await base.connectToShadowDb()),
  } as SqlMigrationAwareDriverAdapterFactory
}

export async function openSchemaEngine(provider: Provider, url: string, schemaPath: string): Promise<WasmSchemaEngine> {
  const { SchemaEngine } = await loadWasm()
  let factory: SqlMigrationAwareDriverAdapterFactory
  if (provider === 'sqlite') {
    factory = sqliteFactory(url.replace(/^file:/, ''))
  } else {
    patchPgChar()
    factory = pgFactory(url)
  }
  const schema = readFileSync(schemaPath, 'utf8')
  const quiet = () => {}
  return SchemaEngine.new({ datamodels: [[schemaPath, schema]] }, quiet, bindMigrationAwareSqlAdapterFactory(factory))
}

/** The engine's description of a migrations folder. */
export function migrationList(dir: string) {
  const entries = existsSync(dir)
    ? readdirSync(dir)
        .filter((d) => statSync(path.join(dir, d)).isDirectory())
        .sort()
    : []
  const lock = path.join(dir, 'migration_lock.toml')
  return {
    baseDir: dir,
    lockfile: { path: 'migration_lock.toml', content: existsSync(lock) ? readFileSync(lock, 'utf8') : null },
    shadowDbInitScript: '',
    migrationDirectories: entries.map((d) => {
      const f = path.join(dir, d, 'migration.sql')
      return {
        path: d,
        migrationFile: {
          path: 'migration.sql',
          content: existsSync(f)
            ? { tag: 'ok', value: readFileSync(f, 'utf8') }
            : { tag: 'error', value: 'missing migration.sql' },
        },
      }
    }),
  }
}

export const NO_FILTER = { externalTables: [], externalEnums: [] }
