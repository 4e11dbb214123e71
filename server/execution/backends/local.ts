/**
 * Backend `local`: our engine schedules. Per pool it accepts at most `pool.workers` tasks at once,
 * hands them to the strategy (local processes, Slurm jobs, HTCondor jobs), follows them through the
 * strategy's pushes and batched polls (one poll call for all jobs of the run), reads result.json
 * from the task directory when a job ends and reports everything to the engine.
 *
 * Workers: with a `slot` strategy (local) each pool has `workers` lanes (Worker rows) reused by its
 * tasks; with a `job` strategy (batch) every submitted job is a Worker row with its batch id.
 */
import { newId } from '../ids.ts'
import { readResult } from '../strategies/local.ts'
import type {
  ActiveTask,
  Backend,
  BackendRunContext,
  BackendSession,
  DispatchTask,
  JobRef,
  JobStatus,
  PrestartContext,
  Strategy,
  StrategySession,
  TaskLaunch,
  WorkerState,
} from '../types.ts'

interface Inflight {
  taskId: string
  attempt: number
  pool: string
  stageId: string
  taskDir: string
  ref: JobRef | null
  started: boolean
  workerId: string | null
  lastKey: string
  cancelRequested: boolean
  done: boolean
}

interface Slot {
  workerId: string
  busy: string | null
}

export class LocalBackend implements Backend {
  readonly name = 'local'
  supportsStrategy(): boolean {
    return true
  }
  prestart(strategy: Strategy, ctx: PrestartContext): () => void {
    return strategy.prestart?.(ctx) ?? (() => {})
  }
  async open(ctx: BackendRunContext): Promise<BackendSession> {
    const session = new LocalBackendSession(ctx)
    const strat = await ctx.strategy.open({
      ...ctx.strategyContext,
      runId: ctx.runId,
      runDir: ctx.runDir,
      plan: ctx.plan,
      onStatus: (s) => session.onStatus(s),
      onWorker: (u) => ctx.report.worker(u),
      log: (l, m) => ctx.report.log(l, m),
    })
    session.attach(strat)
    return session
  }
}

class LocalBackendSession implements BackendSession {
  private strat!: StrategySession
  private inflight = new Map<string, Inflight>()
  private count = new Map<string, number>()
  private slots = new Map<string, Slot[]>()
  private workersByPool: Map<string, number>
  private pollTimer: NodeJS.Timeout | null = null
  private polling = false
  private closed = false
  private jobModel: boolean
  /** the strategy reports its workers (warm executors): no slot rows here */
  private ownWorkers: boolean
  /** pools whose jobs carry several tasks (strategy.tasksPerJob > 1): pool.workers bounds their jobs */
  private packedPools = new Map<string, { jobs: number; tasksPerJob: number }>()

  constructor(private ctx: BackendRunContext) {
    const depth = Math.max(1, ctx.strategy.queueDepth ?? 1)
    this.workersByPool = new Map(ctx.plan.pools.map((p) => [p.name, Math.max(1, p.workers) * depth]))
    for (const p of ctx.plan.pools) {
      const n = Math.floor(ctx.strategy.tasksPerJob?.(p, ctx.plan, ctx.strategyContext) ?? 1)
      if (n > 1) this.packedPools.set(p.name, { jobs: Math.max(1, p.workers), tasksPerJob: n })
    }
    this.jobModel = ctx.strategy.workerModel === 'job'
    this.ownWorkers = !!ctx.strategy.ownWorkers
  }

  attach(s: StrategySession) {
    this.strat = s
  }

  get writesSpecs(): boolean {
    return !!this.ctx.strategy.writesSpecs
  }

  capacity(pool: string): number {
    const packed = this.packedPools.get(pool)
    if (packed) {
      // a job is busy while any of its tasks is; tasks not submitted yet fill jobs of their own
      const jobs = new Set<string>()
      let unsubmitted = 0
      for (const f of this.inflight.values())
        if (f.pool === pool && !f.done) f.ref?.jobId ? jobs.add(f.ref.jobId) : unsubmitted++
      const free = packed.jobs - jobs.size - Math.ceil(unsubmitted / packed.tasksPerJob)
      return Math.max(0, free) * packed.tasksPerJob
    }
    return (this.workersByPool.get(pool) ?? 1) - (this.count.get(pool) ?? 0)
  }

  private reserve(
    t: { taskId: string; attempt: number; pool: string; stageId: string; taskDir: string },
    ref: JobRef | null,
  ): Inflight {
    const f: Inflight = { ...t, ref, started: false, workerId: null, lastKey: '', cancelRequested: false, done: false }
    this.inflight.set(t.taskId, f)
    this.count.set(t.pool, (this.count.get(t.pool) ?? 0) + 1)
    if (!this.jobModel && !this.ownWorkers) f.workerId = this.takeSlot(t.pool, t.taskId)
    return f
  }

  private release(f: Inflight) {
    if (f.done) return
    f.done = true
    if (this.inflight.get(f.taskId) === f) this.inflight.delete(f.taskId)
    this.count.set(f.pool, Math.max(0, (this.count.get(f.pool) ?? 1) - 1))
    if (this.ownWorkers) return
    if (!this.jobModel) {
      const slot = this.slots.get(f.pool)?.find((s) => s.busy === f.taskId)
      if (slot) {
        slot.busy = null
        this.ctx.report.worker({
          workerId: slot.workerId,
          pool: f.pool,
          state: 'running',
          kind: this.ctx.strategy.workerKind,
          currentTaskId: null,
        })
      }
    } else if (f.workerId) {
      this.ctx.report.worker({
        workerId: f.workerId,
        pool: f.pool,
        state: 'gone',
        kind: this.ctx.strategy.workerKind,
        currentTaskId: null,
      })
    }
  }

  private takeSlot(pool: string, taskId: string): string {
    let slots = this.slots.get(pool)
    if (!slots) this.slots.set(pool, (slots = []))
    let slot = slots.find((s) => s.busy === null)
    if (!slot) {
      slot = { workerId: newId('w'), busy: null }
      slots.push(slot)
    }
    slot.busy = taskId
    this.ctx.report.worker({
      workerId: slot.workerId,
      pool,
      state: 'running',
      kind: this.ctx.strategy.workerKind,
      currentTaskId: taskId,
    })
    return slot.workerId
  }

  async dispatch(tasks: DispatchTask[]): Promise<void> {
    const toSubmit: { f: Inflight; launch: TaskLaunch }[] = []
    for (const t of tasks) {
      const l = t.launch
      if (t.inProcess) {
        // no process, no worker: runs here and now
        this.ctx.report.task({
          kind: 'running',
          taskId: l.taskId,
          attempt: l.attempt,
          workerId: null,
          at: new Date().toISOString(),
        })
        const result = await this.ctx.runInProcess(t)
        this.ctx.report.task({ kind: 'finished', taskId: l.taskId, attempt: l.attempt, result })
        continue
      }
      const f = this.reserve(
        { taskId: l.taskId, attempt: l.attempt, pool: l.pool, stageId: l.stageId, taskDir: l.taskDir },
        null,
      )
      toSubmit.push({ f, launch: l })
    }
    if (toSubmit.length === 0) return
    // group per stage+pool when the strategy can make array jobs of them
    const groups: { f: Inflight; launch: TaskLaunch }[][] = []
    if (this.ctx.strategy.supportsArrays) {
      const m = new Map<string, { f: Inflight; launch: TaskLaunch }[]>()
      for (const x of toSubmit) {
        const k = `${x.launch.stageId}\0${x.launch.pool}`
        if (!m.has(k)) m.set(k, [])
        m.get(k)!.push(x)
      }
      groups.push(...m.values())
    } else groups.push(toSubmit)
    await Promise.all(
      groups.map(async (group) => {
        let results
        try {
          results = await this.strat.submit(group.map((g) => g.launch))
        } catch (e) {
          results = group.map((g) => ({
            ok: false as const,
            taskId: g.launch.taskId,
            problem: {
              code: 'submit-failed',
              severity: 'error' as const,
              pool: g.launch.pool,
              message: (e as Error).message,
            },
          }))
        }
        results.forEach((r, i) => {
          const { f } = group[i]!
          if (!r.ok) {
            this.ctx.report.task({ kind: 'failed', taskId: f.taskId, attempt: f.attempt, reason: r.problem.message })
            this.release(f)
            return
          }
          f.ref = r.ref
          if (this.jobModel) {
            f.workerId = r.ref.workerId ?? newId('w')
            r.ref.workerId = f.workerId
            this.ctx.report.worker({
              workerId: f.workerId,
              pool: f.pool,
              state: 'requested',
              kind: this.ctx.strategy.workerKind,
              batchJobId: r.ref.jobId,
              currentTaskId: f.taskId,
            })
          } else if (!this.ownWorkers) r.ref.workerId = f.workerId
          this.ctx.report.task({ kind: 'submitted', taskId: f.taskId, attempt: f.attempt, ref: r.ref })
          if (f.cancelRequested) void this.strat.cancel([r.ref])
        })
      }),
    )
    this.schedulePoll()
  }

  onStatus(s: JobStatus) {
    const f = this.inflight.get(s.ref.taskId)
    if (!f || f.attempt !== s.ref.attempt || f.done) return
    if (!f.ref) f.ref = s.ref
    const key = `${s.raw}|${s.task}|${s.reason ?? ''}|${s.final}`
    if (key === f.lastKey) return
    f.lastKey = key
    const report = this.ctx.report
    const workerState: WorkerState = s.worker
    if (this.jobModel && f.workerId)
      report.worker({
        workerId: f.workerId,
        pool: f.pool,
        state: workerState,
        kind: this.ctx.strategy.workerKind,
        batchJobId: s.ref.jobId,
        host: s.host,
        reason: s.reason,
        currentTaskId: f.taskId,
      })
    if (s.hopeless && !s.final) {
      void this.strat.cancel([s.ref]).catch(() => {})
      report.task({
        kind: 'failed',
        taskId: f.taskId,
        attempt: f.attempt,
        reason: s.reason ?? `refused by the batch system (${s.raw})`,
      })
      this.release(f)
      return
    }
    if (s.task === 'queued') {
      report.task({ kind: 'info', taskId: f.taskId, attempt: f.attempt, reason: s.reason, raw: s.raw })
      return
    }
    if (s.task === 'running' || (s.final && !f.started && s.task !== 'lost')) {
      if (!f.started) {
        f.started = true
        if (this.ownWorkers && s.ref.workerId) f.workerId = s.ref.workerId
        report.task({
          kind: 'running',
          taskId: f.taskId,
          attempt: f.attempt,
          workerId: f.workerId,
          host: s.host,
          pid: s.ref.pid ?? null,
          at: s.startedAt ?? undefined,
        })
      }
      if (!s.final) return
    }
    if (!s.final) return
    if (s.task === 'lost') {
      const result = readResult(f.taskDir, f.attempt)
      if (result) report.task({ kind: 'finished', taskId: f.taskId, attempt: f.attempt, result })
      else report.task({ kind: 'lost', taskId: f.taskId, attempt: f.attempt, reason: s.reason ?? 'the job vanished' })
    } else {
      const result = readResult(f.taskDir, f.attempt)
      report.task({
        kind: 'finished',
        taskId: f.taskId,
        attempt: f.attempt,
        result,
        exitCode: s.exitCode,
        signal: s.signal,
        reason: s.reason,
      })
    }
    this.release(f)
  }

  private schedulePoll() {
    if (this.closed || this.pollTimer || this.inflight.size === 0) return
    this.pollTimer = setTimeout(() => {
      this.pollTimer = null
      void this.pollNow()
    }, this.strat.pollIntervalMs())
    this.pollTimer.unref?.()
  }

  private async pollNow() {
    if (this.polling || this.closed) return
    this.polling = true
    try {
      const refs = [...this.inflight.values()].filter((f) => f.ref && !f.done).map((f) => f.ref!)
      if (refs.length) for (const s of await this.strat.poll(refs)) this.onStatus(s)
    } catch (e) {
      this.ctx.report.log('warn', `status poll failed: ${(e as Error).message}`)
    } finally {
      this.polling = false
      this.schedulePoll()
    }
  }

  async cancel(tasks: { taskId: string; attempt: number; ref: JobRef | null }[]): Promise<void> {
    const refs: JobRef[] = []
    for (const t of tasks) {
      const f = this.inflight.get(t.taskId)
      if (!f) continue
      f.cancelRequested = true
      if (f.ref) refs.push(f.ref)
    }
    if (refs.length) await this.strat.cancel(refs)
    await this.pollNow()
  }

  async reattach(tasks: ActiveTask[]): Promise<void> {
    const refs: JobRef[] = []
    for (const t of tasks) {
      const ref: JobRef = t.ref ?? {
        taskId: t.taskId,
        attempt: t.attempt,
        pool: t.pool,
        jobId: '',
        data: { taskDir: t.taskDir },
      }
      ref.data = { taskDir: t.taskDir, ...ref.data }
      const f = this.reserve(
        { taskId: t.taskId, attempt: t.attempt, pool: t.pool, stageId: t.stageId, taskDir: t.taskDir },
        ref,
      )
      f.started = t.state === 'running'
      if (this.jobModel) {
        f.workerId = ref.workerId ?? newId('w')
        ref.workerId = f.workerId
      } else if (!this.ownWorkers) ref.workerId = f.workerId
      refs.push(ref)
    }
    if (refs.length === 0) return
    const statuses = await this.strat.reattach(refs)
    for (const s of statuses) this.onStatus(s)
    this.schedulePoll()
  }

  async close(opts?: { detach?: boolean }): Promise<void> {
    this.closed = true
    if (this.pollTimer) clearTimeout(this.pollTimer)
    this.pollTimer = null
    if (!opts?.detach) {
      for (const [pool, slots] of this.slots)
        for (const s of slots)
          this.ctx.report.worker({
            workerId: s.workerId,
            pool,
            state: 'gone',
            kind: this.ctx.strategy.workerKind,
            currentTaskId: null,
          })
    }
    await this.strat.close({ detach: !!opts?.detach })
  }
}
