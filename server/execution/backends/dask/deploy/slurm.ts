/**
 * Strategy `slurm` for the dask backend: each pool's Dask workers are Slurm jobs (one worker per
 * job, `pool.workers` jobs), rendered by the Slurm strategy's own job-script machinery
 * (`renderJobScript`: the pool's cpus/memory/gres and site config become #SBATCH directives; the
 * job `exec`s `python -m distributed.cli.dask_worker <scheduler> --resources pool.<name>=1`).
 * Job states and pending reasons come from one `squeue --json` per poll; a job that pends for a
 * reason waiting cannot fix is cancelled and its pool reported; jobs are `scancel`ed on stop.
 */
import path from 'node:path'
import type { PlanPool } from '../../../../workflow/types.ts'
import type { SiteConfig } from '../../../../site/schema.ts'
import type { CommandTransport } from '../../../transport/types.ts'
import { makeDirs, readFileTail, stageFile } from '../../../transport/files.ts'
import { jobNameFor, renderJobScript } from '../../../strategies/slurm/script.ts'
import { SlurmClient } from '../../../strategies/slurm/client.ts'
import { mapSlurmState, type SlurmJobRecord } from '../../../strategies/slurm/status.ts'
import { mapSbatchError, parseSinfo, preflightPools } from '../../../strategies/slurm/preflight.ts'
import { daskWorkerArgv, lifetimeForWalltime } from './command.ts'
import { sleep } from '../procs.ts'
import { BatchWorkers, type BatchSlot } from './batch.ts'
import type { DeploymentOptions, WorkerDeployment } from './types.ts'

export interface SlurmWorkersOptions extends DeploymentOptions {
  site: SiteConfig
  transport: CommandTransport
  runId: string
  /** shell lines that prepare the worker environment on the node (module load, activate, ...) */
  setup?: string[]
  /** first poll interval (default min(site.slurm.pollIntervalMs, 1000)) and the back-off ceiling */
  pollMs?: number
  maxPollMs?: number
  /** check the pools against `sinfo` before submitting (default site.slurm.preflight) */
  preflight?: boolean
  /** node-local worker directory (default site.paths.scratch, else <dir>/workers/space) */
  localDirectory?: string | null
}

interface Slot extends BatchSlot {
  /** the job has been seen in squeue at least once */
  seen: boolean
  submitting: boolean
  jobName: string
}

export class SlurmWorkers extends BatchWorkers<Slot, SlurmWorkersOptions> implements WorkerDeployment {
  readonly kind = 'slurm' as const
  readonly client: SlurmClient
  protected readonly systemName = 'Slurm'
  protected readonly removal = { command: 'scancel', done: 'cancelled' }
  private pollTimer: NodeJS.Timeout | null = null
  private pollDelay: number
  private preflightDone: Promise<Map<string, string>> | null = null
  private partitions: string[] = []
  /** the rendered script of each pool (what is submitted, for the UI) */
  readonly scripts = new Map<string, string>()

  constructor(opts: SlurmWorkersOptions) {
    super(opts)
    this.client = new SlurmClient(opts.transport, { binDir: opts.site.slurm.binDir, env: opts.site.slurm.env })
    this.pollDelay = this.basePoll()
  }

  private basePoll() {
    return this.opts.pollMs ?? Math.min(this.opts.site.slurm.pollIntervalMs, 1000)
  }

  private logDir() {
    return path.posix.join(this.opts.dir, 'slurm')
  }

  jobName(pool: string): string {
    return jobNameFor(this.opts.site.slurm.jobNamePrefix, this.opts.runId, `dask.${pool}`)
  }

  /** the job script of one worker of a pool (also the preview shown before dispatch) */
  renderWorkerScript(
    pool: PlanPool,
    workerName: string,
  ): { script: string; problems: { message: string; severity: string }[] } {
    const argv = daskWorkerArgv({
      python: this.opts.python,
      schedulerAddress: this.opts.schedulerAddress,
      pool,
      name: workerName,
      localDirectory:
        this.opts.localDirectory ?? this.opts.site.paths.scratch ?? path.posix.join(this.opts.dir, 'workers', 'space'),
      lifetime: lifetimeForWalltime(
        typeof pool.config.walltimeSeconds === 'number' ? pool.config.walltimeSeconds : null,
      ),
      deathTimeout: 120,
      tls: this.opts.user?.tls ?? null,
    })
    const r = renderJobScript(
      {
        jobName: this.jobName(pool.name),
        pool,
        workDir: this.opts.dir,
        logDir: this.logDir(),
        tasks: [{ taskId: workerName, argv, env: { CONTROLROOM_DASK_WORKER_NAME: workerName } }],
        comment: `controlroom:run=${this.opts.runId}:dask-pool=${pool.name}`,
        env: { ...this.opts.site.environment.env, ...this.opts.env, PYTHONUNBUFFERED: '1' },
        header: [
          `Dask worker ${workerName} of pool ${pool.name} (${pool.workers} worker job(s)); scheduler ${this.opts.schedulerAddress}`,
          'the worker runs tasks annotated with the resource pool.' + pool.name + ', one at a time',
        ],
      },
      this.opts.site,
      { setup: this.opts.setup ?? this.opts.site.environment.setup },
    )
    return { script: r.script, problems: r.problems }
  }

  private async preflight(): Promise<Map<string, string>> {
    const bad = new Map<string, string>()
    if (!(this.opts.preflight ?? this.opts.site.slurm.preflight)) return bad
    try {
      const cluster = parseSinfo(await this.client.sinfo())
      this.partitions = cluster.partitions
      for (const p of preflightPools(this.opts.pools, this.opts.site, cluster)) {
        if (p.severity !== 'error' || !p.pool) continue
        const prev = bad.get(p.pool)
        bad.set(p.pool, prev ? `${prev}; ${p.message}` : `${p.message}${p.hint ? ` (${p.hint})` : ''}`)
      }
    } catch (e) {
      this.emit('info', `slurm preflight skipped: ${(e as Error).message}`)
    }
    return bad
  }

  async ensurePools(pools: string[]): Promise<void> {
    if (!this.preflightDone) {
      this.preflightDone = this.preflight()
      await makeDirs(this.opts.transport, [this.logDir(), path.posix.join(this.opts.dir, 'scripts')])
    }
    const bad = await this.preflightDone
    for (const name of pools) {
      const pool = this.poolsByName.get(name)
      if (!pool) {
        this.markExhausted(name, `pool ${name} is not declared in the plan`)
        continue
      }
      if (bad.has(name)) {
        this.markExhausted(name, `Slurm cannot host pool ${name}: ${bad.get(name)}`)
        continue
      }
      if (pool.workers <= 0) {
        this.markExhausted(name, `pool ${name} has workers: 0`)
        continue
      }
      let slots = this.slots.get(name)
      if (!slots) {
        slots = Array.from({ length: pool.workers }, (_, i) => ({
          ...this.newSlot(name, i),
          seen: false,
          submitting: false,
          jobName: this.jobName(name),
        }))
        this.slots.set(name, slots)
      }
      const launches: Promise<void>[] = []
      for (const s of slots) {
        if (s.wanted && (s.submitting || (s.w.jobId && s.w.state !== 'gone'))) continue
        if (s.w.state === 'gone' && (s.w.hopeless || s.w.restarts > (this.opts.maxRestarts ?? 3))) continue
        s.wanted = true
        // a released slot comes back as a new job and worker
        if (s.w.state === 'gone')
          this.set(s, { name: `${s.w.slot}-r${++s.inc}`, jobId: null, state: 'requested', reason: 'pool needed again' })
        launches.push(this.submit(s))
      }
      await Promise.all(launches)
    }
    this.schedulePoll(0)
  }

  private async submit(s: Slot): Promise<void> {
    const pool = this.poolsByName.get(s.w.pool)!
    s.submitting = true
    const name = s.w.name
    const { script, problems } = this.renderWorkerScript(pool, name)
    this.scripts.set(pool.name, script)
    const err = problems.find((p) => p.severity === 'error')
    if (err) {
      s.submitting = false
      this.set(s, { name, state: 'gone', hopeless: true, reason: `job script for pool ${pool.name}: ${err.message}` })
      this.checkExhausted(pool.name)
      return
    }
    const scriptPath = path.posix.join(this.opts.dir, 'scripts', `${name}.sbatch`)
    try {
      await stageFile(this.opts.transport, scriptPath, script, { mode: 0o755 })
      const r = await this.client.sbatch(scriptPath)
      if (this.stopping || !s.wanted) {
        if (r.ok) await this.client.scancel([r.jobId]).catch(() => undefined)
        s.submitting = false
        return
      }
      if (r.ok) {
        this.jobIds.add(r.jobId)
        s.seen = false
        s.missingSince = null
        this.set(s, {
          name,
          jobId: r.jobId,
          state: 'pending-in-queue',
          hopeless: false,
          reason: 'submitted',
          logFile: path.posix.join(this.logDir(), `${s.jobName}-${r.jobId}.err`),
        })
        this.emit('info', `pool ${pool.name}: worker ${name} submitted as Slurm job ${r.jobId}`)
      } else {
        const p = mapSbatchError(r.stderr || r.stdout, pool.name, { partitions: this.partitions, code: r.code })
        if (p.retryable && s.w.restarts < (this.opts.maxRestarts ?? 3)) {
          s.w.restarts += 1
          this.set(s, { name, state: 'requested', reason: `${p.message}; retrying` })
          setTimeout(() => {
            if (!this.stopping && s.wanted) void this.submit(s)
          }, 2000 * s.w.restarts)
        } else {
          this.set(s, { name, state: 'gone', hopeless: true, reason: p.message + (p.hint ? ` (${p.hint})` : '') })
          this.checkExhausted(pool.name)
        }
      }
    } catch (e) {
      this.set(s, {
        name,
        state: 'gone',
        hopeless: true,
        reason: `submitting worker ${name} failed: ${(e as Error).message}`,
      })
      this.checkExhausted(pool.name)
    } finally {
      s.submitting = false
    }
  }

  protected removeJobs(ids: string[]) {
    return this.client.scancel(ids)
  }

  protected pollSoon() {
    this.schedulePoll(0)
  }

  private schedulePoll(delay: number) {
    if (this.stopping) return
    if (this.pollTimer) clearTimeout(this.pollTimer)
    this.pollTimer = setTimeout(() => void this.poll(), delay)
  }

  /** one squeue for every worker job of the run; back off while nothing changes */
  async poll(): Promise<void> {
    if (this.polling) return
    this.polling = true
    let changed = false
    try {
      const all = [...this.slots.values()].flat().filter((s) => s.w.jobId && s.w.state !== 'gone')
      if (all.length === 0) return
      const names = [...new Set(all.map((s) => s.jobName))]
      const records = await this.client.squeue({ names })
      const byId = new Map<string, SlurmJobRecord>(records.map((r) => [r.jobId, r]))
      for (const s of all) {
        const rec = byId.get(s.w.jobId!)
        const before = `${s.w.state}|${s.w.reason}`
        if (!rec) {
          s.missingSince ??= Date.now()
          // give a just-submitted job a moment to appear; then ask sacct / scontrol for its end
          if (Date.now() - s.missingSince > 3000) {
            const more = [
              ...(await this.client.sacct([s.w.jobId!]).catch(() => [])),
              ...(await this.client.scontrolJobs([s.w.jobId!]).catch(() => [])),
            ]
            const r2 = more.find((r) => r.jobId === s.w.jobId)
            if (r2) await this.apply(s, r2)
            else await this.ended(s, 'Slurm no longer knows the job (it left squeue and accounting)')
          }
        } else {
          s.seen = true
          s.missingSince = null
          await this.apply(s, rec)
        }
        if (`${s.w.state}|${s.w.reason}` !== before) changed = true
      }
    } catch (e) {
      this.emit('info', `squeue failed: ${(e as Error).message}`)
    } finally {
      this.polling = false
      const max = this.opts.maxPollMs ?? this.opts.site.slurm.maxPollIntervalMs
      this.pollDelay = changed ? this.basePoll() : Math.min(max, Math.round(this.pollDelay * 1.5))
      if ([...this.slots.values()].flat().some((s) => s.w.jobId && s.w.state !== 'gone'))
        this.schedulePoll(this.pollDelay)
    }
  }

  private async apply(s: Slot, rec: SlurmJobRecord) {
    const m = mapSlurmState(rec)
    if (m.worker === 'pending-in-queue') {
      if (m.hopeless) {
        await this.client.scancel([s.w.jobId!]).catch(() => undefined)
        this.set(s, {
          state: 'gone',
          hopeless: true,
          reason: `Slurm job ${s.w.jobId} can never start: ${m.reasonText}`,
        })
        this.checkExhausted(s.w.pool)
        return
      }
      this.set(s, {
        state: 'pending-in-queue',
        reason: `Slurm job ${s.w.jobId} ${rec.state}${m.reasonText ? ` (${m.reasonText})` : ''}`,
      })
    } else if (m.worker === 'running') {
      // the job runs; the worker is `running` once it registers with the scheduler (markConnected)
      if (s.w.state !== 'running')
        this.set(s, {
          state: 'starting',
          reason: `Slurm job ${s.w.jobId} running on ${rec.nodes ?? '?'}; worker connecting`,
        })
    } else {
      await this.ended(s, `Slurm job ${s.w.jobId} ${rec.state}${m.reasonText ? `: ${m.reasonText}` : ''}`)
    }
  }

  private async ended(s: Slot, why: string) {
    if (s.w.state === 'gone') return
    let reason = why
    if (!this.stopping && s.wanted && s.w.logFile) {
      const t = await readFileTail(this.opts.transport, s.w.logFile, 2000).catch(() => null)
      const last = (t ?? '')
        .trim()
        .split('\n')
        .filter((l) => l && !/ - INFO - /.test(l))
        .slice(-2)
        .join(' | ')
      if (last) reason += `; ${last}`
    }
    if (this.stopping || !s.wanted) {
      this.set(s, { state: 'gone', reason: this.stopping ? 'stopped (scancel)' : 'released (pool idle)' })
      return
    }
    const max = this.opts.maxRestarts ?? 3
    if (s.w.restarts < max) {
      // this incarnation (job) is gone; the slot comes back as a new job and worker `<slot>-r<k>`
      this.set(s, { state: 'gone', reason })
      s.w.restarts += 1
      this.set(s, {
        name: `${s.w.slot}-r${++s.inc}`,
        jobId: null,
        state: 'requested',
        reason: `${reason}; resubmitting (${s.w.restarts}/${max})`,
      })
      this.emit('info', `${reason}; resubmitting worker of pool ${s.w.pool} (${s.w.restarts}/${max})`)
      await this.submit(s)
    } else {
      s.w.restarts += 1
      this.set(s, { state: 'gone', reason: `${reason}; no resubmission left (${max} used)` })
      this.checkExhausted(s.w.pool)
    }
  }

  /** scancel every worker job and wait (up to `timeoutMs`) until Slurm shows none of them active */
  async stop(timeoutMs = 30_000): Promise<void> {
    this.stopping = true
    if (this.pollTimer) clearTimeout(this.pollTimer)
    while (this.polling) await sleep(20)
    const ids = [...this.jobIds]
    if (ids.length === 0) return
    await this.client.scancel(ids).catch((e) => this.emit('info', `scancel failed: ${(e as Error).message}`))
    const names = [...new Set([...this.slots.values()].flat().map((s) => s.jobName))]
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      const recs = await this.client.squeue({ names }).catch(() => null)
      const active = (recs ?? []).filter((r) => ids.includes(r.jobId) && !mapSlurmState(r).final)
      if (recs && active.length === 0) break
      await sleep(300)
    }
    for (const s of [...this.slots.values()].flat())
      if (s.w.state !== 'gone') this.set(s, { state: 'gone', reason: 'stopped (scancel)' })
  }
}
