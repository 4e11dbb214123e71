/**
 * What runs now and what failed, from real runs: a local run (pools busy, queue depth, stage
 * progress), a failed run (the failed task named with its exit code) and a Dask run (its workers,
 * real Dask scheduler and workers started by the engine).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DaskBackend } from '../execution/backends/dask.ts'
import { waitUntil } from '../execution/backends/dask/testing.ts'
import { registerBackend } from '../execution/registry.ts'
import { startRun } from '../execution/runs.ts'
import { setupEngineTest, type EngineTestEnv } from '../execution/testing.ts'
import { activeRuns, recentFailures } from './runs.ts'

registerBackend('dask', () => new DaskBackend())

describe('overview: active runs and failures', () => {
  let env: EngineTestEnv
  beforeAll(async () => {
    env = await setupEngineTest()
  })
  afterAll(async () => env?.cleanup())

  it('a running local run shows its stage progress, busy pool workers and queue depth', async () => {
    const versionId = await env.save(`version: 1
name: busy
data:
  datasets:
    - name: files
      files: [a, b, c, d, e]
analysis:
  stages:
    - id: Work
      op: shell
      params: { partition: file, dataset: files, command: "sleep 2" }
execution:
  pools:
    default: { workers: 2 }
`)
    const { runId } = await startRun({ versionId }, env.engine)
    await waitUntil(
      async () => (await activeRuns(env.t.db)).some((r) => r.id === runId && r.pools[0]!.busy === 2),
      20_000,
      'two busy workers',
    )
    const run = (await activeRuns(env.t.db)).find((r) => r.id === runId)!
    expect(run).toMatchObject({ workflowName: 'busy', total: 5, queueDepth: 3 })
    expect(run.stages).toEqual([
      expect.objectContaining({ id: 'Work', pool: 'default', total: 5, running: 2, waiting: 3 }),
    ])
    expect(run.pools[0]).toMatchObject({ pool: 'default', planned: 2, busy: 2, idle: 0, queued: 3 })
    expect(await env.waitFor(runId)).toBe('succeeded')
    expect((await activeRuns(env.t.db)).some((r) => r.id === runId)).toBe(false)
  })

  it('a failed run names the task that failed first and its exit code', async () => {
    const versionId = await env.save(`version: 1
name: broken
analysis:
  stages:
    - id: Fine
      op: shell
      params: { command: "true" }
    - id: Breaks
      op: shell
      params: { command: "exit 7" }
`)
    const { runId } = await startRun({ versionId }, env.engine)
    expect(await env.waitFor(runId)).toBe('failed')
    const f = (await recentFailures(env.t.db)).find((x) => x.runId === runId)
    expect(f).toMatchObject({ workflowName: 'broken', failedTasks: 1, task: { stageId: 'Breaks', exitCode: 7 } })
  })

  it('a Dask run shows its workers with their pool and host', async () => {
    const versionId = await env.save(`version: 1
name: dask-overview
analysis:
  stages:
    - id: Slow
      op: shell
      params: { command: "sleep 4" }
execution:
  backend: dask
  pools:
    default: { workers: 1 }
`)
    const { runId } = await startRun({ versionId }, env.engine)
    await waitUntil(
      async () => (await activeRuns(env.t.db)).find((r) => r.id === runId)?.daskWorkers.some((w) => w.busy) ?? false,
      60_000,
      'a busy Dask worker',
    )
    const run = (await activeRuns(env.t.db)).find((r) => r.id === runId)!
    expect(run.daskWorkers).toEqual([expect.objectContaining({ pool: 'default', state: 'running', busy: true })])
    expect(run.daskWorkers[0]!.host).toBeTruthy()
    expect(await env.waitFor(runId, 90_000)).toBe('succeeded')
  }, 120_000)
})
