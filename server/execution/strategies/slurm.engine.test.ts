/**
 * The run engine (backend local) with strategy `slurm` on the REAL local Slurm: the seed's
 * heterogeneous workflow runs as Slurm jobs (gpu stage with --gres=gpu:1, high_memory stage in its
 * partition with its memory, mapped by the site file); a failing task; cancel; and a restart of
 * our server mid-run with the jobs re-attached, not resubmitted.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { setupEngineTest, type EngineTestEnv } from '../testing.ts'
import { startRun } from '../runs.ts'
import { RunEngine } from '../engine.ts'
import { reconcileRuns } from '../reconcile.ts'
import './slurm/index.ts' // registers strategy `slurm` (server/execution/drivers.ts does it in the app)
import { type SeedDoc, seedOn, sleepMs, standInHepHist, startUntilBuildIndexRuns, until } from './batch/testing.ts'
import { ensureSlurm } from './slurm/testing.ts'

standInHepHist()

/** the seed workflow on strategy slurm; only the execution block changes to fit 2 cpus / 8000 MB */
function onSlurm(edit: (doc: SeedDoc) => void = () => {}): string {
  return seedOn('slurm', (doc) => {
    doc.execution.pools.default = { workers: 2, resources: { cpus: 1, memory: '200MB' } }
    doc.execution.pools.high_memory = { workers: 1, resources: { cpus: 2, memory: '4GB' } }
    doc.execution.pools.gpu = { workers: 1, resources: { gpus: 1, memory: '1GB' } }
    edit(doc)
  })
}

const scontrol = (jobId: string) => execFileSync('scontrol', ['show', 'job', '-o', jobId]).toString()

describe('engine + strategy slurm on the real local Slurm', () => {
  let env: EngineTestEnv
  beforeAll(async () => {
    ensureSlurm()
    env = await setupEngineTest()
    // the site file: this cluster's partition for the portable pool name `high_memory`, fast polls
    writeFileSync(
      path.join(env.home, 'site.yaml'),
      'slurm:\n  pollIntervalMs: 250\n  maxPollIntervalMs: 1000\n  pools:\n    high_memory: { partition: highmem }\n',
    )
  })
  afterAll(async () => {
    await env?.cleanup()
  })

  it('runs the heterogeneous workflow as Slurm jobs with the pools resources', async () => {
    const versionId = await env.save(onSlurm())
    const { runId } = await startRun({ versionId }, env.engine)
    const state = await env.waitFor(runId, 45_000)
    const tasks = await env.t.db.task.findMany({ where: { runId } })
    expect(state, JSON.stringify(tasks.map((t) => [t.stageId, t.state, t.reason]))).toBe('succeeded')
    const by = Object.fromEntries(tasks.map((t) => [t.stageId, t]))
    for (const t of tasks) expect(t.batchJobId).toMatch(/^\d+$/)
    const gpu = scontrol(by.TrainModel!.batchJobId!)
    expect(gpu).toMatch(/TresPerNode=(gres:)?gpu:1/)
    const hm = scontrol(by.BuildIndex!.batchJobId!)
    expect(hm).toMatch(/Partition=highmem/)
    expect(hm).toMatch(/MinMemoryNode=4G/)
    expect(hm).toMatch(/NumCPUs=2/)
    expect(
      readFileSync(path.join(env.home, 'runs', runId, 'tasks', by.BuildIndex!.id, 'stdout.log'), 'utf8'),
    ).toContain('building index')
    expect(
      readFileSync(path.join(env.home, 'runs', runId, 'tasks', by.TrainModel!.id, 'stdout.log'), 'utf8'),
    ).toContain('training model')
    const workers = await env.t.db.worker.findMany({ where: { runId } })
    expect(workers.map((w) => [w.kind, w.state])).toEqual(tasks.map(() => ['slurm', 'gone']))
  })

  it('a failing task fails the run with its exit code; an impossible pool is refused before dispatch', async () => {
    const versionId = await env.save(
      onSlurm((d) => (d.registry.ops['custom.build_index'].command = ['sh', '-c', 'echo no index >&2; exit 3'])),
    )
    const { runId } = await startRun({ versionId }, env.engine)
    expect(await env.waitFor(runId, 30_000)).toBe('failed')
    const t = await env.t.db.task.findFirst({ where: { runId, stageId: 'BuildIndex' } })
    expect(t).toMatchObject({ state: 'failed', exitCode: 3 })

    const bad = await env.save(onSlurm((d) => (d.execution.pools.gpu.resources.gpus = 2)))
    await expect(startRun({ versionId: bad }, env.engine)).rejects.toThrow(
      /no node in partition debug can run pool gpu .*2 GPU\(s\) \(has 1\)/,
    )
  })

  it('cancels a run whose task is a running Slurm job (scancel)', async () => {
    const { runId, jobId } = await startUntilBuildIndexRuns(
      env,
      onSlurm((d) => (d.registry.ops['custom.build_index'].command = ['sleep', '25'])),
    )
    await env.engine.cancelRun(runId)
    expect(await env.waitFor(runId, 20_000)).toBe('cancelled')
    await until(() => /JobState=CANCELLED/.test(scontrol(jobId)), 10_000, 'job cancelled in Slurm')
  })

  it('re-attaches to the running jobs after a server restart, without resubmitting', async () => {
    const { runId, jobId: before } = await startUntilBuildIndexRuns(
      env,
      onSlurm((d) => (d.registry.ops['custom.build_index'].command = ['sh', '-c', 'sleep 3; echo built late'])),
    )
    // the server "dies": the engine detaches, the Slurm job keeps running
    await env.engine.shutdown({ detach: true })
    expect(scontrol(before)).toMatch(/JobState=(RUNNING|COMPLETING|COMPLETED)/)
    const engine2 = new RunEngine({ db: env.t.db, url: env.t.url })
    env.engine = engine2
    const report = await reconcileRuns({ engine: engine2 })
    expect(report.adopted).toContain(runId)
    // (env.waitFor is bound to the first engine)
    const final = await Promise.race([engine2.waitForRun(runId), sleepMs(40_000).then(() => 'timeout')])
    expect(final).toBe('succeeded')
    const t = await env.t.db.task.findFirst({ where: { runId, stageId: 'BuildIndex' } })
    expect(t).toMatchObject({ state: 'succeeded', batchJobId: before, attempt: 0 })
    expect(readFileSync(path.join(env.home, 'runs', runId, 'tasks', t!.id, 'stdout.log'), 'utf8')).toContain(
      'built late',
    )
    // exactly one job was ever submitted for it
    const submitted = env.events.filter((e) => e.runId === runId && e.type === 'task.submitted' && e.taskId === t!.id)
    expect(submitted.length).toBeLessThanOrEqual(1)
    const evs = await env.t.db.event.findMany({ where: { runId, type: 'task.submitted', taskId: t!.id } })
    expect(evs.length).toBe(1)
  })
})
