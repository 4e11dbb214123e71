/**
 * Run engine integration tests: real task processes, real SQLite.
 * (No assertion on speed: other suites run on the same 2-core machine.)
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isDomainError } from '../errors.ts'
import { compileWorkflow } from '../workflow/index.ts'
import { RunRefusedError } from './engine.ts'
import { processesInGroups, processesWithEnv } from './procfs.ts'
import { cancelRun, getRun, listTasks, readLog, rerunFrom, retryTask, startRun } from './runs.ts'
import { must, mustHave } from '../must.ts'
import { setupEngineTest, type EngineTestEnv } from './testing.ts'
import { parseRunEvent, type RunEvent } from './events.ts'

let env: EngineTestEnv
let scratch: string

beforeAll(async () => {
  env = await setupEngineTest({ host: { gpus: 1 }, timeoutGraceSeconds: 5 })
  scratch = mkdtempSync(path.join(os.tmpdir(), 'cr-engine-scratch-'))
})
afterAll(async () => {
  await env?.cleanup()
  rmSync(scratch, { recursive: true, force: true })
})

async function dbEvents(runId: string): Promise<RunEvent[]> {
  const rows = await env.t.db.event.findMany({ where: { runId }, orderBy: { id: 'asc' } })
  return rows.map((r) => parseRunEvent({ ...r, at: r.at.toISOString(), payload: JSON.parse(r.payload) }))
}

/** the run's tasks by stage id; fails naming the stage when one of `expected` has no task */
async function tasksByStage<S extends string>(runId: string, expected: readonly S[]) {
  const { items } = await listTasks(env.t.db, { runId, limit: 1000 })
  return mustHave(Object.fromEntries(items.map((t) => [t.stageId, t])), expected, `the tasks of run ${runId}`)
}

/** [start, end] (event ids and times) of each task's last attempt, from task.state events */
function spans(events: RunEvent[]) {
  const out = new Map<
    string,
    { stage: string; pool: string; startId: number; endId: number; start: number; end: number }
  >()
  for (const e of events) {
    if (e.type !== 'task.state' || !e.taskId) continue
    const p = e.payload as { to: string; stage: string; pool: string }
    const cur = out.get(e.taskId) ?? { stage: p.stage, pool: p.pool, startId: -1, endId: -1, start: -1, end: -1 }
    if (p.to === 'running') Object.assign(cur, { startId: e.id, start: Date.parse(e.at) })
    if (p.to === 'succeeded' || p.to === 'failed' || p.to === 'cancelled' || p.to === 'skipped')
      Object.assign(cur, { endId: e.id, end: Date.parse(e.at) })
    out.set(e.taskId, cur)
  }
  return [...out.values()]
}

function maxConcurrentByPool(events: RunEvent[]): Record<string, number> {
  const running = new Map<string, Set<string>>()
  const max: Record<string, number> = {}
  for (const e of events) {
    if (e.type !== 'task.state' || !e.taskId) continue
    const p = e.payload as { to: string; from: string; pool: string }
    const set = running.get(p.pool) ?? new Set()
    running.set(p.pool, set)
    if (p.to === 'running') set.add(e.taskId)
    else set.delete(e.taskId)
    max[p.pool] = Math.max(max[p.pool] ?? 0, set.size)
  }
  return max
}

function noProcessOf(runId: string) {
  return processesWithEnv('CONTROLROOM_RUN_ID', runId)
}

describe('runs on real processes', () => {
  it('runs the heterogeneous example to success, in order, within each pool concurrency', async () => {
    let yaml = readFileSync(path.join(process.cwd(), 'examples', 'heterogeneous.yaml'), 'utf8')
    // a host configuration this 2-cpu machine satisfies (the engine is told the host has 1 GPU)
    yaml = yaml
      .replace(/cpus: 4\n(\s+)memory: 64GB/, 'cpus: 1\n$1memory: 1GB')
      .replace(/memory: 16GB/, 'memory: 1GB')
      .replace(/memory: 4GB/, 'memory: 1GB')
    yaml = yaml
      .replace('echo building index', 'echo building index; sleep 0.3')
      .replace('echo training model', 'echo training model on $CONTROLROOM_POOL; sleep 0.3')
    // hep.hist reads events (the hep.* ops need data.datasets, covered by their own tests): here the
    // plotting stage is a declared custom op, so this test is about routing, pools, modifiers, order
    yaml = yaml
      .replace(
        'registry:\n  ops:\n',
        'registry:\n  ops:\n    custom.plots:\n      command: ["sh", "-c", "echo histogram of {expression}"]\n',
      )
      .replace(
        /id: ProducePlots\n {6}op: [\w.]+\n/,
        'id: ProducePlots\n      op: custom.plots\n      params: { expression: Muon_Pt }\n',
      )
    const versionId = await env.save(yaml)
    const { runId } = await startRun({ versionId }, env.engine)
    expect(await env.waitFor(runId)).toBe('succeeded')
    const tasks = await tasksByStage(runId, ['BuildIndex', 'TrainModel', 'ProducePlots'])
    expect(Object.keys(tasks).sort()).toEqual(['BuildIndex', 'ProducePlots', 'TrainModel'])
    for (const t of Object.values(tasks)) expect(t).toMatchObject({ state: 'succeeded', exitCode: 0 })
    expect(tasks.BuildIndex.pool).toBe('high_memory')
    expect(tasks.TrainModel.pool).toBe('gpu')
    expect(tasks.ProducePlots.pool).toBe('default')
    const events = await dbEvents(runId)
    const sp = mustHave(
      Object.fromEntries(spans(events).map((s) => [s.stage, s])),
      ['BuildIndex', 'TrainModel', 'ProducePlots'],
      'the task spans',
    )
    // dependants started after their needs ended (event order and timestamps)
    expect(sp.TrainModel.startId).toBeGreaterThan(sp.BuildIndex.endId)
    expect(sp.ProducePlots.startId).toBeGreaterThan(sp.TrainModel.endId)
    expect(sp.TrainModel.start).toBeGreaterThanOrEqual(sp.BuildIndex.end)
    expect(sp.ProducePlots.start).toBeGreaterThanOrEqual(sp.TrainModel.end)
    const log = await readLog(env.t.db, { taskId: tasks.TrainModel.id, stream: 'stdout' })
    expect(log.text).toContain('training model on gpu')
    expect((await readLog(env.t.db, { taskId: tasks.ProducePlots.id, stream: 'stdout' })).text).toBe(
      'histogram of Muon_Pt\n',
    )
    // modifiers travelled to the task
    const spec = JSON.parse(
      readFileSync(path.join(env.home, 'runs', runId, 'tasks', tasks.TrainModel.id, 'spec.json'), 'utf8'),
    )
    expect(spec.env).toMatchObject({ FASTHEP_GPU_PRELOAD: '1', FASTHEP_CUDA_JIT: '1' })
    const info = await getRun(env.t.db, runId)
    expect(info.run.state).toBe('succeeded')
    expect(info.stages.map((s) => [s.id, s.done, s.total])).toEqual([
      ['BuildIndex', 1, 1],
      ['TrainModel', 1, 1],
      ['ProducePlots', 1, 1],
    ])
    const gpu = must(
      info.pools.find((p) => p.name === 'gpu'),
      'the gpu pool',
    )
    expect(gpu.live.length).toBe(1)
    expect(must(gpu.live[0], 'a live gpu worker').state).toBe('gone')
  })

  it('respects per-pool concurrency (max running per pool <= workers)', async () => {
    const stage = (id: string, pool: string) =>
      `    - id: ${id}\n      op: shell\n      needs: []\n      params: { command: "sleep 0.4" }\n${pool === 'default' ? '' : `      execution: { require: ${pool} }\n`}`
    const yaml = `version: 1\nname: concurrency\nanalysis:\n  stages:\n${['a1', 'a2', 'a3', 'a4', 'a5'].map((s) => stage(s, 'default')).join('')}${['s1', 's2', 's3'].map((s) => stage(s, 'solo')).join('')}execution:\n  pools:\n    default: { workers: 2, resources: { cpus: 1 } }\n    solo: { workers: 1, resources: { cpus: 1 } }\n`
    const { runId } = await startRun({ versionId: await env.save(yaml) }, env.engine)
    expect(await env.waitFor(runId)).toBe('succeeded')
    const max = maxConcurrentByPool(await dbEvents(runId))
    expect(max.default).toBeLessThanOrEqual(2)
    expect(max.default).toBeGreaterThanOrEqual(1)
    expect(max.solo).toBe(1)
    const workers = await env.t.db.worker.findMany({ where: { runId } })
    expect(workers.filter((w) => w.pool === 'default').length).toBeLessThanOrEqual(2)
    expect(workers.filter((w) => w.pool === 'solo').length).toBe(1)
  })

  it('a failing task cancels its dependants; independent branches go on; the run fails', async () => {
    const yaml = `version: 1
name: failure
analysis:
  stages:
    - id: A
      op: shell
      params: { command: "echo about to fail >&2; exit 3" }
    - id: B
      op: shell
      params: { command: "echo never" }
    - id: C
      op: noop
    - id: D
      op: shell
      needs: []
      params: { command: "sleep 0.2; echo independent" }
execution:
  pools:
    default: { workers: 2, resources: { cpus: 1 } }
`
    const { runId } = await startRun({ versionId: await env.save(yaml) }, env.engine)
    expect(await env.waitFor(runId)).toBe('failed')
    const t = await tasksByStage(runId, ['A', 'B', 'C', 'D'])
    expect(t.A).toMatchObject({ state: 'failed', exitCode: 3, reason: 'exit code 3' })
    expect(t.B).toMatchObject({ state: 'skipped', reason: 'upstream A failed' })
    expect(t.C).toMatchObject({ state: 'skipped', reason: 'upstream A failed' })
    expect(t.D).toMatchObject({ state: 'succeeded' })
    expect(existsSync(path.join(env.home, 'runs', runId, 'tasks', t.B.id, 'spec.json'))).toBe(false)
    const err = await readLog(env.t.db, { taskId: t.A.id, stream: 'stderr' })
    expect(err.text).toBe('about to fail\n')
    const run = await env.t.db.run.findUnique({ where: { id: runId } })
    expect(run).toMatchObject({ state: 'failed', error: '1 task failed' })
  })

  it('a timeout kills the task (and its process tree) and fails it', async () => {
    const yaml = `version: 1
name: timeout
analysis:
  stages:
    - id: Sleepy
      op: shell
      params: { command: "sleep 60 & sleep 60" }
      execution: { timeout: 2s }
`
    const { runId } = await startRun({ versionId: await env.save(yaml) }, env.engine)
    expect(await env.waitFor(runId)).toBe('failed')
    const t = await tasksByStage(runId, ['Sleepy'])
    expect(t.Sleepy).toMatchObject({ state: 'failed', reason: 'timed out after 2s' })
    expect(t.Sleepy.durationMs).toBeLessThan(30_000)
    expect(noProcessOf(runId)).toEqual([])
  })

  it('retries a task that fails once, then succeeds (stage retries)', async () => {
    const marker = path.join(scratch, 'retry-marker')
    const yaml = `version: 1
name: retry
analysis:
  stages:
    - id: Flaky
      op: shell
      params: { command: "if [ -f ${marker} ]; then echo second; exit 0; else touch ${marker}; echo first; exit 1; fi" }
      execution: { retries: 1 }
`
    const { runId } = await startRun({ versionId: await env.save(yaml) }, env.engine)
    expect(await env.waitFor(runId)).toBe('succeeded')
    const t = await tasksByStage(runId, ['Flaky'])
    expect(t.Flaky).toMatchObject({ state: 'succeeded', attempt: 1, maxRetries: 1 })
    const seq = (await dbEvents(runId))
      .filter((e) => e.type === 'task.state')
      .map((e) => (e.payload as { to: string }).to)
    expect(seq).toEqual(['queued', 'running', 'failed', 'retrying', 'queued', 'running', 'succeeded'])
    const log = await readLog(env.t.db, { taskId: t.Flaky.id, stream: 'stdout' })
    expect(log.text).toMatch(/^first\n--- controlroom: attempt 2 at .* ---\nsecond\n$/)
    expect(existsSync(path.join(env.home, 'runs', runId, 'tasks', t.Flaky.id, 'result.0.json'))).toBe(true)
  })

  it('cancels a run: every task process is gone afterwards', async () => {
    const yaml = `version: 1
name: cancel
analysis:
  stages:
    - id: S1
      op: shell
      params: { command: "sleep 60 & sleep 60; wait" }
    - id: S2
      op: shell
      needs: []
      params: { argv: ["sleep", "60"] }
    - id: S3
      op: shell
      needs: []
      params: { argv: ["sleep", "60"] }
    - id: After
      op: noop
      needs: [S1]
execution:
  pools:
    default: { workers: 2, resources: { cpus: 1 } }
`
    const { runId } = await startRun({ versionId: await env.save(yaml) }, env.engine)
    const t0 = Date.now()
    while ((await env.t.db.task.count({ where: { runId, state: 'running' } })) < 2) {
      if (Date.now() - t0 > 30_000) throw new Error('tasks did not start')
      await new Promise((r) => setTimeout(r, 100))
    }
    // wait until both runtimes have started their commands
    const taskDirs = path.join(env.home, 'runs', runId, 'tasks')
    while (readdirSync(taskDirs).filter((d) => existsSync(path.join(taskDirs, d, 'started.json'))).length < 2)
      await new Promise((r) => setTimeout(r, 50))
    const pgids: number[] = []
    for (const d of readdirSync(taskDirs)) {
      const f = path.join(taskDirs, d, 'started.json')
      if (!existsSync(f)) continue
      const st = JSON.parse(readFileSync(f, 'utf8'))
      pgids.push(st.pgid, st.childPid)
    }
    expect(processesInGroups(pgids).length).toBeGreaterThanOrEqual(2)
    await cancelRun({ runId }, env.engine)
    expect(await env.waitFor(runId)).toBe('cancelled')
    const t = await tasksByStage(runId, ['After'])
    expect(Object.values(t).every((x) => x.state === 'cancelled')).toBe(true)
    expect(t.After.reason).toBe('run cancelled')
    expect(processesInGroups(pgids)).toEqual([])
    expect(noProcessOf(runId)).toEqual([])
  })

  it('cancels one task: its process tree goes, its dependants are cancelled, the other branch finishes', async () => {
    const yaml = `version: 1
name: cancel-task
analysis:
  stages:
    - id: Long
      op: shell
      params: { command: "sleep 60 & sleep 60; wait" }
    - id: AfterLong
      op: noop
    - id: Other
      op: shell
      needs: []
      params: { command: "sleep 0.5; echo other" }
execution:
  pools:
    default: { workers: 2, resources: { cpus: 1 } }
`
    const { runId } = await startRun({ versionId: await env.save(yaml) }, env.engine)
    let long
    const t0 = Date.now()
    for (;;) {
      long = await env.t.db.task.findFirst({ where: { runId, stageId: 'Long' } })
      if (long?.state === 'running' && existsSync(path.join(env.home, 'runs', runId, 'tasks', long.id, 'started.json')))
        break
      if (Date.now() - t0 > 30_000) throw new Error('Long did not start')
      await new Promise((r) => setTimeout(r, 50))
    }
    const { cancelTask } = await import('./runs.ts')
    await cancelTask({ taskId: long!.id }, env.engine)
    expect(await env.waitFor(runId)).toBe('cancelled')
    const t = await tasksByStage(runId, ['Long', 'AfterLong', 'Other'])
    expect(t.Long).toMatchObject({ state: 'cancelled', reason: 'cancelled by user' })
    expect(t.AfterLong).toMatchObject({ state: 'skipped', reason: 'upstream Long was cancelled' })
    expect(t.Other.state).toBe('succeeded')
    expect(noProcessOf(runId)).toEqual([])
  })

  it('refuses a pool this host cannot give (64 GPUs) before dispatch, with the reason', async () => {
    const yaml = `version: 1
name: greedy
analysis:
  stages:
    - id: Train
      op: shell
      params: { command: "true" }
      execution: { require: gpu }
execution:
  pools:
    gpu: { workers: 1, resources: { gpus: 64 } }
`
    const before = await env.t.db.run.count()
    const e = await startRun({ versionId: await env.save(yaml) }, env.engine).catch((x) => x)
    expect(isDomainError(e)).toBe(true)
    expect(e.domainCode).toBe('NOT_RUNNABLE')
    expect(e.message).toMatch(/pool 'gpu' needs 64 GPUs per worker; this host has 1/)
    expect(e.details.problems).toEqual([
      expect.objectContaining({ pool: 'gpu', code: 'host-gpus-insufficient', severity: 'error' }),
    ])
    expect(await env.t.db.run.count()).toBe(before)
  })

  it('refuses an unregistered op before dispatch', async () => {
    const yaml = `version: 1\nname: unknown-op\nanalysis:\n  stages:\n    - id: X\n      op: custom.not_declared\n`
    const versionId = await env.save(yaml)
    const e = await startRun({ versionId }, env.engine).catch((x) => x)
    expect(isDomainError(e)).toBe(true)
    expect(e.domainCode).toBe('NOT_RUNNABLE')
    // the engine checks it too, whatever the compiler says
    const plan = compileWorkflow(`version: 1\nname: x\nanalysis:\n  stages:\n    - id: X\n      op: noop\n`, {
      forRun: true,
    }).plan!
    const v = await env.t.db.workflowVersion.findUnique({ where: { id: versionId } })
    const e2 = await env.engine
      .createRun({
        workflowId: v!.workflowId,
        versionId,
        plan: { ...plan, stages: [{ ...must(plan.stages[0], 'stage X of the plan'), op: 'mystery.op' }] },
      })
      .catch((x) => x)
    expect(e2).toBeInstanceOf(RunRefusedError)
    expect(e2.problems[0]).toMatchObject({ code: 'unregistered-op', severity: 'error' })
    expect(e2.message).toMatch(/op 'mystery.op' is not registered/)
  })

  it('retries a failed task by hand (its cancelled dependants run) and re-runs from a stage reusing upstream outputs', async () => {
    const marker = path.join(scratch, 'manual-marker')
    const counter = path.join(scratch, 'a-count')
    const yaml = `version: 1
name: manual
analysis:
  stages:
    - id: A
      op: shell
      params: { command: "echo a >> ${counter}; echo a-output > $CONTROLROOM_TASK_DIR/a.txt" }
    - id: B
      op: shell
      params:
        command: |
          test -f ${marker} || { touch ${marker}; exit 1; }
          dir=$(/usr/bin/python3 -c 'import json, os; print(json.loads(os.environ["CONTROLROOM_INPUTS"])["A"][0])')
          cat "$dir/a.txt"
    - id: C
      op: noop
`
    const { runId } = await startRun({ versionId: await env.save(yaml) }, env.engine)
    expect(await env.waitFor(runId)).toBe('failed')
    let t = await tasksByStage(runId, ['B', 'C'])
    expect(t.B.state).toBe('failed')
    expect(t.C).toMatchObject({ state: 'skipped', reason: 'upstream B failed' })
    await retryTask({ taskId: t.B.id }, env.engine)
    expect(await env.waitFor(runId)).toBe('succeeded')
    t = await tasksByStage(runId, ['B', 'C'])
    expect(t.B).toMatchObject({ state: 'succeeded', attempt: 1 })
    expect(t.C.state).toBe('succeeded')
    expect((await readLog(env.t.db, { taskId: t.B.id, stream: 'stdout' })).text).toContain('a-output')

    const re = await rerunFrom({ runId, stageId: 'B' }, env.engine)
    expect(await env.waitFor(re.runId)).toBe('succeeded')
    const t2 = await tasksByStage(re.runId, ['A', 'B', 'C'])
    expect(t2.A).toMatchObject({ state: 'succeeded', reason: `reused from run ${runId}` })
    expect(t2.B.state).toBe('succeeded')
    expect(t2.C.state).toBe('succeeded')
    // B of the new run read A's output from the old run's directory
    expect((await readLog(env.t.db, { taskId: t2.B.id, stream: 'stdout' })).text).toContain('a-output')
    expect(readFileSync(counter, 'utf8')).toBe('a\n') // A ran once in all
    const info = await getRun(env.t.db, re.runId)
    expect(info.run).toMatchObject({ reusedFrom: runId, rerunFromStage: 'B' })
  })

  it('runs python ops (module:function and script) with the environment python and records profile metrics', async () => {
    const script = path.join(scratch, 'job.py')
    const { writeFileSync } = await import('node:fs')
    writeFileSync(script, 'import sys\nprint("script args", sys.argv[1:])\n')
    process.env.CR_TEST_API_TOKEN = 'do-not-leak'
    const yaml = `version: 1
name: python
analysis:
  stages:
    - id: Mod
      op: python
      params: { module: "json:dumps", args: [{ "a": 1 }] }
      execution: { modifiers: [profile, diagnostics] }
    - id: Script
      op: python
      params: { script: ${JSON.stringify(script)}, args: ["x", 2] }
`
    const { runId } = await startRun({ versionId: await env.save(yaml) }, env.engine)
    expect(await env.waitFor(runId)).toBe('succeeded')
    const t = await tasksByStage(runId, ['Mod', 'Script'])
    expect(t.Mod.outputs).toEqual({ return: '{"a": 1}' })
    const m = t.Mod.metrics as Record<string, unknown>
    expect(m.peakRssBytes).toBeGreaterThan(0)
    expect(m.wallMs).toBeGreaterThanOrEqual(0)
    const diag = m.diagnostics as { env: Record<string, string>; host: string }
    expect(diag.host).toBe(os.hostname())
    expect(Object.keys(diag.env).some((k) => /TOKEN|SECRET|PASSWORD|PROXY|KEY/i.test(k))).toBe(false)
    expect((await readLog(env.t.db, { taskId: t.Script.id, stream: 'stdout' })).text).toBe("script args ['x', '2']\n")
  })
})
