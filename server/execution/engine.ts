/**
 * The run engine: one per process (`getEngine()`), driving every run this process owns. This file
 * is its face (creating runs, waiting, control, shutdown); the work is done in engine/:
 *
 *   engine/expand.ts       task expansion: plan stages x partitions -> task rows -> the task graph
 *   engine/dispatch.ts     scheduling: ready queues per pool, capacity, hand-over after the commit
 *   engine/outcomes.ts     reports of tasks -> next state, retry (policy.ts decides), skip, run end
 *   engine/workers.ts      reports of workers -> Worker rows
 *   engine/transitions.ts  checked state changes + their events
 *   engine/write-queue.ts  batched writes (one transaction per batch, group commit), then the bus
 *   engine/control.ts      cancel / cancel a task / retry a task, and requests from other processes
 *   engine/reattach.ts     a stored run made active again (restart, retry of a finished run)
 *   engine/preflight.ts    what refuses a plan before anything runs
 *
 * - Every state change is checked against the transition table (types.ts), then written with its
 *   Event in one DB transaction, and only after the commit emitted on the bus. Side effects that
 *   depend on a state (dispatching a `queued` task) run after that commit.
 * - Failure policy (policy.ts): a failed task is retried `stage.retries` times; when it finally
 *   fails, every task downstream of it is `skipped` ("upstream <stage> failed"); independent
 *   branches go on; the run ends `failed`. A `lost` task gets `lostRetries` (default 1) extra
 *   attempts of its own, then the stage's retries.
 * - Restart safety: processes/jobs outlive the engine; `adopt()` re-reads a run from the database
 *   and the last `task.submitted` events and re-attaches (see reconcile.ts).
 * - Ops resolve through the op registry (ops.ts); op families (hep.*) plug in there, not here.
 * - Re-run from a stage creates a NEW run of the same frozen plan in which the tasks upstream of that
 *   stage that succeeded in the old run are copied as `succeeded` (reason "reused from run X"; their
 *   outputs stay in the old run directory and are passed on via CONTROLROOM_INPUTS).
 */
import { chmodSync, mkdirSync, statSync, writeFileSync } from 'node:fs'
import { prepareUserRunDir } from './user-files.ts'
import os from 'node:os'
import path from 'node:path'
import type { Db } from '../db/client.ts'
import { createDb, currentDbUrl, getDb } from '../db/client.ts'
import { readSetting } from '../settings.ts'
import type { ExecutionPlan } from '../workflow/types.ts'
import { emit } from './bus.ts'
import './drivers.ts'
import { ControlPoller, cancelRun, cancelTask, requestControl, retryTask } from './engine/control.ts'
import { schedulePump, makeReady } from './engine/dispatch.ts'
import { buildRun, expandTasks, type ReusedTask } from './engine/expand.ts'
import type { ActiveRun, EngineCore, EngineOptions, RunOptions } from './engine/model.ts'
import { RunRefusedError } from './engine/model.ts'
import { checkDone, onTaskUpdate } from './engine/outcomes.ts'
import { credentialProblems, preflight } from './engine/preflight.ts'
import { prestartWorkers } from './engine/prestart.ts'
import { adopt } from './engine/reattach.ts'
import { setRunState } from './engine/transitions.ts'
import { onWorkerUpdate } from './engine/workers.ts'
import { WriteQueue } from './engine/write-queue.ts'
import { newId } from './ids.ts'
import { preparePartitions } from './partition.ts'
import { runDirFor } from './paths.ts'
import { isProcessAlive, selfIdentity } from './procfs.ts'
import { resolveDrivers } from './registry.ts'
import { createStore, type EngineStore } from './store.ts'
import { type DispatchTask, type PoolProblem, RunAsSchema, type RunState, type TaskResult } from './types.ts'

export { RunRefusedError }
export type { EngineOptions, RunOptions }

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

const nowIso = () => new Date().toISOString()

export class RunEngine implements EngineCore {
  readonly db: Db
  readonly url: string
  readonly store: EngineStore
  /** @internal the engine's modules (engine/) */
  readonly writes: WriteQueue
  /** @internal the runs this process drives */
  readonly runs = new Map<string, ActiveRun>()
  readonly identity = { ...selfIdentity(), host: os.hostname() }
  private control: ControlPoller

  constructor(readonly opts: EngineOptions = {}) {
    this.url = opts.url ?? currentDbUrl()
    this.db = opts.db ?? (opts.url ? createDb(opts.url) : getDb())
    this.store = createStore(this.db, this.url)
    this.writes = new WriteQueue(this.store, (l, m) => this.log(l, m), opts.flushIntervalMs)
    this.control = new ControlPoller(this)
  }

  log(level: 'info' | 'warn' | 'error', msg: string) {
    if (this.opts.log) this.opts.log(level, msg)
    else if (level !== 'info' || readSetting('CONTROLROOM_DEBUG'))
      console[level === 'info' ? 'log' : level](`[controlroom engine] ${msg}`)
  }

  /** writes everything queued so far (one transaction), emits the stored events, runs post-commit actions */
  flush(): Promise<void> {
    return this.writes.flush()
  }

  /** @internal */
  startControlPolling() {
    this.control.start()
  }

  // ---------------------------------------------------------------- creating runs

  /** problems that refuse a plan before anything is dispatched */
  preflight(plan: ExecutionPlan, runDir?: string): Promise<PoolProblem[]> {
    return preflight(this.opts, plan, runDir)
  }

  /** the dispatch-time credential policy (engine/preflight.ts) */
  credentialProblems(plan: ExecutionPlan): Promise<(PoolProblem & { rawMessage: string })[]> {
    return credentialProblems(this.opts, plan)
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
    reuse?: { fromRunId: string; tasks: Map<string, ReusedTask> }
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
    if (runAs) traversable(path.dirname(runDir))
    await preparePartitions(plan, { runDir }) // hook: partitioners that need I/O (hep.*: counting events)
    // users mode: the run directory and tasks/ stay root's; the run's OS user gets only its leaves
    if (runAs) prepareUserRunDir(runDir, runAs)

    const options: RunOptions = { ...(args.options ?? {}), owner: this.identity }
    const createdAt = new Date()
    const rows = expandTasks(plan, runId, createdAt, args.reuse)
    const run = buildRun({ id: runId, plan, runDir, state: 'pending', options, backend, strategy }, rows)
    const dropWorkers = prestartWorkers({ backend, strategy, plan, runDir, runAs, rows, log: (l, m) => this.log(l, m) })
    await this.flush() // nothing else may interleave with the insert
    const stored = await this.store
      .insertRun(
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
      .catch((err) => {
        dropWorkers() // the run was not stored: its executors stop
        throw err
      })
    emit(stored)
    // credential warnings (warn policy) are run events: the run page lists them with the engine's messages
    for (const w of problems) {
      if (w.severity === 'warning' && w.code.startsWith('credential-')) {
        this.writes.event({
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
    setRunState(this, run, 'running')
    for (const t of run.tasks.values()) if (t.state === 'pending' && t.unmet === 0) makeReady(this, run, t)
    checkDone(this, run)
    schedulePump(this, run)
    await this.flush()
    return { runId, warnings: problems.filter((p) => p.severity === 'warning') }
  }

  /** @internal opens the run's backend session; its reports come back to engine/outcomes.ts and engine/workers.ts */
  async openSession(run: ActiveRun) {
    run.session = await run.backend.open({
      runId: run.id,
      runDir: run.runDir,
      plan: run.plan,
      strategy: run.strategy,
      strategyContext: { runDir: run.runDir, host: this.opts.host, runAs: run.options.runAs ?? null },
      report: {
        task: (u) => onTaskUpdate(this, run, u),
        worker: (u) => onWorkerUpdate(this, run, u),
        log: (level, message) => {
          this.log(level, `run ${run.id}: ${message}`)
          if (level !== 'info')
            this.writes.event({
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

  /** an in-process task (noop): no process, no worker, done at once */
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

  cancelRun(runId: string, reason = 'cancelled by user'): Promise<void> {
    return cancelRun(this, runId, reason)
  }

  cancelTask(runId: string, taskId: string): Promise<void> {
    return cancelTask(this, runId, taskId)
  }

  /** manual retry of a failed / cancelled / lost task; its cancelled dependants go back to pending */
  retryTask(runId: string, taskId: string): Promise<void> {
    return retryTask(this, runId, taskId)
  }

  /**
   * Loads a run from the database into this engine and re-attaches its active tasks.
   * Used by reconcileRuns() after a restart and by retryTask() on a finished run.
   */
  adopt(runId: string, o: { reopen?: boolean } = {}): Promise<ActiveRun> {
    return adopt(this, runId, o)
  }

  /** asks the process that owns a run to do something (cancel, cancelTask, retryTask) */
  requestControl(runId: string, action: 'cancel' | 'cancelTask' | 'retryTask', taskId?: string): Promise<void> {
    return requestControl(this, runId, action, taskId)
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
    this.control.close()
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
