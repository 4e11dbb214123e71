/**
 * Strategy `local` for the dask backend: per-pool `dask worker` processes on this host, scaled to
 * `pool.workers`, each with one thread and the resource `pool.<name>=1`. Supervised like a
 * nanny: a worker that exits while its pool is wanted is restarted (up to `maxRestarts` per slot);
 * when every slot of a pool is gone for good, the pool is exhausted (its tasks fail with the reason).
 */
import { EventEmitter } from 'node:events'
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import type { PlanPool } from '../../../../workflow/types.ts'
import { daskWorkerArgv, withParentDeathSignal } from './command.ts'
import { sleep, spawnGroup, stopGroup, type SpawnedProcess } from '../procs.ts'
import { withoutServerSecrets } from '../../../transport/local.ts'
import { daskUserEnv, readOwned } from '../as-user.ts'
import type { DeployedWorker, DeploymentEvents, DeploymentOptions, PoolDeployment, WorkerDeployment } from './types.ts'

export interface LocalWorkersOptions extends DeploymentOptions {
  /** delay before restarting a worker that exited (default 500 ms) */
  restartDelayMs?: number
}

interface Slot {
  w: DeployedWorker
  /** incarnations after the first (restarts and re-launches after a release): names `<slot>-r<inc>` */
  inc: number
  proc: SpawnedProcess | null
  /** the pool wants this slot running */
  wanted: boolean
  lastExit: string | null
}

function tail(file: string, uid: number | null, lines = 3): string {
  try {
    // users mode: the log is in the account's directory: read it only if it is that user's own file
    const text = uid !== null ? readOwned(file, uid, 64 * 1024) : existsSync(file) ? readFileSync(file, 'utf8') : null
    if (!text) return ''
    const t = text.trim().split('\n')
    return t
      .filter(
        (l) =>
          !/distributed\.(worker|core) - INFO - +(-+|Waiting to connect|Threads|Memory|Local Directory|Start worker|Listening|dashboard at|Worker name)/.test(
            l,
          ),
      )
      .slice(-lines)
      .join(' | ')
  } catch {
    return ''
  }
}

export class LocalWorkers extends EventEmitter<DeploymentEvents> implements WorkerDeployment {
  readonly kind = 'local' as const
  private slots = new Map<string, Slot[]>()
  private exhausted = new Map<string, string>()
  private stopping = false
  private poolsByName: Map<string, PlanPool>

  constructor(readonly opts: LocalWorkersOptions) {
    super()
    this.poolsByName = new Map(opts.pools.map((p) => [p.name, p]))
    // users mode: the directory is the account's (prepareUserDask made it, as that user)
    if (!opts.user) mkdirSync(path.join(opts.dir, 'workers'), { recursive: true })
  }

  private set(slot: Slot, patch: Partial<DeployedWorker>) {
    Object.assign(slot.w, patch, { since: Date.now() })
    this.emit('worker', { ...slot.w })
  }

  async ensurePools(pools: string[]): Promise<void> {
    for (const name of pools) {
      const pool = this.poolsByName.get(name)
      if (!pool) {
        this.markExhausted(name, `pool ${name} is not declared in the plan`)
        continue
      }
      if (pool.workers <= 0) {
        this.markExhausted(name, `pool ${name} has workers: 0`)
        continue
      }
      let slots = this.slots.get(name)
      if (!slots) {
        slots = []
        for (let i = 0; i < pool.workers; i++) {
          const slotId = `${name}-${i}`
          slots.push({
            w: {
              slot: slotId,
              pool: name,
              name: slotId,
              state: 'requested',
              batch: 'local',
              jobId: null,
              pid: null,
              reason: null,
              hopeless: false,
              restarts: 0,
              since: Date.now(),
              logFile: path.join(this.opts.dir, 'workers', `${slotId}.log`),
            },
            proc: null,
            wanted: false,
            lastExit: null,
            inc: 0,
          })
        }
        this.slots.set(name, slots)
      }
      for (const s of slots) {
        // running, or a restart is already scheduled
        if (s.wanted && (s.proc?.running || s.w.state === 'requested')) continue
        if (!s.proc?.running && s.w.state === 'gone' && s.w.restarts > (this.opts.maxRestarts ?? 3)) continue
        s.wanted = true
        // a released slot comes back as a new worker
        if (s.w.state === 'gone') s.w.name = `${s.w.slot}-r${++s.inc}`
        this.launch(s)
      }
    }
  }

  private launch(s: Slot) {
    const pool = this.poolsByName.get(s.w.pool)!
    const name = s.w.name
    const argv = daskWorkerArgv({
      python: this.opts.python,
      schedulerAddress: this.opts.schedulerAddress,
      pool,
      name,
      localDirectory: path.join(this.opts.dir, 'workers', 'space'),
      host: '127.0.0.1',
      tls: this.opts.user?.tls ?? null,
    })
    const logFile = s.w.logFile!
    const user = this.opts.user ?? null
    const extra = { ...this.opts.env, CONTROLROOM_WORKER_SLOT: s.w.slot }
    // a task inherits its worker's environment: never the server's secrets (users mode: the allow-list)
    const proc = spawnGroup(withParentDeathSignal(argv), {
      logFile,
      runAs: user?.runAs ?? null,
      env: user
        ? daskUserEnv(user.runAs, extra)
        : { ...withoutServerSecrets(process.env), ...extra, PYTHONUNBUFFERED: '1' },
    })
    s.proc = proc
    this.set(s, {
      name,
      state: 'starting',
      pid: proc.pid,
      jobId: null,
      reason: s.lastExit ? `restarted after: ${s.lastExit}` : null,
    })
    void proc.exited.then(({ code, signal }) => this.onExit(s, proc, code, signal))
  }

  private onExit(s: Slot, proc: SpawnedProcess, code: number | null, signal: string | null) {
    if (s.proc !== proc) return
    const what = signal ? `killed by ${signal}` : `exit code ${code}`
    const why = tail(s.w.logFile!, this.opts.user?.runAs.uid ?? null)
    s.lastExit = `worker ${s.w.name} (pid ${proc.pid}) ${what}${why && code !== 0 ? `: ${why}` : ''}`
    if (this.stopping || !s.wanted) {
      this.set(s, { state: 'gone', reason: this.stopping ? 'stopped' : 'released (pool idle)' })
      return
    }
    const max = this.opts.maxRestarts ?? 3
    if (s.w.restarts < max) {
      // this incarnation is gone; the slot comes back as a new worker `<slot>-r<k>`
      this.set(s, { state: 'gone', reason: s.lastExit })
      s.w.restarts += 1
      this.set(s, {
        name: `${s.w.slot}-r${++s.inc}`,
        pid: null,
        state: 'requested',
        reason: `${s.lastExit}; restarting (${s.w.restarts}/${max})`,
      })
      this.emit('info', `${s.lastExit}; restarting it (${s.w.restarts}/${max})`)
      setTimeout(() => {
        if (!this.stopping && s.wanted && s.proc === proc) this.launch(s)
      }, this.opts.restartDelayMs ?? 500)
    } else {
      s.w.restarts += 1
      this.set(s, { state: 'gone', reason: `${s.lastExit}; no restart left (${max} used)` })
      this.checkExhausted(s.w.pool)
    }
  }

  /** the local strategy reports `running` once the process runs; the session upgrades it when the worker registers */
  markConnected(name: string) {
    for (const slots of this.slots.values())
      for (const s of slots)
        if (s.w.name === name && s.w.state !== 'running' && s.proc?.running)
          this.set(s, { state: 'running', reason: null })
  }

  private checkExhausted(pool: string) {
    const slots = this.slots.get(pool) ?? []
    if (slots.length && slots.every((s) => s.w.state === 'gone' && s.w.restarts > (this.opts.maxRestarts ?? 3))) {
      const reasons = slots.map((s) => s.w.reason).filter(Boolean)
      this.markExhausted(
        pool,
        `every worker of pool ${pool} exited and was restarted ${this.opts.maxRestarts ?? 3} times: ${reasons[reasons.length - 1] ?? ''}`,
      )
    }
  }

  private markExhausted(pool: string, reason: string) {
    if (this.exhausted.has(pool)) return
    this.exhausted.set(pool, reason)
    this.emit('exhausted', { pool, reason })
  }

  async releasePool(pool: string): Promise<void> {
    const slots = this.slots.get(pool) ?? []
    for (const s of slots) s.wanted = false
    await Promise.all(slots.map((s) => (s.proc ? stopGroup(s.proc, 5000) : undefined)))
  }

  pools(): PoolDeployment[] {
    return this.opts.pools.map((p) => this.pool(p.name)!).filter(Boolean)
  }

  pool(name: string): PoolDeployment | null {
    const p = this.poolsByName.get(name)
    if (!p)
      return this.exhausted.has(name)
        ? { pool: name, target: 0, workers: [], exhausted: true, reason: this.exhausted.get(name)! }
        : null
    const slots = this.slots.get(name) ?? []
    return {
      pool: name,
      target: slots.filter((s) => s.wanted).length,
      workers: slots.map((s) => ({ ...s.w })),
      exhausted: this.exhausted.has(name),
      reason: this.exhausted.get(name) ?? null,
    }
  }

  /** the local process of a worker (tests kill it to simulate a lost worker) */
  workerPid(name: string): number | null {
    for (const slots of this.slots.values())
      for (const s of slots) if (s.w.name === name && s.proc?.running) return s.proc.pid
    return null
  }

  async stop(): Promise<void> {
    this.stopping = true
    const all = [...this.slots.values()].flat()
    await Promise.all(all.map((s) => (s.proc ? stopGroup(s.proc, 5000) : undefined)))
    // a restart timer may be pending: give it no chance
    await sleep(0)
  }
}
