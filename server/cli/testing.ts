/**
 * For tests: the CLI's `main` in this process, with FILE's text given (no file is read) and what it
 * prints collected (slower paths, the built bundle and a real file, are tested in cli.test.ts); and
 * the set-up the `controlroom run` tests share: a fresh CONTROLROOM_HOME and a migrated SQLite
 * database that the CLI's process-wide client and engine use, restored and removed after the file.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll } from 'vitest'
import { forgetDb, setDb } from '../db/client.ts'
import { createTestDatabase, type TestDatabase } from '../db/testing.ts'
import { setEngine } from '../execution/engine.ts'
import { main } from './main.ts'

export async function runCli(args: string[], text: string) {
  let stdout = ''
  let stderr = ''
  const code = await main(args, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    readFile: async () => text,
  })
  return { code, stdout, stderr }
}

export interface CliTestHome {
  /** the test database (set once the file's beforeAll ran) */
  readonly t: TestDatabase
  /** the CONTROLROOM_HOME of this test file */
  readonly dir: string
  /** before another command in the same test: the CLI closes its engine when a run ends */
  reuse(): void
}

/**
 * registers the file's beforeAll/afterAll; `prefix` names the temporary home (cr-cli-<prefix>-);
 * `before` runs once the home exists, before the database is made (site files, cluster checks)
 */
export function cliTestHome(prefix: string, before?: () => void): CliTestHome {
  let t: TestDatabase | undefined
  let dir: string | undefined
  let savedHome: string | undefined
  const home: CliTestHome = {
    get t() {
      if (!t) throw new Error('the CLI test database is not ready: use it inside a test')
      return t
    },
    get dir() {
      if (!dir) throw new Error('the CLI test home is not ready: use it inside a test')
      return dir
    },
    reuse() {
      setDb(home.t.db, home.t.url)
      setEngine(undefined)
    },
  }
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), `cr-cli-${prefix}-`))
    savedHome = process.env.CONTROLROOM_HOME
    process.env.CONTROLROOM_HOME = dir
    before?.()
    t = await createTestDatabase('sqlite')
    home.reuse()
  })
  afterAll(async () => {
    setEngine(undefined)
    forgetDb()
    await t?.cleanup()
    if (savedHome === undefined) delete process.env.CONTROLROOM_HOME
    else process.env.CONTROLROOM_HOME = savedHome
    if (dir) rmSync(dir, { recursive: true, force: true })
  })
  return home
}

/** a CliIO that keeps what a command writes */
export function captureIo() {
  const out: string[] = []
  const err: string[] = []
  return {
    out,
    err,
    io: { stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => err.push(s) } },
  }
}
