/**
 * dask + htcondor. HTCondor cannot run here: the submit descriptions are checked as text, and the
 * lifecycle runs against the HTCondor strategy's format-faithful CLI simulator (fake-condor) with a
 * REAL Dask scheduler: the worker job is submitted, pends (Idle) with its reason shown on the task,
 * "starts" (we execute the job's own executable as the execute node would), its worker connects and
 * runs the task; a held worker job fails its pool's tasks with the hold reason; condor_rm at the end.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { readFileSync, rmSync } from 'node:fs'
import path from 'node:path'
import { resolveSiteConfig } from '../../../site/load.ts'
import { LocalTransport } from '../../transport/local.ts'
import { installFakeCondor } from '../../strategies/htcondor/__fixtures__/fake-condor/index.ts'
import { DaskSession } from './session.ts'
import { HTCondorWorkers, renderWorkerScript } from './deploy/htcondor.ts'
import { TaskLog, tempRunDir, testPool, waitUntil } from './testing.ts'
import { findProcesses, spawnGroup, stopGroup, type SpawnedProcess } from './procs.ts'

const GB = 1024 ** 3
const dirs: string[] = []
afterAll(() => {
  for (const d of dirs) {
    expect(findProcesses(d).map((p) => p.cmdline)).toEqual([])
    rmSync(d, { recursive: true, force: true })
  }
})

describe('dask + htcondor: worker submit descriptions', () => {
  it('renders one vanilla job per worker with the pool resources, site/pool config and the worker as argument', () => {
    const dir = tempRunDir('cr-dask-condor-')
    dirs.push(dir)
    const site = resolveSiteConfig(
      {
        htcondor: { accountingGroup: 'group_u_ATLAS.alice', requirements: '(OpSysAndVer == "AlmaLinux9")' },
        environment: { setup: ['source /cvmfs/env.sh'] },
      },
      { home: dir, source: null },
    )
    const pool = testPool('gpu', 2, {
      resources: { cpus: 2, memoryBytes: 16 * GB, gpus: 1, diskBytes: 10 * GB },
      config: { queue: 'workday', requirements: 'CUDACapability >= 7.0', extra: ['+AccountingGroup = "x"'] },
    })
    const d = new HTCondorWorkers({
      pools: [pool],
      schedulerAddress: 'tcp://10.0.0.5:8786',
      python: '/usr/bin/python3',
      dir,
      site,
      transport: new LocalTransport(),
      runId: 'r123',
    })
    const r = d.render(pool, 'gpu-1')
    expect(r.problems.filter((p) => p.severity === 'error')).toEqual([])
    const lines = r.submit.split('\n').map((l) => l.replace(/\s+=\s+/, ' = ').trim())
    expect(lines).toContain(`executable = ${dir}/scripts/dask-worker-gpu.sh`)
    expect(lines).toContain('arguments = "gpu-1"')
    expect(lines).toContain('request_cpus = 2')
    expect(lines).toContain('request_memory = 16384')
    expect(lines).toContain('request_gpus = 1')
    expect(lines).toContain(`request_disk = ${10 * 1024 * 1024}`)
    expect(lines).toContain('+JobFlavour = "workday"')
    expect(lines).toContain('requirements = ((OpSysAndVer == "AlmaLinux9")) && (CUDACapability >= 7.0)')
    expect(lines).toContain('accounting_group = group_u_ATLAS.alice')
    expect(lines).toContain('batch_name = cr-r123-dask.gpu')
    expect(lines).toContain('MY.ControlRoomWorker = "gpu-1"')
    expect(lines.find((l) => l.startsWith('environment = '))).toContain(
      'CONTROLROOM_WORKER_JOB_ID=$(ClusterId).$(ProcId)',
    )
    expect(lines[lines.length - 2]).toBe('queue 1')
    // the executable: the site setup, then the Dask worker for the pool, named by the argument
    expect(r.script).toContain('source /cvmfs/env.sh')
    expect(r.script).toMatch(
      /exec \/usr\/bin\/python3 -m distributed\.cli\.dask_worker tcp:\/\/10\.0\.0\.5:8786 --nthreads 1 .*--resources pool\.gpu=1 .*--memory-limit 17179869184.* --name "\$1"\n$/,
    )
  })

  it("a pool's walltime becomes the worker job's +MaxRuntime by default (dask-jobqueue's meaning); site walltime: reject refuses it", () => {
    const dir = tempRunDir('cr-dask-condor-')
    dirs.push(dir)
    const site = resolveSiteConfig({}, { home: dir, source: null })
    const pool = testPool('long', 1, { config: { walltime: '2h', walltimeSeconds: 7200 } })
    const d = new HTCondorWorkers({
      pools: [pool],
      schedulerAddress: 'tcp://h:1',
      python: 'python3',
      dir,
      site,
      transport: new LocalTransport(),
      runId: 'r1',
    })
    const r = d.render(pool, 'long-0')
    expect(r.problems.map((p) => p.code)).not.toContain('htcondor-walltime-unsupported')
    expect(r.submit).toMatch(/^\+MaxRuntime\s+= 7200$/m)
    const strict = new HTCondorWorkers({
      pools: [pool],
      schedulerAddress: 'tcp://h:1',
      python: 'python3',
      dir,
      site: resolveSiteConfig({ htcondor: { walltime: 'reject' } }, { home: dir, source: null }),
      transport: new LocalTransport(),
      runId: 'r1',
    })
    expect(strict.render(pool, 'long-0').problems.map((p) => p.code)).toContain('htcondor-walltime-unsupported')
  })

  it('renderWorkerScript quotes what it exports', () => {
    const s = renderWorkerScript({
      argvWithoutName: ['python3', '-m', 'distributed.cli.dask_worker', 'tcp://h:1'],
      setup: [],
      env: { A: "it's" },
      pool: 'p',
    })
    expect(s).toContain(`export A='it'\\''s'`)
    expect(s).toContain('exec python3 -m distributed.cli.dask_worker tcp://h:1 --name "$1"')
  })
})

describe('dask + htcondor against the HTCondor CLI simulator, with a real Dask scheduler', () => {
  let s: DaskSession
  const jobsRun: SpawnedProcess[] = []
  afterAll(async () => {
    await s?.close()
    for (const p of jobsRun) await stopGroup(p)
  })

  it('worker jobs pend with their reason, start, serve their pool; a held job fails its pool; condor_rm at the end', async () => {
    const dir = tempRunDir('cr-dask-condor-')
    dirs.push(dir)
    const fake = installFakeCondor(dir)
    const site = resolveSiteConfig(
      { htcondor: { binDir: fake.binDir, env: fake.env, pollIntervalMs: 200 } },
      { home: dir, source: null },
    )
    s = new DaskSession({
      runId: 'rcondor1',
      runDir: dir,
      pools: [
        testPool('default', 1),
        testPool('gpu', 1, { resources: { cpus: 1, memoryBytes: 2 * GB, gpus: 1, diskBytes: null } }),
      ],
      strategy: 'htcondor',
      site,
      transport: new LocalTransport(),
      config: { scheduler_host: '127.0.0.1' },
    })
    const log = new TaskLog(s)
    await s.start()
    const dep = s.deployment as HTCondorWorkers

    await s.submit([
      {
        taskId: 'T1',
        attempt: 0,
        pool: 'default',
        argv: ['sh', '-c', `echo "$CONTROLROOM_DASK_WORKER" > ${dir}/T1.where`],
      },
    ])
    const waiting = await waitUntil(
      () => log.of('T1').some((e) => e.kind === 'waiting' && /HTCondor job \d+\.0 idle/.test(e.reason ?? '')),
      60_000,
      'T1 waiting on an Idle job',
    ).then(
      () =>
        log
          .of('T1')
          .filter((e) => e.kind === 'waiting')
          .pop()!,
    )
    expect(waiting.reason).toMatch(
      /^waiting for workers of pool default: default-0: HTCondor job \d+\.0 idle \(idle: waiting for a matching slot\)/,
    )
    const jobId = [...dep.jobIds][0]!
    const sub = fake.submitted(Number(jobId.split('.')[0]))
    expect(sub).toMatch(/arguments\s+= "default-0"/)

    // the negotiator matches it: the job runs its executable on the "execute node"
    expect(fake.start(jobId)).toBe(true)
    await waitUntil(
      () =>
        log
          .of('T1')
          .some(
            (e) =>
              e.kind === 'waiting' &&
              /running on slot1_1@fake-ep\.example\.org; worker connecting/.test(e.reason ?? ''),
          ),
      60_000,
      'T1 sees the job running',
    )
    const script = path.join(dir, 'dask', 'scripts', 'dask-worker-default.sh')
    jobsRun.push(
      spawnGroup(['bash', script, 'default-0'], {
        env: { ...process.env, CONTROLROOM_WORKER_JOB_ID: jobId },
        logFile: path.join(dir, 'exec-node.log'),
      }),
    )
    const done = await log.waitFor('T1', ['finished', 'failed'], 30_000).catch((e: Error) => {
      throw new Error(
        `${e.message}\nexecute node log: ${readFileSync(path.join(dir, 'exec-node.log'), 'utf8').slice(-1500)}`,
      )
    })
    expect(done.kind).toBe('finished')
    expect(readFileSync(`${dir}/T1.where`, 'utf8').trim()).toBe('default-0')
    const w = s.workers().find((x) => x.name === 'default-0')!
    expect(w.jobId).toBe(jobId)
    expect(w.batch).toBe('htcondor')
    expect(w.state).toBe('running')

    // the gpu worker job is held (a hopeless hold): its task fails with HTCondor's reason
    await s.submit([{ taskId: 'T2', attempt: 0, pool: 'gpu', argv: ['true'] }])
    await waitUntil(() => dep.jobIds.size === 2, 10_000, 'gpu worker submitted')
    const gpuJob = [...dep.jobIds][1]!
    expect(fake.submitted(Number(gpuJob.split('.')[0]))).toMatch(/request_gpus\s+= 1/)
    fake.hold(gpuJob, 'Error from slot1@ep: Failed to execute dask-worker-gpu.sh: No such file or directory', 13, 2)
    const failed = await log.waitFor('T2', ['failed', 'finished'], 15_000)
    expect(failed.kind).toBe('failed')
    expect(failed.reason).toMatch(
      /pool gpu can never get a worker: .*HTCondor job .* can never run: .*Failed to execute/,
    )
    expect(fake.calls('condor_rm').some((c) => c.argv.includes(gpuJob))).toBe(true)

    await s.close()
    expect(fake.calls('condor_rm').some((c) => c.argv.includes(jobId))).toBe(true)
  }, 240_000)
})
