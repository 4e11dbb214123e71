/**
 * SlurmJobs: the Slurm side of one run. Submits jobs (a task, or a stage's partitions as one
 * job array), tracks them with ONE `squeue --json` call per poll for the whole run (backing off
 * while nothing changes), falls back to sacct / the jobcomp file / scontrol for jobs that left
 * squeue, fails hopeless pending jobs with their reason, cancels with scancel, and re-attaches to
 * stored job ids after a server restart without resubmitting. A job Slurm no longer knows at
 * all is reported `lost`.
 *
 * Independent of the engine's contract: strategies/slurm.ts adapts it.
 */
import { writeFile, mkdir, rename, chmod } from 'node:fs/promises'
import path from 'node:path'
import type { PlanPool } from '../../../workflow/types.ts'
import type { SiteConfig } from '../../../site/schema.ts'
import type { CommandTransport } from '../../transport/types.ts'
import { makeDirs, stageFile } from '../../transport/files.ts'
import { SlurmClient } from './client.ts'
import { mapSbatchError, parseSinfo, preflightPools, type ClusterInfo } from './preflight.ts'
import { jobNameFor, renderJobScript, type Directive, type SlurmProblem, type ScriptTask } from './script.ts'
import { mapSlurmState, type MappedStatus, type SlurmJobRecord, type TaskOutcome, type WorkerState } from './status.ts'

/** what must be stored (per task) to re-attach after a restart */
export interface SlurmJobRef {
  taskId: string
  pool: string
  /** the id sbatch printed (the array's id for an array element) */
  jobId: string
  /** index in the job array, null for a plain job */
  arrayIndex: number | null
  /** the element's own Slurm job id once seen (array elements get one when they start) */
  elementJobId?: string | null
  submittedAt?: number
}

export interface SlurmJobUpdate {
  ref: SlurmJobRef
  /** `123` or `123_4` */
  workerId: string
  worker: WorkerState
  task: TaskOutcome
  final: boolean
  /** failed by us because its pending reason can never resolve (it was cancelled in Slurm) */
  hopeless: boolean
  slurmState: string
  reason: string | null
  reasonText: string | null
  exitCode: number | null
  signal: number | null
  nodes: string | null
  startTime: number | null
  endTime: number | null
  source: SlurmJobRecord['source'] | 'submit' | 'missing' | 'preflight'
}

export interface SubmitRequest {
  pool: PlanPool
  tasks: ScriptTask[]
  /** environment exported by every task */
  env?: Record<string, string>
  /** shell setup lines (worker environment) */
  setup?: string[]
  /** array throttle; default: all elements may run */
  arrayParallelism?: number
  /** `--time` when the pool and the site give none */
  timeLimitSeconds?: number | null
  /** job ids to wait for (`--dependency=afterok`) */
  afterOk?: string[]
  header?: string[]
  /** called with the new refs before their first update (`requested`) is emitted */
  onSubmitted?: (refs: SlurmJobRef[], info: { scriptPath: string; cluster: string | null }) => void
}

export type SubmitOutcome =
  | {
      ok: true
      jobId: string
      cluster: string | null
      refs: SlurmJobRef[]
      script: string
      scriptPath: string
      directives: Directive[]
      warnings: string[]
    }
  | { ok: false; problem: SlurmProblem & { retryable?: boolean }; script: string | null }

export interface SlurmJobsOptions {
  transport: CommandTransport
  site: SiteConfig
  runId: string
  /** run directory as the cluster nodes see it (shared-fs) */
  runDir: string
  /** called with every state change (also from poll()) */
  onUpdate?: (u: SlurmJobUpdate) => void
  /** override the site's poll intervals */
  pollIntervalMs?: number
  maxPollIntervalMs?: number
  /**
   * polls in which a job must be missing from squeue, accounting/jobcomp AND scontrol before it is
   * `lost` (default 1: each source answered and none knows it; a failing controller counts nothing)
   */
  missingPollsBeforeLost?: number
  /** client instance (tests, to count commands) */
  client?: SlurmClient
}

interface Tracked {
  ref: SlurmJobRef
  last: SlurmJobUpdate | null
  missing: number
  final: boolean
  /** set when we failed it ourselves (hopeless reason): later CANCELLED is not reported */
  failedByUs: boolean
  submittedAt: number
}

const key = (jobId: string, idx: number | null) => (idx === null ? jobId : `${jobId}_${idx}`)

export class SlurmJobs {
  readonly client: SlurmClient
  private readonly tracked = new Map<string, Tracked>()
  private cluster: ClusterInfo | null = null
  private seq = 0
  private timer: NodeJS.Timeout | null = null
  private polling: Promise<SlurmJobUpdate[]> | null = null
  private interval: number
  private readonly minInterval: number
  private readonly maxInterval: number
  private stopped = true
  /** names of the jobs of this run (one per pool): the squeue filter */
  private readonly names = new Set<string>()
  readonly slurmDir: string
  /** number of polls and how many squeue calls they made (bench/tests) */
  readonly stats = { polls: 0, squeueCalls: 0, fallbackCalls: 0 }

  constructor(private readonly o: SlurmJobsOptions) {
    this.client =
      o.client ??
      new SlurmClient(o.transport, {
        binDir: o.site.slurm.binDir,
        env: o.site.slurm.env,
        squeueMode: o.site.slurm.squeue,
      })
    this.minInterval = o.pollIntervalMs ?? o.site.slurm.pollIntervalMs
    this.maxInterval = Math.max(this.minInterval, o.maxPollIntervalMs ?? o.site.slurm.maxPollIntervalMs)
    this.interval = this.minInterval
    this.slurmDir = path.posix.join(o.runDir, 'slurm')
  }

  jobName(pool: string): string {
    return jobNameFor(this.o.site.slurm.jobNamePrefix, this.o.runId, pool)
  }

  // ------------------------------------------------------------ preflight

  /** one sinfo call (cached for the run unless `refresh`) */
  async clusterInfo(refresh = false): Promise<ClusterInfo> {
    if (!this.cluster || refresh) this.cluster = parseSinfo(await this.client.sinfo())
    return this.cluster
  }

  async preflight(pools: PlanPool[]): Promise<SlurmProblem[]> {
    if (!this.o.site.slurm.preflight) return []
    return preflightPools(pools, this.o.site, await this.clusterInfo())
  }

  // ------------------------------------------------------------ submit

  /** render the script a request would be submitted with (no I/O) */
  render(req: SubmitRequest) {
    const jobName = this.jobName(req.pool.name)
    return renderJobScript(
      {
        jobName,
        pool: req.pool,
        workDir: this.o.runDir,
        logDir: this.slurmDir,
        tasks: req.tasks,
        ...(req.arrayParallelism ? { arrayParallelism: req.arrayParallelism } : {}),
        ...(req.afterOk?.length ? { afterOk: req.afterOk } : {}),
        ...(req.timeLimitSeconds ? { timeLimitSeconds: req.timeLimitSeconds } : {}),
        comment: `controlroom:run=${this.o.runId}:pool=${req.pool.name}`.replace(/[^A-Za-z0-9_.:=@/-]/g, '_'),
        env: {
          ...this.o.site.environment.env,
          ...req.env,
          CONTROLROOM_RUN_ID: this.o.runId,
          CONTROLROOM_RUN_DIR: this.o.runDir,
        },
        header: [`run ${this.o.runId}, pool ${req.pool.name}`, ...(req.header ?? [])],
      },
      this.o.site,
      { setup: req.setup ?? this.o.site.environment.setup },
    )
  }

  private dirsReady = false
  private async ensureDirs() {
    if (this.dirsReady) return
    if (this.o.transport.kind === 'local') await mkdir(this.slurmDir, { recursive: true })
    else await makeDirs(this.o.transport, [this.slurmDir])
    this.dirsReady = true
  }

  private async writeScript(p: string, content: string) {
    if (this.o.transport.kind === 'local') {
      // same host: write directly (no extra process per job)
      const tmp = `${p}.tmp.${process.pid}`
      await writeFile(tmp, content, { mode: 0o755 })
      await chmod(tmp, 0o755)
      await rename(tmp, p)
    } else await stageFile(this.o.transport, p, content, { mode: 0o755 })
  }

  /**
   * Submit one job (one task) or one job array (several tasks). The script is kept beside the
   * logs (`<run>/slurm/<name>-<n>.sh`) so the UI shows what was submitted.
   */
  async submit(req: SubmitRequest): Promise<SubmitOutcome> {
    const rendered = this.render(req)
    const errors = rendered.problems.filter((p) => p.severity === 'error')
    if (errors.length) return { ok: false, problem: errors[0]!, script: rendered.script }
    await this.ensureDirs()
    const n = ++this.seq
    const jobName = this.jobName(req.pool.name)
    const scriptPath = path.posix.join(this.slurmDir, `${jobName}-${Date.now().toString(36)}-${n}.sh`)
    await this.writeScript(scriptPath, rendered.script)
    const r = await this.client.sbatch(scriptPath)
    if (!r.ok) {
      const cluster = this.cluster
      const partition = rendered.directives.find((d) => d.flag === '--partition')?.text.split('=')[1] ?? null
      return {
        ok: false,
        problem: mapSbatchError(r.stderr || r.stdout, req.pool.name, {
          partitions: cluster?.partitions ?? (await this.clusterInfo().catch(() => null))?.partitions ?? [],
          features: [...new Set((this.cluster?.nodes ?? []).flatMap((x) => x.features))],
          partition,
          code: r.code,
        }),
        script: rendered.script,
      }
    }
    this.names.add(jobName)
    const now = Date.now()
    const isArray = req.tasks.length > 1
    const refs: SlurmJobRef[] = req.tasks.map((t, i) => ({
      taskId: t.taskId,
      pool: req.pool.name,
      jobId: r.jobId,
      arrayIndex: isArray ? i : null,
      elementJobId: null,
      submittedAt: now,
    }))
    for (const ref of refs) this.track(ref, now)
    req.onSubmitted?.(refs, { scriptPath, cluster: r.cluster })
    for (const ref of refs) {
      this.emit(this.tracked.get(key(ref.jobId, ref.arrayIndex))!, {
        ref,
        workerId: key(ref.jobId, ref.arrayIndex),
        worker: 'requested',
        task: 'queued',
        final: false,
        hopeless: false,
        slurmState: 'SUBMITTED',
        reason: null,
        reasonText: null,
        exitCode: null,
        signal: null,
        nodes: null,
        startTime: null,
        endTime: null,
        source: 'submit',
      })
    }
    this.interval = this.minInterval
    this.kick()
    const warnings = r.stderr.split('\n').filter((l) => /warning/i.test(l))
    return {
      ok: true,
      jobId: r.jobId,
      cluster: r.cluster,
      refs,
      script: rendered.script,
      scriptPath,
      directives: rendered.directives,
      warnings,
    }
  }

  private track(ref: SlurmJobRef, submittedAt: number) {
    this.tracked.set(key(ref.jobId, ref.arrayIndex), {
      ref,
      last: null,
      missing: 0,
      final: false,
      failedByUs: false,
      submittedAt,
    })
  }

  // ------------------------------------------------------------ re-attach

  /**
   * Re-attach to jobs submitted before a restart, from their stored refs: nothing is resubmitted;
   * the next poll reports their current state (or `lost` when Slurm no longer knows them).
   */
  attach(refs: SlurmJobRef[]): void {
    for (const ref of refs) {
      this.names.add(this.jobName(ref.pool))
      if (this.tracked.has(key(ref.jobId, ref.arrayIndex))) continue
      // submittedAt 0: eligible for the missing check at once
      this.track({ ...ref }, 0)
    }
    this.interval = this.minInterval
    this.kick()
  }

  /** refs of every tracked job (to persist) */
  refs(): SlurmJobRef[] {
    return [...this.tracked.values()].map((t) => t.ref)
  }

  /** last known update of a job (`jobId`, array index) */
  statusOfJob(jobId: string, arrayIndex: number | null): SlurmJobUpdate | null {
    return this.tracked.get(key(jobId, arrayIndex))?.last ?? null
  }

  isTracked(jobId: string, arrayIndex: number | null): boolean {
    return this.tracked.has(key(jobId, arrayIndex))
  }

  /** last known update of a task */
  statusOf(taskId: string): SlurmJobUpdate | null {
    for (const t of this.tracked.values()) if (t.ref.taskId === taskId) return t.last
    return null
  }

  /** tracked jobs that are not final */
  activeCount(pool?: string): number {
    let n = 0
    for (const t of this.tracked.values()) if (!t.final && (!pool || t.ref.pool === pool)) n++
    return n
  }

  // ------------------------------------------------------------ poll

  /** one poll now: one squeue call (+ fallbacks for jobs that left it); returns the changes */
  poll(): Promise<SlurmJobUpdate[]> {
    if (this.polling) return this.polling
    this.polling = this.doPoll()
      .then((changes) => {
        // back-off: x1.5 while nothing changes, back to the minimum on any change
        this.interval = changes.length ? this.minInterval : Math.min(this.maxInterval, Math.round(this.interval * 1.5))
        return changes
      })
      .finally(() => {
        this.polling = null
      })
    return this.polling
  }

  private async doPoll(): Promise<SlurmJobUpdate[]> {
    const active = [...this.tracked.values()].filter((t) => !t.final)
    if (active.length === 0) return []
    this.stats.polls++
    const pollStarted = Date.now()
    this.stats.squeueCalls++
    const records = await this.client.squeue({ names: [...this.names] })
    const byKey = new Map<string, SlurmJobRecord>()
    for (const r of records)
      byKey.set(
        r.arrayJobId !== null && r.arrayTaskId !== null ? key(r.arrayJobId, r.arrayTaskId) : key(r.jobId, null),
        r,
      )
    const changes: SlurmJobUpdate[] = []
    const missing: Tracked[] = []
    for (const t of active) {
      const rec = byKey.get(key(t.ref.jobId, t.ref.arrayIndex))
      if (rec) {
        t.missing = 0
        const u = await this.apply(t, rec)
        if (u) changes.push(u)
      } else if (t.submittedAt < pollStarted) missing.push(t)
    }
    if (missing.length) {
      // left squeue (MinJobAge passed, or a controller restart): sacct / jobcomp, then scontrol
      const ids = missing.map(
        (t) => t.ref.elementJobId ?? (t.ref.arrayIndex === null ? t.ref.jobId : `${t.ref.jobId}_${t.ref.arrayIndex}`),
      )
      // a ref without a job id never reached Slurm: nothing to ask
      const askable = [...new Set(ids.filter((id) => /^\d+(_\d+)?$/.test(id)))]
      this.stats.fallbackCalls++
      const fromAcct = askable.length ? await this.client.sacct(askable).catch(() => [] as SlurmJobRecord[]) : []
      const found = new Map<string, SlurmJobRecord>()
      for (const r of fromAcct) {
        found.set(r.jobId, r)
        if (r.arrayJobId !== null && r.arrayTaskId !== null) found.set(key(r.arrayJobId, r.arrayTaskId), r)
      }
      let scontrolFailed = false
      let still = missing.filter((_t, i) => !found.has(ids[i]!))
      if (still.length) {
        const sids = still.map(
          (t) => t.ref.elementJobId ?? (t.ref.arrayIndex === null ? t.ref.jobId : `${t.ref.jobId}_${t.ref.arrayIndex}`),
        )
        const sAskable = [...new Set(sids.filter((id) => /^\d+(_\d+)?$/.test(id)))]
        let fromCtl: SlurmJobRecord[] = []
        try {
          fromCtl = sAskable.length ? await this.client.scontrolJobs(sAskable) : []
        } catch {
          // the controller did not answer: nothing can be concluded about these jobs this time
          scontrolFailed = true
        }
        for (const r of fromCtl) {
          if (r.arrayJobId !== null && r.arrayTaskId !== null) found.set(key(r.arrayJobId, r.arrayTaskId), r)
          else found.set(r.jobId, r)
        }
        still = still.filter((_t, i) => !found.has(sids[i]!))
      }
      for (const [i, t] of missing.entries()) {
        const rec =
          found.get(ids[i]!) ?? found.get(t.ref.elementJobId ?? '') ?? found.get(key(t.ref.jobId, t.ref.arrayIndex))
        if (rec && !still.includes(t)) {
          t.missing = 0
          const u = await this.apply(t, rec)
          if (u) changes.push(u)
          continue
        }
        if (scontrolFailed) continue
        t.missing++
        if (t.missing >= (this.o.missingPollsBeforeLost ?? 1)) {
          const u: SlurmJobUpdate = {
            ref: t.ref,
            workerId: key(t.ref.jobId, t.ref.arrayIndex),
            worker: 'gone',
            task: 'lost',
            final: true,
            hopeless: false,
            slurmState: 'UNKNOWN',
            reason: null,
            reasonText: `Slurm no longer knows job ${key(t.ref.jobId, t.ref.arrayIndex)} (not in squeue, accounting or scontrol)`,
            exitCode: null,
            signal: null,
            nodes: null,
            startTime: null,
            endTime: null,
            source: 'missing',
          }
          this.emit(t, u)
          changes.push(u)
        }
      }
    }
    return changes
  }

  /** apply a record to a tracked job; returns the update when something changed */
  private async apply(t: Tracked, rec: SlurmJobRecord): Promise<SlurmJobUpdate | null> {
    // an array element that started has its own job id (one element keeps the array's id): keep
    // it, the jobcomp file and sacct -c know elements only by that id
    if (t.ref.arrayIndex !== null && !t.ref.elementJobId && rec.arrayTaskId !== null && rec.state !== 'PENDING')
      t.ref.elementJobId = rec.jobId
    const m: MappedStatus = mapSlurmState(rec)
    let u: SlurmJobUpdate = {
      ref: t.ref,
      workerId: key(t.ref.jobId, t.ref.arrayIndex),
      worker: m.worker,
      task: m.task,
      final: m.final,
      hopeless: false,
      slurmState: rec.state,
      reason: rec.reason,
      reasonText: m.reasonText,
      exitCode: rec.exitCode,
      signal: rec.signal,
      nodes: rec.nodes,
      startTime: rec.startTime,
      endTime: rec.endTime,
      source: rec.source,
    }
    if (m.hopeless) {
      // waiting cannot help: cancel the job and fail the task with Slurm's reason
      t.failedByUs = true
      await this.client.scancel([key(t.ref.jobId, t.ref.arrayIndex)]).catch(() => undefined)
      u = {
        ...u,
        worker: 'gone',
        task: 'failed',
        final: true,
        hopeless: true,
        reasonText: `${m.reasonText} (cancelled by Control Room: it would never start)`,
      }
    }
    const prev = t.last
    if (
      prev &&
      prev.slurmState === u.slurmState &&
      prev.reason === u.reason &&
      prev.task === u.task &&
      prev.worker === u.worker &&
      prev.exitCode === u.exitCode
    ) {
      return null
    }
    this.emit(t, u)
    return u
  }

  private emit(t: Tracked, u: SlurmJobUpdate) {
    t.last = u
    if (u.final) t.final = true
    this.o.onUpdate?.(u)
  }

  // ------------------------------------------------------------ polling loop with back-off

  /** start polling: every interval, doubling-ish (x1.5) while nothing changes, reset on change */
  start(): void {
    if (!this.stopped) return
    this.stopped = false
    this.schedule(0)
  }

  stop(): void {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
  }

  /** current poll interval (ms) */
  get currentInterval(): number {
    return this.interval
  }

  private schedule(ms: number) {
    if (this.stopped) return
    if (this.timer) clearTimeout(this.timer)
    this.timer = setTimeout(() => {
      this.timer = null
      void this.tick()
    }, ms)
    this.timer.unref?.()
  }

  private kick() {
    if (!this.stopped) this.schedule(Math.min(this.interval, 250))
  }

  private async tick() {
    try {
      await this.poll()
    } catch (e) {
      this.onError?.(e as Error)
      this.interval = Math.min(this.maxInterval, Math.round(this.interval * 2))
    }
    if (this.activeCount() > 0) this.schedule(this.interval)
    else this.schedule(this.maxInterval) // idle: keep a slow heartbeat for late submissions
  }

  /** called when a poll fails (Slurm unreachable); polling continues with back-off */
  onError: ((e: Error) => void) | null = null

  // ------------------------------------------------------------ cancel

  /** scancel the jobs of these tasks (all tracked when omitted); states arrive with the next poll */
  async cancel(taskIds?: string[]): Promise<void> {
    const want = taskIds ? new Set(taskIds) : null
    const ids: string[] = []
    const wholeArrays = new Map<string, { total: number; chosen: number }>()
    for (const t of this.tracked.values()) {
      if (t.final) continue
      if (t.ref.arrayIndex !== null) {
        const w = wholeArrays.get(t.ref.jobId) ?? { total: 0, chosen: 0 }
        w.total++
        if (!want || want.has(t.ref.taskId)) w.chosen++
        wholeArrays.set(t.ref.jobId, w)
      }
      if (want && !want.has(t.ref.taskId)) continue
      ids.push(key(t.ref.jobId, t.ref.arrayIndex))
    }
    // a whole array: one id cancels all its elements
    const compact = ids.filter((id) => {
      const m = /^(\d+)_(\d+)$/.exec(id)
      if (!m) return true
      const w = wholeArrays.get(m[1]!)!
      return w.total !== w.chosen
    })
    for (const [jobId, w] of wholeArrays) if (w.total === w.chosen && w.total > 0) compact.push(jobId)
    await this.client.scancel([...new Set(compact)])
    this.interval = this.minInterval
    this.kick()
  }

  async close(): Promise<void> {
    this.stop()
    if (this.polling) await this.polling.catch(() => undefined)
  }
}
