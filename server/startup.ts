/**
 * What the server does once when it starts (called from /instrumentation.ts `register()`, Node.js
 * runtime only, before the first request is served). The CLI may call it too.
 *
 * Add start-up work to `onServerStart` below (e.g. the run engine's reconcile of active runs),
 * AFTER the database is migrated.
 */
import { migrateDatabase } from './db/client.ts'
import { databaseUrl, providerOf, redactUrl } from './db/url.ts'
import { authMode } from './auth/core.ts'
import { ensureToken, tokenFile } from './auth/secrets.ts'
import { checkSettings, readSetting } from './settings.ts'

export interface StartupInfo {
  database: string
  provider: string
  appliedMigrations: string[]
  authMode: 'token' | 'users'
}

let started: Promise<StartupInfo> | null = null

/** Database migrations + access token. Idempotent (one run per process). */
export function prepareServer(log: (m: string) => void = (m) => console.log(m)): Promise<StartupInfo> {
  started ??= (async () => {
    // a mistyped setting stops the start here, with its name, rather than misbehaving later
    const bad = checkSettings()
    if (bad.length) throw new Error(`invalid settings:\n  ${bad.join('\n  ')}`)
    const url = databaseUrl()
    const provider = providerOf(url)
    const res = await migrateDatabase(url)
    log(
      `[controlroom] database ${provider} ${redactUrl(url)}: ${res.applied.length ? `applied ${res.applied.join(', ')}` : 'up to date'}`,
    )
    const mode = authMode()
    if (mode === 'token') {
      ensureToken() // creates <CONTROLROOM_HOME>/token (0600) when CONTROLROOM_TOKEN is not set
      log(
        `[controlroom] access: token (${readSetting('CONTROLROOM_TOKEN') ? 'from CONTROLROOM_TOKEN' : `in ${tokenFile()}`})`,
      )
    } else {
      log('[controlroom] access: user accounts (CONTROLROOM_AUTH=users)')
    }
    return { database: redactUrl(url), provider, appliedMigrations: res.applied, authMode: mode }
  })()
  started.catch(() => {
    started = null
  })
  return started
}

/**
 * The server start hook. Order matters: database first, then anything that uses it.
 */
export async function onServerStart(): Promise<void> {
  await prepareServer()
  // the compile workers load the compiler now rather than on the first save
  const { warmCompilePool } = await import('./library/compile-pool.ts')
  void warmCompilePool().catch((e) => console.error('[controlroom] compile workers:', e))
  // The run engine: reconcile the runs that were active when the server stopped (re-attach live
  // tasks, collect finished ones, mark vanished ones lost), then keep adopting orphaned runs.
  const { startExecution } = await import('./execution/index.ts')
  await startExecution()
}
