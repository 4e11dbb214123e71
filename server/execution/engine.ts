/**
 * The run engine: one per process (`getEngine()`), driving every run this process owns.
 *
 * - A run freezes a plan; stages expand to tasks (partition hook: partition.ts); a task is ready
 *   when all tasks of the stages it needs succeeded; per pool the backend's capacity bounds how many
 *   are handed over (local backend: pool.workers).
 * - Every state change is checked against the transition table (types.ts), then written with its
 *   Event in one DB transaction (batched: store.ts), and only after the commit emitted on the bus.
 *   Side effects that depend on a state (dispatching a `queued` task) run after that commit.
 * - Failure policy: a failed task is retried `stage.retries` times (default 0; each retry is a new
 *   attempt); when it finally fails, every task downstream of it becomes `cancelled` with reason
 *   "upstream <stage> failed"; independent branches go on; the run ends `failed`.
 *   A `lost` task (its process/job vanished) gets `lostRetries` (default 1) extra attempts of its own,
 *   then the stage's retries, then fails.
 * - Restart safety: processes/jobs outlive the engine; `adopt()` re-reads a run from the database
 *   and the last `task.submitted` events and re-attaches (see reconcile.ts).
 * - Re-run from a stage creates a NEW run of the same frozen plan in which the tasks upstream of that
 *   stage that succeeded in the old run are copied as `succeeded` (reason "reused from run X"; their
 *   outputs stay in the old run directory and are passed on via CONTROLROOM_INPUTS).
 */
import { readSetting } from '../settings.ts'
import { chmodSync, chownSync, mkdirSync, statSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {
  checkCredentials,
  credentialPolicyOf,
  estimateRunSeconds,
  redactDeep,
  redactSecrets,
  type CredentialPolicyMode,
} from '../credentials/index.ts'
import type { Db } from '../db/client.ts'
import { createDb, currentDbUrl, getDb } from '../db/client.ts'
import type { ExecutionPlan, PlanStage } from '../workflow/types.ts'
import { emit } from './bus.ts'
import type { NewRunEvent } from './events.ts'
import './drivers.ts'
import { newId } from './ids.ts'
import { clampRetries, decideAfterFailure } from './policy.ts'
import { type LongTimer, setLongTimeout } from './long-timer.ts'
import { checkOps } from './ops.ts'
import { partitionsOf, preparePartitions, type Partition } from './partition.ts'
import './ops/hep.ts' // registers the hep.* ops, partitioner and merge (server/execution/ops/hep.ts)
import { runDirFor, taskDirFor } from './paths.ts'
import { isProcessAlive, selfIdentity } from './procfs.ts'
import { resolveDrivers } from './registry.ts'
import { buildDispatch, writeSpec } from './spec.ts'
import {
  batchSize,
  createStore,
  emptyBatch,
  type EngineStore,
  type NewEvent,
  type RunPatch,
  type TaskPatch,
  type TaskRow,
  type WorkerPatch,
  type WriteBatch,
} from './store.ts'
import {
  checkTransition,
  TERMINAL_TASK_STATES,
  type ActiveTask,
  type Backend,
  type BackendSession,
  type DispatchTask,
  type HostCapacity,
  type JobRef,
  type PoolProblem,
  type RunAs,
  RunAsSchema,
  type RunEvent,
  type RunState,
  type Strategy,
  type TaskResult,
  type TaskState,
  type TaskUpdate,
  type WorkerState,
  type WorkerUpdate,
} from './types.ts'

/**
 * The directories above a run directory must let the run's OS user pass (x), never list or read
 * (r): CONTROLROOM_HOME and its runs/ become 0711 at most; files in them keep their own modes.
 */
function traversable(dir: string) {
  for (const d of [dir, path.dirname(dir)]) {
    try {
      const mode = statSync(d).mode & 0o777
      if ((mode & 0o011) !== 0o011) chmodSync(d, mode | 0o011)
    } catch {
      /* not ours to change: the executor will say what it cannot reach */
    }
  }
}

export class RunRefusedError extends Error {
  constructor(
    message: string,
    readonly problems: PoolProblem[],
  ) {
    super(message)
    this.name = 'RunRefusedError'
  }
}

export interface EngineOptions {
  db?: Db
  url?: string
  /** override what this host provides (tests) */
  host?: Partial<HostCapacity>
  log?: (level: 'info' | 'warn' | 'error', msg: string) => void
  /** how long state changes may wait to be batched into one transaction (ms) */
  flushIntervalMs?: number
  /** how often the engine looks for control requests from other processes (ms) */
  controlPollMs?: number
  /** extra attempts for `lost` tasks (default 1) */
  lostRetries?: number
  /** first retry's backoff (ms, doubling per retry; default policy.ts RETRY_BASE_MS) */
  retryBackoffMs?: number
  /** extra seconds after a task's timeout before the engine itself kills it (the runtime enforces the timeout first) */
  timeoutGraceSeconds?: number
  /** credential policy for every run (default: the plan's execution.config.credential_policy, $CONTROLROOM_CREDENTIAL_POLICY, else refuse) */
  credentialPolicy?: CredentialPolicyMode
  /** environment credentials are discovered in (default process.env; tests) */
  credentialEnv?: Record<string, string | undefined>
}

export interface RunOptions {
  owner?: { pid: number; startTicks: number | null; host: string }
  overrides?: { backend?: string; strategy?: string }
  lostRetries?: number
  reusedFrom?: string
  rerunFromStage?: string
  cancelRequested?: boolean
  /** run the executors and tasks of this run as this OS user (users mode; types.ts RunAsSchema) */
  runAs?: RunAs
  [k: string]: unknown
}

interface TaskRec {
  id: string
  stageId: string
  pool: string
  partition: Partition | null
  state: TaskState
  attempt: number
  maxRetries: number
  retriesUsed: number
  lostUsed: number
  deps: TaskRec[]
  dependants: TaskRec[]
  unmet: number
  timeoutSeconds: number | null
  taskDir: string
  ref: JobRef | null
  workerId: string | null
  startedAt: number | null
  cancelRequested: boolean
  engineTimedOut: boolean
  inReady: boolean
  /** outputs directory of a reused task (rerunFrom) */
  reusedDir: string | null
}

interface ActiveRun {
  id: string
  plan: ExecutionPlan
  runDir: string
  state: RunState
  options: RunOptions
  tasks: Map<string, TaskRec>
  byStage: Map<string, TaskRec[]>
  stages: Map<string, PlanStage>
  ready: Map<string, TaskRec[]>
  pendingDispatch: Map<string, number>
  open: number
  backend: Backend
  strategy: Strategy
  session: BackendSession | null
  cancelRequested: boolean
  waiters: ((s: RunState) => void)[]
  timers: Map<string, LongTimer>
  workers: Map<string, { state: WorkerState; pool: string }>
  finishing: boolean
  pumpScheduled: boolean
}

const nowIso = () => new Date().toISOString()

export class RunEngine {
  readonly db: Db
  readonly url: string
  readonly store: EngineStore
  private runs = new Map<string, ActiveRun>()
  private batch: WriteBatch = emptyBatch()
  private afterCommit: (() => void | Promise<void>)[] = []
  private flushTimer: NodeJS.Timeout | null = null
  private flushing: Promise<void> = Promise.resolve()
  private flushQueued = false
  private controlTimer: NodeJS.Timeout | null = null
  private lastControlId = 0
  private controlInit: Promise<void> | null = null
  private closed = false
  readonly identity = { ...selfIdentity(), host: os.hostname() }

  constructor(private opts: EngineOptions = {}) {
    this.url = opts.url ?? currentDbUrl()
    this.db = opts.db ?? (opts.url ? createDb(opts.url) : getDb())
    this.store = createStore(this.db, this.url)
  }

  log(level: 'info' | 'warn' | 'error', msg: string) {
    if (this.opts.log) this.opts.log(level, msg)
    else if (level !== 'info' || readSetting('CONTROLROOM_DEBUG'))
      console[level === 'info' ? 'log' : level](`[controlroom engine] ${msg}`)
  }

  // ---------------------------------------------------------------- persistence

  private queueEvent(e: NewRunEvent & { at?: Date }) {
    // messages from tasks and drivers (errors, stderr tails) may quote a token or a PEM block
    const payload = e.type === 'task.state' || e.type === 'run.log' ? redactDeep(e.payload) : e.payload
    this.batch.events.push({ ...e, payload, at: e.at ?? new Date() } as NewEvent)
    this.flushSoon()
  }
  private queueTask(id: string, p: TaskPatch) {
    if (typeof p.reason === 'string') p.reason = redactSecrets(p.reason)
    if (typeof p.message === 'string') p.message = redactSecrets(p.message)
    const cur = this.batch.tasks.get(id)
    this.batch.tasks.set(id, cur ? Object.assign(cur, p) : { ...p })
  }
  private queueWorker(id: string, p: WorkerPatch) {
    const created = this.batch.newWorkers.find((w) => w.id === id)
    if (created) {
      Object.assign(created, p)
      return
    }
    const cur = this.batch.workers.get(id)
    this.batch.workers.set(id, cur ? Object.assign(cur, p) : { ...p })
  }
  private queueRun(id: string, p: RunPatch) {
    const cur = this.batch.runs.get(id)
    this.batch.runs.set(id, cur ? Object.assign(cur, p) : { ...p })
    this.flushSoon()
  }

  private flushSoon() {
    if (this.flushTimer || this.flushQueued) return
    const size = batchSize(this.batch)
    if (size >= 5000) {
      void this.flush()
      return
    }
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null
      void this.flush()
    }, this.opts.flushIntervalMs ?? 5)
  }

  /** writes everything queued so far (one transaction), emits the stored events, runs post-commit actions */
  flush(): Promise<void> {
    if (this.flushTimer) {
      clearTimeout(this.flushTimer)
      this.flushTimer = null
    }
    if (this.flushQueued) return this.flushing
    this.flushQueued = true
    this.flushing = this.flushing.then(async () => {
      this.flushQueued = false
      const batch = this.batch
      const after = this.afterCommit
      this.batch = emptyBatch()
      this.afterCommit = []
      if (batchSize(batch) > 0) {
        let stored: RunEvent[] | null = null
        for (let i = 0; ; i++) {
          try {
            stored = await this.store.write(batch)
            break
          } catch (e) {
            if (i >= 5) {
              this.log('error', `could not store ${batch.events.length} events: ${(e as Error).message}`)
              break
            }
            await new Promise((r) => setTimeout(r, 50 * 2 ** i))
          }
        }
        if (stored) emit(stored)
      }
      for (const fn of after) {
        try {
          await fn()
        } catch (e) {
          this.log('error', `post-commit action failed: ${(e as Error).stack ?? e}`)
        }
      }
      if (batchSize(this.batch) > 0 || this.afterCommit.length > 0) this.flushSoon()
    })
    return this.flushing
  }

  private onCommit(fn: () => void | Promise<void>) {
    this.afterCommit.push(fn)
    this.flushSoon()
  }

  // ---------------------------------------------------------------- transitions

  private setRunState(run: ActiveRun, to: RunState, extra: { reason?: string; error?: string | null } = {}): boolean {
    if (run.state === to) return false
    if (!checkTransition('run', run.state, to, run.id, (m) => this.log('warn', m))) return false
    const from = run.state
    run.state = to
    const patch: RunPatch = { state: to }
    if (to === 'running' && from === 'pending') patch.startedAt = new Date()
    if (to === 'running' && (from === 'failed' || from === 'cancelled')) patch.finishedAt = null
    if (to === 'succeeded' || to === 'failed' || to === 'cancelled') {
      patch.finishedAt = new Date()
      patch.error = extra.error ?? null
    }
    this.queueRun(run.id, patch)
    this.queueEvent({
      runId: run.id,
      type: 'run.state',
      taskId: null,
      workerId: null,
      payload: { from, to, reason: extra.reason ?? null, counts: this.counts(run) },
    })
    return true
  }

  private counts(run: ActiveRun): Record<string, number> {
    const c: Record<string, number> = {}
    for (const t of run.tasks.values()) c[t.state] = (c[t.state] ?? 0) + 1
    return c
  }

  private setTask(
    run: ActiveRun,
    t: TaskRec,
    to: TaskState,
    patch: TaskPatch = {},
    payload: Record<string, unknown> = {},
  ): boolean {
    if (!checkTransition('task', t.state, to, `${t.stageId}/${t.id}`, (m) => this.log('warn', m))) return false
    const from = t.state
    const wasTerminal = TERMINAL_TASK_STATES.has(from)
    const isTerminal = TERMINAL_TASK_STATES.has(to)
    t.state = to
    if (wasTerminal && !isTerminal) run.open++
    if (!wasTerminal && isTerminal) run.open--
    this.queueTask(t.id, { state: to, ...patch })
    this.queueEvent({
      runId: run.id,
      type: 'task.state',
      taskId: t.id,
      workerId: t.workerId,
      payload: {
        from,
        to,
        attempt: t.attempt,
        stage: t.stageId,
        pool: t.pool,
        ...(patch.reason !== undefined ? { reason: patch.reason } : {}),
        ...payload,
      },
    })
    return true
  }

  // ---------------------------------------------------------------- creating runs

  /** problems that refuse a plan before anything is dispatched */
  async preflight(plan: ExecutionPlan, runDir?: string): Promise<PoolProblem[]> {
    const problems: PoolProblem[] = []
    for (const p of checkOps(plan))
      problems.push({
        code: p.code,
        severity: 'error',
        pool: plan.stages.find((s) => s.id === p.stage)?.pool ?? null,
        message: p.message,
      })
    let drivers: { backend: Backend; strategy: Strategy }
    try {
      drivers = resolveDrivers(plan.backend, plan.strategy)
    } catch (e) {
      problems.push({ code: 'driver-unavailable', severity: 'error', pool: null, message: (e as Error).message })
      return problems
    }
    const ctx = { runDir, host: this.opts.host }
    try {
      if (!drivers.backend.checksCapacity?.(plan)) problems.push(...(await drivers.strategy.preflight(plan, ctx)))
      if (drivers.backend.preflight) problems.push(...(await drivers.backend.preflight(plan, drivers.strategy, ctx)))
    } catch (e) {
      problems.push({
        code: 'preflight-failed',
        severity: 'error',
        pool: null,
        message: `preflight failed: ${(e as Error).message}`,
      })
    }
    const creds = await this.credentialProblems(plan)
    // a strategy may check the credentials itself (htcondor): keep each problem once (the engine's)
    const ours = new Set(creds.map((p) => `${p.severity}\0${p.code}\0${p.rawMessage}`))
    return [
      ...problems.filter(
        (p) => !(p.code.startsWith('credential-') && ours.has(`${p.severity}\0${p.code}\0${p.message}`)),
      ),
      ...creds.map(({ rawMessage: _raw, ...p }) => p),
    ]
  }

  /**
   * The dispatch-time credential policy for every strategy: each credential the plan references
   * must exist and outlive the run's expected end. `refuse`: errors (the run is not started);
   * `warn`: warnings (stored as run events and shown on the run page).
   */
  async credentialProblems(plan: ExecutionPlan): Promise<(PoolProblem & { rawMessage: string })[]> {
    if (!plan.credentials?.length) return []
    try {
      const mode = credentialPolicyOf(plan, this.opts.credentialPolicy, this.opts.credentialEnv ?? process.env)
      const check = await checkCredentials(plan, estimateRunSeconds(plan), {
        mode,
        ...(this.opts.credentialEnv ? { env: this.opts.credentialEnv } : {}),
      })
      return check.problems.map((p) => ({
        code: p.code,
        severity: p.severity,
        pool: null,
        message: redactSecrets(p.path && !p.message.includes(p.path) ? `${p.message} [${p.path}]` : p.message),
        rawMessage: p.message,
        ...(p.hint ? { hint: p.hint } : {}),
      }))
    } catch (e) {
      const message = `could not check the credentials: ${redactSecrets((e as Error).message)}`
      return [{ code: 'credential-check-failed', severity: 'warning', pool: null, message, rawMessage: message }]
    }
  }

  /**
   * Creates and starts a run of a frozen plan. Throws RunRefusedError (with the problems) when the
   * plan cannot run here. Resolves once the run is stored and started (not when it ends).
   */
  async createRun(args: {
    workflowId: string
    versionId: string
    plan: ExecutionPlan
    source?: string
    ownerId?: string | null
    options?: RunOptions
    /** rerunFrom: stage id -> tasks (by partition key) copied as succeeded */
    reuse?: {
      fromRunId: string
      tasks: Map<
        string,
        {
          taskDir: string
          outputs: string | null
          metrics: string | null
          exitCode: number | null
          startedAt: Date | null
          finishedAt: Date | null
          durationMs: number | null
        }
      >
    }
  }): Promise<{ runId: string; warnings: PoolProblem[] }> {
    const plan = args.plan
    const runId = newId('r')
    const runDir = runDirFor(runId)
    const problems = await this.preflight(plan, path.dirname(runDir))
    const errors = problems.filter((p) => p.severity === 'error')
    if (errors.length)
      throw new RunRefusedError(
        `the run was refused: ${errors.map((e) => (e.code.startsWith('credential-') && e.hint ? `${e.message} (${e.hint})` : e.message)).join('; ')}`,
        problems,
      )
    const { backend, strategy } = resolveDrivers(plan.backend, plan.strategy)
    const runAs = args.options?.runAs ? RunAsSchema.parse(args.options.runAs) : null
    mkdirSync(path.join(runDir, 'tasks'), { recursive: true, mode: 0o700 })
    writeFileSync(path.join(runDir, 'plan.json'), JSON.stringify(plan, null, 2), { mode: 0o600 })
    chmodSync(runDir, 0o700)
    if (runAs) {
      // the run's OS user writes here (its executors and tasks); nobody else reads it
      for (const p of [runDir, path.join(runDir, 'tasks'), path.join(runDir, 'plan.json')])
        chownSync(p, runAs.uid, runAs.gid)
      traversable(path.dirname(runDir))
    }
    await preparePartitions(plan, { runDir }) // hook: partitioners that need I/O (hep.*: counting events)

    const options: RunOptions = { ...(args.options ?? {}), owner: this.identity }
    const createdAt = new Date()
    const rows: TaskRow[] = []
    for (const stage of plan.stages) {
      const parts = partitionsOf(stage, plan) ?? [null]
      for (const part of parts) {
        const id = newId('t')
        const reused = args.reuse?.tasks.get(`${stage.id}\0${part?.key ?? ''}`)
        rows.push({
          id,
          runId,
          stageId: stage.id,
          partitionKey: part?.key ?? null,
          partitionIndex: part?.index ?? null,
          state: reused ? 'succeeded' : 'pending',
          attempt: 0,
          maxRetries: clampRetries(stage.retries ?? Number(plan.config?.retries ?? 0)),
          pool: stage.pool,
          modifiers: stage.modifiers?.length ? JSON.stringify(stage.modifiers) : null,
          createdAt,
          ...(reused
            ? {
                reason: `reused from run ${args.reuse!.fromRunId}`,
                message: reused.taskDir,
                exitCode: reused.exitCode,
                startedAt: reused.startedAt,
                finishedAt: reused.finishedAt,
                durationMs: reused.durationMs,
                outputs: reused.outputs,
                metrics: reused.metrics,
              }
            : {}),
        })
      }
    }
    const run = this.buildRun({ id: runId, plan, runDir, state: 'pending', options, backend, strategy }, rows)
    await this.flush() // nothing else may interleave with the insert
    const stored = await this.store.insertRun(
      {
        id: runId,
        workflowId: args.workflowId,
        versionId: args.versionId,
        plan: JSON.stringify(plan),
        planHash: plan.hash,
        state: 'pending',
        backend: plan.backend,
        strategy: plan.strategy,
        options: JSON.stringify(options),
        runDir,
        ownerId: args.ownerId ?? null,
        source: args.source ?? 'api',
        createdAt,
      },
      rows,
      [
        {
          runId,
          type: 'run.state',
          taskId: null,
          workerId: null,
          at: createdAt,
          payload: {
            from: null,
            to: 'pending',
            tasks: rows.length,
            backend: plan.backend,
            strategy: plan.strategy,
            warnings: problems.filter((p) => p.severity === 'warning'),
          },
        },
      ],
    )
    emit(stored)
    // credential warnings (warn policy) are run events: the run page lists them with the engine's messages
    for (const w of problems) {
      if (w.severity === 'warning' && w.code.startsWith('credential-')) {
        this.queueEvent({
          runId,
          type: 'run.log',
          taskId: null,
          workerId: null,
          payload: { level: 'warn', code: w.code, message: `${w.message}${w.hint ? ` (${w.hint})` : ''}` },
        })
      }
    }
    this.runs.set(runId, run)
    this.startControlPolling()
    await this.openSession(run)
    this.setRunState(run, 'running')
    for (const t of run.tasks.values()) if (t.state === 'pending' && t.unmet === 0) this.makeReady(run, t)
    this.checkDone(run)
    this.schedulePump(run)
    await this.flush()
    return { runId, warnings: problems.filter((p) => p.severity === 'warning') }
  }

  private buildRun(
    base: {
      id: string
      plan: ExecutionPlan
      runDir: string
      state: RunState
      options: RunOptions
      backend: Backend
      strategy: Strategy
    },
    rows: {
      id: string
      stageId: string
      state: string
      attempt: number
      maxRetries: number
      pool: string
      partitionKey: string | null
      partitionIndex: number | null
      workerId?: string | null
      message?: string | null
      reason?: string | null
    }[],
  ): ActiveRun {
    const run: ActiveRun = {
      ...base,
      tasks: new Map(),
      byStage: new Map(),
      stages: new Map(base.plan.stages.map((s) => [s.id, s])),
      ready: new Map(),
      pendingDispatch: new Map(),
      open: 0,
      session: null,
      cancelRequested: !!base.options.cancelRequested,
      waiters: [],
      timers: new Map(),
      workers: new Map(),
      finishing: false,
      pumpScheduled: false,
    }
    for (const r of rows) {
      const stage = run.stages.get(r.stageId)
      const t: TaskRec = {
        id: r.id,
        stageId: r.stageId,
        pool: r.pool,
        partition: r.partitionKey != null ? { key: r.partitionKey, index: r.partitionIndex ?? 0 } : null,
        state: r.state as TaskState,
        attempt: r.attempt,
        maxRetries: r.maxRetries,
        retriesUsed: 0,
        lostUsed: 0,
        deps: [],
        dependants: [],
        unmet: 0,
        timeoutSeconds: stage?.timeoutSeconds ?? null,
        taskDir: taskDirFor(base.runDir, r.id),
        ref: null,
        workerId: r.workerId ?? null,
        startedAt: null,
        cancelRequested: false,
        engineTimedOut: false,
        inReady: false,
        reusedDir: r.reason?.startsWith('reused from run ') ? (r.message ?? null) : null,
      }
      run.tasks.set(t.id, t)
      if (!run.byStage.has(t.stageId)) run.byStage.set(t.stageId, [])
      run.byStage.get(t.stageId)!.push(t)
      if (!TERMINAL_TASK_STATES.has(t.state)) run.open++
    }
    for (const stage of base.plan.stages) {
      const mine = run.byStage.get(stage.id) ?? []
      for (const need of stage.needs) {
        const ups = run.byStage.get(need) ?? []
        for (const t of mine)
          for (const u of ups) {
            t.deps.push(u)
            u.dependants.push(t)
            if (u.state !== 'succeeded') t.unmet++
          }
      }
    }
    return run
  }

  private async openSession(run: ActiveRun) {
    run.session = await run.backend.open({
      runId: run.id,
      runDir: run.runDir,
      plan: run.plan,
      strategy: run.strategy,
      strategyContext: { runDir: run.runDir, host: this.opts.host, runAs: run.options.runAs ?? null },
      report: {
        task: (u) => this.onTaskUpdate(run, u),
        worker: (u) => this.onWorkerUpdate(run, u),
        log: (level, message) => {
          this.log(level, `run ${run.id}: ${message}`)
          if (level !== 'info')
            this.queueEvent({
              runId: run.id,
              type: 'run.log',
              taskId: null,
              workerId: null,
              payload: { level, message },
            })
        },
      },
      runInProcess: async (d) => this.runInProcess(d),
    })
  }

  private async runInProcess(d: DispatchTask): Promise<TaskResult> {
    const at = nowIso()
    return {
      version: 1,
      taskId: d.launch.taskId,
      attempt: d.launch.attempt,
      exitCode: 0,
      signal: null,
      timedOut: false,
      cancelled: false,
      startedAt: at,
      finishedAt: at,
      durationMs: 0,
      metrics: { inProcess: true },
      outputs: null,
      error: null,
      host: os.hostname(),
      pid: process.pid,
    }
  }

  // ---------------------------------------------------------------- scheduling

  private makeReady(run: ActiveRun, t: TaskRec) {
    if (t.inReady) return
    t.inReady = true
    let q = run.ready.get(t.pool)
    if (!q) run.ready.set(t.pool, (q = []))
    q.push(t)
    this.schedulePump(run)
  }

  private schedulePump(run: ActiveRun) {
    if (run.pumpScheduled) return
    run.pumpScheduled = true
    queueMicrotask(() => {
      run.pumpScheduled = false
      this.pump(run)
    })
  }

  private pump(run: ActiveRun) {
    if (run.state !== 'running' || !run.session || run.cancelRequested) return
    const batch: { t: TaskRec; d: DispatchTask }[] = []
    for (const [pool, q] of run.ready) {
      let cap = run.session.capacity(pool) - (run.pendingDispatch.get(pool) ?? 0)
      let i = 0
      while (i < q.length) {
        const t = q[i]
        if (t.state !== 'pending' && t.state !== 'retrying') {
          t.inReady = false
          i++
          continue
        }
        let d: DispatchTask
        try {
          d = buildDispatch({
            plan: run.plan,
            stage: run.stages.get(t.stageId)!,
            runId: run.id,
            runDir: run.runDir,
            taskId: t.id,
            attempt: t.attempt,
            partition: t.partition,
            inputs: this.inputsOf(run, t),
          })
        } catch (e) {
          t.inReady = false
          i++
          this.setTask(run, t, 'queued', { attempt: t.attempt, workerId: null })
          this.failTask(run, t, `cannot prepare the task: ${(e as Error).message}`, { final: true })
          continue
        }
        // in-process tasks (noop) hold no worker: they are not bounded by the pool's capacity
        if (!d.inProcess && cap <= 0) break
        t.inReady = false
        i++
        this.setTask(run, t, 'queued', {
          attempt: t.attempt,
          workerId: null,
          startedAt: null,
          finishedAt: null,
          exitCode: null,
          signal: null,
          reason: null,
          durationMs: null,
          pid: null,
          batchJobId: null,
        })
        batch.push({ t, d })
        if (!d.inProcess) {
          cap--
          run.pendingDispatch.set(pool, (run.pendingDispatch.get(pool) ?? 0) + 1)
        }
      }
      q.splice(0, i)
    }
    if (batch.length === 0) return
    this.onCommit(async () => {
      const go: DispatchTask[] = []
      for (const { t, d } of batch) {
        if (!d.inProcess) run.pendingDispatch.set(t.pool, (run.pendingDispatch.get(t.pool) ?? 1) - 1)
        if (t.state !== 'queued' || t.attempt !== d.launch.attempt) continue
        if (t.cancelRequested || run.cancelRequested) {
          this.setTask(run, t, 'cancelled', { reason: 'cancelled before it started', finishedAt: new Date() })
          this.afterTerminal(run, t)
          continue
        }
        if (!d.inProcess) {
          try {
            if (run.session?.writesSpecs) d.launch.spec = d.spec
            else writeSpec(d)
          } catch (e) {
            this.failTask(run, t, `cannot write the task spec: ${(e as Error).message}`, { final: true })
            continue
          }
        }
        go.push(d)
      }
      // not awaited: a slow submission (sbatch, condor_submit) must not hold up the writes of other runs
      if (go.length && run.session)
        void run.session.dispatch(go).catch((e) => {
          this.log('error', `dispatch failed: ${(e as Error).stack ?? e}`)
          for (const d of go) {
            const t = run.tasks.get(d.launch.taskId)
            if (t && t.state === 'queued' && t.attempt === d.launch.attempt)
              this.failTask(run, t, `dispatch failed: ${(e as Error).message}`)
          }
        })
      this.schedulePump(run)
    })
  }

  // biome-ignore lint/correctness/noUnusedFunctionParameters: pre-existing: review when this component is next changed
  private inputsOf(run: ActiveRun, t: TaskRec): Record<string, string[]> {
    const out: Record<string, string[]> = {}
    for (const d of t.deps) (out[d.stageId] ??= []).push(d.reusedDir ?? d.taskDir)
    return out
  }

  // ---------------------------------------------------------------- reports from the backend

  private onWorkerUpdate(run: ActiveRun, u: WorkerUpdate) {
    const cur = run.workers.get(u.workerId)
    const patch: WorkerPatch = {}
    if (u.batchJobId !== undefined) patch.batchJobId = u.batchJobId
    if (u.host !== undefined) patch.host = u.host
    if (u.pid !== undefined) patch.pid = u.pid
    if (u.reason !== undefined) patch.reason = u.reason
    if (u.currentTaskId !== undefined) patch.currentTaskId = u.currentTaskId
    if (!cur) {
      run.workers.set(u.workerId, { state: u.state, pool: u.pool })
      const now = new Date()
      this.batch.newWorkers.push({
        id: u.workerId,
        runId: run.id,
        pool: u.pool,
        state: u.state,
        kind: u.kind,
        batchJobId: u.batchJobId ?? null,
        host: u.host ?? os.hostname(),
        pid: u.pid ?? null,
        reason: u.reason ?? null,
        currentTaskId: u.currentTaskId ?? null,
        createdAt: now,
        startedAt: u.state === 'running' ? now : null,
      })
      this.queueEvent({
        runId: run.id,
        type: 'worker.state',
        taskId: null,
        workerId: u.workerId,
        payload: {
          from: null,
          to: u.state,
          pool: u.pool,
          kind: u.kind,
          batchJobId: u.batchJobId ?? null,
          reason: u.reason ?? null,
        },
      })
      return
    }
    if (cur.state !== u.state) {
      if (!checkTransition('worker', cur.state, u.state, u.workerId, (m) => this.log('warn', m))) return
      const from = cur.state
      cur.state = u.state
      patch.state = u.state
      if (u.state === 'running') patch.startedAt = new Date()
      if (u.state === 'gone') patch.endedAt = new Date()
      this.queueWorker(u.workerId, patch)
      this.queueEvent({
        runId: run.id,
        type: 'worker.state',
        taskId: null,
        workerId: u.workerId,
        payload: { from, to: u.state, pool: u.pool, batchJobId: u.batchJobId ?? null, reason: u.reason ?? null },
      })
    } else if (Object.keys(patch).length) {
      this.queueWorker(u.workerId, patch)
      this.flushSoon()
    }
  }

  private onTaskUpdate(run: ActiveRun, u: TaskUpdate) {
    const t = run.tasks.get(u.taskId)
    if (!t || u.attempt !== t.attempt) return // a stale report of an earlier attempt
    switch (u.kind) {
      case 'submitted': {
        t.ref = u.ref
        if (u.ref.workerId) t.workerId = u.ref.workerId
        this.queueTask(t.id, {
          batchJobId: u.ref.jobId,
          pid: u.ref.pid ?? null,
          host: u.ref.host ?? null,
          workerId: t.workerId,
        })
        this.queueEvent({
          runId: run.id,
          type: 'task.submitted',
          taskId: t.id,
          workerId: t.workerId,
          payload: { attempt: t.attempt, jobRef: u.ref },
        })
        return
      }
      case 'info': {
        this.queueTask(t.id, { reason: u.reason })
        this.queueEvent({
          runId: run.id,
          type: 'task.info',
          taskId: t.id,
          workerId: t.workerId,
          payload: { attempt: t.attempt, reason: u.reason, raw: u.raw ?? null },
        })
        return
      }
      case 'running': {
        if (t.state !== 'queued') return
        if (u.workerId) t.workerId = u.workerId
        const at = u.at ? new Date(u.at) : new Date()
        t.startedAt = at.getTime()
        this.setTask(run, t, 'running', {
          startedAt: at,
          workerId: t.workerId,
          host: u.host ?? undefined,
          pid: u.pid ?? undefined,
          reason: null,
        })
        this.armTimeout(run, t)
        return
      }
      case 'finished':
        return this.onFinished(run, t, u)
      case 'lost':
        return this.onLost(run, t, u.reason)
      case 'failed': {
        if (t.state !== 'queued' && t.state !== 'running') return
        this.failTask(run, t, u.reason)
        return
      }
    }
  }

  private armTimeout(run: ActiveRun, t: TaskRec) {
    if (!t.timeoutSeconds) return
    const attempt = t.attempt
    const elapsed = t.startedAt ? Date.now() - t.startedAt : 0
    const ms = Math.max(0, (t.timeoutSeconds + (this.opts.timeoutGraceSeconds ?? 10)) * 1000 - elapsed)
    const timer = setLongTimeout(() => {
      run.timers.delete(t.id)
      if (t.attempt !== attempt || t.state !== 'running') return
      t.engineTimedOut = true
      this.log(
        'warn',
        `task ${t.id} exceeded its timeout (${t.timeoutSeconds}s) and the runtime did not stop it: killing it`,
      )
      void run.session?.cancel([{ taskId: t.id, attempt, ref: t.ref }])
    }, ms)
    run.timers.set(t.id, timer)
  }

  private clearTimer(run: ActiveRun, t: TaskRec) {
    const tm = run.timers.get(t.id)
    if (tm) tm.clear()
    run.timers.delete(t.id)
  }

  private onFinished(run: ActiveRun, t: TaskRec, u: Extract<TaskUpdate, { kind: 'finished' }>) {
    if (t.state !== 'queued' && t.state !== 'running') return
    this.clearTimer(run, t)
    const r = u.result
    const exitCode = r ? r.exitCode : (u.exitCode ?? null)
    const signal = r ? r.signal : (u.signal ?? null)
    const finishedAt = r ? new Date(r.finishedAt) : new Date()
    const startedAt = t.startedAt ?? (r ? new Date(r.startedAt).getTime() : finishedAt.getTime())
    const durationMs = r ? r.durationMs : finishedAt.getTime() - startedAt
    if (t.state === 'queued') {
      // the job ran and ended between two polls: record that it ran
      this.setTask(run, t, 'running', { startedAt: new Date(startedAt), workerId: t.workerId })
    }
    const common: TaskPatch = {
      exitCode,
      signal,
      finishedAt,
      durationMs,
      metrics: r?.metrics ? JSON.stringify(r.metrics) : null,
      outputs: r?.outputs ? JSON.stringify(r.outputs) : null,
      host: r?.host ?? undefined,
    }
    const payload = { exitCode, signal, durationMs }
    if (t.cancelRequested || run.cancelRequested) {
      if (r?.exitCode !== 0 || r.cancelled) {
        this.setTask(
          run,
          t,
          'cancelled',
          { ...common, reason: t.cancelRequested ? 'cancelled by user' : 'run cancelled' },
          payload,
        )
        this.afterTerminal(run, t)
        return
      }
    }
    const ok = !!r && r.exitCode === 0 && !r.signal && !r.timedOut && !r.error && !t.engineTimedOut
    if (ok) {
      this.setTask(run, t, 'succeeded', { ...common, reason: null }, payload)
      this.afterTerminal(run, t)
      return
    }
    let reason: string
    if (r?.timedOut || t.engineTimedOut) reason = `timed out after ${t.timeoutSeconds}s`
    else if (r?.error) reason = r.error
    else if (!r)
      reason = `exited without a result (${signal ? `signal ${signal}` : `exit code ${exitCode ?? '?'}`})${u.reason ? `: ${u.reason}` : ''}`
    else if (signal) reason = `killed by ${signal}`
    else reason = `exit code ${exitCode}`
    this.failTask(run, t, reason, { patch: common, payload })
  }

  /** queued|running -> failed, then retry or cascade (the decision: policy.ts) */
  private failTask(
    run: ActiveRun,
    t: TaskRec,
    reason: string,
    o: { final?: boolean; patch?: TaskPatch; payload?: Record<string, unknown> } = {},
  ) {
    this.clearTimer(run, t)
    if (t.state !== 'failed') {
      if (!this.setTask(run, t, 'failed', { finishedAt: new Date(), ...(o.patch ?? {}), reason }, o.payload ?? {}))
        return
    }
    const d = decideAfterFailure(
      {
        kind: 'failed',
        reason,
        final: o.final,
        stopRequested: t.cancelRequested || run.cancelRequested,
        ...this.budgets(run, t),
      },
      { baseMs: this.opts.retryBackoffMs },
    )
    if (d.action === 'retry') {
      t.retriesUsed++
      this.retryNow(run, t, d.reason, d.delayMs)
      return
    }
    this.afterTerminal(run, t)
  }

  private budgets(run: ActiveRun, t: TaskRec) {
    return {
      retriesUsed: t.retriesUsed,
      maxRetries: t.maxRetries,
      lostUsed: t.lostUsed,
      lostBudget: run.options.lostRetries ?? this.opts.lostRetries ?? 1,
    }
  }

  private retryNow(run: ActiveRun, t: TaskRec, reason: string, delayMs = 0) {
    t.attempt++
    t.engineTimedOut = false
    t.ref = null
    t.startedAt = null
    this.setTask(run, t, 'retrying', { attempt: t.attempt, reason }, { attempt: t.attempt, delayMs })
    if (t.unmet !== 0) return
    if (delayMs <= 0) {
      this.makeReady(run, t)
      return
    }
    // backoff: the task stays `retrying` meanwhile (a cancel finds it there)
    const attempt = t.attempt
    const timer = setLongTimeout(() => {
      run.timers.delete(t.id)
      if (t.attempt === attempt && t.state === 'retrying') this.makeReady(run, t)
    }, delayMs)
    run.timers.set(t.id, timer)
  }

  private onLost(run: ActiveRun, t: TaskRec, reason: string) {
    if (t.state !== 'queued' && t.state !== 'running') return
    this.clearTimer(run, t)
    const d = decideAfterFailure(
      { kind: 'lost', reason, stopRequested: t.cancelRequested || run.cancelRequested, ...this.budgets(run, t) },
      { baseMs: this.opts.retryBackoffMs },
    )
    if (d.action === 'cancel') {
      this.setTask(run, t, 'cancelled', {
        reason: t.cancelRequested ? 'cancelled by user' : 'run cancelled',
        finishedAt: new Date(),
      })
      this.afterTerminal(run, t)
      return
    }
    this.setTask(run, t, 'lost', { reason, finishedAt: new Date() })
    if (d.action === 'retry') {
      if (d.budget === 'lost') t.lostUsed++
      else t.retriesUsed++
      this.retryNow(run, t, d.reason, d.delayMs)
      return
    }
    this.setTask(run, t, 'failed', { reason: d.reason })
    this.afterTerminal(run, t)
  }

  /** a task reached succeeded | failed | cancelled */
  private afterTerminal(run: ActiveRun, t: TaskRec) {
    if (t.state === 'succeeded') {
      for (const d of t.dependants) {
        d.unmet--
        if (d.unmet === 0 && (d.state === 'pending' || d.state === 'retrying')) this.makeReady(run, d)
      }
    } else {
      const what = t.state === 'failed' ? 'failed' : 'was cancelled'
      const reason = `upstream ${t.stageId} ${what}`
      const stack = [...t.dependants]
      const seen = new Set<TaskRec>()
      while (stack.length) {
        const d = stack.pop()!
        if (seen.has(d)) continue
        seen.add(d)
        if (d.state === 'pending' || d.state === 'retrying') {
          this.setTask(run, d, 'skipped', { reason, finishedAt: new Date() }, { upstream: t.id })
          stack.push(...d.dependants)
        }
      }
    }
    this.schedulePump(run)
    this.checkDone(run)
  }

  private checkDone(run: ActiveRun) {
    if (run.open > 0 || run.finishing) return
    if (run.state !== 'running' && run.state !== 'cancelling') return
    let failed = 0
    let cancelled = 0
    for (const t of run.tasks.values()) {
      if (t.state === 'failed') failed++
      else if (t.state === 'cancelled') cancelled++
    }
    const to: RunState = failed > 0 ? 'failed' : cancelled > 0 ? 'cancelled' : 'succeeded'
    const error =
      failed > 0
        ? `${failed} task${failed === 1 ? '' : 's'} failed`
        : cancelled > 0
          ? `${cancelled} task${cancelled === 1 ? '' : 's'} cancelled`
          : null
    run.finishing = true
    this.setRunState(run, to, { error, reason: error ?? undefined })
    this.onCommit(async () => {
      run.finishing = false
      if (run.open > 0) return // re-opened by a retry meanwhile
      for (const tm of run.timers.values()) tm.clear()
      run.timers.clear()
      const s = run.session
      run.session = null
      // closing a session (a Dask cluster, a batch poller) may take a while: off the write path
      if (s)
        await Promise.race([
          s.close().catch((e) => this.log('warn', `closing the session of ${run.id}: ${(e as Error).message}`)),
          new Promise((r) => setTimeout(r, 50)),
        ])
      // resolve waiters once the workers' last changes are stored too
      this.onCommit(() => {
        if (run.open === 0 && run.session === null && this.runs.get(run.id) === run) {
          this.runs.delete(run.id)
          for (const w of run.waiters.splice(0)) w(run.state)
        }
      })
    })
  }

  // ---------------------------------------------------------------- control

  isActive(runId: string): boolean {
    return this.runs.has(runId)
  }

  activeRunIds(): string[] {
    return [...this.runs.keys()]
  }

  /** resolves with the final state once the run ends */
  waitForRun(runId: string): Promise<RunState> {
    const run = this.runs.get(runId)
    if (!run)
      return this.db.run
        .findUnique({ where: { id: runId }, select: { state: true } })
        .then((r) => (r?.state ?? 'failed') as RunState)
    // task processes are unref'd (they outlive us): keep this process alive while someone waits
    const keep = setInterval(() => {}, 1 << 30)
    return new Promise((res) =>
      run.waiters.push((s) => {
        clearInterval(keep)
        res(s)
      }),
    )
  }

  async cancelRun(runId: string, reason = 'cancelled by user'): Promise<void> {
    const run = this.runs.get(runId)
    if (!run) throw new Error(`run ${runId} is not active in this process`)
    if (run.cancelRequested && run.state === 'cancelling') return
    run.cancelRequested = true
    run.options.cancelRequested = true
    this.queueRun(run.id, { options: JSON.stringify(run.options) })
    this.setRunState(run, 'cancelling', { reason })
    const active: TaskRec[] = []
    for (const t of run.tasks.values()) {
      if (t.state === 'pending' || t.state === 'retrying') {
        this.setTask(run, t, 'cancelled', { reason: 'run cancelled', finishedAt: new Date() })
      } else if (t.state === 'queued' || t.state === 'running') {
        active.push(t)
      }
    }
    await this.flush()
    if (active.length && run.session) {
      this.armCancelWatchdog(run, active)
      await run.session.cancel(active.map((t) => ({ taskId: t.id, attempt: t.attempt, ref: t.ref })))
    }
    this.checkDone(run)
    await this.flush()
  }

  /** if a cancelled job never reports back, it is marked cancelled anyway */
  private armCancelWatchdog(run: ActiveRun, tasks: TaskRec[]) {
    const attempts = new Map(tasks.map((t) => [t, t.attempt]))
    const tm = setTimeout(() => {
      for (const [t, a] of attempts)
        if (t.attempt === a && (t.state === 'queued' || t.state === 'running')) {
          this.setTask(run, t, 'cancelled', {
            reason: 'cancelled (no confirmation from the worker)',
            finishedAt: new Date(),
          })
          this.afterTerminal(run, t)
        }
    }, 20_000)
    tm.unref?.()
  }

  async cancelTask(runId: string, taskId: string): Promise<void> {
    const run = this.runs.get(runId)
    if (!run) throw new Error(`run ${runId} is not active in this process`)
    const t = run.tasks.get(taskId)
    if (!t) throw new Error(`task ${taskId} is not part of run ${runId}`)
    if (t.state === 'pending' || t.state === 'retrying') {
      t.cancelRequested = true
      this.setTask(run, t, 'cancelled', { reason: 'cancelled by user', finishedAt: new Date() })
      this.afterTerminal(run, t)
    } else if (t.state === 'queued' || t.state === 'running') {
      t.cancelRequested = true
      await this.flush()
      this.armCancelWatchdog(run, [t])
      await run.session?.cancel([{ taskId: t.id, attempt: t.attempt, ref: t.ref }])
    } else throw new Error(`task ${taskId} is ${t.state}: nothing to cancel`)
    await this.flush()
  }

  /** manual retry of a failed / cancelled / lost task; its cancelled dependants go back to pending */
  async retryTask(runId: string, taskId: string): Promise<void> {
    let run = this.runs.get(runId)
    if (!run) run = await this.adopt(runId, { reopen: true })
    const t = run.tasks.get(taskId)
    if (!t) throw new Error(`task ${taskId} is not part of run ${runId}`)
    if (t.state !== 'failed' && t.state !== 'cancelled' && t.state !== 'lost' && t.state !== 'skipped')
      throw new Error(`task ${taskId} is ${t.state}: only failed, cancelled, skipped or lost tasks can be retried`)
    if (run.state === 'failed' || run.state === 'cancelled') {
      run.cancelRequested = false
      run.options.cancelRequested = false
      this.queueRun(run.id, { options: JSON.stringify(run.options), error: null })
      this.setRunState(run, 'running', { reason: `retry of task ${taskId}` })
      if (!run.session) await this.openSession(run)
    }
    t.cancelRequested = false
    t.retriesUsed = 0
    t.lostUsed = 0
    this.retryNow(run, t, 'retried by user')
    // dependants cancelled because of it wait again
    const stack = [...t.dependants]
    const seen = new Set<TaskRec>()
    while (stack.length) {
      const d = stack.pop()!
      if (seen.has(d)) continue
      seen.add(d)
      if ((d.state === 'skipped' || d.state === 'cancelled') && !d.cancelRequested) {
        this.setTask(run, d, 'pending', { reason: null, finishedAt: null })
        stack.push(...d.dependants)
      }
    }
    this.schedulePump(run)
    await this.flush()
  }

  // ---------------------------------------------------------------- adopt (restart, retry of a finished run)

  /**
   * Loads a run from the database into this engine and re-attaches its active tasks.
   * Used by reconcileRuns() after a restart and by retryTask() on a finished run.
   */
  async adopt(runId: string, o: { reopen?: boolean } = {}): Promise<ActiveRun> {
    const existing = this.runs.get(runId)
    if (existing) return existing
    const row = await this.db.run.findUnique({ where: { id: runId } })
    if (!row) throw new Error(`run ${runId} not found`)
    const plan = JSON.parse(row.plan) as ExecutionPlan
    const options = JSON.parse(row.options || '{}') as RunOptions
    const { backend, strategy } = resolveDrivers(row.backend, row.strategy)
    const tasks = await this.db.task.findMany({
      where: { runId },
      select: {
        id: true,
        stageId: true,
        state: true,
        attempt: true,
        maxRetries: true,
        pool: true,
        partitionKey: true,
        partitionIndex: true,
        workerId: true,
        startedAt: true,
        reason: true,
        message: true,
      },
    })
    const run = this.buildRun(
      {
        id: runId,
        plan,
        runDir: row.runDir ?? runDirFor(runId),
        state: row.state as RunState,
        options: { ...options, owner: this.identity },
        backend,
        strategy,
      },
      tasks,
    )
    const workers = await this.db.worker.findMany({ where: { runId }, select: { id: true, state: true, pool: true } })
    for (const w of workers) run.workers.set(w.id, { state: w.state as WorkerState, pool: w.pool })
    const startedAt = new Map(tasks.map((t) => [t.id, t.startedAt]))
    // the last submission of every active task
    const active = [...run.tasks.values()].filter((t) => t.state === 'queued' || t.state === 'running')
    const refs = new Map<string, JobRef>()
    if (active.length) {
      const evs = await this.db.event.findMany({
        where: { runId, type: 'task.submitted', taskId: { in: active.map((t) => t.id) } },
        orderBy: { id: 'asc' },
        select: { taskId: true, payload: true },
      })
      for (const e of evs) {
        const p = JSON.parse(e.payload) as { attempt: number; jobRef: JobRef }
        if (e.taskId && p.jobRef) refs.set(e.taskId, p.jobRef)
      }
    }
    this.runs.set(runId, run)
    this.lastControlId = Math.max(this.lastControlId, 0)
    this.queueRun(runId, { options: JSON.stringify(run.options) })
    this.startControlPolling()
    const isFinished = run.state === 'succeeded' || run.state === 'failed' || run.state === 'cancelled'
    if (!isFinished || o.reopen) {
      await this.openSession(run)
      if (run.state === 'pending') this.setRunState(run, 'running')
      const reattach: ActiveTask[] = []
      for (const t of active) {
        const ref = refs.get(t.id)
        t.ref = ref && ref.attempt === t.attempt ? ref : null
        if (t.state === 'running') t.startedAt = startedAt.get(t.id)?.getTime() ?? Date.now()
        reattach.push({
          taskId: t.id,
          attempt: t.attempt,
          pool: t.pool,
          stageId: t.stageId,
          state: t.state,
          taskDir: t.taskDir,
          ref: t.ref,
          timeoutSeconds: t.timeoutSeconds,
          startedAt: startedAt.get(t.id)?.toISOString() ?? null,
        })
      }
      for (const t of run.tasks.values())
        if ((t.state === 'pending' || t.state === 'retrying') && t.unmet === 0) this.makeReady(run, t)
      if (run.cancelRequested) {
        for (const t of run.tasks.values())
          if (t.state === 'pending' || t.state === 'retrying')
            this.setTask(run, t, 'cancelled', { reason: 'run cancelled', finishedAt: new Date() })
      }
      this.queueEvent({
        runId,
        type: 'run.log',
        taskId: null,
        workerId: null,
        payload: { level: 'info', message: `re-attached by process ${process.pid}: ${reattach.length} active task(s)` },
      })
      await this.flush()
      if (reattach.length && run.session) await run.session.reattach(reattach)
      for (const t of active) if (t.state === 'running') this.armTimeout(run, t)
      if (run.cancelRequested && run.session) {
        const still = active.filter((t) => t.state === 'queued' || t.state === 'running')
        if (still.length) await run.session.cancel(still.map((t) => ({ taskId: t.id, attempt: t.attempt, ref: t.ref })))
      }
      this.checkDone(run)
      this.schedulePump(run)
      await this.flush()
    }
    return run
  }

  // ---------------------------------------------------------------- control requests from other processes

  /** asks the process that owns a run to do something (cancel, cancelTask, retryTask) */
  async requestControl(runId: string, action: 'cancel' | 'cancelTask' | 'retryTask', taskId?: string): Promise<void> {
    this.queueEvent({
      runId,
      type: 'control',
      taskId: taskId ?? null,
      workerId: null,
      payload: { action, taskId: taskId ?? null, from: process.pid },
    })
    await this.flush()
  }

  private startControlPolling() {
    if (this.controlTimer || this.closed) return
    this.controlInit ??= this.store.maxEventId().then((m) => {
      this.lastControlId = Math.max(this.lastControlId, m)
    })
    const tick = async () => {
      this.controlTimer = null
      if (this.closed) return
      try {
        await this.controlInit
        const ids = this.activeRunIds()
        if (ids.length) {
          const evs = await this.store.controlEvents(ids, this.lastControlId)
          for (const e of evs) {
            this.lastControlId = Math.max(this.lastControlId, e.id)
            if (Number(e.payload.from) === process.pid) continue
            const a = e.payload.action
            try {
              if (a === 'cancel') await this.cancelRun(e.runId)
              else if (a === 'cancelTask' && e.taskId) await this.cancelTask(e.runId, e.taskId)
              else if (a === 'retryTask' && e.taskId) await this.retryTask(e.runId, e.taskId)
            } catch (err) {
              this.log('warn', `control request ${String(a)} on ${e.runId} failed: ${(err as Error).message}`)
            }
          }
        }
      } catch (err) {
        this.log('warn', `control poll failed: ${(err as Error).message}`)
      }
      if (this.runs.size > 0 && !this.closed) {
        this.controlTimer = setTimeout(tick, this.opts.controlPollMs ?? 500)
        this.controlTimer.unref?.()
      }
    }
    this.controlTimer = setTimeout(tick, this.opts.controlPollMs ?? 500)
    this.controlTimer.unref?.()
  }

  /** is the run owned by another live process? */
  ownedElsewhere(optionsJson: string | null | undefined): boolean {
    let o: RunOptions = {}
    try {
      o = JSON.parse(optionsJson || '{}')
    } catch {
      return false
    }
    const own = o.owner
    if (!own) return false
    if (own.pid === process.pid && own.host === os.hostname()) return false
    if (own.host !== os.hostname()) return true // another host: assume alive
    return isProcessAlive(own.pid, own.startTicks)
  }

  /**
   * Stops the engine. `detach` (default): leave task processes running (a later engine re-attaches);
   * otherwise cancel every active run first.
   */
  async shutdown(o: { detach?: boolean } = { detach: true }): Promise<void> {
    if (!o.detach)
      for (const id of this.activeRunIds()) await this.cancelRun(id, 'server shutting down').catch(() => {})
    await this.flush()
    for (const run of this.runs.values()) {
      for (const tm of run.timers.values()) tm.clear()
      await run.session?.close({ detach: true })
    }
    this.runs.clear()
    this.closed = true
    if (this.controlTimer) clearTimeout(this.controlTimer)
    await this.flush()
    this.store.close()
  }
}

const g = globalThis as unknown as { __controlroomEngine?: RunEngine }

/** the process-wide engine (for DATABASE_URL / the client given to setDb) */
export function getEngine(): RunEngine {
  g.__controlroomEngine ??= new RunEngine()
  return g.__controlroomEngine
}

/** tests: use this engine as the process-wide one */
export function setEngine(e: RunEngine | undefined): void {
  g.__controlroomEngine = e
}
