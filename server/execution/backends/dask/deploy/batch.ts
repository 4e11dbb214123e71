/**
 * What the Slurm and HTCondor deployments of Dask workers share: per pool, `pool.workers` slots,
 * each a batch job running one Dask worker (resubmitted as `<slot>-r<k>` when it ends early), the
 * pool marked exhausted when no slot can run any more, released pools' jobs removed, and the
 * deployment's view for the UI. The batch system's own part (render, submit, poll, remove) stays in
 * slurm.ts / htcondor.ts.
 */
import { EventEmitter } from 'node:events'
import type { PlanPool } from '../../../../workflow/types.ts'
import type { DeployedWorker, DeploymentEvents, DeploymentOptions, PoolDeployment } from './types.ts'

export interface BatchSlot {
  w: DeployedWorker
  /** incarnations after the first (restarts and re-launches after a release): names `<slot>-r<inc>` */
  inc: number
  wanted: boolean
  /** when the job went missing from the queue (null: seen, or not yet asked) */
  missingSince: number | null
}

export abstract class BatchWorkers<
  S extends BatchSlot,
  O extends DeploymentOptions,
> extends EventEmitter<DeploymentEvents> {
  protected slots = new Map<string, S[]>()
  protected exhausted = new Map<string, string>()
  protected poolsByName: Map<string, PlanPool>
  protected stopping = false
  protected polling = false
  /** every job id this deployment submitted (for stop and for tests) */
  readonly jobIds = new Set<string>()
  abstract readonly kind: 'slurm' | 'htcondor'
  /** the batch system as messages name it (`Slurm`, `HTCondor`) */
  protected abstract readonly systemName: string
  /** how removing jobs reads in messages: the command and what it did (`scancel`, `cancelled`) */
  protected abstract readonly removal: { command: string; done: string }

  constructor(readonly opts: O) {
    super()
    this.poolsByName = new Map(opts.pools.map((p) => [p.name, p]))
  }

  /** remove these jobs from the batch system */
  protected abstract removeJobs(ids: string[]): Promise<unknown>
  /** poll the batch system soon (a worker left the scheduler: its job may be ending) */
  protected abstract pollSoon(): void

  /** the first incarnation of slot i of a pool: not yet wanted, no job */
  protected newSlot(pool: string, i: number): BatchSlot {
    return {
      w: {
        slot: `${pool}-${i}`,
        pool,
        name: `${pool}-${i}`,
        state: 'requested',
        batch: this.kind,
        jobId: null,
        pid: null,
        reason: null,
        hopeless: false,
        restarts: 0,
        since: Date.now(),
        logFile: null,
      },
      inc: 0,
      wanted: false,
      missingSince: null,
    }
  }

  protected set(s: S, patch: Partial<DeployedWorker>) {
    const before = `${s.w.state}|${s.w.reason}|${s.w.jobId}|${s.w.name}`
    Object.assign(s.w, patch)
    if (`${s.w.state}|${s.w.reason}|${s.w.jobId}|${s.w.name}` !== before) {
      s.w.since = Date.now()
      this.emit('worker', { ...s.w })
    }
  }

  markConnected(name: string) {
    for (const slots of this.slots.values())
      for (const s of slots)
        if (s.w.name === name && s.w.state !== 'gone' && s.w.state !== 'running')
          this.set(s, { state: 'running', reason: null })
  }

  /** a connected worker left the scheduler (its job may still be ending) */
  markDisconnected(name: string) {
    for (const slots of this.slots.values())
      for (const s of slots)
        if (s.w.name === name && s.w.state === 'running') {
          this.set(s, {
            state: 'starting',
            reason: `worker ${name} left the scheduler; ${this.systemName} job ${s.w.jobId} ending?`,
          })
          this.pollSoon()
        }
  }

  protected checkExhausted(pool: string) {
    const slots = this.slots.get(pool) ?? []
    const max = this.opts.maxRestarts ?? 3
    if (slots.length && slots.every((s) => s.w.state === 'gone' && (s.w.hopeless || s.w.restarts > max))) {
      const reasons = [...new Set(slots.map((s) => s.w.reason).filter(Boolean))]
      this.markExhausted(pool, `no worker job of pool ${pool} can run: ${reasons.join('; ')}`)
    }
  }

  protected markExhausted(pool: string, reason: string) {
    if (this.exhausted.has(pool)) return
    this.exhausted.set(pool, reason)
    this.emit('exhausted', { pool, reason })
  }

  async releasePool(pool: string): Promise<void> {
    const slots = this.slots.get(pool) ?? []
    const ids: string[] = []
    for (const s of slots) {
      s.wanted = false
      if (s.w.jobId && s.w.state !== 'gone') ids.push(s.w.jobId)
    }
    if (ids.length === 0) return
    const { command, done } = this.removal
    await this.removeJobs(ids).catch((e) => this.emit('info', `${command} failed: ${(e as Error).message}`))
    this.emit('info', `pool ${pool} idle: ${done} worker job(s) ${ids.join(', ')}`)
    for (const s of slots)
      if (s.w.jobId && ids.includes(s.w.jobId))
        this.set(s, { state: 'gone', reason: `released (pool idle): ${command}` })
  }

  pools(): PoolDeployment[] {
    return this.opts.pools.map((p) => this.pool(p.name)!).filter(Boolean)
  }

  pool(name: string): PoolDeployment | null {
    if (!this.poolsByName.has(name) && !this.exhausted.has(name)) return null
    const slots = this.slots.get(name) ?? []
    return {
      pool: name,
      target: slots.filter((s) => s.wanted).length,
      workers: slots.map((s) => ({ ...s.w })),
      exhausted: this.exhausted.has(name),
      reason: this.exhausted.get(name) ?? null,
    }
  }
}
