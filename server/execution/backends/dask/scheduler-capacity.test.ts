/**
 * An existing Dask cluster (`scheduler_address`): the pools are checked against what the
 * scheduler's workers offer, not against this host. A real scheduler and a real worker that declares
 * what this host lacks (2 GPUs, 2 TB of memory): a pool asking for them is accepted and runs, while
 * this host alone would refuse it; a pool asking more than the workers offer, or a pool no worker
 * carries, is refused with the scheduler's figures; an unreachable scheduler is a clear problem.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { rmSync } from 'node:fs'
import path from 'node:path'
import { compileWorkflow } from '../../../workflow/index.ts'
import { previewSubmissions } from '../../preview.ts'
import { registerBackend } from '../../registry.ts'
import { setupEngineTest, type EngineTestEnv } from '../../testing.ts'
import { startRun } from '../../runs.ts'
import { preflightLocal } from '../../strategies/local.ts'
import { DaskBackend } from '../dask.ts'
import { LocalScheduler } from './deploy/scheduler.ts'
import { findProcesses, spawnGroup, stopGroup, type SpawnedProcess } from './procs.ts'
import { probeSchedulerWorkers } from './scheduler-capacity.ts'
import { tempRunDir, waitUntil } from './testing.ts'

const PYTHON = '/usr/bin/python3'
// what this host has, for the local preflight: no GPU, 8 GB
const HOST = { cpus: 2, memoryBytes: 8 * 1024 ** 3, gpus: 0, diskBytes: null }

const dir = tempRunDir('cr-dask-cap-')
let scheduler: LocalScheduler
let worker: SpawnedProcess
let address: string

function workflow(gpus: number, memory: string, pool = 'gpu', addr = address): string {
  return `analysis:
  stages:
    - { id: Train, op: shell, params: { command: "echo trained" }, execution: { require: ${pool} } }
execution:
  backend: dask
  strategy: local
  config: { scheduler_address: "${addr}", python: ${PYTHON}, no_worker_timeout: 20 }
  pools:
    ${pool}: { workers: 1, resources: { cpus: 1, gpus: ${gpus}, memory: ${memory} } }
`
}

function planOf(yaml: string) {
  const c = compileWorkflow(yaml)
  expect(c.problems.filter((p) => p.severity === 'error')).toEqual([])
  return c.plan!
}

beforeAll(async () => {
  scheduler = new LocalScheduler({ python: PYTHON, dir: path.join(dir, 'scheduler'), host: '127.0.0.1' })
  address = (await scheduler.start()).address
  // a worker of the remote cluster: it declares two GPUs and 2 TiB that this host does not have
  worker = spawnGroup(
    [
      PYTHON,
      '-m',
      'distributed.cli.dask_worker',
      address,
      '--nthreads',
      '1',
      '--no-nanny',
      '--no-dashboard',
      '--name',
      'remote-gpu-0',
      '--resources',
      'pool.gpu=1,GPU=2,MEMORY=2199023255552',
    ],
    { cwd: dir, logFile: path.join(dir, 'worker.log') },
  )
  await waitUntil(
    async () => (await probeSchedulerWorkers(PYTHON, address).catch(() => [])).length === 1,
    60_000,
    'the worker joined the scheduler',
  )
}, 90_000)

afterAll(async () => {
  if (worker) await stopGroup(worker)
  await scheduler?.stop()
  await waitUntil(() => findProcesses(dir).length === 0, 20_000, 'no process of the test left')
  rmSync(dir, { recursive: true, force: true })
})

describe('an existing Dask scheduler: pools are checked against its workers', () => {
  it('reports each worker with its resources, memory limit and host CPUs', async () => {
    const [w] = await probeSchedulerWorkers(PYTHON, address)
    expect(w).toMatchObject({
      name: 'remote-gpu-0',
      nthreads: 1,
      resources: { 'pool.gpu': 1, GPU: 2, MEMORY: 2 * 1024 ** 4 },
    })
    expect(w!.hostCpus).toBeGreaterThan(0)
  })

  it('a pool this host cannot give but the workers can: no problem in the preflight or the preview', async () => {
    const yaml = workflow(2, '1TB')
    const plan = planOf(yaml)
    // this host alone would refuse it ...
    expect(preflightLocal(plan, HOST).map((p) => p.code)).toEqual(
      expect.arrayContaining(['host-gpus-insufficient', 'host-memory-insufficient']),
    )
    // ... the scheduler's workers offer it
    const backend = new DaskBackend()
    expect(backend.checksCapacity(plan)).toBe(true)
    const { LocalStrategy } = await import('../../strategies/local.ts')
    expect(await backend.preflight(plan, new LocalStrategy())).toEqual([])
    const preview = await previewSubmissions(yaml)
    const all = [...preview.problems, ...preview.pools.flatMap((p) => p.problems)]
    expect(all.filter((p) => p.severity === 'error')).toEqual([])
  })

  it('a pool asking more than any worker offers is refused with the scheduler, the figures and a hint', async () => {
    const plan = planOf(workflow(4, '3TB'))
    const { LocalStrategy } = await import('../../strategies/local.ts')
    const problems = await new DaskBackend().preflight(plan, new LocalStrategy())
    const gpu = problems.find((p) => p.code === 'dask-workers-gpus-insufficient')!
    expect(gpu.message).toBe(
      `pool 'gpu' needs 4 GPUs per worker; the workers of the Dask scheduler ${address} carrying pool.gpu offer at most 2 (the workers' GPU resource)`,
    )
    expect(gpu.hint).toContain('--resources "pool.gpu=1,GPU=4"')
    expect(problems.find((p) => p.code === 'dask-workers-memory-insufficient')?.message).toMatch(
      /needs 3 TiB per worker; .* offer at most 2 TiB/,
    )
  })

  it('a pool no worker carries is an error naming the resource to add', async () => {
    const plan = planOf(workflow(0, '1GB', 'cpu_only'))
    const { LocalStrategy } = await import('../../strategies/local.ts')
    const [p] = await new DaskBackend().preflight(plan, new LocalStrategy())
    expect(p).toMatchObject({ code: 'dask-pool-no-worker', severity: 'error', pool: 'cpu_only' })
    expect(p!.message).toContain('carries the resource pool.cpu_only')
    expect(p!.hint).toContain('--resources "pool.cpu_only=1')
  })

  it('an unreachable scheduler is an error with the address and how to fix it', async () => {
    const plan = planOf(workflow(0, '1GB', 'gpu', 'tcp://127.0.0.1:9'))
    const { LocalStrategy } = await import('../../strategies/local.ts')
    const problems = await new DaskBackend().preflight(plan, new LocalStrategy())
    expect(problems).toEqual([
      expect.objectContaining({
        code: 'dask-scheduler-unreachable',
        severity: 'error',
        message: expect.stringContaining('tcp://127.0.0.1:9'),
        hint: expect.stringContaining('scheduler_address'),
      }),
    ])
  })
})

describe('an existing Dask scheduler through the run engine', () => {
  let env: EngineTestEnv
  beforeAll(async () => {
    registerBackend('dask', () => new DaskBackend())
    env = await setupEngineTest({ host: HOST })
  })
  afterAll(async () => {
    await env?.cleanup()
  })

  it('a run whose pool only the remote workers can give is accepted and runs on them', async () => {
    const { runId } = await startRun({ versionId: await env.save(workflow(2, '1TB')) }, env.engine)
    expect(await env.waitFor(runId, 90_000)).toBe('succeeded')
    const [task] = await env.t.db.task.findMany({ where: { runId } })
    expect(task?.state).toBe('succeeded')
  }, 120_000)

  it('a run asking more than the workers offer is refused before anything runs', async () => {
    await expect(startRun({ versionId: await env.save(workflow(4, '1GB')) }, env.engine)).rejects.toThrow(
      /needs 4 GPUs per worker; the workers of the Dask scheduler .* offer at most 2/,
    )
  })
})
