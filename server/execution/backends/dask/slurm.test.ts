/**
 * dask + slurm on the real single-node Slurm (scripts/services/slurm.sh; `npm test` starts it and
 * exports SLURM_CONF): per-pool Dask workers are Slurm jobs with the pool's resources; tasks run on
 * them; a pool whose worker job pends shows its tasks waiting with Slurm's reason; idle pools give
 * their node back (scancel); an impossible pool fails its tasks with the reason; at the end no job
 * of ours is left in squeue.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFileSync } from 'node:child_process'
import { readFileSync, rmSync } from 'node:fs'
import path from 'node:path'
import { resolveSiteConfig } from '../../../site/load.ts'
import type { SiteConfig } from '../../../site/schema.ts'
import { LocalTransport } from '../../transport/local.ts'
import { DaskSession, type DaskWorkerView } from './session.ts'
import type { SlurmWorkers } from './deploy/slurm.ts'
import { TaskLog, tempRunDir, testPool, waitUntil } from './testing.ts'
import { findProcesses } from './procs.ts'
import { ensureSlurm } from '../../strategies/slurm/testing.ts'

let SLURM_CONF = process.env.SLURM_CONF

function squeueNames(names: string[]): string {
  return execFileSync('squeue', ['-h', '-n', names.join(','), '-o', '%i %j %T %r'], {
    encoding: 'utf8',
    env: { ...process.env, SLURM_CONF },
  }).trim()
}

function scontrol(jobId: string): string {
  return execFileSync('scontrol', ['show', 'job', '-o', jobId], {
    encoding: 'utf8',
    env: { ...process.env, SLURM_CONF },
  })
}

describe('dask + slurm (real local Slurm)', () => {
  let runDir: string
  let site: SiteConfig
  let s: DaskSession
  let log: TaskLog
  const workers: DaskWorkerView[] = []
  let jobNames: string[] = []

  beforeAll(() => {
    // `npm test` starts Slurm and exports SLURM_CONF; alone, this starts it (scripts/services/slurm.sh)
    SLURM_CONF = ensureSlurm()
    runDir = tempRunDir('cr-dask-slurm-')
    site = resolveSiteConfig(
      { slurm: { env: { SLURM_CONF: SLURM_CONF! }, pollIntervalMs: 300, maxPollIntervalMs: 1000 } },
      { home: runDir, source: null },
    )
  })

  afterAll(async () => {
    await s?.close()
    // no worker job of ours left in the queue, no process left on this host
    if (jobNames.length) expect(squeueNames(jobNames)).toBe('')
    expect(findProcesses(runDir).map((p) => p.cmdline)).toEqual([])
    rmSync(runDir, { recursive: true, force: true })
  }, 60_000)

  it('runs each pool on its own Slurm worker job (partition, memory, gres), explains a pending worker, releases idle pools', async () => {
    const MB = 1024 * 1024
    const pools = [
      testPool('default', 1, { resources: { cpus: 1, memoryBytes: 500 * MB, gpus: 0, diskBytes: null } }),
      testPool('gpu', 1, { resources: { cpus: 1, memoryBytes: 500 * MB, gpus: 1, diskBytes: null } }),
      testPool('high_memory', 1, {
        resources: { cpus: 1, memoryBytes: 3000 * MB, gpus: 0, diskBytes: null },
        config: { partition: 'highmem' },
      }),
      testPool('huge', 1, { resources: { cpus: 1, memoryBytes: null, gpus: 4, diskBytes: null } }),
    ]
    s = new DaskSession({
      runId: path.basename(runDir),
      runDir,
      pools,
      strategy: 'slurm',
      site,
      transport: new LocalTransport(),
      config: { worker_idle_timeout: 1, scheduler_host: '127.0.0.1' },
    })
    log = new TaskLog(s)
    s.on('worker', (w) => workers.push(w))
    await s.start()
    const dep = s.deployment as SlurmWorkers
    jobNames = pools.map((p) => dep.jobName(p.name))

    const cmd = (id: string, secs: number) => [
      'sh',
      '-c',
      `echo "$CONTROLROOM_DASK_WORKER $SLURM_JOB_ID" > ${runDir}/${id}.where; sleep ${secs}`,
    ]
    // the node has 2 CPUs: default + gpu workers take both, so the high_memory worker job pends
    await s.submit([
      { taskId: 'TrainModel', attempt: 0, pool: 'gpu', argv: cmd('TrainModel', 4) },
      { taskId: 'ProducePlots', attempt: 0, pool: 'default', argv: cmd('ProducePlots', 4) },
    ])
    // (other suites may use the same 2-CPU Slurm node at the same time: be patient)
    await log.waitAll(['TrainModel', 'ProducePlots'], ['running'], 150_000)
    await s.submit([{ taskId: 'BuildIndex', attempt: 0, pool: 'high_memory', argv: cmd('BuildIndex', 0) }])
    const waiting = await waitUntil(
      () => log.of('BuildIndex').some((e) => e.kind === 'waiting' && /Slurm job \d+ PENDING \(/.test(e.reason ?? '')),
      30_000,
      'BuildIndex waiting on a PENDING worker job',
    ).then(
      () => log.of('BuildIndex').find((e) => e.kind === 'waiting' && /Slurm job \d+ PENDING \(/.test(e.reason ?? ''))!,
    )
    // Slurm's own reason: Resources (our two workers hold both cpus), or Priority when other suites queue jobs too
    expect(waiting.reason).toMatch(
      /^waiting for workers of pool high_memory: high_memory-0: Slurm job \d+ PENDING \(\w+: /,
    )

    // an impossible pool: refused before any job (preflight), its task fails with the reason
    await s.submit([{ taskId: 'Impossible', attempt: 0, pool: 'huge', argv: ['true'] }])
    const imp = await log.waitFor('Impossible', ['failed', 'finished'], 20_000)
    expect(imp.kind).toBe('failed')
    expect(imp.reason).toMatch(/pool huge can never get a worker: Slurm cannot host pool huge: .*gpu/i)

    const done = await log.waitAll(
      ['TrainModel', 'ProducePlots', 'BuildIndex'],
      ['finished', 'failed', 'lost'],
      150_000,
    )
    for (const e of done) expect(e.kind, JSON.stringify(log.of(e.taskId))).toBe('finished')
    for (const e of done) expect(e.exitCode).toBe(0)

    const expectOn = (taskId: string, pool: string, check: (job: string) => void) => {
      const [worker, jobId] = readFileSync(`${runDir}/${taskId}.where`, 'utf8').trim().split(' ')
      expect(worker!.startsWith(`${pool}-`)).toBe(true)
      expect(jobId).toMatch(/^\d+$/)
      const w = workers.find((x) => x.name === worker && x.jobId)
      expect(w?.jobId).toBe(jobId)
      expect(w?.batch).toBe('slurm')
      check(scontrol(jobId!))
    }
    expectOn('TrainModel', 'gpu', (job) => expect(job).toMatch(/TresPerNode=(gres:)?gpu:1/))
    expectOn('BuildIndex', 'high_memory', (job) => {
      expect(job).toMatch(/Partition=highmem/)
      expect(job).toMatch(/MinMemoryNode=3000M/)
    })
    expectOn('ProducePlots', 'default', (job) => expect(job).toMatch(/Partition=debug/))
    // the idle pools gave their CPUs back (that is how the high_memory worker could start)
    expect(workers.some((w) => w.pool === 'gpu' && w.state === 'gone' && /released/.test(w.reason ?? ''))).toBe(true)
    // the worker scripts are the Slurm strategy's scripts, with the pool's directives
    const script = dep.scripts.get('gpu')!
    expect(script).toMatch(/#SBATCH --gres=gpu:1/)
    expect(script).toMatch(/distributed\.cli\.dask_worker tcp:\/\/127\.0\.0\.1:\d+ .*--resources pool\.gpu=1/)

    await s.close()
    await waitUntil(() => squeueNames(jobNames) === '', 30_000, 'no job of ours in squeue')
    for (const id of dep.jobIds) expect(scontrol(id)).toMatch(/JobState=(CANCELLED|COMPLETED)/)
  }, 360_000)
})
