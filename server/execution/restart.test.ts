/**
 * Restart safety: the process that runs the engine is killed with SIGKILL mid-run; a new engine
 * (this test process) reconciles: alive tasks are re-attached (not re-run), finished results are
 * kept, vanished ones are `lost` and retried; the run completes with no event or log lost.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { killGroup, processesWithEnv } from './procfs.ts'
import { reconcileRuns } from './reconcile.ts'
import { listTasks } from './runs.ts'
import { setupEngineTest, type EngineTestEnv } from './testing.ts'

let env: EngineTestEnv
let scratch: string
const children: ChildProcess[] = []

beforeAll(async () => {
  env = await setupEngineTest()
  scratch = mkdtempSync(path.join(os.tmpdir(), 'cr-restart-'))
})
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL')
  await env?.cleanup()
  rmSync(scratch, { recursive: true, force: true })
})

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

function workflow(tag: string) {
  const count = path.join(scratch, `${tag}-b-count`)
  return {
    count,
    yaml: `version: 1
name: restart-${tag}
analysis:
  stages:
    - id: A
      op: shell
      params: { command: "echo a-done" }
    - id: B
      op: shell
      params:
        command: |
          echo run >> ${count}
          for i in 1 2 3 4 5 6 7 8 9 10 11 12; do echo "line $i"; sleep 0.25; done
    - id: C
      op: shell
      params: { command: "echo c-done" }
`,
  }
}

/** starts an engine in a child process; resolves with the run id */
async function startInChild(versionId: string): Promise<{ child: ChildProcess; runId: string }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(process.cwd(), 'server/execution/testing-child.ts'), versionId],
    {
      env: { ...process.env, DATABASE_URL: env.t.url, CONTROLROOM_HOME: env.home },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  children.push(child)
  let err = ''
  child.stderr!.on('data', (d) => (err += d))
  const runId = await new Promise<string>((res, rej) => {
    let buf = ''
    child.stdout!.on('data', (d) => {
      buf += d
      const end = buf.indexOf('\n')
      if (end >= 0) res(JSON.parse(buf.slice(0, end)).runId)
    })
    child.once('exit', (code) => rej(new Error(`engine child exited ${code}: ${err}`)))
    setTimeout(() => rej(new Error(`engine child did not start: ${err}`)), 40_000)
  })
  return { child, runId }
}

async function waitForTaskRunning(runId: string, stageId: string) {
  const t0 = Date.now()
  for (;;) {
    const t = await env.t.db.task.findFirst({ where: { runId, stageId } })
    const run = await env.t.db.run.findUnique({ where: { id: runId } })
    if (t?.state === 'running' && existsSync(path.join(run!.runDir!, 'tasks', t.id, 'started.json'))) return t
    if (Date.now() - t0 > 40_000) throw new Error(`${stageId} did not start`)
    await sleep(50)
  }
}

async function killChild(child: ChildProcess) {
  const exited = new Promise((r) => child.once('exit', r))
  child.kill('SIGKILL')
  await exited
}

async function runEvents(runId: string) {
  return env.t.db.event.findMany({ where: { runId }, orderBy: { id: 'asc' } })
}

/** each event's id is greater than the one before it */
function expectIncreasingIds(events: readonly { id: number }[]) {
  let previous = -Infinity
  for (const e of events) {
    expect(e.id).toBeGreaterThan(previous)
    previous = e.id
  }
}

describe('server kill -9 mid-run, then restart', () => {
  it('re-attaches a still running task: it is not re-run, nothing written is lost, ids strictly increase', async () => {
    const wf = workflow('alive')
    const versionId = await env.save(wf.yaml)
    const { child, runId } = await startInChild(versionId)
    const b = await waitForTaskRunning(runId, 'B')
    await sleep(400) // B has written some lines
    await killChild(child)
    const before = await runEvents(runId)
    expect(before.length).toBeGreaterThan(5)

    const report = await reconcileRuns({ engine: env.engine })
    expect(report.adopted).toContain(runId)
    expect(await env.waitFor(runId)).toBe('succeeded')

    const after = await runEvents(runId)
    // nothing that was written is lost, and ids strictly increase
    expect(after.slice(0, before.length).map((e) => [e.id, e.type, e.payload])).toEqual(
      before.map((e) => [e.id, e.type, e.payload]),
    )
    expectIncreasingIds(after)
    const { items } = await listTasks(env.t.db, { runId })
    for (const t of items) expect(t).toMatchObject({ state: 'succeeded', attempt: 0 })
    // each task has its whole life in the event log
    for (const t of items) {
      const seq = after.filter((e) => e.taskId === t.id && e.type === 'task.state').map((e) => JSON.parse(e.payload).to)
      expect(seq, t.stageId).toEqual(['queued', 'running', 'succeeded'])
    }
    expect(readFileSync(wf.count, 'utf8')).toBe('run\n') // B ran once: re-attached, not re-run
    const run = await env.t.db.run.findUnique({ where: { id: runId } })
    const out = readFileSync(path.join(run!.runDir!, 'tasks', b.id, 'stdout.log'), 'utf8')
    expect(out).toBe(Array.from({ length: 12 }, (_, i) => `line ${i + 1}\n`).join(''))
    expect(
      after.some((e) => e.type === 'run.log' && JSON.parse(e.payload).message.startsWith('re-attached by process')),
    ).toBe(true)
    expect(processesWithEnv('CONTROLROOM_RUN_ID', runId)).toEqual([])
  })

  it('a task whose process vanished too becomes lost, is retried, and the run completes', async () => {
    const wf = workflow('lost')
    const versionId = await env.save(wf.yaml)
    const { child, runId } = await startInChild(versionId)
    const b = await waitForTaskRunning(runId, 'B')
    await sleep(300)
    await killChild(child)
    const run = await env.t.db.run.findUnique({ where: { id: runId } })
    const started = JSON.parse(readFileSync(path.join(run!.runDir!, 'tasks', b.id, 'started.json'), 'utf8'))
    killGroup(started.pgid, 'SIGKILL')
    killGroup(started.childPid, 'SIGKILL')
    await sleep(200)
    const before = await runEvents(runId)

    const report = await reconcileRuns({ engine: env.engine })
    expect(report.adopted).toContain(runId)
    expect(await env.waitFor(runId)).toBe('succeeded')
    const after = await runEvents(runId)
    expect(after.slice(0, before.length).map((e) => e.id)).toEqual(before.map((e) => e.id))
    expectIncreasingIds(after)
    const seq = after.filter((e) => e.taskId === b.id && e.type === 'task.state').map((e) => JSON.parse(e.payload).to)
    expect(seq).toEqual(['queued', 'running', 'lost', 'retrying', 'queued', 'running', 'succeeded'])
    const { items } = await listTasks(env.t.db, { runId })
    expect(items.find((t) => t.stageId === 'B')).toMatchObject({ state: 'succeeded', attempt: 1 })
    expect(items.find((t) => t.stageId === 'C')!.state).toBe('succeeded')
    expect(readFileSync(wf.count, 'utf8')).toBe('run\nrun\n')
    // the first attempt's partial log is kept, the second follows its marker
    const out = readFileSync(path.join(run!.runDir!, 'tasks', b.id, 'stdout.log'), 'utf8')
    expect(out).toMatch(/^line 1\n[\s\S]*--- controlroom: attempt 2 at .* ---\nline 1\n[\s\S]*line 12\n$/)
  })

  it('a cancel from another process is forwarded to the process that owns the run', async () => {
    const wf = workflow('forward')
    const versionId = await env.save(wf.yaml)
    const { child, runId } = await startInChild(versionId)
    await waitForTaskRunning(runId, 'B')
    const { cancelRun } = await import('./runs.ts')
    expect(await cancelRun({ runId }, env.engine)).toEqual({ runId, forwarded: true })
    const t0 = Date.now()
    while ((await env.t.db.run.findUnique({ where: { id: runId } }))!.state !== 'cancelled') {
      if (Date.now() - t0 > 30_000) throw new Error('the owner did not cancel the run')
      await sleep(100)
    }
    expect(processesWithEnv('CONTROLROOM_RUN_ID', runId)).toEqual([])
    const { items } = await listTasks(env.t.db, { runId })
    expect(items.find((t) => t.stageId === 'B')).toMatchObject({ state: 'cancelled', reason: 'run cancelled' })
    await killChild(child)
  })

  it('leaves runs owned by another live process alone', async () => {
    const wf = workflow('owned')
    const versionId = await env.save(wf.yaml)
    const { child, runId } = await startInChild(versionId)
    await waitForTaskRunning(runId, 'B')
    const report = await reconcileRuns({ engine: env.engine })
    expect(report.adopted).not.toContain(runId)
    expect(report.skipped.map((s) => s.runId)).toContain(runId)
    await killChild(child)
    expect((await reconcileRuns({ engine: env.engine })).adopted).toContain(runId)
    expect(await env.waitFor(runId)).toBe('succeeded')
  })
})

describe('server kill -9 in the middle of 200 tasks on warm executors', () => {
  it('every task ends exactly once: nothing lost, nothing run twice, one terminal event each', async () => {
    const ran = path.join(scratch, 'many-ran')
    const files = Array.from({ length: 200 }, (_, i) => `        - part${i}`).join('\n')
    const yaml = `version: 1
name: restart-many
data:
  datasets:
    - name: parts
      files:
${files}
analysis:
  stages:
    - id: Many
      op: shell
      params: { command: "echo $CONTROLROOM_PARTITION >> ${ran}; sleep 0.02", dataset: parts, partition: file }
execution:
  pools:
    default: { workers: 2, resources: { cpus: 1 } }
`
    const versionId = await env.save(yaml)
    const { child, runId } = await startInChild(versionId)
    const t0 = Date.now()
    while ((await env.t.db.task.count({ where: { runId, state: 'succeeded' } })) < 40) {
      if (Date.now() - t0 > 60_000) throw new Error('the run did not progress')
      await sleep(50)
    }
    await killChild(child)
    const doneBefore = await env.t.db.task.count({ where: { runId, state: 'succeeded' } })
    expect(doneBefore).toBeLessThan(200) // killed mid-run
    const report = await reconcileRuns({ engine: env.engine })
    expect(report.adopted).toContain(runId)
    expect(await env.waitFor(runId, 120_000)).toBe('succeeded')

    const { items } = await listTasks(env.t.db, { runId, limit: 1000 })
    expect(items.length).toBe(200)
    for (const t of items) expect(t.state).toBe('succeeded')
    // each command ran exactly once
    const lines = readFileSync(ran, 'utf8').trim().split('\n').sort()
    expect(lines).toEqual(Array.from({ length: 200 }, (_, i) => `part${i}`).sort())
    // each task's life is stored once and ends once. A task the dead server had queued but not yet
    // handed to an executor is `lost` with that reason, then runs (once) as its next attempt.
    const evs = await env.t.db.event.findMany({ where: { runId, type: 'task.state' }, orderBy: { id: 'asc' } })
    const byTask = new Map<string, { to: string; reason?: string }[]>()
    for (const e of evs) byTask.set(e.taskId!, [...(byTask.get(e.taskId!) ?? []), JSON.parse(e.payload)])
    for (const seq of byTask.values()) {
      const states = seq.map((p) => p.to)
      if (states.includes('lost')) {
        expect(states).toEqual(['queued', 'lost', 'retrying', 'queued', 'running', 'succeeded'])
        expect(seq[1]!.reason).toBe('it had not been handed to a worker when the server stopped')
      } else expect(states).toEqual(['queued', 'running', 'succeeded'])
    }
    await until0(() => processesWithEnv('CONTROLROOM_RUN_ID', runId).length === 0)
  })
})

async function until0(fn: () => boolean, ms = 10_000) {
  const t0 = Date.now()
  while (!fn()) {
    if (Date.now() - t0 > ms) throw new Error('timed out')
    await sleep(50)
  }
}
