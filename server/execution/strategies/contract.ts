/**
 * The Strategy contract: one behavioural test suite that every strategy must pass.
 *
 *   // server/execution/strategies/local.test.ts
 *   runStrategyContract({ name: 'local', create: () => new LocalStrategy(), ... })
 *
 * A batch strategy (slurm, htcondor) calls it the same way from its own test file, with a run
 * directory its workers can see (shared-fs), its own `impossiblePool` and `samples` of external
 * states. What it checks:
 *   - preflight: a satisfiable plan gives no error; an impossible pool is refused BEFORE dispatch,
 *     with the pool named and a reason (not left pending);
 *   - render: a non-empty submission text per pool (the preview);
 *   - mapState: every sample external state maps onto the expected worker/task state;
 *   - submit (a single task and a group: one result per launch, same order), poll of all jobs in
 *     one call, exit codes through result.json, failure of a non-zero exit;
 *   - cancel: the job ends (cancelled or failed) and, when `processesOf` is given, leaves no process;
 *   - reattach: a NEW session (a restarted server) finds a running job by its stored JobRef,
 *     follows it to the end without resubmitting; an unknown job becomes `lost`.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ExecutionPlan, PlanPool, PlanStage } from '../../workflow/types.ts'
import { buildDispatch, writeSpec } from '../spec.ts'
import { taskFiles } from '../paths.ts'
import type {
  JobRef,
  JobStatus,
  MappedJobState,
  Strategy,
  StrategyContext,
  StrategySession,
  TaskLaunch,
  TaskResult,
} from '../types.ts'

export interface ContractOptions {
  name: string
  create: () => Strategy | Promise<Strategy>
  /** a run directory the strategy's workers see (default: a temp dir) */
  runDir?: () => string
  /** strategy context (site config, host override) */
  context?: StrategyContext
  /** resources of a pool this strategy must refuse at preflight (default: 64 GPUs) */
  impossiblePool?: Partial<PlanPool['resources']>
  /** resources of a pool it must accept (default: 1 cpu) */
  possiblePool?: Partial<PlanPool['resources']>
  /** external states and what they must map to */
  samples?: {
    external: { state: string; reason?: string | null; exitCode?: number | null; signal?: string | number | null }
    expect: Partial<MappedJobState>
  }[]
  /** live processes belonging to a job (local: by process group); checked empty after cancel */
  processesOf?: (ref: JobRef) => number[]
  /** how long a job may take to finish (batch systems are slower) */
  jobTimeoutMs?: number
  /** skip the tests that run real jobs (no batch system here) */
  skipJobs?: boolean
  /** a ref to a job that does not exist (default: a dead local pid) */
  ghostRef?: (stored: JobRef) => JobRef
}

/** the first of a list the test expects not empty (fails the test with what was expected) */
function first<T>(xs: readonly T[], what: string): T {
  const x = xs[0]
  if (x === undefined) throw new Error(`expected ${what}, got none`)
  return x
}

const poolOf = (name: string, r: Partial<PlanPool['resources']>, workers = 2): PlanPool => ({
  name,
  workers,
  resources: { cpus: 1, memoryBytes: null, gpus: 0, diskBytes: null, ...r },
  resourceClass: null,
  config: {},
  implicit: false,
  stages: [name === 'default' ? 'S' : `S_${name}`],
})

const stageOf = (id: string, pool: string, params: Record<string, unknown>): PlanStage => ({
  id,
  op: 'shell',
  params,
  needs: [],
  inputs: [],
  pool,
  resources: { cpus: 1, memoryBytes: null, gpus: 0, diskBytes: null },
  routing: { require: null, prefer: null, fallback: null, decision: 'default', reason: 'contract test' },
  modifiers: [],
  timeoutSeconds: null,
  retries: null,
  index: 0,
})

/** a plan of these pools, a `true` stage on each (`over` replaces any field, e.g. strategy or stages) */
export function contractPlan(pools: PlanPool[], over: Partial<ExecutionPlan> = {}): ExecutionPlan {
  return {
    schemaVersion: 1,
    hash: 'contract',
    name: 'contract',
    backend: 'local',
    strategy: 'local',
    pools,
    stages: pools.map((p) => stageOf(p.stages[0] ?? 'S', p.name, { command: 'true' })),
    edges: [],
    environment: { type: 'shared-fs' },
    credentials: [],
    config: {},
    registry: { ops: {} },
    datasets: [],
    passthrough: {},
    warnings: [],
    ...over,
  }
}

let seq = 0
/** writes a spec for a shell command and returns its launch */
export function contractLaunch(
  runDir: string,
  runId: string,
  command: string,
  opts: { timeoutSeconds?: number } = {},
): TaskLaunch {
  const taskId = `ct${process.pid}x${++seq}x${Date.now().toString(36)}`
  const stage = { ...stageOf('S', 'default', { command }), timeoutSeconds: opts.timeoutSeconds ?? null }
  const plan = contractPlan([poolOf('default', {})])
  const d = buildDispatch({
    plan: { ...plan, stages: [stage] },
    stage,
    runId,
    runDir,
    taskId,
    attempt: 0,
    partition: null,
    inputs: {},
  })
  writeSpec(d)
  return d.launch
}

async function until<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs: number): Promise<T> {
  const t0 = Date.now()
  for (;;) {
    const v = await fn()
    if (v) return v
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

export function runStrategyContract(o: ContractOptions): void {
  const jobTimeout = o.jobTimeoutMs ?? 20_000
  describe(`strategy contract: ${o.name}`, () => {
    let strategy: Strategy
    let runDir: string
    let ownDir: string | null = null
    const runId = `rcontract${process.pid}`
    const pushed: JobStatus[] = []
    const sessions: StrategySession[] = []
    const open = async () => {
      const s = await strategy.open({
        ...(o.context ?? {}),
        runId,
        runDir,
        plan: contractPlan([poolOf('default', o.possiblePool ?? {})]),
        onStatus: (st) => pushed.push(st),
        log: () => {},
      })
      sessions.push(s)
      return s
    }
    const finalOf = async (s: StrategySession, ref: JobRef) =>
      until(
        `job ${ref.jobId} to end`,
        async () => {
          const pushedFinal = pushed.find((p) => p.ref.taskId === ref.taskId && p.final)
          if (pushedFinal) return pushedFinal
          const st = first(await s.poll([ref]), `a status of job ${ref.jobId}`)
          return st.final ? st : null
        },
        jobTimeout,
      )

    beforeAll(async () => {
      strategy = await o.create()
      if (o.runDir) runDir = o.runDir()
      else runDir = ownDir = mkdtempSync(path.join(os.tmpdir(), `cr-contract-${o.name}-`))
    })
    afterAll(async () => {
      for (const s of sessions) await s.close().catch(() => {})
      if (ownDir) rmSync(ownDir, { recursive: true, force: true })
    })

    it('has a name, a worker model and a worker kind', () => {
      expect(strategy.name).toBe(o.name)
      expect(['slot', 'job']).toContain(strategy.workerModel)
      expect(['process', 'slurm', 'htcondor', 'dask']).toContain(strategy.workerKind)
    })

    it('preflight accepts a satisfiable plan and refuses an impossible pool with a reason', async () => {
      const ok = await strategy.preflight(contractPlan([poolOf('default', o.possiblePool ?? {})]), o.context)
      expect(ok.filter((p) => p.severity === 'error')).toEqual([])
      const bad = await strategy.preflight(
        contractPlan([poolOf('default', o.possiblePool ?? {}), poolOf('huge', o.impossiblePool ?? { gpus: 64 })]),
        o.context,
      )
      const errors = bad.filter((p) => p.severity === 'error')
      expect(errors.length).toBeGreaterThan(0)
      expect(errors.every((e) => e.pool === 'huge')).toBe(true)
      expect(first(errors, 'an error').message).toMatch(/huge/)
      expect(first(errors, 'an error').message.length).toBeGreaterThan(20)
    })

    it('renders a submission text for a pool', async () => {
      const plan = contractPlan([poolOf('default', o.possiblePool ?? {})])
      const r = await strategy.render(first(plan.pools, 'a pool'), plan, { ...(o.context ?? {}), runDir })
      expect(typeof r.kind).toBe('string')
      expect(r.text.trim().length).toBeGreaterThan(0)
      expect(Array.isArray(r.problems)).toBe(true)
    })

    it('maps external states onto worker and task states', () => {
      for (const s of o.samples ?? []) {
        const m = strategy.mapState(s.external)
        expect(['requested', 'pending-in-queue', 'running', 'gone']).toContain(m.worker)
        expect(['queued', 'running', 'succeeded', 'failed', 'cancelled', 'lost']).toContain(m.task)
        expect(m, `${s.external.state}/${s.external.reason ?? ''}`).toMatchObject(s.expect)
      }
    })

    it.skipIf(!!o.skipJobs)('runs a task to success and a failing task to failure, polled in one call', async () => {
      const s = await open()
      const okL = contractLaunch(runDir, runId, 'echo contract-ok')
      const badL = contractLaunch(runDir, runId, 'echo contract-bad >&2; exit 7')
      const res = await s.submit([okL, badL])
      expect(res.length).toBe(2)
      expect(res.map((r) => (r.ok ? r.ref.taskId : r.taskId))).toEqual([okL.taskId, badL.taskId])
      const refs = res.map((r) => {
        if (!r.ok) throw new Error(r.problem.message)
        return r.ref
      })
      const both = await s.poll(refs)
      expect(both.length).toBe(2)
      const [okRef, badRef] = refs
      if (!okRef || !badRef) throw new Error('expected two job refs')
      const okS = await finalOf(s, okRef)
      const badS = await finalOf(s, badRef)
      expect(okS.task).toBe('succeeded')
      expect(badS.task).toBe('failed')
      const r1 = JSON.parse(readFileSync(taskFiles(okL.taskDir).result, 'utf8')) as TaskResult
      const r2 = JSON.parse(readFileSync(taskFiles(badL.taskDir).result, 'utf8')) as TaskResult
      expect(r1.exitCode).toBe(0)
      expect(r2.exitCode).toBe(7)
      expect(readFileSync(taskFiles(okL.taskDir).stdout, 'utf8')).toContain('contract-ok')
      expect(readFileSync(taskFiles(badL.taskDir).stderr, 'utf8')).toContain('contract-bad')
    })

    it.skipIf(!!o.skipJobs)('cancels a running task and leaves nothing behind', async () => {
      const s = await open()
      const l = contractLaunch(runDir, runId, 'sleep 60 & sleep 60; wait')
      const r = first(await s.submit([l]), 'a submit result')
      if (!r.ok) throw new Error(r.problem.message)
      await until('the job to run', async () => first(await s.poll([r.ref]), 'a status').task === 'running', jobTimeout)
      await s.cancel([r.ref])
      const st = await finalOf(s, r.ref)
      expect(['cancelled', 'failed']).toContain(st.task)
      if (o.processesOf) await until('no process left', async () => o.processesOf!(r.ref).length === 0, 5000)
    })

    it.skipIf(!!o.skipJobs)(
      're-attaches to a running job from a new session by its stored ref; an unknown job is lost',
      async () => {
        const s1 = await open()
        const l = contractLaunch(runDir, runId, 'sleep 1.5; echo reattached')
        const r = first(await s1.submit([l]), 'a submit result')
        if (!r.ok) throw new Error(r.problem.message)
        const stored: JobRef = JSON.parse(JSON.stringify(r.ref))
        await s1.close()
        pushed.length = 0
        const s2 = await open()
        const now = first(await s2.reattach([stored]), 'a re-attached status')
        expect(now.final).toBe(false)
        const end = await finalOf(s2, stored)
        expect(end.task).toBe('succeeded')
        expect(readFileSync(taskFiles(l.taskDir).stdout, 'utf8')).toContain('reattached')
        const ghost: JobRef = o.ghostRef
          ? o.ghostRef(stored)
          : {
              ...stored,
              taskId: `${stored.taskId}-ghost`,
              jobId: '999999:1',
              pid: 999999,
              data: { ...stored.data, taskDir: path.join(runDir, 'tasks', 'ghost'), pgid: 999999, startTicks: 1 },
            }
        const lost = first(await s2.reattach([ghost]), 'the ghost job status')
        expect(lost.final).toBe(true)
        expect(lost.task).toBe('lost')
      },
    )
  })
}
