/**
 * The `run.*` queries send only what their output schemas name (routers/run/outputs.ts): here the
 * domain functions are wrapped to add what a careless change could add (a secret-bearing field, a
 * run's OS user, another account's data), and the real procedures over a real run on SQLite must
 * drop it. Then every query answers a real run without an output-validation error.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { resetDb, setDb } from '../db/client.ts'
import { setEngine } from '../execution/engine.ts'
import { setupEngineTest, type EngineTestEnv } from '../execution/testing.ts'
import { createCaller } from './root.ts'
import { createInternalContext } from './trpc.ts'
import { VALID_YAML } from './test-helpers.ts'

const { LEAK } = vi.hoisted(() => ({ LEAK: 'sk-live-should-never-leave-the-server' }))

vi.mock('../execution/runs.ts', async (importOriginal) => {
  const real = await importOriginal<typeof import('../execution/runs.ts')>()
  const taint = { sessionSecret: LEAK, runAs: { user: 'alice', uid: 1001, password: LEAK } }
  return {
    ...real,
    getRun: async (...a: Parameters<typeof real.getRun>) => {
      const r = await real.getRun(...a)
      return { ...r, ...taint, run: { ...r.run, ...taint }, pools: r.pools.map((p) => ({ ...p, ...taint })) }
    },
    listRuns: async (...a: Parameters<typeof real.listRuns>) => {
      const r = await real.listRuns(...a)
      return { ...r, ...taint, items: r.items.map((i) => ({ ...i, ...taint, otherUsersRuns: [LEAK] })) }
    },
    listTasks: async (...a: Parameters<typeof real.listTasks>) => {
      const r = await real.listTasks(...a)
      return { ...r, items: r.items.map((t) => ({ ...t, ...taint, specEnv: { AWS_SECRET_ACCESS_KEY: LEAK } })) }
    },
  }
})

let env: EngineTestEnv
let caller: ReturnType<typeof createCaller>

beforeAll(async () => {
  env = await setupEngineTest()
  setDb(env.t.db, env.t.url)
  setEngine(env.engine)
  caller = createCaller(createInternalContext({ db: env.t.db }))
})
afterAll(async () => {
  setEngine(undefined)
  await env?.cleanup()
  ;(globalThis as { __controlroomDb?: unknown }).__controlroomDb = undefined
  void resetDb
})

describe('run.* output schemas', () => {
  it('drop what the domain adds by accident: secrets, OS users, other data', async () => {
    const saved = await caller.workflow.saveVersion({ yaml: VALID_YAML, name: 'outputs' })
    const { runId } = await caller.run.start({ versionId: saved.version.id })
    expect(await env.waitFor(runId)).toBe('succeeded')
    const answers = {
      get: await caller.run.get({ runId }),
      list: await caller.run.list(),
      tasks: await caller.run.tasks({ runId }),
    }
    // the domain did add them (the wrapper is in effect)...
    const runs = await import('../execution/runs.ts')
    expect(JSON.stringify(await runs.getRun(env.t.db, runId))).toContain(LEAK)
    // ...and none of them left through a procedure
    for (const [name, answer] of Object.entries(answers)) {
      const text = JSON.stringify(answer)
      expect(text, name).not.toContain(LEAK)
      expect(text, name).not.toContain('sessionSecret')
      expect(text, name).not.toContain('"runAs"')
    }
    // what the page needs is still there
    expect(answers.get.run).toMatchObject({ id: runId, state: 'succeeded', workflowName: 'outputs' })
    expect(answers.tasks.items.map((t) => t.stageId).sort()).toEqual(['plot', 'select'])
    expect(answers.list.items.find((r) => r.id === runId)?.total).toBe(2)
  })

  it('every query answers a real run without an output-validation error', async () => {
    const saved = await caller.workflow.saveVersion({ yaml: VALID_YAML, name: 'outputs 2' })
    const { runId } = await caller.run.start({ versionId: saved.version.id })
    expect(await env.waitFor(runId)).toBe('succeeded')
    const task = (await caller.run.tasks({ runId, stage: 'select' })).items[0]!
    expect((await caller.run.preview({ versionId: saved.version.id })).pools.length).toBeGreaterThan(0)
    expect(await caller.run.artifacts({ runId })).toEqual([])
    expect(await caller.run.hepProgress({ runId })).toEqual([])
    expect(await caller.run.poolProfile({ runId })).toEqual([])
    expect((await caller.run.jobScript({ taskId: task.id })).taskId).toBe(task.id)
    expect((await caller.run.backendInfo({ runId })).backend).toBe('local')
    const lines = await caller.run.logLines({ runId })
    expect(lines.lines.map((l) => l.text)).toContain('select')
    expect((await caller.run.log({ taskId: task.id })).text).toContain('select')
  })
})
