/**
 * Test helpers for the run engine: an isolated SQLite database + CONTROLROOM_HOME, an engine on
 * them, and shortcuts to save a workflow version and wait for a run.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createTestDatabase, type TestDatabase } from '../db/testing.ts'
import { saveVersion } from '../library/workflows.ts'
import { RunEngine, type EngineOptions } from './engine.ts'
import type { RunEvent, RunState } from './types.ts'
import { subscribe } from './bus.ts'

export interface EngineTestEnv {
  t: TestDatabase
  home: string
  engine: RunEngine
  events: RunEvent[]
  save(yaml: string): Promise<string>
  waitFor(runId: string, timeoutMs?: number): Promise<RunState>
  cleanup(): Promise<void>
}

export async function setupEngineTest(opts: Partial<EngineOptions> = {}): Promise<EngineTestEnv> {
  const home = mkdtempSync(path.join(os.tmpdir(), 'cr-engine-'))
  process.env.CONTROLROOM_HOME = home
  // ENGINE_TEST_PROVIDER=postgresql runs a suite on PostgreSQL (TEST_DATABASE_URL_PG): engine.pg.test.ts
  const t = await createTestDatabase(process.env.ENGINE_TEST_PROVIDER === 'postgresql' ? 'postgresql' : 'sqlite')
  const logs: string[] = []
  const engine = new RunEngine({ db: t.db, url: t.url, log: (l, m) => logs.push(`${l}: ${m}`), ...opts })
  const events: RunEvent[] = []
  const unsub = subscribe(null, (evs) => events.push(...evs))
  return {
    t,
    home,
    engine,
    events,
    async save(yaml: string) {
      const r = await saveVersion(t.db, { id: null, name: 'tester', mode: 'token', admin: true }, { yaml })
      return r.version.id
    },
    async waitFor(runId: string, timeoutMs = 60_000) {
      let timer: NodeJS.Timeout | undefined
      const timeout = new Promise<never>((_, rej) => {
        timer = setTimeout(
          () => rej(new Error(`run ${runId} did not finish within ${timeoutMs} ms\n${logs.join('\n')}`)),
          timeoutMs,
        )
      })
      try {
        return await Promise.race([engine.waitForRun(runId), timeout])
      } finally {
        clearTimeout(timer)
      }
    },
    async cleanup() {
      unsub()
      await engine.shutdown({ detach: false }).catch(() => {})
      await t.cleanup()
      rmSync(home, { recursive: true, force: true })
    },
  }
}
