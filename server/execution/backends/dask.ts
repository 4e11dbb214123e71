/**
 * Backend `dask`: a Dask scheduler schedules the tasks of a run on per-pool Dask workers.
 *
 *   engine ── BackendSession (this file) ── DaskSession (dask/session.ts)
 *                                             ├─ scheduler: a local `dask scheduler` process, or an
 *                                             │  existing one (execution.config.scheduler_address)
 *                                             ├─ workers per pool, by strategy (dask/deploy/*):
 *                                             │  local processes | Slurm jobs | HTCondor jobs
 *                                             └─ bridge.py: one long-lived Python process holding a
 *                                                distributed.Client (JSON lines on stdin/stdout)
 *
 * Each task is submitted with resources {"pool.<name>": 1}; the Dask task function runs the SAME
 * task runtime command as the local backend (launch.argv: `node runner.mjs --spec ...`) as a
 * subprocess in its own session, so logs, outputs and result.json are identical on local and dask.
 * Cancel kills the task's process tree on its worker (client.run); a worker that dies takes its
 * tasks' trees with it (per-worker reaper). Worker loss under a running task: Dask reschedules it on
 * another worker of the pool (reported as task info), or it is `lost` when Dask gives up.
 *
 * execution.config keys (also under the site's `dask:` section):
 *   python                 interpreter with `distributed` (default: the first that imports it)
 *   scheduler_address      use this existing scheduler (and its workers) instead of starting one
 *   scheduler_host         interface of the scheduler we start (batch strategies: this host's name)
 *   worker_python          interpreter on the worker hosts (default: python)
 *   worker_start           eager | lazy (default: eager for local, lazy for slurm/htcondor)
 *   worker_idle_timeout    seconds a lazily started pool may idle before its workers are released
 *   worker_restarts        restarts / resubmissions per worker slot (default 3)
 *   no_worker_timeout      seconds an existing scheduler may lack a pool's worker before its tasks fail
 */
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import net from 'node:net'
import { registerBackend } from '../registry.ts'
import { readResult } from '../strategies/local.ts'
import type { SiteConfig } from '../../site/schema.ts'
import { defaultSiteConfig, loadSiteConfig } from '../../site/load.ts'
import { controlroomHome } from '../../site/load.ts'
import { createTransport } from '../transport/index.ts'
import type { CommandTransport } from '../transport/types.ts'
import type { ExecutionPlan } from '../../workflow/types.ts'
import type {
  ActiveTask,
  Backend,
  BackendRunContext,
  BackendSession,
  DispatchTask,
  JobRef,
  PoolProblem,
  Strategy,
  StrategyContext,
  TaskResult,
  WorkerState,
} from '../types.ts'
import { canTransition } from '../types.ts'
import {
  DaskSession,
  type DaskSessionStatus,
  type DaskStrategy,
  type DaskTaskEvent,
  type DaskWorkerView,
} from './dask/session.ts'
import { PythonNotFoundError, resolvePython } from './dask/python.ts'
import { usersModeExternalRefusal } from './dask/as-user.ts'
import { readSetting } from '../../settings.ts'
import { isValidPoolName } from './dask/protocol.ts'
import { checkPoolsAgainstWorkers, probeSchedulerWorkers } from './dask/scheduler-capacity.ts'

export { DaskSession } from './dask/session.ts'

const SIGNAL_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(os.constants.signals).map(([k, v]) => [v, k]),
)

export interface DaskBackendOptions {
  /** the site configuration (default: loadSiteConfig(), or the defaults when there is no file) */
  site?: SiteConfig | (() => SiteConfig)
  /** where batch commands run (default: createTransport(site)) */
  transport?: CommandTransport
  /** extra execution.config applied over the plan's (tests: smaller timeouts) */
  config?: Record<string, unknown>
}

function cfgStr(c: Record<string, unknown> | undefined, k: string): string | null {
  const v = c?.[k]
  return typeof v === 'string' && v.trim() ? v.trim() : null
}

/** TCP reachability of a `tcp://host:port` scheduler address */
export async function reachable(address: string, timeoutMs = 2000): Promise<string | null> {
  const m = /^(?:tcp:\/\/)?\[?([^\]]+?)\]?:(\d+)$/.exec(address.trim())
  if (!m) return `scheduler_address ${JSON.stringify(address)} is not tcp://host:port`
  return await new Promise((resolve) => {
    const s = net.connect({ host: m[1], port: Number(m[2]) })
    const t = setTimeout(() => {
      s.destroy()
      resolve(`no answer from ${address} within ${timeoutMs} ms`)
    }, timeoutMs)
    s.once('connect', () => {
      clearTimeout(t)
      s.end()
      resolve(null)
    })
    s.once('error', (e) => {
      clearTimeout(t)
      resolve(`cannot connect to ${address}: ${e.message}`)
    })
  })
}

export class DaskBackend implements Backend {
  readonly name = 'dask'
  constructor(private readonly o: DaskBackendOptions = {}) {}

  supportsStrategy(strategy: string): boolean {
    return strategy === 'local' || strategy === 'slurm' || strategy === 'htcondor'
  }

  site(): SiteConfig {
    if (typeof this.o.site === 'function') return this.o.site()
    if (this.o.site) return this.o.site
    try {
      return loadSiteConfig()
    } catch {
      return defaultSiteConfig(controlroomHome())
    }
  }

  config(plan: ExecutionPlan): Record<string, unknown> {
    return { ...(plan.config ?? {}), ...(this.o.config ?? {}) }
  }

  async preflight(plan: ExecutionPlan, strategy: Strategy, _ctx?: StrategyContext): Promise<PoolProblem[]> {
    const out: PoolProblem[] = []
    const cfg = this.config(plan)
    let site: SiteConfig | null = null
    try {
      site = typeof this.o.site === 'function' ? this.o.site() : (this.o.site ?? loadSiteConfig())
    } catch (e) {
      out.push({
        code: 'site-config-invalid',
        severity: strategy.name === 'local' ? 'warning' : 'error',
        pool: null,
        message: (e as Error).message,
      })
    }
    let python: string | null = null
    // users mode: an interpreter named in the workflow is the account's program; the server never
    // runs it as itself (the session probes it as the account's OS user when the run starts)
    const usersMode = readSetting('CONTROLROOM_AUTH') === 'users'
    if (!usersMode || !cfgStr(cfg, 'python'))
      try {
        python = (
          await resolvePython({
            configured: cfgStr(cfg, 'python'),
            siteDask: cfgStr(site?.dask as Record<string, unknown> | undefined, 'python'),
            site: site?.source ? site.python : null,
          })
        ).python
      } catch (e) {
        out.push({
          code: 'dask-no-python',
          severity: 'error',
          pool: null,
          message:
            e instanceof PythonNotFoundError ? e.message : `cannot check the Python for Dask: ${(e as Error).message}`,
          hint: 'install Dask (Debian: python3-distributed) or set execution.config.python',
        })
      }
    for (const p of plan.pools) {
      if (!isValidPoolName(p.name))
        out.push({
          code: 'dask-invalid-pool-name',
          severity: 'error',
          pool: p.name,
          message: `pool name '${p.name}' cannot be a Dask resource name (letters, digits, _ . - only)`,
        })
    }
    const addr = this.schedulerAddress(plan, site)
    if (addr && usersMode)
      out.push({
        code: 'dask-users-mode-external',
        severity: 'error',
        pool: null,
        message: usersModeExternalRefusal(addr),
      })
    else if (addr) {
      const why = await reachable(addr)
      if (why)
        out.push({
          code: 'dask-scheduler-unreachable',
          severity: 'error',
          pool: null,
          message: `the Dask scheduler is unreachable: ${why}`,
          hint: 'start the scheduler, or correct execution.config.scheduler_address (tcp://host:port)',
        })
      else if (python) {
        // the workers are the scheduler's, on other hosts: check the pools against what they offer
        try {
          out.push(...checkPoolsAgainstWorkers(plan, await probeSchedulerWorkers(python, addr), addr))
        } catch (e) {
          out.push({
            code: 'dask-scheduler-unreachable',
            severity: 'error',
            pool: null,
            message: (e as Error).message,
            hint: 'check that the address is a Dask scheduler and that its distributed version matches this one',
          })
        }
      }
    }
    return out
  }

  /** the existing scheduler the plan (or the site) names, if any */
  schedulerAddress(plan: ExecutionPlan, site?: SiteConfig | null): string | null {
    let s = site
    if (s === undefined)
      try {
        s = this.site()
      } catch {
        s = null
      }
    return (
      cfgStr(this.config(plan), 'scheduler_address') ??
      cfgStr(s?.dask as Record<string, unknown> | undefined, 'scheduler_address')
    )
  }

  /** an existing scheduler's workers are not placed by the strategy: the preflight checks them */
  checksCapacity(plan: ExecutionPlan): boolean {
    return this.schedulerAddress(plan) != null
  }

  async open(ctx: BackendRunContext): Promise<BackendSession> {
    const site = this.site()
    const strategy = ctx.plan.strategy as DaskStrategy
    // users mode: batch commands run as the account's OS user, whatever transport was injected
    const runAs = ctx.strategyContext.runAs ?? null
    const transport =
      strategy === 'local'
        ? undefined
        : runAs
          ? createTransport(site, runAs)
          : (this.o.transport ?? createTransport(site))
    const session = new DaskSession({
      runId: ctx.runId,
      runDir: ctx.runDir,
      pools: ctx.plan.pools,
      strategy,
      config: this.config(ctx.plan),
      site,
      environment: ctx.plan.environment,
      ...(transport ? { transport } : {}),
      runAs,
      log: (level, m) => ctx.report.log(level, m),
    })
    const s = new DaskBackendSession(ctx, session)
    await session.start()
    const st = session.schedulerInfo
    if (session.external && st.address) {
      // at run start: the cluster may have changed since the preflight
      const offers = session.connectedWorkers.map((w) => ({ ...w, hostCpus: w.hostCpus ?? null }))
      for (const p of checkPoolsAgainstWorkers(ctx.plan, offers, st.address))
        ctx.report.log(p.severity === 'error' ? 'error' : 'warn', `${p.message}${p.hint ? ` (${p.hint})` : ''}`)
    }
    ctx.report.log(
      'info',
      `dask: scheduler ${st.address}${st.dashboard ? ` (dashboard/health: ${st.dashboard}/health)` : ''}; workers by strategy ${strategy}${session.external ? ' (existing scheduler)' : ''}`,
    )
    return s
  }
}

interface Inflight {
  taskId: string
  attempt: number
  pool: string
  taskDir: string
  key: string | null
  started: boolean
  /** the last info reason reported (to avoid repeating it, and to clear it) */
  info: string | null
  worker: string | null
}

export class DaskBackendSession implements BackendSession {
  private inflight = new Map<string, Inflight>()
  private workerIds = new Map<string, string>()
  private workerStates = new Map<string, WorkerState>()
  private closed = false

  constructor(
    private readonly ctx: BackendRunContext,
    readonly dask: DaskSession,
  ) {
    dask.on('task', (e) => this.onTask(e))
    dask.on('worker', (w) => this.onWorker(w))
  }

  /** the stable, globally unique Worker id of a Dask worker (incarnation) of this run */
  workerId(name: string): string {
    let id = this.workerIds.get(name)
    if (!id) {
      id = `${this.ctx.runId}.dask.${name}`
      this.workerIds.set(name, id)
    }
    return id
  }

  /** Dask queues every task a pool is given: hand over everything that is ready */
  capacity(_pool: string): number {
    return Number.POSITIVE_INFINITY
  }

  async dispatch(tasks: DispatchTask[]): Promise<void> {
    const toSubmit: DispatchTask[] = []
    for (const t of tasks) {
      const l = t.launch
      if (t.inProcess) {
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
      // a strategy that writes specs itself (local: its executors' spool) hands the spec over
      // instead; Dask workers read spec.json, so it is written here
      if (l.spec && !existsSync(l.specPath)) {
        try {
          mkdirSync(l.taskDir, { recursive: true })
          writeFileSync(`${l.specPath}.tmp`, JSON.stringify(l.spec))
          renameSync(`${l.specPath}.tmp`, l.specPath)
        } catch (e) {
          this.ctx.report.task({
            kind: 'failed',
            taskId: l.taskId,
            attempt: l.attempt,
            reason: `cannot write the task spec: ${(e as Error).message}`,
          })
          continue
        }
      }
      this.inflight.set(l.taskId, {
        taskId: l.taskId,
        attempt: l.attempt,
        pool: l.pool,
        taskDir: l.taskDir,
        key: null,
        started: false,
        info: null,
        worker: null,
      })
      toSubmit.push(t)
    }
    if (!toSubmit.length) return
    let keys: { taskId: string; attempt: number; key: string }[]
    try {
      keys = await this.dask.submit(
        toSubmit.map((t) => ({
          taskId: t.launch.taskId,
          attempt: t.launch.attempt,
          pool: t.launch.pool,
          argv: t.launch.argv,
          env: t.launch.env,
          cwd: t.launch.taskDir,
          // the runtime enforces the stage timeout itself (and the engine kills after a grace)
          timeoutSeconds: null,
        })),
      )
    } catch (e) {
      for (const t of toSubmit) {
        this.inflight.delete(t.launch.taskId)
        this.ctx.report.task({
          kind: 'failed',
          taskId: t.launch.taskId,
          attempt: t.launch.attempt,
          reason: `submission to Dask failed: ${(e as Error).message}`,
        })
      }
      return
    }
    const addr = this.dask.schedulerInfo.address
    for (const k of keys) {
      const f = this.inflight.get(k.taskId)
      if (!f || f.attempt !== k.attempt) continue
      f.key = k.key
      const ref: JobRef = {
        taskId: k.taskId,
        attempt: k.attempt,
        pool: f.pool,
        jobId: k.key,
        workerId: null,
        data: { backend: 'dask', scheduler: addr, key: k.key, taskDir: f.taskDir },
      }
      this.ctx.report.task({ kind: 'submitted', taskId: k.taskId, attempt: k.attempt, ref })
    }
  }

  private info(f: Inflight, reason: string | null) {
    if (f.info === reason) return
    f.info = reason
    this.ctx.report.task({ kind: 'info', taskId: f.taskId, attempt: f.attempt, reason })
  }

  private onTask(e: DaskTaskEvent) {
    const f = this.inflight.get(e.taskId)
    if (!f || f.attempt !== e.attempt || (f.key && f.key !== e.key)) return
    const r = this.ctx.report
    switch (e.kind) {
      case 'queued':
        return
      case 'waiting':
        return this.info(f, e.reason ?? 'waiting for a worker of its pool')
      case 'assigned':
        // only worth an event when it clears a waiting reason
        if (f.info !== null && !f.started) this.info(f, null)
        return
      case 'running': {
        f.worker = e.worker ?? null
        const workerId = e.worker ? this.workerId(e.worker) : null
        if (!f.started) {
          f.started = true
          f.info = null
          r.task({
            kind: 'running',
            taskId: f.taskId,
            attempt: f.attempt,
            workerId,
            host: e.host ?? null,
            pid: e.pid ?? null,
            at: new Date().toISOString(),
          })
        } else {
          this.info(
            f,
            `running again on Dask worker ${e.worker} (start ${e.run ?? '?'}) after its previous worker was lost`,
          )
        }
        return
      }
      case 'rescheduled':
        return this.info(f, e.reason ?? 'its worker was lost: Dask reschedules it')
      case 'finished':
      case 'cancelled': {
        this.inflight.delete(f.taskId)
        const result = this.withDask(readResult(f.taskDir, f.attempt), e)
        const signal = e.signal ? (SIGNAL_NAMES[e.signal] ?? String(e.signal)) : null
        const reason =
          e.kind === 'cancelled'
            ? (e.reason ?? 'cancelled')
            : result
              ? null
              : (e.reason ?? e.stderrTail?.trim().split('\n').slice(-2).join(' | ') ?? null)
        r.task({
          kind: 'finished',
          taskId: f.taskId,
          attempt: f.attempt,
          result,
          exitCode: e.exitCode ?? null,
          signal,
          reason,
        })
        return
      }
      case 'lost': {
        this.inflight.delete(f.taskId)
        const result = readResult(f.taskDir, f.attempt)
        if (result) r.task({ kind: 'finished', taskId: f.taskId, attempt: f.attempt, result: this.withDask(result, e) })
        else r.task({ kind: 'lost', taskId: f.taskId, attempt: f.attempt, reason: e.reason ?? 'its Dask workers died' })
        return
      }
      case 'failed':
        this.inflight.delete(f.taskId)
        r.task({ kind: 'failed', taskId: f.taskId, attempt: f.attempt, reason: e.reason ?? 'failed on Dask' })
        return
    }
  }

  /** the runtime's result.json, with where it ran on Dask recorded in its metrics */
  private withDask(result: TaskResult | null, e: DaskTaskEvent): TaskResult | null {
    if (!result) return null
    return {
      ...result,
      metrics: {
        ...(result.metrics ?? {}),
        dask: {
          worker: e.worker ?? null,
          workerId: e.worker ? this.workerId(e.worker) : null,
          pool: e.pool,
          key: e.key,
          host: e.host ?? null,
          jobId: e.jobId ?? null,
        },
      },
    }
  }

  private onWorker(w: DaskWorkerView) {
    // never hand the engine an illegal worker transition (it throws in strict mode)
    const id = this.workerId(w.name)
    const prev = this.workerStates.get(id)
    if (prev && prev !== w.state && !canTransition('worker', prev, w.state)) return
    this.workerStates.set(id, w.state)
    this.ctx.report.worker({
      workerId: id,
      pool: w.pool,
      state: w.state,
      kind: 'dask',
      batchJobId: w.jobId,
      host: w.host,
      pid: w.pid,
      reason: w.reason ?? (w.address ? `Dask worker ${w.name} at ${w.address}` : `Dask worker ${w.name}`),
      currentTaskId: w.currentTaskId,
    })
  }

  async cancel(tasks: { taskId: string; attempt: number; ref: JobRef | null }[]): Promise<void> {
    const ids = tasks.filter((t) => this.inflight.get(t.taskId)?.attempt === t.attempt).map((t) => t.taskId)
    if (ids.length) this.dask.cancel(ids, 3)
  }

  /**
   * After a server restart: the Dask futures of these tasks died with the previous server's bridge
   * (and its workers killed their process trees), so they cannot be followed: they are `lost` and
   * the engine retries them by its policy on this session's scheduler and workers. A task whose
   * result.json was written before is reported finished.
   */
  async reattach(tasks: ActiveTask[]): Promise<void> {
    for (const t of tasks) {
      const result = readResult(t.taskDir, t.attempt)
      if (result) this.ctx.report.task({ kind: 'finished', taskId: t.taskId, attempt: t.attempt, result })
      else
        this.ctx.report.task({
          kind: 'lost',
          taskId: t.taskId,
          attempt: t.attempt,
          reason: 'the server restarted: the Dask session that ran it ended with it',
        })
    }
  }

  async status(): Promise<DaskSessionStatus> {
    return this.dask.status()
  }

  async close(opts?: { detach?: boolean }): Promise<void> {
    if (this.closed) return
    this.closed = true
    if (opts?.detach)
      this.ctx.report.log(
        'warn',
        'dask: a Dask run cannot be detached: its tasks are stopped and will be retried when the run is re-attached',
      )
    await this.dask.close()
  }
}

registerBackend('dask', () => new DaskBackend())
