/**
 * The dask backend through the run engine (real Dask scheduler + workers, strategy local): the
 * seed's heterogeneous workflow runs with each task on a worker of its own pool, and gives the same
 * results as on the local backend; cancel of a running task through the engine kills its process.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import YAML from 'yaml'
import { setupEngineTest, type EngineTestEnv } from '../testing.ts'
import { startRun } from '../runs.ts'
import { DaskBackend } from './dask.ts'
import { registerBackend } from '../registry.ts'
import { registerOp, registeredOps, resolveOpDefinition } from '../ops.ts'
import { findProcesses, pidAlive, procTable } from './dask/procs.ts'
import { waitUntil } from './dask/testing.ts'
import '../strategies/slurm/index.ts'
import { ensureSlurm } from '../strategies/slurm/testing.ts'
import { execFileSync } from 'node:child_process'

registerBackend('dask', () => new DaskBackend())

// `hep.hist` is registered by the HEP ops when they are loaded; otherwise a stand-in command, so
// that this test exercises the backends (both backends run whatever the op resolves to)
if (!registeredOps().includes('hep.hist') && !resolveOpDefinition({ registry: { ops: {} } } as never, 'hep.hist')) {
  registerOp({
    name: 'hep.hist',
    resolve: (ctx) => ({
      argv: ['sh', '-c', 'echo "histogram $HIST_PARAMS"'],
      env: { HIST_PARAMS: JSON.stringify(ctx.stage.params) },
    }),
  })
}

const HETERO = readFileSync(path.join(process.cwd(), 'examples', 'heterogeneous.yaml'), 'utf8')

/** the seed workflow on another backend, with pool sizes this 2-cpu test machine can host */
// biome-ignore lint/suspicious/noExplicitAny: a parsed YAML document, edited freely by each test
function variant(backend: 'dask' | 'local', extra: (doc: Record<string, any>) => void = () => {}): string {
  // biome-ignore lint/suspicious/noExplicitAny: a parsed YAML document, edited freely by each test
  const doc = YAML.parse(HETERO) as Record<string, any>
  doc.execution.backend = backend
  doc.execution.strategy = 'local'
  doc.execution.pools.default.workers = 2
  doc.execution.pools.high_memory.workers = 1
  doc.execution.pools.gpu.workers = 1
  extra(doc)
  return YAML.stringify(doc)
}

// what this host "has" for the local strategy's preflight (the seed asks for 64GB and a GPU)
const HOST = { cpus: 8, memoryBytes: 128 * 1024 ** 3, gpus: 1, diskBytes: null }

describe('dask backend in the run engine (dask + local)', () => {
  let env: EngineTestEnv
  beforeAll(async () => {
    env = await setupEngineTest({ host: HOST })
  })
  afterAll(async () => {
    await env?.cleanup()
    // the engine does not wait for a session to close (a Dask cluster takes a moment to stop)
    await waitUntil(() => findProcesses(env.home).length === 0, 20_000, 'no process of the runs left')
  })

  it('runs the heterogeneous workflow with every task on a worker of its pool, same results as local', async () => {
    const results: Record<string, Record<string, unknown>> = {}
    for (const backend of ['dask', 'local'] as const) {
      const versionId = await env.save(variant(backend))
      const { runId } = await startRun({ versionId }, env.engine)
      const state = await env.waitFor(runId, 90_000)
      const tasks = await env.t.db.task.findMany({ where: { runId }, orderBy: { stageId: 'asc' } })
      expect(state, JSON.stringify(tasks.map((t) => [t.stageId, t.state, t.reason]))).toBe('succeeded')
      const workers = await env.t.db.worker.findMany({ where: { runId } })
      for (const t of tasks) {
        expect(t.state).toBe('succeeded')
        const metrics = JSON.parse(t.metrics ?? '{}')
        const stdout = readFileSync(path.join(env.home, 'runs', runId, 'tasks', t.id, 'stdout.log'), 'utf8')
        results[backend] ??= {}
        results[backend][t.stageId] = { exitCode: t.exitCode, stdout, outputs: t.outputs }
        if (backend === 'dask') {
          // the worker is recorded: in the task row (workerId -> Worker row of the task's pool) and in the result
          const w = workers.find((x) => x.id === t.workerId)
          expect(w?.kind).toBe('dask')
          expect(w?.pool).toBe(t.pool)
          expect(metrics.dask.pool).toBe(t.pool)
          expect(String(metrics.dask.worker).startsWith(`${t.pool}-`)).toBe(true)
          expect(t.workerId).toBe(`${runId}.dask.${metrics.dask.worker}`)
        }
      }
      if (backend === 'dask') {
        // every pool had its workers, all gone at the end of the run
        for (const pool of ['default', 'high_memory', 'gpu'])
          expect(workers.filter((w) => w.pool === pool).length).toBeGreaterThan(0)
        await waitUntil(
          async () => (await env.t.db.worker.findMany({ where: { runId } })).every((w) => w.state === 'gone'),
          10_000,
          'workers gone',
        )
        await waitUntil(
          () => findProcesses(path.join(env.home, 'runs', runId)).length === 0,
          20_000,
          'scheduler, workers and bridge of the run stopped',
        )
        const log = env.events.filter((e) => e.runId === runId && e.type === 'worker.state')
        expect(log.length).toBeGreaterThan(0)
      }
    }
    expect(results.dask).toEqual(results.local)
  })

  it('cancel of a running task through the engine kills its process tree on the worker', async () => {
    const yaml = variant('dask', (doc) => {
      doc.analysis.stages = [
        { id: 'Sleep', op: 'shell', params: { command: 'sleep 60' }, execution: { require: 'gpu' } },
      ]
    })
    const versionId = await env.save(yaml)
    const { runId } = await startRun({ versionId }, env.engine)
    let pid = 0
    await waitUntil(
      async () => {
        const t = await env.t.db.task.findFirst({ where: { runId } })
        pid = t?.pid ?? 0
        return t?.state === 'running' && pid > 0
      },
      30_000,
      'task running',
    )
    expect(pidAlive(pid)).toBe(true)
    // the runtime starts the command right after it starts (other suites may run `sleep 60` too:
    // only this task's process tree counts)
    const tree = () => {
      const all = procTable()
      const out = new Set([pid])
      for (let grew = true; grew; ) {
        grew = false
        for (const p of all) if (out.has(p.ppid) && !out.has(p.pid) && p.state !== 'Z') out.add(p.pid), (grew = true)
      }
      return all.filter((p) => out.has(p.pid) && p.state !== 'Z')
    }
    await waitUntil(() => tree().some((p) => p.cmdline.includes('sleep 60')), 10_000, 'sleep 60 started')
    const sleeping = tree()
    expect(sleeping.length).toBeGreaterThanOrEqual(2)
    await env.engine.cancelRun(runId)
    const state = await env.waitFor(runId, 30_000)
    expect(state).toBe('cancelled')
    const t = await env.t.db.task.findFirst({ where: { runId } })
    expect(t?.state).toBe('cancelled')
    expect(pidAlive(pid)).toBe(false)
    for (const p of sleeping) expect(pidAlive(p.pid)).toBe(false)
  })
})

describe('dask backend in the run engine (dask + slurm, real local Slurm)', () => {
  let env: EngineTestEnv
  beforeAll(async () => {
    ensureSlurm()
    env = await setupEngineTest()
  })
  afterAll(async () => {
    await env?.cleanup()
  })

  it('runs the heterogeneous workflow on per-pool Dask worker jobs and cancels them at the end', async () => {
    const MB = 'MB'
    const yaml = variant('dask', (doc) => {
      doc.execution.strategy = 'slurm'
      // fitted to the 2-cpu / 8000 MB test node; the analysis is untouched
      doc.execution.pools.default = { workers: 1, resources: { cpus: 1, memory: `300${MB}` } }
      doc.execution.pools.high_memory = {
        workers: 1,
        resources: { cpus: 1, memory: `3000${MB}` },
        config: { partition: 'highmem' },
      }
      doc.execution.pools.gpu = { workers: 1, resources: { gpus: 1, memory: `500${MB}` } }
      doc.execution.config = { worker_idle_timeout: 1 }
    })
    const versionId = await env.save(yaml)
    const { runId } = await startRun({ versionId }, env.engine)
    const state = await env.waitFor(runId, 240_000)
    const tasks = await env.t.db.task.findMany({ where: { runId } })
    expect(state, JSON.stringify(tasks.map((t) => [t.stageId, t.state, t.reason]))).toBe('succeeded')
    const workers = await env.t.db.worker.findMany({ where: { runId } })
    for (const t of tasks) {
      const w = workers.find((x) => x.id === t.workerId)!
      expect(w.kind).toBe('dask')
      expect(w.pool).toBe(t.pool)
      expect(w.batchJobId).toMatch(/^\d+$/)
      const job = execFileSync('scontrol', ['show', 'job', '-o', w.batchJobId!], { encoding: 'utf8' })
      if (t.pool === 'high_memory') expect(job).toMatch(/Partition=highmem .*|Partition=highmem/)
      if (t.pool === 'gpu') expect(job).toMatch(/gpu:1/)
    }
    // every worker job is gone, none of ours is left in squeue
    await waitUntil(
      async () => (await env.t.db.worker.findMany({ where: { runId } })).every((w) => w.state === 'gone'),
      30_000,
      'workers gone',
    )
    const names = ['default', 'high_memory', 'gpu'].map((p) => `cr-${runId.slice(0, 12)}-dask.${p}`)
    expect(execFileSync('squeue', ['-h', '-n', names.join(','), '-o', '%i %j %T'], { encoding: 'utf8' }).trim()).toBe(
      '',
    )
  }, 300_000)
})
