/** Shared fixtures of the API tests (not a test file). */
import { createTRPCClient, httpBatchLink } from '@trpc/client'
import { TRPCError } from '@trpc/server'
import superjson from 'superjson'
import { afterAll, beforeAll } from 'vitest'
import { type Db, forgetDb, setDb } from '../db/client.ts'
import { setEngine } from '../execution/engine.ts'
import { type EngineTestEnv, setupEngineTest } from '../execution/testing.ts'
import { type AppRouter, createCaller } from './root.ts'
import { createInternalContext } from './trpc.ts'

export const VALID_YAML = `name: demo-analysis
analysis:
  stages:
    - id: select
      op: shell
      params: {command: "echo select"}
    - id: plot
      op: noop
`

export const VALID_YAML_2 = VALID_YAML.replace('echo select', 'echo select events').concat(`    - id: summary
      op: noop
`)

export const INVALID_YAML = `name: broken
analysis:
  stages:
    - id: a
      op: noop
      needs: [nowhere]
`

export async function counts(db: Db) {
  const [workflows, versions, users] = await Promise.all([
    db.workflow.count(),
    db.workflowVersion.count(),
    db.user.count(),
  ])
  return { workflows, versions, users }
}

/** The TRPCError a promise rejects with (fails the test when it resolves). */
export async function trpcError(p: Promise<unknown>): Promise<TRPCError> {
  try {
    await p
  } catch (e) {
    if (e instanceof TRPCError) return e
    throw new Error(`expected a TRPCError, got ${String(e)}`)
  }
  throw new Error('expected the call to fail, it succeeded')
}

/**
 * For the tests of one file: a real engine on a fresh SQLite database, made the API's database and
 * engine before the first test (with a server-side caller) and removed after the last. Read `env`
 * and `caller` inside the tests: they are set by the beforeAll hook this registers.
 */
export function setupEngineApi(): { readonly env: EngineTestEnv; readonly caller: ReturnType<typeof createCaller> } {
  const state = {} as { env: EngineTestEnv; caller: ReturnType<typeof createCaller> }
  beforeAll(async () => {
    state.env = await setupEngineTest()
    setDb(state.env.t.db, state.env.t.url)
    setEngine(state.env.engine)
    state.caller = createCaller(createInternalContext({ db: state.env.t.db }))
  })
  afterAll(async () => {
    setEngine(undefined)
    await state.env?.cleanup()
    forgetDb()
  })
  return state
}

/** the tRPC client the browser uses, against the server at `base`, sending `headers` with every call */
export function trpcClient(base: string, headers: Record<string, string> = {}) {
  return createTRPCClient<AppRouter>({
    links: [httpBatchLink({ url: `${base}/api/trpc`, transformer: superjson, headers: () => headers })],
  })
}
