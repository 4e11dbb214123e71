/**
 * The Dask backend's pure pieces (command lines, job scripts, reasons) and its failure modes that
 * need no cluster (no Python with Dask, an unreachable scheduler).
 */
import { describe, expect, it } from 'vitest'
import { daskSchedulerArgv, daskWorkerArgv, lifetimeForWalltime } from './deploy/command.ts'
import { isValidPoolName, poolResource } from './protocol.ts'
import { describeDeployed, workerSetupLines } from './session.ts'
import { PythonNotFoundError, resolvePython } from './python.ts'
import { DaskBridge, BridgeError } from './bridge.ts'
import { SlurmWorkers } from './deploy/slurm.ts'
import { resolveSiteConfig } from '../../../site/load.ts'
import { LocalTransport } from '../../transport/local.ts'
import { testPool } from './testing.ts'
import type { DeployedWorker } from './deploy/types.ts'
import { DaskBackend } from '../dask.ts'
import { compileWorkflow } from '../../../workflow/index.ts'

describe('dask command lines', () => {
  it("worker_extra_args of the workflow (pool or execution.config) end the worker's command", () => {
    const r = compileWorkflow(
      'analysis:\n  stages: [{ id: A, op: noop }]\nexecution:\n  backend: dask\n  strategy: slurm\n  config: { worker_extra_args: ["--lifetime", "2h"] }\n  pools:\n    default: { workers: 1 }\n',
    )
    expect(r.problems.filter((p) => p.severity === 'error')).toEqual([])
    const argv = daskWorkerArgv({
      python: 'python3',
      schedulerAddress: 'tcp://h:1',
      pool: r.plan!.pools[0]!,
      name: 'w',
    })
    expect(argv.slice(-2)).toEqual(['--lifetime', '2h'])
  })

  it('a worker: one thread, one process, no nanny, the pool resource, its name, memory limit from the pool', () => {
    const argv = daskWorkerArgv({
      python: '/usr/bin/python3',
      schedulerAddress: 'tcp://10.1.2.3:8786',
      pool: testPool('high_memory', 2, {
        resources: { cpus: 4, memoryBytes: 64 * 1024 ** 3, gpus: 0, diskBytes: null },
      }),
      name: 'high_memory-1',
      localDirectory: '/scratch/x',
      lifetime: 3500,
    })
    expect(argv.slice(0, 4)).toEqual(['/usr/bin/python3', '-m', 'distributed.cli.dask_worker', 'tcp://10.1.2.3:8786'])
    const opt = (k: string) => argv[argv.indexOf(k) + 1]
    expect(opt('--nthreads')).toBe('1')
    expect(opt('--nworkers')).toBe('1')
    expect(argv).toContain('--no-nanny')
    expect(opt('--resources')).toBe('pool.high_memory=1')
    expect(opt('--name')).toBe('high_memory-1')
    expect(opt('--memory-limit')).toBe(String(64 * 1024 ** 3))
    expect(opt('--local-directory')).toBe('/scratch/x')
    expect(opt('--lifetime')).toBe('3500s')
  })

  it('a scheduler: free port, scheduler file, a dashboard/health server on the same host', () => {
    const argv = daskSchedulerArgv({ python: 'py', schedulerFile: '/r/dask/scheduler.json', host: '127.0.0.1' })
    expect(argv.join(' ')).toBe(
      'py -m distributed.cli.dask_scheduler --host 127.0.0.1 --port 0 --scheduler-file /r/dask/scheduler.json --no-show --dashboard-address 127.0.0.1:0',
    )
    expect(daskSchedulerArgv({ python: 'py', schedulerFile: 'f', host: 'h', dashboardAddress: null })).toContain(
      '--no-dashboard',
    )
  })

  it('worker lifetime leaves a margin before the batch walltime', () => {
    expect(lifetimeForWalltime(3600)).toBe(3420)
    expect(lifetimeForWalltime(86400)).toBe(86100)
    expect(lifetimeForWalltime(40)).toBeNull()
    expect(lifetimeForWalltime(null)).toBeNull()
  })

  it('pool names become resource names', () => {
    expect(poolResource('gpu')).toBe('pool.gpu')
    expect(isValidPoolName('high_memory')).toBe(true)
    expect(isValidPoolName('a,b')).toBe(false)
    expect(isValidPoolName('a=b')).toBe(false)
  })
})

describe('dask + slurm worker job script (the Slurm strategy renderer)', () => {
  it('carries the pool resources and site config as #SBATCH and execs the worker', () => {
    const site = resolveSiteConfig(
      { slurm: { account: 'phys', extra: ['--requeue'] }, environment: { setup: ['module load python'] } },
      { home: '/tmp', source: null },
    )
    const pool = testPool('gpu', 1, {
      resources: { cpus: 2, memoryBytes: 16 * 1024 ** 3, gpus: 1, diskBytes: null },
      config: { partition: 'gpu', walltime: '2h', walltimeSeconds: 7200 },
    })
    const d = new SlurmWorkers({
      pools: [pool],
      schedulerAddress: 'tcp://login1:8786',
      python: '/opt/py/bin/python',
      dir: '/shared/runs/r1/dask',
      site,
      transport: new LocalTransport(),
      runId: 'r1',
    })
    const { script, problems } = d.renderWorkerScript(pool, 'gpu-0')
    expect(problems).toEqual([])
    for (const l of [
      '#SBATCH --job-name=cr-r1-dask.gpu',
      '#SBATCH --cpus-per-task=2',
      '#SBATCH --mem=16384M',
      '#SBATCH --gres=gpu:1',
      '#SBATCH --partition=gpu',
      '#SBATCH --account=phys',
      '#SBATCH --time=02:00:00',
      '#SBATCH --requeue',
    ])
      expect(script).toContain(l)
    expect(script).toContain('module load python')
    expect(script).toMatch(
      /exec \/opt\/py\/bin\/python -m distributed\.cli\.dask_worker tcp:\/\/login1:8786 --nthreads 1 .*--resources pool\.gpu=1 --name gpu-0 .*--lifetime 6900s/,
    )
  })
})

describe('reasons', () => {
  const w = (p: Partial<DeployedWorker>): DeployedWorker => ({
    slot: 'gpu-0',
    pool: 'gpu',
    name: 'gpu-0',
    state: 'requested',
    batch: 'slurm',
    jobId: null,
    pid: null,
    reason: null,
    hopeless: false,
    restarts: 0,
    since: 0,
    logFile: null,
    ...p,
  })
  it('describes each worker state for the waiting reason', () => {
    expect(
      describeDeployed(
        w({
          state: 'pending-in-queue',
          jobId: '12',
          reason: 'Slurm job 12 PENDING (Resources: waiting for resources)',
        }),
      ),
    ).toBe('Slurm job 12 PENDING (Resources: waiting for resources)')
    expect(describeDeployed(w({ state: 'starting', batch: 'local', pid: 77 }))).toBe('starting (pid 77)')
    expect(describeDeployed(w({ state: 'gone', reason: 'exit code 1' }))).toBe('gone (exit code 1)')
  })
  it('worker environment setup: site lines, then the plan environment', () => {
    const site = resolveSiteConfig({ environment: { setup: ['module load x'] } }, { home: '/tmp', source: null })
    expect(
      workerSetupLines({ type: 'shared-fs', setup: 'export A=1', activate: "/envs/it's/bin/activate" }, site),
    ).toEqual(['module load x', 'export A=1', `source '/envs/it'\\''s/bin/activate'`])
  })
})

describe('failure modes without a cluster', () => {
  it('an explicitly configured Python without Dask is an error naming it', async () => {
    await expect(resolvePython({ configured: '/bin/false' })).rejects.toBeInstanceOf(PythonNotFoundError)
    await expect(resolvePython({ configured: '/nonexistent/python' })).rejects.toThrow(/\/nonexistent\/python/)
    const ok = await resolvePython({})
    expect(ok.distributed).toMatch(/^\d{4}\./)
  })

  it('the bridge reports a scheduler it cannot reach', async () => {
    const py = (await resolvePython({})).python
    const b = new DaskBridge({ python: py, address: 'tcp://127.0.0.1:9', timeout: 2 })
    await expect(b.start()).rejects.toThrow(/cannot connect to the Dask scheduler tcp:\/\/127\.0\.0\.1:9/)
    await b.kill()
  }, 30_000)

  it('backend preflight: no Python with Dask, unreachable scheduler, bad pool names', async () => {
    const backend = new DaskBackend({ site: resolveSiteConfig({}, { home: '/tmp', source: null }) })
    const plan = {
      pools: [testPool('default', 1), testPool('a,b', 1)],
      config: { python: '/bin/false', scheduler_address: 'tcp://127.0.0.1:9' },
    } as never
    const problems = await backend.preflight(plan, { name: 'local' } as never)
    expect(problems.map((p) => p.code).sort()).toEqual([
      'dask-invalid-pool-name',
      'dask-no-python',
      'dask-scheduler-unreachable',
    ])
    expect(backend.supportsStrategy('slurm')).toBe(true)
    expect(backend.supportsStrategy('kubernetes')).toBe(false)
  })
})

void BridgeError
