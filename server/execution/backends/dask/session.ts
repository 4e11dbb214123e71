/**
 * DaskSession: one run on Dask. Owns the scheduler (or connects to an existing one), the worker
 * deployment of the strategy (local processes, Slurm jobs, HTCondor jobs), and the Python bridge;
 * turns their events into task and worker events with human reasons:
 *  - a task whose pool has no connected worker is `waiting` with the reason (worker job PENDING
 *    with Slurm's reason, worker process starting, restarting after an exit, ...), never silent;
 *  - a pool that can never get a worker (every slot failed past its restarts, an impossible batch
 *    request) fails its tasks with that reason;
 *  - a worker that vanishes under a running task: the task is `rescheduled` by Dask on another
 *    worker of the pool (visible), or `lost` when Dask gives up (KilledWorker).
 * Engine-independent: `../dask.ts` adapts it to the engine's Backend contract.
 */
import { EventEmitter } from 'node:events'
import { mkdirSync, renameSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { PlanEnvironment, PlanPool } from '../../../workflow/types.ts'
import type { SiteConfig } from '../../../site/schema.ts'
import type { CommandTransport } from '../../transport/types.ts'
import { DaskBridge, type BridgeReady } from './bridge.ts'
import type { BridgeTaskEvent, BridgeWorker } from './protocol.ts'
import { isValidPoolName } from './protocol.ts'
import { resolvePython, type PythonChoice } from './python.ts'
import { LocalScheduler, schedulerHealth } from './deploy/scheduler.ts'
import { LocalWorkers } from './deploy/local.ts'
import { SlurmWorkers } from './deploy/slurm.ts'
import { HTCondorWorkers } from './deploy/htcondor.ts'
import type { DeployedWorker, WorkerDeployment } from './deploy/types.ts'
import { pidAlive, sleep } from './procs.ts'
import type { RunAs } from '../../types.ts'
import { writeNewFile } from '../../user-files.ts'
import { type DaskUser, prepareUserDask, processUid, usersModeExternalRefusal } from './as-user.ts'

export type DaskStrategy = 'local' | 'slurm' | 'htcondor'

/** the engine's worker states */
export type EngineWorkerState = 'requested' | 'pending-in-queue' | 'running' | 'gone'

export interface DaskWorkerView {
  /** stable id of this worker incarnation within the run: `dask-<name>` */
  id: string
  name: string
  pool: string
  state: EngineWorkerState
  /** finer state: requested | pending-in-queue | starting | running | gone */
  detail: string
  /** 'local' | 'slurm' | 'htcondor' | 'external' */
  batch: string
  /** Slurm job id / HTCondor cluster.proc */
  jobId: string | null
  host: string | null
  pid: number | null
  /** Dask address once connected */
  address: string | null
  connected: boolean
  reason: string | null
  currentTaskId: string | null
  restarts: number
}

export type DaskTaskEventKind =
  | 'queued'
  | 'waiting'
  | 'assigned'
  | 'running'
  | 'rescheduled'
  | 'finished'
  | 'cancelled'
  | 'lost'
  | 'failed'

export interface DaskTaskEvent {
  taskId: string
  attempt: number
  pool: string
  kind: DaskTaskEventKind
  /** Dask key of this attempt */
  key: string
  reason?: string | null
  worker?: string | null
  workerId?: string | null
  address?: string | null
  host?: string | null
  pid?: number | null
  jobId?: string | null
  exitCode?: number | null
  signal?: number | null
  timedOut?: boolean
  started?: boolean
  durationMs?: number
  stderrTail?: string | null
  /** running: 1 for the first start, 2 after one reschedule, ... */
  run?: number
}

export interface DaskSubmit {
  taskId: string
  attempt: number
  pool: string
  argv: string[]
  env?: Record<string, string>
  cwd?: string | null
  /** safety timeout enforced on the worker (the runtime enforces the task's own timeout) */
  timeoutSeconds?: number | null
  pidFile?: string | null
  stdout?: string | null
  stderr?: string | null
}

export interface DaskSessionOptions {
  runId: string
  /** run directory as this host sees it; Dask files go to <runDir>/dask */
  runDir: string
  pools: PlanPool[]
  strategy: DaskStrategy
  /** execution.config (python, scheduler_address, scheduler_host, worker_start, worker_idle_timeout, ...) */
  config?: Record<string, unknown>
  site?: SiteConfig | null
  environment?: PlanEnvironment | null
  /** batch strategies: where sbatch / condor_submit run (default: site ssh or this host) */
  transport?: CommandTransport
  log?: (level: 'info' | 'warn' | 'error', message: string) => void
  /**
   * users mode: the account's OS user. The scheduler, the workers and the bridge run as it, over
   * the run's mutual TLS (as-user.ts); batch strategies need `transport` to run as it too. An
   * existing scheduler (scheduler_address) is refused: its workers are not that user's.
   */
  runAs?: RunAs | null
}

export interface DaskSessionStatus {
  strategy: DaskStrategy
  external: boolean
  python: string | null
  scheduler: { address: string | null; dashboard: string | null; health: string | null; pid: number | null }
  pools: {
    name: string
    target: number
    exhausted: boolean
    reason: string | null
    connected: number
    workers: DaskWorkerView[]
  }[]
}

export interface DaskSessionEvents {
  task: [DaskTaskEvent]
  worker: [DaskWorkerView]
  log: ['info' | 'warn' | 'error', string]
}

interface TaskRec {
  taskId: string
  attempt: number
  pool: string
  key: string
  state: DaskTaskEventKind
  reason: string | null
  worker: string | null
  address: string | null
  pid: number | null
  host: string | null
  final: boolean
}

function cfgStr(c: Record<string, unknown>, ...keys: string[]): string | null {
  for (const k of keys) {
    const v = c[k]
    if (typeof v === 'string' && v.trim()) return v.trim()
  }
  return null
}

function cfgNum(c: Record<string, unknown>, ...keys: string[]): number | null {
  for (const k of keys) {
    const v = c[k]
    if (typeof v === 'number' && Number.isFinite(v)) return v
    if (typeof v === 'string' && v.trim() && Number.isFinite(Number(v))) return Number(v)
  }
  return null
}

export class DaskSession extends EventEmitter<DaskSessionEvents> {
  readonly dir: string
  private cfg: Record<string, unknown>
  private python: PythonChoice | null = null
  private scheduler: LocalScheduler | null = null
  private schedulerAddress: string | null = null
  private dashboard: string | null = null
  deployment: WorkerDeployment | null = null
  bridge: DaskBridge | null = null
  private bridgeRestarts = 0
  /** users mode: the account's OS user and the run's TLS files */
  private user: DaskUser | null = null
  private closing = false
  private started = false
  private tasks = new Map<string, TaskRec>()
  private byKey = new Map<string, TaskRec>()
  /** connected Dask workers by address */
  private connected = new Map<string, BridgeWorker>()
  /** deployed workers by Dask worker name */
  private deployed = new Map<string, DeployedWorker>()
  private views = new Map<string, string>()
  private exhausted = new Map<string, string>()
  private lazy: boolean
  private idleMs: number
  private idleTimers = new Map<string, NodeJS.Timeout>()
  private ensured = new Set<string>()
  private noWorkerTimeoutMs: number | null
  private noWorkerTimers = new Map<string, NodeJS.Timeout>()
  private keySeq = 0
  /** every Dask key of this run starts with it */
  readonly keyPrefix: string

  constructor(readonly opts: DaskSessionOptions) {
    super()
    this.dir = path.join(opts.runDir, 'dask')
    this.keyPrefix = `cr-${opts.runId.replace(/[^A-Za-z0-9_.]/g, '_').slice(0, 16)}-`
    const siteDask = (opts.site?.dask ?? {}) as Record<string, unknown>
    this.cfg = { ...siteDask, ...(opts.config ?? {}) }
    const start = cfgStr(this.cfg, 'worker_start', 'workerStart')
    this.lazy = start ? start === 'lazy' : opts.strategy !== 'local'
    const idle = cfgNum(this.cfg, 'worker_idle_timeout', 'workerIdleTimeout')
    this.idleMs = (idle ?? (opts.strategy === 'local' ? 0 : 60)) * 1000
    const nw = cfgNum(this.cfg, 'no_worker_timeout', 'noWorkerTimeout')
    this.noWorkerTimeoutMs = nw != null && nw > 0 ? nw * 1000 : null
  }

  private log(level: 'info' | 'warn' | 'error', msg: string) {
    this.opts.log?.(level, msg)
    this.emit('log', level, msg)
  }

  get external(): boolean {
    return !!cfgStr(this.cfg, 'scheduler_address', 'schedulerAddress')
  }

  /** the workers connected to the scheduler now (with an existing scheduler: also other runs' workers) */
  get connectedWorkers(): BridgeWorker[] {
    return [...this.connected.values()]
  }

  get pythonChoice(): PythonChoice | null {
    return this.python
  }

  get schedulerInfo() {
    return { address: this.schedulerAddress, dashboard: this.dashboard, pid: this.scheduler?.pid ?? null }
  }

  /** pools that stages are routed to */
  private usedPools(): string[] {
    return this.opts.pools.filter((p) => p.stages.length > 0 || p.name === 'default').map((p) => p.name)
  }

  async start(): Promise<BridgeReady> {
    if (this.started) throw new Error('session already started')
    this.started = true
    const runAs = this.opts.runAs ?? null
    if (runAs && this.external)
      throw new Error(usersModeExternalRefusal(cfgStr(this.cfg, 'scheduler_address', 'schedulerAddress')!))
    if (!runAs) mkdirSync(this.dir, { recursive: true })
    for (const p of this.opts.pools)
      if (!isValidPoolName(p.name))
        throw new Error(`pool name ${JSON.stringify(p.name)} cannot be a Dask resource (letters, digits, _ . - only)`)
    try {
      if (runAs) this.user = await prepareUserDask(this.dir, runAs)
      this.python = await resolvePython({
        configured: cfgStr(this.opts.config ?? {}, 'python'),
        siteDask: cfgStr((this.opts.site?.dask ?? {}) as Record<string, unknown>, 'python'),
        site: this.opts.site?.source ? this.opts.site.python : null,
        runAs,
      })
      this.log(
        'info',
        `dask: Python ${this.python.python} (distributed ${this.python.distributed}, from ${this.python.source})`,
      )
      const external = cfgStr(this.cfg, 'scheduler_address', 'schedulerAddress')
      if (external) {
        this.schedulerAddress = external
      } else {
        const batch = this.opts.strategy !== 'local'
        const host = cfgStr(this.cfg, 'scheduler_host', 'schedulerHost') ?? (batch ? os.hostname() : '127.0.0.1')
        // the workflow's dashboard_address (fasthep-flow's dask_local sets ":8787"), else a free port
        // (users mode: no dashboard at all, deploy/scheduler.ts)
        const dashboardAddress = cfgStr(this.cfg, 'dashboard_address', 'dashboardAddress') ?? undefined
        this.scheduler = new LocalScheduler({
          python: this.python.python,
          dir: this.dir,
          host,
          dashboardAddress,
          user: this.user,
        })
        const info = await this.scheduler.start()
        this.schedulerAddress = info.address
        this.dashboard = info.dashboard
        this.log(
          'info',
          `dask: scheduler ${info.address} (pid ${info.pid})${info.dashboard ? `, dashboard/health ${info.dashboard}/health` : ''}`,
        )
        this.deployment = this.makeDeployment(info.address)
      }
      const ready = await this.startBridge()
      this.dashboard ??= ready.scheduler.dashboard
      if (this.deployment && !this.lazy) {
        await this.ensurePools(this.usedPools())
        // local workers connect within seconds: start the run once every pool has one (or cannot get one)
        if (this.opts.strategy === 'local') {
          const deadline = Date.now() + (cfgNum(this.cfg, 'worker_start_timeout', 'workerStartTimeout') ?? 30) * 1000
          while (
            Date.now() < deadline &&
            !this.usedPools().every((p) => this.poolConnected(p) > 0 || this.exhausted.has(p))
          )
            await sleep(25)
        }
      }
      this.writeStatusFile()
      return ready
    } catch (e) {
      await this.close().catch(() => undefined)
      throw e
    }
  }

  private makeDeployment(address: string): WorkerDeployment {
    const maxRestarts = cfgNum(this.cfg, 'worker_restarts', 'workerRestarts') ?? 3
    const workerPython = cfgStr(this.cfg, 'worker_python', 'workerPython') ?? this.python!.python
    const base = {
      pools: this.opts.pools,
      schedulerAddress: address,
      python: workerPython,
      dir: this.dir,
      maxRestarts,
      user: this.user,
    }
    let d: WorkerDeployment
    if (this.opts.strategy === 'local') d = new LocalWorkers(base)
    else {
      const site = this.opts.site
      if (!site) throw new Error(`strategy ${this.opts.strategy} needs the site configuration`)
      if (!this.opts.transport) throw new Error(`strategy ${this.opts.strategy} needs a command transport`)
      const setup = workerSetupLines(this.opts.environment ?? null, site)
      if (this.opts.strategy === 'slurm')
        d = new SlurmWorkers({ ...base, site, transport: this.opts.transport, runId: this.opts.runId, setup })
      else d = new HTCondorWorkers({ ...base, site, transport: this.opts.transport, runId: this.opts.runId, setup })
    }
    d.on('worker', (w) => this.onDeployed(w))
    d.on('exhausted', ({ pool, reason }) => this.onExhausted(pool, reason))
    d.on('info', (m) => this.log('info', `dask: ${m}`))
    return d
  }

  private async startBridge(): Promise<BridgeReady> {
    const b = new DaskBridge({
      python: this.python!.python,
      ...(this.scheduler
        ? { schedulerFile: path.join(this.dir, 'scheduler.json') }
        : { address: this.schedulerAddress! }),
      logFile: path.join(this.dir, 'bridge.log'),
      timeout: cfgNum(this.cfg, 'connect_timeout', 'connectTimeout') ?? 30,
      poll: 2,
      keyPrefix: this.keyPrefix,
      user: this.user,
    })
    b.on('task', (e) => this.onBridgeTask(e))
    b.on('worker', (e) => this.onBridgeWorker(e.action, e.worker, e.tasks))
    b.on('problem', (e) => this.log('warn', `dask bridge: ${e.message}${e.taskId ? ` (task ${e.taskId})` : ''}`))
    b.on('exit', (e) => {
      if (this.bridge === b) void this.onBridgeExit(e)
    })
    const ready = await b.start()
    this.bridge = b
    this.connected.clear()
    for (const w of ready.workers) this.onBridgeWorker('added', w, [])
    return ready
  }

  private async onBridgeExit(e: { code: number | null; signal: string | null; stderrTail: string }) {
    if (this.closing) return
    const why = `the Dask bridge exited (${e.signal ?? `code ${e.code}`})`
    this.log('error', `${why}; see ${path.join(this.dir, 'bridge.log')}`)
    // tasks it was watching cannot be followed any more: their futures died with its client
    for (const t of this.tasks.values()) {
      if (t.final) continue
      // the pid is the bridge's word: in users mode kill it only if it is a process of the account's
      const mine = !this.user || processUid(t.pid ?? -1) === this.user.runAs.uid
      if (t.pid && t.pid > 1 && t.host === os.hostname() && pidAlive(t.pid) && mine) {
        try {
          process.kill(-t.pid, 'SIGKILL')
        } catch {
          /* gone */
        }
      }
      this.finish(t, 'lost', { reason: `${why} while the task was ${t.state}` })
    }
    if (this.bridgeRestarts < 3) {
      this.bridgeRestarts += 1
      try {
        await this.startBridge()
        this.log('info', `dask: bridge restarted (${this.bridgeRestarts}/3)`)
      } catch (err) {
        this.log('error', `dask: bridge restart failed: ${(err as Error).message}`)
      }
    }
  }

  // ---------------------------------------------------------------- workers

  private workerView(name: string): DaskWorkerView | null {
    const dep = this.deployed.get(name) ?? null
    const conn = [...this.connected.values()].find((w) => w.name === name) ?? null
    if (!dep && !conn) return null
    const pool = dep?.pool ?? conn?.pool ?? conn?.pools[0] ?? '?'
    const running = [...this.tasks.values()].find((t) => !t.final && t.state === 'running' && t.worker === name)
    let state: EngineWorkerState
    let detail: string
    if (conn) {
      state = 'running'
      detail = 'running'
    } else if (dep) {
      detail = dep.state
      state =
        dep.state === 'gone'
          ? 'gone'
          : dep.state === 'running'
            ? 'running'
            : dep.state === 'starting'
              ? dep.batch === 'local'
                ? 'requested'
                : 'pending-in-queue'
              : dep.state
    } else {
      state = 'gone'
      detail = 'gone'
    }
    return {
      id: `dask-${name}`,
      name,
      pool,
      state,
      detail,
      batch: dep?.batch ?? 'external',
      jobId: dep?.jobId ?? conn?.jobId ?? null,
      host: conn?.host ?? null,
      pid: conn?.pid ?? dep?.pid ?? null,
      address: conn?.address ?? null,
      connected: !!conn,
      reason: conn ? null : (dep?.reason ?? null),
      currentTaskId: running?.taskId ?? null,
      restarts: dep?.restarts ?? 0,
    }
  }

  private publishWorker(name: string) {
    const v = this.workerView(name)
    if (!v) return
    const sig = JSON.stringify([v.state, v.detail, v.jobId, v.pid, v.address, v.reason, v.currentTaskId, v.host])
    if (this.views.get(name) === sig) return
    // a gone worker stays gone
    if (this.views.get(name)?.startsWith('["gone"') && v.state !== 'gone') return
    this.views.set(name, sig)
    this.emit('worker', v)
    this.scheduleStatusFile()
  }

  private statusTimer: NodeJS.Timeout | null = null

  /** <runDir>/dask/session.json: scheduler address, dashboard URL, workers per pool with their job ids */
  private scheduleStatusFile() {
    if (this.statusTimer) return
    this.statusTimer = setTimeout(() => {
      this.statusTimer = null
      this.writeStatusFile()
    }, 250)
    this.statusTimer.unref?.()
  }

  writeStatusFile() {
    try {
      const file = path.join(this.dir, 'session.json')
      const text = JSON.stringify({ ...this.snapshot(), updatedAt: new Date().toISOString() }, null, 2)
      // users mode: the directory is the account's: a link planted at the name is replaced, not followed
      if (this.user) writeNewFile(`${file}.tmp`, text, this.user.runAs)
      else writeFileSync(`${file}.tmp`, text)
      renameSync(`${file}.tmp`, file)
    } catch {
      /* the run directory is gone */
    }
  }

  private onDeployed(w: DeployedWorker) {
    this.deployed.set(w.name, w)
    this.publishWorker(w.name)
    this.refreshWaiting(w.pool)
  }

  private onBridgeWorker(action: 'added' | 'removed', w: BridgeWorker, _tasks: string[]) {
    if (action === 'added') {
      this.connected.set(w.address, w)
      ;(this.deployment as { markConnected?: (n: string) => void } | null)?.markConnected?.(w.name)
      this.publishWorker(w.name)
      for (const p of w.pools) {
        const t = this.noWorkerTimers.get(p)
        if (t) {
          clearTimeout(t)
          this.noWorkerTimers.delete(p)
        }
      }
    } else {
      this.connected.delete(w.address)
      ;(this.deployment as { markDisconnected?: (n: string) => void } | null)?.markDisconnected?.(w.name)
      this.log('warn', `dask: worker ${w.name} (${w.address}${w.jobId ? `, job ${w.jobId}` : ''}) left the scheduler`)
      this.publishWorker(w.name)
      if (!this.deployment) {
        // external cluster: nobody else will say it is gone
        const sig = this.views.get(w.name)
        if (!sig?.startsWith('["gone"')) {
          this.views.set(w.name, '["gone"]')
          this.emit('worker', {
            ...this.workerView(w.name)!,
            state: 'gone',
            detail: 'gone',
            connected: false,
            address: w.address,
            reason: 'left the scheduler',
          })
        }
      }
      for (const p of w.pools) this.refreshWaiting(p)
    }
  }

  private poolConnected(pool: string): number {
    let n = 0
    for (const w of this.connected.values()) if (w.pools.includes(pool)) n++
    return n
  }

  /** why tasks of this pool wait (null when a worker of the pool is connected) */
  waitingReason(pool: string): string | null {
    if (this.exhausted.has(pool)) return this.exhausted.get(pool)!
    if (this.poolConnected(pool) > 0) return null
    if (!this.deployment) {
      const a = this.schedulerAddress
      return `waiting for workers: no worker of the Dask scheduler ${a} has the resource pool.${pool} (start one with: dask worker ${a} --resources pool.${pool}=1)`
    }
    const dep = this.deployment.pool(pool)
    if (!dep || dep.workers.length === 0)
      return `waiting for workers: the workers of pool ${pool} are being requested (${this.opts.strategy})`
    const parts = dep.workers.map((w) => `${w.name}: ${describeDeployed(w)}`)
    return `waiting for workers of pool ${pool}: ${parts.join('; ')}`
  }

  private refreshWaiting(pool: string) {
    const reason = this.waitingReason(pool)
    for (const t of this.tasks.values()) {
      if (t.final || t.pool !== pool) continue
      if (reason === null || !['queued', 'waiting', 'rescheduled'].includes(t.state)) continue
      if (t.state === 'waiting' && t.reason === reason) continue
      t.state = 'waiting'
      t.reason = reason
      this.emitTask(t, 'waiting', { reason })
    }
  }

  private onExhausted(pool: string, reason: string) {
    if (this.exhausted.has(pool)) return
    this.exhausted.set(pool, reason)
    this.log('error', `dask: ${reason}`)
    const victims = [...this.tasks.values()].filter((t) => !t.final && t.pool === pool && t.state !== 'running')
    if (victims.length) {
      try {
        this.bridge?.cancel(
          victims.map((t) => t.taskId),
          1,
        )
      } catch {
        /* bridge gone */
      }
      for (const t of victims) this.finish(t, 'failed', { reason: `pool ${pool} can never get a worker: ${reason}` })
    }
  }

  // ---------------------------------------------------------------- tasks

  private emitTask(t: TaskRec, kind: DaskTaskEventKind, extra: Partial<DaskTaskEvent> = {}) {
    this.emit('task', { taskId: t.taskId, attempt: t.attempt, pool: t.pool, key: t.key, kind, ...extra })
  }

  private finish(t: TaskRec, kind: DaskTaskEventKind, extra: Partial<DaskTaskEvent>) {
    if (t.final) return
    t.final = true
    t.state = kind
    const worker = t.worker
    this.emitTask(t, kind, extra)
    if (worker) this.publishWorker(worker)
    this.poolActivity(t.pool)
  }

  private activeIn(pool: string): number {
    let n = 0
    for (const t of this.tasks.values()) if (!t.final && t.pool === pool) n++
    return n
  }

  /** lazy strategies: release a pool's workers once it has had nothing to do for idleMs */
  private poolActivity(pool: string) {
    if (!this.lazy || !this.deployment || this.idleMs <= 0) return
    const prev = this.idleTimers.get(pool)
    if (prev) clearTimeout(prev)
    this.idleTimers.delete(pool)
    if (this.activeIn(pool) > 0 || this.closing) return
    this.idleTimers.set(
      pool,
      setTimeout(() => {
        this.idleTimers.delete(pool)
        if (this.activeIn(pool) === 0 && !this.closing && this.ensured.has(pool)) {
          this.ensured.delete(pool)
          this.log('info', `dask: pool ${pool} idle for ${this.idleMs / 1000}s: releasing its workers`)
          void this.deployment!.releasePool(pool).catch((e) =>
            this.log('warn', `dask: releasing pool ${pool}: ${(e as Error).message}`),
          )
        }
      }, this.idleMs),
    )
  }

  private async ensurePools(pools: string[]) {
    const todo = pools.filter((p) => !this.ensured.has(p))
    if (!todo.length || !this.deployment) return
    for (const p of todo) this.ensured.add(p)
    await this.deployment.ensurePools(todo)
  }

  private onBridgeTask(e: BridgeTaskEvent) {
    const t = this.byKey.get(e.key)
    if (!t || t.final) return
    switch (e.state) {
      case 'queued': {
        const reason = e.noWorker ? this.waitingReason(t.pool) : null
        if (reason && t.state === 'waiting' && t.reason === reason) break
        if (reason) {
          t.state = 'waiting'
          t.reason = reason
          this.emitTask(t, 'waiting', { reason })
          this.armNoWorkerTimer(t.pool)
        } else {
          t.state = 'queued'
          this.emitTask(t, 'queued')
        }
        break
      }
      case 'no-worker': {
        const reason = this.waitingReason(t.pool) ?? e.reason ?? 'no worker can run it yet'
        if (t.state === 'waiting' && t.reason === reason) break
        t.state = 'waiting'
        t.reason = reason
        this.emitTask(t, 'waiting', { reason })
        this.armNoWorkerTimer(t.pool)
        break
      }
      case 'processing':
        if (t.state === 'running') break
        t.state = 'assigned'
        t.reason = null
        t.worker = e.worker ?? null
        this.emitTask(t, 'assigned', {
          worker: e.worker ?? null,
          address: e.address ?? null,
          reason: `assigned to Dask worker ${e.worker}`,
        })
        break
      case 'running': {
        t.state = 'running'
        t.reason = null
        const prevWorker = t.worker
        t.worker = e.worker ?? null
        t.address = e.address ?? null
        t.pid = e.pid ?? null
        t.host = e.host ?? null
        this.emitTask(t, 'running', {
          worker: e.worker ?? null,
          workerId: e.worker ? `dask-${e.worker}` : null,
          address: e.address ?? null,
          host: e.host ?? null,
          pid: e.pid ?? null,
          jobId: e.jobId ?? null,
          run: e.run ?? 1,
        })
        if (prevWorker && prevWorker !== t.worker) this.publishWorker(prevWorker)
        if (t.worker) this.publishWorker(t.worker)
        break
      }
      case 'rescheduled': {
        const lost = e.lostWorker ?? t.worker
        t.state = 'rescheduled'
        t.reason = e.reason ?? `worker ${lost} left; Dask reschedules the task`
        this.emitTask(t, 'rescheduled', { reason: t.reason, worker: lost ?? null })
        this.log('warn', `dask: task ${t.taskId}: ${t.reason}`)
        if (lost) this.publishWorker(lost)
        break
      }
      case 'finished':
        this.finish(t, 'finished', {
          worker: e.worker ?? t.worker,
          workerId: e.worker ? `dask-${e.worker}` : null,
          host: e.host ?? null,
          pid: e.pid ?? null,
          exitCode: e.exitCode ?? null,
          signal: e.signal ?? null,
          timedOut: !!e.timedOut,
          durationMs: e.durationMs ?? 0,
          stderrTail: e.stderrTail ?? null,
          reason: e.error ?? null,
        })
        break
      case 'cancelled':
        this.finish(t, 'cancelled', {
          worker: e.worker ?? t.worker,
          started: e.started ?? false,
          exitCode: e.exitCode ?? null,
          signal: e.signal ?? null,
          reason: e.started
            ? `cancelled; its process tree was killed on worker ${e.worker ?? t.worker}`
            : 'cancelled before it started',
        })
        break
      case 'lost':
        this.finish(t, 'lost', { reason: e.reason ?? 'its workers died', worker: t.worker })
        break
      case 'error':
        this.finish(t, 'failed', { reason: `the Dask task failed: ${e.message ?? e.error ?? 'unknown error'}` })
        break
      default:
        break
    }
  }

  /** external schedulers: optionally fail tasks of a pool that no worker joins within no_worker_timeout */
  private armNoWorkerTimer(pool: string) {
    if (this.noWorkerTimeoutMs === null || this.noWorkerTimers.has(pool)) return
    this.noWorkerTimers.set(
      pool,
      setTimeout(() => {
        this.noWorkerTimers.delete(pool)
        if (this.poolConnected(pool) === 0)
          this.onExhausted(
            pool,
            `no worker with the resource pool.${pool} joined the scheduler ${this.schedulerAddress} within ${this.noWorkerTimeoutMs! / 1000}s`,
          )
      }, this.noWorkerTimeoutMs),
    )
  }

  /** hand tasks to Dask. Tasks of an exhausted pool fail at once with the pool's reason. */
  async submit(list: DaskSubmit[]): Promise<{ taskId: string; attempt: number; key: string }[]> {
    if (!this.bridge) throw new Error('the Dask session is not started')
    const pools = [...new Set(list.map((s) => s.pool))]
    for (const p of pools) {
      const idle = this.idleTimers.get(p)
      if (idle) clearTimeout(idle)
      this.idleTimers.delete(p)
    }
    if (this.deployment) await this.ensurePools(pools.filter((p) => !this.exhausted.has(p)))
    const out: { taskId: string; attempt: number; key: string }[] = []
    for (const s of list) {
      const key = `${this.keyPrefix}${s.taskId}-${s.attempt}-${(++this.keySeq).toString(36)}`
      const old = this.tasks.get(s.taskId)
      if (old) this.byKey.delete(old.key)
      const t: TaskRec = {
        taskId: s.taskId,
        attempt: s.attempt,
        pool: s.pool,
        key,
        state: 'queued',
        reason: null,
        worker: null,
        address: null,
        pid: null,
        host: null,
        final: false,
      }
      this.tasks.set(s.taskId, t)
      this.byKey.set(key, t)
      out.push({ taskId: s.taskId, attempt: s.attempt, key })
      if (this.exhausted.has(s.pool)) {
        // after the caller has recorded the submission
        const reason = `pool ${s.pool} can never get a worker: ${this.exhausted.get(s.pool)}`
        setImmediate(() => this.finish(t, 'failed', { reason }))
        continue
      }
      this.bridge.submit({
        taskId: s.taskId,
        key,
        pool: s.pool,
        argv: s.argv,
        env: s.env ?? {},
        cwd: s.cwd ?? null,
        timeout: s.timeoutSeconds ?? null,
        attempt: s.attempt,
        pidFile: s.pidFile ?? null,
        stdout: s.stdout ?? null,
        stderr: s.stderr ?? null,
      })
    }
    return out
  }

  /** kill these tasks' process trees on their workers (or drop them from the queue) */
  cancel(taskIds: string[], graceSeconds = 3): void {
    const live = taskIds.filter((id) => {
      const t = this.tasks.get(id)
      return t && !t.final
    })
    if (live.length && this.bridge?.alive) this.bridge.cancel(live, graceSeconds)
  }

  task(taskId: string): {
    state: DaskTaskEventKind
    worker: string | null
    pid: number | null
    host: string | null
    key: string
    final: boolean
  } | null {
    const t = this.tasks.get(taskId)
    return t ? { state: t.state, worker: t.worker, pid: t.pid, host: t.host, key: t.key, final: t.final } : null
  }

  workers(): DaskWorkerView[] {
    const names = new Set([...this.deployed.keys(), ...[...this.connected.values()].map((w) => w.name)])
    return [...names].map((n) => this.workerView(n)!).filter(Boolean)
  }

  async status(): Promise<DaskSessionStatus> {
    const health = this.dashboard ? await schedulerHealth(this.dashboard) : null
    return this.snapshot(health ? (health.ok ? 'ok' : health.text) : null)
  }

  /** the session as the run page shows it (also written to <runDir>/dask/session.json) */
  snapshot(health: string | null = null): DaskSessionStatus {
    const views = this.workers()
    const poolNames = new Set([...this.opts.pools.map((p) => p.name), ...views.map((v) => v.pool)])
    return {
      strategy: this.opts.strategy,
      external: this.external,
      python: this.python?.python ?? null,
      scheduler: {
        address: this.schedulerAddress,
        dashboard: this.dashboard,
        health,
        pid: this.scheduler?.pid ?? null,
      },
      pools: [...poolNames].map((name) => {
        const dep = this.deployment?.pool(name) ?? null
        return {
          name,
          target: dep?.target ?? 0,
          exhausted: this.exhausted.has(name),
          reason: this.exhausted.get(name) ?? null,
          connected: this.poolConnected(name),
          workers: views.filter((v) => v.pool === name),
        }
      }),
    }
  }

  /** the local worker process of a Dask worker (local strategy; tests kill it) */
  localWorkerPid(name: string): number | null {
    return (this.deployment as { workerPid?: (n: string) => number | null } | null)?.workerPid?.(name) ?? null
  }

  /**
   * Stop everything this session started: tasks still running are killed (the bridge kills their
   * process trees), worker processes / jobs stopped (scancel), the scheduler stopped.
   */
  async close(): Promise<void> {
    if (this.closing) return
    this.closing = true
    for (const t of this.idleTimers.values()) clearTimeout(t)
    for (const t of this.noWorkerTimers.values()) clearTimeout(t)
    const errors: string[] = []
    if (this.bridge) await this.bridge.close().catch((e) => errors.push(`bridge: ${(e as Error).message}`))
    // the bridge no longer follows the workers: what we started is stopped below; the workers of an
    // existing cluster are not ours, they just stop serving this run
    const connected = [...this.connected.values()]
    this.connected.clear()
    await Promise.all([
      this.deployment?.stop().catch((e) => errors.push(`workers: ${(e as Error).message}`)),
      this.scheduler?.stop().catch((e) => errors.push(`scheduler: ${(e as Error).message}`)),
    ])
    for (const name of this.deployed.keys()) this.publishWorker(name)
    for (const w of connected) {
      if (this.deployed.has(w.name) || this.views.get(w.name)?.startsWith('["gone"')) continue
      this.views.set(w.name, '["gone"]')
      this.emit('worker', {
        id: `dask-${w.name}`,
        name: w.name,
        pool: w.pool ?? w.pools[0] ?? '?',
        state: 'gone',
        detail: 'gone',
        batch: 'external',
        jobId: w.jobId,
        host: w.host,
        pid: w.pid,
        address: w.address,
        connected: false,
        reason: 'the run ended (the worker belongs to an existing Dask cluster and keeps running)',
        currentTaskId: null,
        restarts: 0,
      })
    }
    if (this.statusTimer) clearTimeout(this.statusTimer)
    this.statusTimer = null
    this.writeStatusFile()
    if (errors.length) this.log('warn', `dask: while stopping: ${errors.join('; ')}`)
  }
}

export function describeDeployed(w: DeployedWorker): string {
  switch (w.state) {
    case 'requested':
      return w.reason ?? 'requested'
    case 'pending-in-queue':
      return w.reason ?? `${w.batch} job ${w.jobId ?? '?'} pending`
    case 'starting':
      return (
        w.reason ??
        (w.pid ? `starting (pid ${w.pid})` : w.jobId ? `job ${w.jobId} running, worker connecting` : 'starting')
      )
    case 'running':
      return 'running'
    case 'gone':
      return `gone${w.reason ? ` (${w.reason})` : ''}`
  }
}

/** shell lines that prepare the worker environment on batch nodes (site setup + environment.setup/activate) */
export function workerSetupLines(env: PlanEnvironment | null, site: Pick<SiteConfig, 'environment'>): string[] {
  const lines = [...site.environment.setup]
  const e = (env ?? { type: 'shared-fs' }) as Record<string, unknown>
  if (typeof e.setup === 'string') lines.push(e.setup)
  else if (Array.isArray(e.setup)) lines.push(...e.setup.map(String))
  if (typeof e.activate === 'string') lines.push(`source '${e.activate.replace(/'/g, `'\\''`)}'`)
  return lines
}
