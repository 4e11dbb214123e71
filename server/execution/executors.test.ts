/**
 * Warm executors (local strategy) through the engine and the strategy, on real processes:
 * module tasks in a warm process, setsid escapees killed on cancel and timeout, the task
 * environment's allow-list, long timeouts, and a killed executor's task lost then retried.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { setLongTimeout } from './long-timer.ts'
import { processesWithEnv } from './procfs.ts'
import { cancelTask, listTasks, readLog, startRun } from './runs.ts'
import { buildDispatch, writeSpec } from './spec.ts'
import { contractPlan } from './strategies/contract.ts'
import { LocalStrategy, readResult } from './strategies/local.ts'
import { setupEngineTest, type EngineTestEnv } from './testing.ts'
import type { JobStatus, TaskLaunch } from './types.ts'

let env: EngineTestEnv
let scratch: string
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

beforeAll(async () => {
  process.env.CONTROLROOM_TOKEN = 'server-token-must-not-leak'
  process.env.CONTROLROOM_KILL_GRACE_MS = '1000'
  env = await setupEngineTest({ timeoutGraceSeconds: 5, retryBackoffMs: 50 })
  scratch = mkdtempSync(path.join(os.tmpdir(), 'cr-exec-'))
})
afterAll(async () => {
  delete process.env.CONTROLROOM_TOKEN
  await env?.cleanup()
  rmSync(scratch, { recursive: true, force: true })
})

async function until<T>(what: string, fn: () => Promise<T | null | undefined | false> | T, ms = 30_000): Promise<T> {
  const t0 = Date.now()
  for (;;) {
    const v = await fn()
    if (v) return v
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`)
    await sleep(50)
  }
}

async function byStage(runId: string) {
  const { items } = await listTasks(env.t.db, { runId, limit: 1000 })
  return Object.fromEntries(items.map((t) => [t.stageId, t]))
}

/** the task of a stage; the test fails here, naming the stage, when it has none */
function taskOf<T>(tasks: Record<string, T>, stage: string): T {
  const t = tasks[stage]
  if (!t) throw new Error(`no task of stage ${stage}`)
  return t
}

describe('module tasks in a warm executor', () => {
  it('imports the module once per executor process and runs every task in it, writing the usual files', async () => {
    const mod = path.join(scratch, 'count.mjs')
    writeFileSync(
      mod,
      `let calls = 0
export async function run(spec, ctx) {
  calls++
  ctx.stdout('partition ' + spec.metadata.partition.index + '\\n')
  if (spec.metadata.partition.index === 3) throw new Error('partition 3 is corrupt')
  return { outputs: { calls, pid: process.pid, key: ctx.env.CONTROLROOM_TASK_ID }, metrics: { events: 10 } }
}
`,
    )
    const runDir = path.join(scratch, 'modrun')
    const plan = contractPlan([
      {
        name: 'default',
        workers: 1,
        resources: { cpus: 1, memoryBytes: null, gpus: 0, diskBytes: null },
        resourceClass: null,
        config: {},
        implicit: false,
        stages: ['S'],
      },
    ])
    const strategy = new LocalStrategy()
    const statuses: JobStatus[] = []
    const s = await strategy.open({ runId: 'rmod', runDir, plan, onStatus: (st) => statuses.push(st), log: () => {} })
    const launches: TaskLaunch[] = []
    for (let i = 0; i < 4; i++) {
      const d = buildDispatch({
        plan,
        stage: plan.stages[0]!,
        runId: 'rmod',
        runDir,
        taskId: `tm${i}`,
        attempt: 0,
        partition: { key: `p${i}`, index: i },
        inputs: {},
      })
      d.spec.argv = []
      d.spec.module = { path: mod, export: 'run' }
      writeSpec(d)
      launches.push(d.launch)
    }
    const refs = await s.submit(launches)
    expect(refs.every((r) => r.ok)).toBe(true)
    await until('4 results', () => statuses.filter((x) => x.final).length === 4)
    const results = launches.map((l) => readResult(l.taskDir, 0)!)
    expect(results.slice(0, 3).map((r) => r.exitCode)).toEqual([0, 0, 0])
    // one process, imported once: the module's counter goes on from task to task
    expect(results.slice(0, 3).map((r) => (r.outputs as { calls: number }).calls)).toEqual([1, 2, 3])
    expect(new Set(results.slice(0, 3).map((r) => (r.outputs as { pid: number }).pid)).size).toBe(1)
    expect(results[0]!.outputs).toMatchObject({ key: 'tm0' })
    expect(results[0]!.metrics).toMatchObject({ events: 10 })
    expect(readFileSync(path.join(launches[1]!.taskDir, 'stdout.log'), 'utf8')).toBe('partition 1\n')
    expect(results[3]).toMatchObject({ exitCode: 1, error: 'partition 3 is corrupt' })
    expect(readFileSync(path.join(launches[3]!.taskDir, 'stderr.log'), 'utf8')).toMatch(/Error: partition 3 is corrupt/)
    await s.close({ detach: false })
  })
})

describe('a disk that fills up', () => {
  it('fails the task whose log filled it with that reason, and the next task of the pool still runs', async () => {
    const mnt = path.join(scratch, 'small-disk')
    mkdirSync(mnt)
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mnt])
    try {
      const runDir = path.join(mnt, 'run')
      const plan = contractPlan([
        {
          name: 'default',
          workers: 1,
          resources: { cpus: 1, memoryBytes: null, gpus: 0, diskBytes: null },
          resourceClass: null,
          config: {},
          implicit: false,
          stages: ['S'],
        },
      ])
      const statuses: JobStatus[] = []
      const s = await new LocalStrategy().open({
        runId: 'rfull',
        runDir,
        plan,
        onStatus: (st) => statuses.push(st),
        log: () => {},
      })
      const launches = ['head -c 8000000 /dev/zero; echo still-here', 'echo next task'].map((command, i) => {
        const stage = { ...plan.stages[0]!, params: { command } }
        const d = buildDispatch({
          plan: { ...plan, stages: [stage] },
          stage,
          runId: 'rfull',
          runDir,
          taskId: `tf${i}`,
          attempt: 0,
          partition: null,
          inputs: {},
        })
        writeSpec(d)
        return d.launch
      })
      await s.submit(launches)
      await until('both results', () => statuses.filter((x) => x.final).length === 2)
      const full = readResult(launches[0]!.taskDir, 0)!
      expect(full.exitCode).not.toBe(0)
      expect(full.cancelled).toBe(false)
      expect(full.error).toBe(
        `no space left on the device for the task's files (${launches[0]!.taskDir}/stdout.log): free disk space, then retry the task`,
      )
      expect(readFileSync(path.join(launches[0]!.taskDir, 'stdout.log'), 'utf8')).toMatch(
        /the end of this log was dropped ---\n$/,
      )
      expect(readResult(launches[1]!.taskDir, 0)).toMatchObject({ exitCode: 0, error: null })
      expect(readFileSync(path.join(launches[1]!.taskDir, 'stdout.log'), 'utf8')).toBe('next task\n')
      await s.close({ detach: false })
    } finally {
      execFileSync('umount', ['-l', mnt])
    }
  })
})

describe('the task process tree and environment', () => {
  it('kills a setsid escapee when its task is cancelled and when it times out', async () => {
    const yaml = `version: 1
name: escape
analysis:
  stages:
    - id: Escaper
      op: shell
      params: { command: "setsid sleep 300 & echo started; sleep 300" }
    - id: Timed
      op: shell
      needs: []
      params: { command: "setsid sleep 300 & sleep 300" }
      execution: { timeout: 2s }
execution:
  pools:
    default: { workers: 2, resources: { cpus: 1 } }
`
    const { runId } = await startRun({ versionId: await env.save(yaml) }, env.engine)
    const t = await until('Escaper to run', async () => {
      const x = await byStage(runId)
      return x.Escaper?.state === 'running' && processesWithEnv('CONTROLROOM_TASK_ID', x.Escaper.id).length >= 2 && x
    })
    // the escapee left the task's process group and session
    const escapees = processesWithEnv('CONTROLROOM_TASK_ID', taskOf(t, 'Escaper').id)
    expect(escapees.length).toBeGreaterThanOrEqual(2)
    await cancelTask({ taskId: taskOf(t, 'Escaper').id }, env.engine)
    const final = await env.waitFor(runId)
    const end = await byStage(runId)
    expect([final, end.Escaper?.state, end.Timed?.state, end.Timed?.reason]).toEqual([
      'failed',
      'cancelled',
      'failed',
      'timed out after 2s',
    ])
    expect(end.Escaper).toMatchObject({ state: 'cancelled', reason: 'cancelled by user' })
    expect(end.Timed).toMatchObject({ state: 'failed', reason: 'timed out after 2s' })
    await until('no escapee left', () => processesWithEnv('CONTROLROOM_RUN_ID', runId).length === 0, 10_000)
  })

  it("builds the task's environment from an allow-list: the server's token and database never reach it", async () => {
    const yaml = `version: 1
name: envcheck
analysis:
  stages:
    - id: Env
      op: shell
      params: { argv: ["env"] }
`
    const before = process.env.DATABASE_URL
    process.env.DATABASE_URL = 'postgresql://secret@db/controlroom'
    try {
      const { runId } = await startRun({ versionId: await env.save(yaml) }, env.engine)
      expect(await env.waitFor(runId)).toBe('succeeded')
      const t = await byStage(runId)
      const out = (await readLog(env.t.db, { taskId: taskOf(t, 'Env').id, stream: 'stdout' })).text
      const names = out.split('\n').map((l) => l.split('=')[0])
      expect(names).toContain('PATH')
      expect(names).toContain('CONTROLROOM_TASK_ID')
      expect(out).not.toContain('server-token-must-not-leak')
      expect(names).not.toContain('CONTROLROOM_TOKEN')
      expect(names).not.toContain('CONTROLROOM_HOME')
      expect(names).not.toContain('DATABASE_URL')
    } finally {
      if (before === undefined) delete process.env.DATABASE_URL
      else process.env.DATABASE_URL = before
    }
  })

  it('a timeout of 25 days does not fire at once (timers beyond 2^31 ms)', async () => {
    let fired = false
    const timer = setLongTimeout(() => {
      fired = true
    }, 25 * 86_400_000)
    await sleep(100)
    timer.clear()
    expect(fired).toBe(false)
    const yaml = `version: 1
name: longtimeout
analysis:
  stages:
    - id: Slow
      op: shell
      params: { command: "sleep 0.5; echo done" }
      execution: { timeout: 25d }
`
    const { runId } = await startRun({ versionId: await env.save(yaml) }, env.engine)
    expect(await env.waitFor(runId)).toBe('succeeded')
    expect((await byStage(runId)).Slow).toMatchObject({ state: 'succeeded', reason: null })
  })
})

describe('an executor that dies', () => {
  it('its running task becomes lost with the reason, is retried visibly, and the run completes', async () => {
    const count = path.join(scratch, 'lost-count')
    const yaml = `version: 1
name: executor-dies
analysis:
  stages:
    - id: Victim
      op: shell
      params: { command: "echo run >> ${count}; sleep 2; echo ok" }
`
    const { runId } = await startRun({ versionId: await env.save(yaml) }, env.engine)
    const t = await until('Victim to run', async () => {
      const x = await byStage(runId)
      return x.Victim?.state === 'running' && existsSync(count) && x
    })
    const run = await env.t.db.run.findUnique({ where: { id: runId } })
    const started = JSON.parse(
      readFileSync(path.join(run!.runDir!, 'tasks', taskOf(t, 'Victim').id, 'started.json'), 'utf8'),
    )
    // started.json: pid = the executor, childPid = the command
    process.kill(started.pid, 'SIGKILL')
    process.kill(-started.childPid, 'SIGKILL')
    expect(await env.waitFor(runId)).toBe('succeeded')
    const evs = await env.t.db.event.findMany({
      where: { runId, taskId: taskOf(t, 'Victim').id, type: 'task.state' },
      orderBy: { id: 'asc' },
    })
    const seq = evs.map((e) => JSON.parse(e.payload) as { to: string; reason?: string })
    expect(seq.map((p) => p.to)).toEqual(['queued', 'running', 'lost', 'retrying', 'queued', 'running', 'succeeded'])
    expect(seq[2]!.reason).toMatch(/^its executor w\S+ \(pid \d+\) died while running it$/)
    expect(readFileSync(count, 'utf8')).toBe('run\nrun\n')
    const workers = readdirSync(path.join(run!.runDir!, 'executors', 'pool-default')).filter((d) => d !== 'inbox')
    expect(workers.length).toBe(2) // the dead one and its replacement
  })
})
