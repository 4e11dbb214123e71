/**
 * DaskSession on a real Dask scheduler and real worker processes (strategy local): tasks land on
 * their pool's workers; cancel kills the running process tree; a worker killed mid-task is
 * visible and its task rescheduled on another worker of the pool; pools without workers are
 * explained, and fail when they can never get one. Every process started is checked gone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readFileSync, rmSync } from 'node:fs'
import path from 'node:path'
import { DaskSession, type DaskWorkerView } from './session.ts'
import { TaskLog, tempRunDir, testPool, waitUntil } from './testing.ts'
import { findProcesses, pidAlive, procTable } from './procs.ts'
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

const dirs: string[] = []
const sessions: DaskSession[] = []

function newSession(pools: ReturnType<typeof testPool>[], config: Record<string, unknown> = {}) {
  const runDir = tempRunDir()
  dirs.push(runDir)
  const s = new DaskSession({ runId: path.basename(runDir), runDir, pools, strategy: 'local', config })
  sessions.push(s)
  return { s, runDir, log: new TaskLog(s) }
}

afterAll(async () => {
  await Promise.all(sessions.map((s) => s.close()))
  // nothing this suite started is left: no scheduler, worker, bridge or task process
  for (const d of dirs) {
    const left = findProcesses(d)
    expect(left.map((p) => p.cmdline)).toEqual([])
    rmSync(d, { recursive: true, force: true })
  }
})

describe('dask + local strategy (real scheduler and workers)', () => {
  let s: DaskSession
  let runDir: string
  let log: TaskLog
  const workers: DaskWorkerView[] = []

  beforeAll(async () => {
    ;({ s, runDir, log } = newSession([testPool('default', 2), testPool('high_memory', 1), testPool('gpu', 1)]))
    s.on('worker', (w) => workers.push(w))
    await s.start()
    await waitUntil(
      async () => (await s.status()).pools.every((p) => p.connected === p.workers.length && p.connected > 0),
      30_000,
      'all workers connected',
    )
  }, 60_000)

  it('runs each task on a worker of its own pool and reports the scheduler health URL', async () => {
    const tasks = [
      ['t-default-1', 'default'],
      ['t-default-2', 'default'],
      ['t-default-3', 'default'],
      ['t-high', 'high_memory'],
      ['t-gpu', 'gpu'],
    ] as const
    await s.submit(
      tasks.map(([id, pool]) => ({
        taskId: id,
        attempt: 0,
        pool,
        argv: ['sh', '-c', `echo "$CONTROLROOM_DASK_WORKER" > ${runDir}/${id}.worker; exit $EXIT`],
        env: { EXIT: id === 't-default-3' ? '3' : '0' },
        cwd: runDir,
      })),
    )
    const done = await log.waitAll(
      tasks.map((t) => t[0]),
      ['finished', 'failed', 'lost', 'cancelled'],
    )
    for (const [i, [id, pool]] of tasks.entries()) {
      const e = done[i]!
      expect(e.kind, JSON.stringify(log.of(id))).toBe('finished')
      const onWorker = readFileSync(`${runDir}/${id}.worker`, 'utf8').trim()
      // recorded by the task itself and in the result event: a worker of the task's pool
      expect(onWorker).toBe(e.worker)
      expect(onWorker.startsWith(`${pool}-`)).toBe(true)
      const w = workers.find((x) => x.name === onWorker)
      expect(w?.pool).toBe(pool)
      expect(log.of(id).some((x) => x.kind === 'running' && x.worker === onWorker && typeof x.pid === 'number')).toBe(
        true,
      )
    }
    expect(done[2]!.exitCode).toBe(3)
    expect(done[0]!.exitCode).toBe(0)

    const st = await s.status()
    expect(st.scheduler.address).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/)
    expect(st.scheduler.dashboard).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(st.scheduler.health).toBe('ok')
    expect(
      st.pools
        .find((p) => p.name === 'default')!
        .workers.map((w) => w.name)
        .sort(),
    ).toEqual(['default-0', 'default-1'])
    for (const p of st.pools) for (const w of p.workers) expect(w.pid).toBeGreaterThan(0)
    // the run page reads the session (scheduler, dashboard, workers per pool) from the run directory
    await waitUntil(
      () => {
        try {
          const j = JSON.parse(readFileSync(path.join(runDir, 'dask', 'session.json'), 'utf8'))
          return (
            j.scheduler.dashboard === st.scheduler.dashboard &&
            j.pools.find((p: { name: string }) => p.name === 'gpu').workers.length === 1
          )
        } catch {
          return false
        }
      },
      5000,
      'session.json',
    )
  })

  it('cancel of a running task kills its process tree (Future.cancel alone would not)', async () => {
    const marker = `${runDir}/cancel-me`
    await s.submit([
      { taskId: 't-sleep', attempt: 0, pool: 'gpu', argv: ['sh', '-c', `sleep 60 # ${marker}`], cwd: runDir },
    ])
    const running = await log.waitFor('t-sleep', ['running'])
    expect(pidAlive(running.pid!)).toBe(true)
    await waitUntil(
      () =>
        findProcesses(marker).length >= 1 && procTable().some((p) => p.cmdline === 'sleep 60' && p.sid === running.pid),
      5000,
      'sleep started',
    )
    const t0 = Date.now()
    s.cancel(['t-sleep'], 1)
    const e = await log.waitFor('t-sleep', ['cancelled', 'finished', 'failed'])
    expect(e.kind).toBe('cancelled')
    expect(e.started).toBe(true)
    expect(Date.now() - t0).toBeLessThan(10_000)
    // nothing of the task is left: not the shell, not its sleep
    expect(pidAlive(running.pid!)).toBe(false)
    expect(findProcesses(marker)).toEqual([])
    expect(procTable().filter((p) => p.sid === running.pid && p.state !== 'Z')).toEqual([])
    // the worker is free again: the next gpu task runs
    await s.submit([{ taskId: 't-after-cancel', attempt: 0, pool: 'gpu', argv: ['true'] }])
    expect((await log.waitFor('t-after-cancel', ['finished'])).exitCode).toBe(0)
  })

  it('a queued task cancelled before it starts never starts', async () => {
    await s.submit([
      { taskId: 't-block', attempt: 0, pool: 'high_memory', argv: ['sleep', '3'] },
      { taskId: 't-queued', attempt: 0, pool: 'high_memory', argv: ['sh', '-c', `touch ${runDir}/should-not-exist`] },
    ])
    await log.waitFor('t-block', ['running'])
    s.cancel(['t-queued'])
    const e = await log.waitFor('t-queued', ['cancelled', 'finished'])
    expect(e.kind).toBe('cancelled')
    expect(e.started).toBe(false)
    expect((await log.waitFor('t-block', ['finished'])).exitCode).toBe(0)
    expect(() => readFileSync(`${runDir}/should-not-exist`)).toThrow()
  })

  it('a worker killed (SIGKILL) mid-task: the task is rescheduled visibly on another worker of its pool', async () => {
    const marker = `${runDir}/victim`
    await s.submit([
      {
        taskId: 't-victim',
        attempt: 0,
        pool: 'default',
        argv: ['sh', '-c', `: ${marker}; sleep 3; echo "$CONTROLROOM_DASK_WORKER" > ${marker}.done`],
      },
    ])
    const first = await log.waitFor('t-victim', ['running'])
    const workerPid = s.localWorkerPid(first.worker!)
    expect(workerPid).toBeGreaterThan(0)
    process.kill(workerPid!, 'SIGKILL')
    const re = await log.waitFor('t-victim', ['rescheduled'])
    expect(re.reason).toMatch(new RegExp(`worker ${first.worker}.*left while the task was running`))
    const done = await log.waitFor('t-victim', ['finished', 'lost', 'failed'], 30_000)
    expect(done.kind).toBe('finished')
    expect(done.exitCode).toBe(0)
    const runs = log.of('t-victim').filter((e) => e.kind === 'running')
    expect(runs.length).toBe(2)
    expect(runs[1]!.worker).not.toBe(first.worker)
    expect(runs[1]!.worker!.startsWith('default-')).toBe(true)
    expect(runs[1]!.run).toBe(2)
    expect(readFileSync(`${marker}.done`, 'utf8').trim()).toBe(runs[1]!.worker)
    // the first attempt's process died with its worker (the worker's reaper killed its tree)
    expect(pidAlive(first.pid!)).toBe(false)
    // the killed worker is reported gone and its slot restarted under a new name
    await waitUntil(
      () => workers.some((w) => w.name === first.worker && w.state === 'gone'),
      10_000,
      'killed worker gone',
    )
    await waitUntil(
      () => workers.some((w) => w.name === `${first.worker}-r1` && w.state === 'running'),
      20_000,
      'replacement worker running',
    )
  })
})

describe('pools without workers', () => {
  it('a pool with workers: 0 fails its tasks with the reason; a pool whose workers die for good too', async () => {
    const { s, log } = newSession([testPool('default', 1), testPool('none', 0)], {
      worker_python: '/bin/false',
      worker_restarts: 1,
      worker_start_timeout: 0,
    })
    await s.start()
    await s.submit([
      { taskId: 'n1', attempt: 0, pool: 'none', argv: ['true'] },
      { taskId: 'd1', attempt: 0, pool: 'default', argv: ['true'] },
    ])
    const n1 = await log.waitFor('n1', ['failed', 'finished'])
    expect(n1.kind).toBe('failed')
    expect(n1.reason).toMatch(/pool none can never get a worker: pool none has workers: 0/)
    // default's worker (the interpreter /bin/false) exits at once: waiting with the reason first ...
    const w = await log.waitFor('d1', ['waiting'])
    expect(w.reason).toMatch(/waiting for workers of pool default: default-0: /)
    // ... then failed with the reason once its restarts are used up
    const d1 = await log.waitFor('d1', ['failed', 'finished'], 30_000)
    expect(d1.kind).toBe('failed')
    expect(d1.reason).toMatch(/pool default can never get a worker: every worker of pool default exited/)
    expect(d1.reason).toMatch(/exit code 1/)
    await s.close()
  })

  it('an existing scheduler with no worker for a pool: waiting with how to add one, then failed after no_worker_timeout', async () => {
    const a = newSession([testPool('default', 1)])
    await a.s.start()
    const addr = (await a.s.status()).scheduler.address!
    const { s, log } = newSession([testPool('default', 1), testPool('gpu', 1)], {
      scheduler_address: addr,
      no_worker_timeout: 2,
    })
    await s.start()
    await s.submit([
      { taskId: 'x-default', attempt: 0, pool: 'default', argv: ['true'] },
      { taskId: 'x-gpu', attempt: 0, pool: 'gpu', argv: ['true'] },
    ])
    expect((await log.waitFor('x-default', ['finished'])).exitCode).toBe(0)
    const w = await log.waitFor('x-gpu', ['waiting'])
    expect(w.reason).toContain(`no worker of the Dask scheduler ${addr} has the resource pool.gpu`)
    expect(w.reason).toContain(`dask worker ${addr} --resources pool.gpu=1`)
    const f = await log.waitFor('x-gpu', ['failed'], 10_000)
    expect(f.reason).toMatch(/no worker with the resource pool.gpu joined the scheduler .* within 2s/)
    await s.close()
    await a.s.close()
  })
})

describe('no orphans when the server dies', () => {
  it('SIGKILL of the Node process that owns a session: scheduler, workers, bridge and the running task all go', async () => {
    const runDir = tempRunDir()
    dirs.push(runDir)
    const fixture = path.join(path.dirname(fileURLToPath(import.meta.url)), '__fixtures__', 'session-child.ts')
    const tsx = path.join(process.cwd(), 'node_modules', '.bin', 'tsx')
    const child = spawn(tsx, [fixture, runDir], { stdio: ['ignore', 'pipe', 'inherit'] })
    const line = await new Promise<string>((resolve, reject) => {
      const rl = createInterface({ input: child.stdout! })
      rl.once('line', resolve)
      child.once('exit', (c) => reject(new Error(`fixture exited ${c}`)))
      setTimeout(() => reject(new Error('fixture did not report its pids')), 60_000)
    })
    const pids = JSON.parse(line) as { scheduler: number; bridge: number; workers: number[]; task: number }
    const all = [pids.scheduler, pids.bridge, ...pids.workers, pids.task]
    for (const p of all) expect(pidAlive(p), `pid ${p}`).toBe(true)
    // the tsx wrapper runs node as its child: kill the whole tree of the fixture's Node process
    const node =
      procTable().find((p) => p.ppid === child.pid && p.cmdline.includes('session-child.ts'))?.pid ?? child.pid!
    process.kill(node, 'SIGKILL')
    await waitUntil(() => all.every((p) => !pidAlive(p)), 15_000, `all of ${JSON.stringify(pids)} gone`)
    expect(findProcesses(runDir)).toEqual([])
    child.kill('SIGKILL')
  }, 90_000)
})
