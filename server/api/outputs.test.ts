/**
 * The `run.*` queries send only what their output schemas name (routers/run/outputs.ts): here the
 * domain functions are wrapped to add what a careless change could add (a secret-bearing field, a
 * run's OS user, another account's data), and the real procedures over a real run on SQLite must
 * drop it. Then every query answers a real run without an output-validation error.
 */
import { describe, expect, it, vi } from 'vitest'
import { RunBackendInfoOutput } from './routers/run/outputs.ts'
import { setupEngineApi, VALID_YAML } from './test-helpers.ts'

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

const api = setupEngineApi()

describe('run.* output schemas', () => {
  it('drop what the domain adds by accident: secrets, OS users, other data', async () => {
    const saved = await api.caller.workflow.saveVersion({ yaml: VALID_YAML, name: 'outputs' })
    const { runId } = await api.caller.run.start({ versionId: saved.version.id })
    expect(await api.env.waitFor(runId)).toBe('succeeded')
    const answers = {
      get: await api.caller.run.get({ runId }),
      list: await api.caller.run.list(),
      tasks: await api.caller.run.tasks({ runId }),
    }
    // the domain did add them (the wrapper is in effect)...
    const runs = await import('../execution/runs.ts')
    expect(JSON.stringify(await runs.getRun(api.env.t.db, runId))).toContain(LEAK)
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
    const saved = await api.caller.workflow.saveVersion({ yaml: VALID_YAML, name: 'outputs 2' })
    const { runId } = await api.caller.run.start({ versionId: saved.version.id })
    expect(await api.env.waitFor(runId)).toBe('succeeded')
    const task = (await api.caller.run.tasks({ runId, stage: 'select' })).items[0]!
    expect((await api.caller.run.preview({ versionId: saved.version.id })).pools.length).toBeGreaterThan(0)
    expect(await api.caller.run.artifacts({ runId })).toEqual([])
    expect(await api.caller.run.hepProgress({ runId })).toEqual([])
    expect(await api.caller.run.poolProfile({ runId })).toEqual([])
    expect((await api.caller.run.jobScript({ taskId: task.id })).taskId).toBe(task.id)
    expect((await api.caller.run.backendInfo({ runId })).backend).toBe('local')
    const lines = await api.caller.run.logLines({ runId })
    expect(lines.lines.map((l) => l.text)).toContain('select')
    expect((await api.caller.run.log({ taskId: task.id })).text).toContain('select')
  })

  it('a Dask session file of another shape shows no pools instead of failing the query', () => {
    const scheduler = { address: 'tcp://127.0.0.1:8786', dashboard: null, health: null, pid: 12 }
    const parsed = RunBackendInfoOutput.parse({
      runId: 'r1',
      backend: 'dask',
      strategy: 'local',
      note: null,
      dask: {
        strategy: 'local',
        external: false,
        python: null,
        scheduler,
        pools: [{ name: 'p', v: 0 }],
        updatedAt: null,
      },
    })
    expect(parsed.dask?.pools).toEqual([])
    expect(parsed.dask?.scheduler).toEqual(scheduler)
  })
})
