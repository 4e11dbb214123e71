/**
 * HTCondorJobs: the HTCondor side of one run. Writes the job script and the submit description,
 * submits with `condor_submit -terse` (a group of tasks = one cluster, `queue N`, ProcId i runs
 * task i), and follows the jobs:
 *
 *   1. the job event log (`<run>/condor.log`, read incrementally from the last offset) is the
 *      primary source: cheap, and it has every transition (submit, execute, evicted, held with
 *      its reason, released, aborted, terminated with the return value or signal);
 *   2. `condor_q -json` (ONE call for every cluster of the run) for jobs the log does not show
 *      as finished: current status, RemoteHost, HoldReason;
 *   3. `condor_history -json` for jobs that left the queue without a terminal event in the log;
 *   4. a job known nowhere after a grace period is `lost`.
 *
 * Held jobs are shown as held with their reason; under the site policy `holds: fail`, a job held
 * for a reason that waiting will not fix is removed with condor_rm and reported `hopeless` (the
 * backend fails its task with the hold reason at once). Polls back off while nothing changes. After a server
 * restart, `attach` re-adopts jobs by ClusterId.ProcId and re-reads the log from the start.
 *
 * Independent of the engine's contract: strategies/htcondor.ts adapts it.
 */
import path from 'node:path'
import type { PlanPool } from '../../../workflow/types.ts'
import type { CommandTransport } from '../../transport/types.ts'
import { makeDirs, stageFile } from '../../transport/files.ts'
import type { MappedJobState, PoolProblem } from '../../types.ts'
import { HTCondorClient } from './client.ts'
import { parseEventLog, reduceEvents, type EventJobState } from './eventlog.ts'
import { renderCondorJobScript, type CondorScriptTask } from './jobscript.ts'
import { mapSubmitError, type SubmitProblem } from './parse.ts'
import type { HTCondorSite } from './site.ts'
import {
  holdIsHopeless,
  holdText,
  mapView,
  rawState,
  viewFromAd,
  viewFromEvents,
  type CondorJobView,
} from './status.ts'
import { renderSubmitDescription, type CondorJobSpec } from './submit.ts'

export interface CondorJobRef {
  taskId: string
  pool: string
  clusterId: number
  procId: number
  /** `cluster.proc` */
  jobId: string
  /** ms since epoch when submitted (grace period before a job unknown everywhere is lost) */
  submittedAt?: number
}

export interface CondorSubmitRequest {
  pool: PlanPool
  /** a short name for the files of this cluster (`<stage>-a<attempt>`) */
  name: string
  /** one job per task: ProcId i runs tasks[i] */
  tasks: CondorScriptTask[]
  /** exported by the job script for every task */
  env?: Record<string, string>
  /** site setup + worker environment lines */
  setup?: string[]
  /** lines pointing credential variables at the job's copies */
  credentialLines?: string[]
  transferInputFiles?: string[]
  x509userproxy?: string | null
  /** the submit file's `environment` */
  submitEnvironment?: Record<string, string>
  attributes?: Record<string, string | number | boolean>
  header?: string[]
}

export interface RenderedCluster {
  submit: string
  script: string
  submitPath: string
  scriptPath: string
  problems: PoolProblem[]
}

export type CondorSubmitOutcome =
  | ({ ok: true; clusterId: number; refs: CondorJobRef[] } & RenderedCluster)
  | { ok: false; problem: SubmitProblem; rendered: RenderedCluster | null }

export interface CondorJobStatus extends MappedJobState {
  ref: CondorJobRef
  /** IDLE, RUNNING, HELD, COMPLETED, REMOVED, TRANSFERRING_OUTPUT, SUSPENDED, MISSING */
  raw: string
  view: CondorJobView | null
  exitCode: number | null
  signal: number | null
  host: string | null
  startedAt: Date | null
  endedAt: Date | null
}

export interface HTCondorJobsOptions {
  transport: CommandTransport
  site: HTCondorSite
  runId: string
  /** the run directory on the submit host (scripts, submit files, the event log, job outputs) */
  runDir: string
  /** a job unknown to the log, condor_q and condor_history this long after submission is lost (default 60 s) */
  lostGraceMs?: number
  pollIntervalMs?: number
  maxPollIntervalMs?: number
  log?: (level: 'info' | 'warn' | 'error', message: string) => void
}

const safe = (s: string) => s.replace(/[^A-Za-z0-9_.-]+/g, '_').slice(0, 80)

export class HTCondorJobs {
  readonly client: HTCondorClient
  readonly logFile: string
  readonly condorDir: string
  private readonly refs = new Map<string, CondorJobRef>()
  private readonly events = new Map<string, EventJobState>()
  private logOffset = 0
  /** jobs removed because of a hopeless hold: their final answer */
  private readonly heldFailures = new Map<string, CondorJobStatus>()
  private readonly last = new Map<string, CondorJobStatus>()
  private interval: number
  private counter = 0

  constructor(readonly opts: HTCondorJobsOptions) {
    this.client = new HTCondorClient(opts.transport, opts.site)
    this.condorDir = path.posix.join(opts.runDir, 'condor')
    this.logFile = path.posix.join(opts.runDir, 'condor.log')
    this.interval = this.baseInterval()
  }

  private baseInterval(): number {
    return this.opts.pollIntervalMs ?? this.opts.site.pollIntervalMs
  }

  get currentInterval(): number {
    return this.interval
  }

  batchName(pool: string): string {
    return `${this.opts.site.batchNamePrefix}-${safe(this.opts.runId).slice(0, 24)}-${safe(pool)}`
  }

  /** the submit description and job script of one cluster (what is submitted, also the preview) */
  render(req: CondorSubmitRequest, name = req.name): RenderedCluster {
    const base = safe(name)
    const scriptPath = path.posix.join(this.condorDir, `${base}.sh`)
    const submitPath = path.posix.join(this.condorDir, `${base}.sub`)
    const sc = renderCondorJobScript({
      pool: req.pool.name,
      tasks: req.tasks,
      env: req.env,
      credentialLines: req.credentialLines,
      setupLines: req.setup,
      header: req.header,
    })
    const spec: CondorJobSpec = {
      pool: req.pool,
      batchName: this.batchName(req.pool.name),
      executable: scriptPath,
      initialDir: this.opts.runDir,
      logFile: this.logFile,
      output: path.posix.join(this.condorDir, `${base}.$(ClusterId).$(ProcId).out`),
      error: path.posix.join(this.condorDir, `${base}.$(ClusterId).$(ProcId).err`),
      count: req.tasks.length,
      transferInputFiles: req.transferInputFiles,
      x509userproxy: req.x509userproxy ?? null,
      environment: req.submitEnvironment,
      attributes: { ControlRoomRun: this.opts.runId, ControlRoomPool: req.pool.name, ...req.attributes },
      header: req.header,
    }
    const sub = renderSubmitDescription(spec, this.opts.site)
    return { submit: sub.text, script: sc.script, submitPath, scriptPath, problems: [...sub.problems, ...sc.problems] }
  }

  async submit(req: CondorSubmitRequest): Promise<CondorSubmitOutcome> {
    const name = `${req.name}-${++this.counter}`
    const rendered = this.render(req, name)
    const err = rendered.problems.find((p) => p.severity === 'error')
    if (err) return { ok: false, problem: { ...err, retryable: false }, rendered }
    try {
      await makeDirs(this.opts.transport, [this.condorDir])
      await stageFile(this.opts.transport, rendered.scriptPath, rendered.script, { mode: 0o755 })
      await stageFile(this.opts.transport, rendered.submitPath, rendered.submit, { mode: 0o644 })
    } catch (e) {
      return {
        ok: false,
        problem: {
          code: 'htcondor-write-failed',
          severity: 'error',
          pool: req.pool.name,
          message: `could not write the job files: ${(e as Error).message}`,
          retryable: true,
        },
        rendered,
      }
    }
    const r = await this.client.submit(rendered.submitPath, this.opts.runDir)
    if (!r.ok)
      return { ok: false, problem: mapSubmitError(r.result, req.pool.name, this.opts.transport.description), rendered }
    const range = r.ranges[0]!
    const count = range.lastProc - range.firstProc + 1
    if (r.ranges.length !== 1 || count !== req.tasks.length) {
      this.opts.log?.('warn', `condor_submit answered ${r.result.stdout.trim()} for ${req.tasks.length} job(s)`)
    }
    const now = Date.now()
    const refs = req.tasks.map((t, i) => {
      const ref: CondorJobRef = {
        taskId: t.taskId,
        pool: req.pool.name,
        clusterId: range.clusterId,
        procId: range.firstProc + i,
        jobId: `${range.clusterId}.${range.firstProc + i}`,
        submittedAt: now,
      }
      this.refs.set(ref.jobId, ref)
      return ref
    })
    this.interval = this.baseInterval()
    return { ok: true, clusterId: range.clusterId, refs, ...rendered }
  }

  /** follow jobs submitted before a restart (no resubmission); the log is read again from its start */
  attach(refs: CondorJobRef[]): void {
    let fresh = false
    for (const r of refs) {
      if (!this.refs.has(r.jobId)) {
        this.refs.set(r.jobId, r)
        fresh = true
      }
    }
    if (fresh && this.events.size === 0) this.logOffset = 0
  }

  isTracked(jobId: string): boolean {
    return this.refs.has(jobId)
  }

  private async readLog(): Promise<void> {
    if (!this.opts.site.eventLog) return
    let text: string | null
    try {
      text = await this.client.readFrom(this.logFile, this.logOffset)
    } catch (e) {
      this.opts.log?.('warn', `HTCondor event log ${this.logFile} unreadable: ${(e as Error).message}`)
      return
    }
    if (!text) return
    const chunk = parseEventLog(text)
    this.logOffset += chunk.consumed
    reduceEvents(chunk.events, this.events)
  }

  private status(ref: CondorJobRef, view: CondorJobView | null, mapped: MappedJobState, raw?: string): CondorJobStatus {
    return {
      ...mapped,
      ref,
      raw: raw ?? (view ? rawState(view) : 'MISSING'),
      view,
      exitCode: view?.exitCode ?? null,
      signal: view?.signal ?? null,
      host: view?.host ?? null,
      startedAt: view?.startedAt ?? null,
      endedAt: mapped.final ? (view?.endedAt ?? null) : null,
    }
  }

  /**
   * The status of the given jobs (default: every job of the run): log, then ONE condor_q for all
   * clusters still active, then condor_history for those that left the queue.
   */
  async poll(refs: CondorJobRef[] = [...this.refs.values()]): Promise<CondorJobStatus[]> {
    for (const r of refs) if (!this.refs.has(r.jobId)) this.refs.set(r.jobId, r)
    await this.readLog()
    const views = new Map<string, CondorJobView>()
    const open: CondorJobRef[] = []
    for (const r of refs) {
      if (this.heldFailures.has(r.jobId)) continue
      const ev = this.events.get(r.jobId)
      if (ev && (ev.status === 'completed' || ev.status === 'removed')) views.set(r.jobId, viewFromEvents(ev))
      else open.push(r)
    }
    let queueOk = true
    if (open.length) {
      try {
        for (const ad of await this.client.q(open.map((r) => r.clusterId))) {
          const v = viewFromAd(ad, 'queue')
          if (!v || !open.some((r) => r.jobId === v.jobId)) continue
          const ev = this.events.get(v.jobId)
          if (ev) {
            v.starts = Math.max(v.starts, ev.starts)
            v.host ??= ev.host
            // the log says what happened (evicted from <host>: <reason>, released by ...): prefer its words
            if (v.status === ev.status && ev.note && v.status !== 'removed') v.note = ev.note
            if (v.status === 'held' && !v.holdReason) {
              v.holdReason = ev.holdReason
              v.holdCode ??= ev.holdCode
            }
          }
          views.set(v.jobId, v)
        }
      } catch (e) {
        queueOk = false
        this.opts.log?.('warn', (e as Error).message)
      }
    }
    const missing = queueOk ? open.filter((r) => !views.has(r.jobId)) : []
    if (missing.length) {
      try {
        for (const ad of await this.client.history(
          missing.map((r) => r.clusterId),
          missing.length,
        )) {
          const v = viewFromAd(ad, 'history')
          if (v && missing.some((r) => r.jobId === v.jobId) && !views.has(v.jobId)) views.set(v.jobId, v)
        }
      } catch (e) {
        this.opts.log?.('warn', (e as Error).message)
      }
    }

    const out: CondorJobStatus[] = []
    const toRemove: { ref: CondorJobRef; view: CondorJobView }[] = []
    for (const r of refs) {
      const failed = this.heldFailures.get(r.jobId)
      if (failed) {
        out.push(failed)
        continue
      }
      let v = views.get(r.jobId) ?? null
      const ev = this.events.get(r.jobId)
      if (!v && ev) v = viewFromEvents(ev) // the queue did not answer, or the job is between queue and history
      if (!v) {
        const prev = this.last.get(r.jobId)
        const young = Date.now() - (r.submittedAt ?? 0) < (this.opts.lostGraceMs ?? 60_000)
        if (!queueOk || young) {
          out.push(
            prev ??
              this.status(
                r,
                null,
                {
                  worker: 'requested',
                  task: 'queued',
                  final: false,
                  reason: 'submitted; not yet visible in condor_q',
                  hopeless: false,
                },
                'SUBMITTED',
              ),
          )
        } else {
          out.push(
            this.status(r, null, {
              worker: 'gone',
              task: 'lost',
              final: true,
              reason: `HTCondor no longer knows job ${r.jobId} (not in the event log as finished, not in condor_q, not in condor_history)`,
              hopeless: false,
            }),
          )
        }
        continue
      }
      const mapped = mapView(v, this.opts.site.holds)
      if (v.status === 'held' && mapped.hopeless) toRemove.push({ ref: r, view: v })
      out.push(this.status(r, v, mapped))
    }

    // a hold that waiting will not fix: remove the job, report it hopeless (its task fails with the reason)
    if (toRemove.length) {
      try {
        await this.client.rm(toRemove.map((x) => x.ref.jobId))
      } catch (e) {
        this.opts.log?.('warn', `condor_rm of held jobs failed: ${(e as Error).message}`)
      }
      for (const { ref, view } of toRemove) {
        // reported as the contract's `hopeless` state (not final): the backend fails the task with
        // this reason at once (and cancels, which finds the job already removed)
        const reason = `${holdText(view.holdReason, view.holdCode, view.holdSubcode)}; removed by Control Room (site htcondor.holds: fail)`
        const st = this.status(
          ref,
          view,
          {
            worker: 'pending-in-queue',
            task: view.starts > 0 ? 'running' : 'queued',
            final: false,
            reason,
            hopeless: true,
          },
          'HELD',
        )
        this.heldFailures.set(ref.jobId, st)
        const i = out.findIndex((o) => o.ref.jobId === ref.jobId)
        out[i] = st
      }
    }

    // back off while nothing changes
    let changed = false
    for (const s of out) {
      const p = this.last.get(s.ref.jobId)
      if (!p || p.raw !== s.raw || p.reason !== s.reason || p.task !== s.task) changed = true
      this.last.set(s.ref.jobId, s)
    }
    this.interval = changed
      ? this.baseInterval()
      : Math.min(Math.ceil(this.interval * 1.5), this.opts.maxPollIntervalMs ?? this.opts.site.maxPollIntervalMs)
    return out
  }

  /** remove jobs (cancel): condor_rm; jobs HTCondor does not know any more are ignored */
  async cancel(jobIds: string[]): Promise<{ removed: string[]; notFound: string[] }> {
    const ids = [...new Set(jobIds)]
    if (!ids.length) return { removed: [], notFound: [] }
    const r = await this.client.rm(ids)
    this.interval = this.baseInterval()
    return { removed: r.removed, notFound: r.notFound }
  }

  /** the hold policy decision for a status (for callers that map states themselves) */
  static hopelessHold(v: CondorJobView, policy: HTCondorSite['holds']): boolean {
    return v.status === 'held' && holdIsHopeless(v.holdCode, policy)
  }

  async close(): Promise<void> {
    this.refs.clear()
  }
}
