/**
 * Strategy `local`: every task is a process group on this host, started detached (it survives a
 * server restart), identified by pid + /proc start ticks (pid reuse safe). Workers are slots:
 * pool.workers lanes per pool (the backend bounds concurrency).
 */
import { readSetting } from '../../settings.ts'
import { formatBytes } from '../../format.ts'
import type { ChildProcess } from 'node:child_process'
import { mkdirSync, readdirSync, readFileSync, statfsSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { ExecutionPlan, PlanPool } from '../../workflow/types.ts'
import { dropPrestarted, ExecutorPool, findSpooled, prestartExecutors } from '../executors.ts'
import { makeUserDirectory, readTaskJson } from '../user-files.ts'
import { controlroomHomeDir, runtimeArgv } from '../paths.ts'
import { isProcessAlive, killGroup, processesInGroups, processesWithEnv, processStartTicks } from '../procfs.ts'
import type {
  HostCapacity,
  JobRef,
  JobStatus,
  MappedJobState,
  PoolProblem,
  PrestartContext,
  RenderedSubmission,
  Strategy,
  StrategyContext,
  StrategyRunContext,
  StrategySession,
  SubmitResult,
  TaskLaunch,
  TaskResult,
  TaskStarted,
} from '../types.ts'

function countGpus(): number {
  const declared = readSetting('CONTROLROOM_HOST_GPUS')
  if (declared !== undefined) return declared
  try {
    return readdirSync('/dev').filter((d) => /^nvidia\d+$/.test(d)).length
  } catch {
    return 0
  }
}

/** what this host provides (overridable per call for tests and by CONTROLROOM_HOST_* variables) */
export function hostCapacity(override?: Partial<HostCapacity>, dir?: string): HostCapacity {
  const cpus = readSetting('CONTROLROOM_HOST_CPUS') ?? os.availableParallelism?.() ?? os.cpus().length
  const memoryBytes = readSetting('CONTROLROOM_HOST_MEMORY_BYTES') ?? os.totalmem()
  let diskBytes: number | null = null
  try {
    const d = dir ?? controlroomHomeDir()
    mkdirSync(d, { recursive: true })
    const s = statfsSync(d)
    diskBytes = Number(s.bavail) * Number(s.bsize)
  } catch {
    diskBytes = null
  }
  return { cpus, memoryBytes, gpus: countGpus(), diskBytes, ...override }
}

/** pools that some stage is routed to */
function usedPools(plan: ExecutionPlan): PlanPool[] {
  const used = new Set(plan.stages.map((s) => s.pool))
  return plan.pools.filter((p) => used.has(p.name))
}

export function preflightLocal(plan: ExecutionPlan, host: HostCapacity): PoolProblem[] {
  const out: PoolProblem[] = []
  for (const pool of usedPools(plan)) {
    const r = pool.resources
    const need = (what: 'cpus' | 'gpus' | 'memory' | 'disk', asked: string, has: string, hint: string) =>
      out.push({
        code: `host-${what}-insufficient`,
        severity: 'error',
        pool: pool.name,
        message: `pool '${pool.name}' needs ${asked} per worker; this host has ${has}`,
        hint,
      })
    if (r.gpus > host.gpus)
      need(
        'gpus',
        `${r.gpus} GPU${r.gpus === 1 ? '' : 's'}`,
        `${host.gpus}`,
        'run it with strategy slurm/htcondor on a cluster with GPUs, or lower resources.gpus',
      )
    if (r.cpus > host.cpus) need('cpus', `${r.cpus} CPUs`, `${host.cpus}`, 'lower resources.cpus or run on a cluster')
    if (r.memoryBytes != null && r.memoryBytes > host.memoryBytes)
      need(
        'memory',
        formatBytes(r.memoryBytes),
        formatBytes(host.memoryBytes),
        'lower resources.memory or run on a cluster',
      )
    if (r.diskBytes != null && host.diskBytes != null && r.diskBytes > host.diskBytes)
      need(
        'disk',
        formatBytes(r.diskBytes),
        `${formatBytes(host.diskBytes)} free`,
        'free disk space or lower resources.disk',
      )
    if (pool.workers * r.cpus > host.cpus && r.cpus <= host.cpus)
      out.push({
        code: 'host-cpus-oversubscribed',
        severity: 'warning',
        pool: pool.name,
        message: `pool '${pool.name}': ${pool.workers} workers x ${r.cpus} CPUs exceeds this host's ${host.cpus} CPUs (tasks will share CPUs)`,
      })
  }
  return out
}

/** the result of this attempt, if the runtime wrote it (never through a link: user-files.ts) */
export function readResult(taskDir: string, attempt: number): TaskResult | null {
  const r = readTaskJson<TaskResult>(taskDir, 'result.json')
  return r && r.attempt === attempt ? r : null
}

export function readStarted(taskDir: string, attempt: number): TaskStarted | null {
  const s = readTaskJson<TaskStarted>(taskDir, 'started.json')
  return s && s.attempt === attempt ? s : null
}

const SIGNALS = os.constants.signals as Record<string, number>

/**
 * tasks handed to a pool's executors per worker at once (one runs, the rest wait in the spool): the
 * spool must hold more than the server needs to hand over the next task (a report read, a batch
 * written, an entry renamed into the inbox), or executors idle between short tasks
 */
export const EXECUTOR_QUEUE_DEPTH = 8

export class LocalStrategy implements Strategy {
  readonly name = 'local'
  readonly workerModel = 'slot' as const
  readonly workerKind = 'process' as const
  readonly supportsArrays = false
  /** the executors are the workers: this strategy reports them (Worker rows of kind `executor`) */
  readonly ownWorkers = true
  readonly queueDepth = EXECUTOR_QUEUE_DEPTH
  /** the spool entry is the spec: the executor links it into the task directory as spec.json */
  readonly writesSpecs = true

  async preflight(plan: ExecutionPlan, ctx?: StrategyContext): Promise<PoolProblem[]> {
    return preflightLocal(plan, hostCapacity(ctx?.host, ctx?.runDir))
  }

  async render(
    pool: PlanPool,
    plan: ExecutionPlan,
    ctx?: StrategyContext & { launch?: TaskLaunch[] },
  ): Promise<RenderedSubmission> {
    const runDir = ctx?.runDir ?? path.join(controlroomHomeDir(), 'runs', '<runId>')
    const stages = plan.stages.filter((s) => s.pool === pool.name).map((s) => s.id)
    const example = ctx?.launch?.[0]?.argv ?? runtimeArgv(path.join(runDir, 'tasks', '<taskId>', 'spec.json'))
    const lines = [
      `# pool '${pool.name}': up to ${pool.workers} task process${pool.workers === 1 ? '' : 'es'} at once on this host`,
      `# resources per worker: ${pool.resources.cpus} cpu, ${pool.resources.memoryBytes != null ? formatBytes(pool.resources.memoryBytes) : 'any'} memory, ${pool.resources.gpus} gpu`,
      `# stages: ${stages.join(', ') || '(none)'}`,
      '# each task runs detached in its own process group; logs and result.json go to its task directory',
      example.map((a) => (/^[\w@%+=:,./<>-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' '),
    ]
    return {
      kind: 'command',
      text: lines.join('\n') + '\n',
      problems: preflightLocal(
        { ...plan, stages: plan.stages.filter((s) => s.pool === pool.name) },
        hostCapacity(ctx?.host, ctx?.runDir),
      ),
    }
  }

  mapState(external: {
    state: string
    reason?: string | null
    exitCode?: number | null
    signal?: string | number | null
  }): MappedJobState {
    switch (external.state) {
      case 'starting':
        return { worker: 'requested', task: 'queued', final: false, reason: external.reason ?? null, hopeless: false }
      case 'alive':
        return { worker: 'running', task: 'running', final: false, reason: null, hopeless: false }
      case 'exited': {
        const ok = external.exitCode === 0 && !external.signal
        return {
          worker: 'running',
          task: ok ? 'succeeded' : 'failed',
          final: true,
          reason: ok ? null : external.signal ? `killed by ${external.signal}` : `exit code ${external.exitCode}`,
          hopeless: false,
        }
      }
      case 'cancelled':
        return {
          worker: 'running',
          task: 'cancelled',
          final: true,
          reason: external.reason ?? 'cancelled',
          hopeless: false,
        }
      default:
        return {
          worker: 'gone',
          task: 'lost',
          final: true,
          reason: external.reason ?? 'the task process vanished without a result',
          hopeless: false,
        }
    }
  }

  async open(ctx: StrategyRunContext): Promise<StrategySession> {
    return new LocalStrategySession(this, ctx)
  }

  /** each pool's executors (its workers, at most its tasks) start while the engine stores the run */
  prestart(ctx: PrestartContext): () => void {
    for (const p of ctx.plan.pools) {
      const count = Math.min(Math.max(1, p.workers), ctx.tasksPerPool.get(p.name) ?? 0)
      if (count > 0) prestartExecutors({ runDir: ctx.runDir, pool: p.name, count, runAs: ctx.runAs })
    }
    return () => dropPrestarted(ctx.runDir)
  }
}

interface Tracked {
  ref: JobRef
  child: ChildProcess | null
  exited: boolean
}

const keyOf = (taskId: string, attempt: number) => `${taskId}.${attempt}`

/**
 * Tasks go to warm executors (executors.ts), one ExecutorPool per pool of the run. Refs of tasks
 * started by the earlier one-process-per-task runtime (no `poolDir` in their data) are still
 * followed through the process table, so runs started before an upgrade finish.
 */
class LocalStrategySession implements StrategySession {
  private jobs = new Map<string, Tracked>()
  private pools = new Map<string, ExecutorPool>()
  /** the last status of executor tasks, by task.attempt (final ones until polled) */
  private last = new Map<string, JobStatus>()
  private refs = new Map<string, JobRef>()
  constructor(
    private strategy: LocalStrategy,
    private ctx: StrategyRunContext,
  ) {}

  pollIntervalMs(): number {
    // executors push their reports; polling only matters for legacy re-attached processes
    return [...this.jobs.values()].some((j) => !j.child && !j.exited) ? 250 : 2000
  }

  private status(ref: JobRef, state: string, extra: Partial<JobStatus> & { reason?: string | null } = {}): JobStatus {
    const mapped = this.strategy.mapState({
      state,
      reason: extra.reason ?? null,
      exitCode: extra.exitCode ?? null,
      signal: extra.signal ?? null,
    })
    return {
      ref,
      raw: state,
      exitCode: null,
      signal: null,
      host: ref.host ?? os.hostname(),
      ...mapped,
      ...extra,
      reason: extra.reason ?? mapped.reason,
    }
  }

  private push(taskId: string, attempt: number, make: (ref: JobRef) => JobStatus) {
    const ref = this.refs.get(keyOf(taskId, attempt))
    if (!ref) return
    const st = make(ref)
    this.last.set(keyOf(taskId, attempt), st)
    if (st.final) this.refs.delete(keyOf(taskId, attempt))
    this.ctx.onStatus(st)
  }

  private poolFor(pool: string): ExecutorPool {
    let p = this.pools.get(pool)
    if (p) return p
    const workers = this.ctx.plan.pools.find((x) => x.name === pool)?.workers ?? 1
    p = new ExecutorPool({
      runDir: this.ctx.runDir,
      pool,
      workers,
      runAs: this.ctx.runAs ?? null,
      events: {
        started: (taskId, attempt, info) =>
          this.push(taskId, attempt, (ref) => {
            ref.pid = info.pid
            ref.workerId = info.workerId
            return this.status(ref, 'alive', { startedAt: info.at })
          }),
        finished: (taskId, attempt, r) =>
          this.push(taskId, attempt, (ref) =>
            r.cancelled
              ? this.status(ref, 'cancelled', {
                  exitCode: r.exitCode,
                  signal: r.signal,
                  startedAt: r.startedAt,
                  endedAt: r.finishedAt,
                })
              : this.status(ref, 'exited', {
                  exitCode: r.exitCode,
                  signal: r.signal,
                  startedAt: r.startedAt,
                  endedAt: r.finishedAt,
                }),
          ),
        cancelledBeforeStart: (taskId, attempt) =>
          this.push(taskId, attempt, (ref) => this.status(ref, 'cancelled', { reason: 'cancelled before it started' })),
        failed: (taskId, attempt, reason) =>
          this.push(taskId, attempt, (ref) => this.status(ref, 'exited', { exitCode: 1, reason })),
        lost: (taskId, attempt, reason) => this.push(taskId, attempt, (ref) => this.status(ref, 'gone', { reason })),
        worker: (u) => this.ctx.onWorker?.(u),
        log: (level, message) => this.ctx.log(level, message),
      },
    })
    this.pools.set(pool, p)
    return p
  }

  async submit(group: TaskLaunch[]): Promise<SubmitResult[]> {
    const out: SubmitResult[] = []
    const runAs = this.ctx.runAs
    for (const l of group) {
      try {
        // users mode: the task's directory is the only one of tasks/ (root's) the task's user owns;
        // root makes it there, where no name can be a link a task put (user-files.ts)
        if (runAs) makeUserDirectory(l.taskDir, runAs)
        const pool = this.poolFor(l.pool)
        const ref: JobRef = {
          taskId: l.taskId,
          attempt: l.attempt,
          pool: l.pool,
          jobId: `exec:${l.pool}:${l.taskId}.${l.attempt}`,
          host: os.hostname(),
          pid: null,
          data: { taskDir: l.taskDir, poolDir: pool.poolDir },
        }
        this.refs.set(keyOf(l.taskId, l.attempt), ref)
        const { taskKey, entry } = pool.enqueue(l)
        ref.data = { ...ref.data, taskKey, entry }
        out.push({ ok: true, ref })
      } catch (e) {
        this.refs.delete(keyOf(l.taskId, l.attempt))
        out.push({
          ok: false,
          taskId: l.taskId,
          problem: {
            code: 'spawn-failed',
            severity: 'error',
            pool: l.pool,
            message: `cannot hand the task to an executor: ${(e as Error).message}`,
          },
        })
      }
    }
    return out
  }

  /** the state of a task handed to an executor */
  private inspectExecutorTask(ref: JobRef): JobStatus {
    const k = keyOf(ref.taskId, ref.attempt)
    const last = this.last.get(k)
    if (last) {
      if (last.final) this.last.delete(k)
      return last
    }
    const pool = this.poolFor(ref.pool)
    const where = pool.status(ref.taskId, ref.attempt)
    if (where === 'running') return this.status(ref, 'alive')
    if (where === 'waiting' || where === 'claimed') return this.status(ref, 'starting')
    const taskDir = String(ref.data?.taskDir ?? '')
    const result = taskDir ? readResult(taskDir, ref.attempt) : null
    pool.forget(ref.taskId, ref.attempt)
    this.refs.delete(k)
    if (result)
      return this.status(ref, result.cancelled ? 'cancelled' : 'exited', {
        exitCode: result.exitCode,
        signal: result.signal,
        startedAt: result.startedAt,
        endedAt: result.finishedAt,
      })
    return this.status(ref, 'gone', { reason: 'the task vanished from its executor without a result' })
  }

  /** finds the state of a job from the process table and its task directory */
  private inspect(ref: JobRef): JobStatus {
    if (ref.data?.poolDir) return this.inspectExecutorTask(ref)
    const taskDir = String(ref.data?.taskDir ?? '')
    const tracked = this.jobs.get(ref.taskId)
    if (tracked?.child && !tracked.exited) return this.status(ref, 'alive')
    const result = taskDir ? readResult(taskDir, ref.attempt) : null
    const startTicks = (ref.data?.startTicks as number | null | undefined) ?? null
    if (ref.pid && isProcessAlive(ref.pid, startTicks)) {
      return this.status(ref, 'alive')
    }
    if (result) {
      const sig = result.signal
      return this.status(ref, 'exited', {
        exitCode: result.exitCode,
        signal: sig,
        endedAt: result.finishedAt,
        startedAt: result.startedAt,
      })
    }
    // unknown job id (the server died between queueing and recording the submission): look for it
    if (!ref.pid && taskDir) {
      const st = readStarted(taskDir, ref.attempt)
      if (st && isProcessAlive(st.pid, st.startTicks)) {
        ref.pid = st.pid
        ref.jobId = `${st.pid}:${st.startTicks ?? 0}`
        ref.data = { ...ref.data, pgid: st.pgid, startTicks: st.startTicks }
        return this.status(ref, 'alive')
      }
      const found = processesWithEnv('CONTROLROOM_TASK_ID', ref.taskId).filter((p) => {
        try {
          return readFileSync(`/proc/${p}/environ`).includes(Buffer.from(`CONTROLROOM_ATTEMPT=${ref.attempt}\0`))
        } catch {
          return false
        }
      })
      if (found.length) {
        const pid = Math.min(...found)
        ref.pid = pid
        ref.jobId = `${pid}:${processStartTicks(pid) ?? 0}`
        ref.data = { ...ref.data, pgid: pid, startTicks: processStartTicks(pid) }
        return this.status(ref, 'alive')
      }
    }
    return this.status(ref, 'gone', {
      reason: ref.jobId
        ? 'the task process vanished without writing result.json'
        : 'it had not been handed to a worker when the server stopped',
    })
  }

  async poll(jobs: JobRef[]): Promise<JobStatus[]> {
    return jobs.map((ref) => this.inspect(ref))
  }

  async reattach(jobs: JobRef[]): Promise<JobStatus[]> {
    // a task handed over whose submission was never stored: find it in the spool (never run it twice)
    for (const ref of jobs)
      if (!ref.data?.poolDir) {
        const found = findSpooled(this.ctx.runDir, ref.pool, ref.taskId, ref.attempt)
        if (found) {
          ref.jobId = `exec:${ref.pool}:${ref.taskId}.${ref.attempt}`
          ref.data = { ...ref.data, ...found }
        }
      }
    // executor tasks: re-read each pool's reports once, with every task of it tracked first
    const byPool = new Map<string, JobRef[]>()
    for (const ref of jobs)
      if (ref.data?.poolDir && ref.data.entry && ref.data.taskKey) {
        this.refs.set(keyOf(ref.taskId, ref.attempt), ref)
        byPool.set(ref.pool, [...(byPool.get(ref.pool) ?? []), ref])
      }
    for (const [pool, refs] of byPool)
      this.poolFor(pool).adopt(
        refs.map((r) => ({
          taskId: r.taskId,
          attempt: r.attempt,
          taskDir: String(r.data?.taskDir ?? ''),
          entry: String(r.data?.entry),
          taskKey: String(r.data?.taskKey),
        })),
      )
    const out: JobStatus[] = []
    for (const ref of jobs) {
      const s = this.inspect(ref)
      if (!s.final && !ref.data?.poolDir) this.jobs.set(ref.taskId, { ref: s.ref, child: null, exited: false })
      out.push(s)
    }
    return out
  }

  /**
   * Executor tasks: withdrawn from the inbox when not started, else SIGTERM to the command's group
   * and to every process carrying the attempt's CONTROLROOM_TASK_KEY (setsid escapees), SIGKILL after
   * the grace period. Legacy processes: SIGTERM / SIGKILL to the runtime's and the command's groups.
   * Resolves when they are gone.
   */
  async cancel(jobs: JobRef[]): Promise<void> {
    const graceMs = readSetting('CONTROLROOM_KILL_GRACE_MS')
    const byPool = new Map<string, { taskId: string; attempt: number }[]>()
    for (const ref of jobs)
      if (ref.data?.poolDir)
        byPool.set(ref.pool, [...(byPool.get(ref.pool) ?? []), { taskId: ref.taskId, attempt: ref.attempt }])
    await Promise.all([...byPool].map(([pool, tasks]) => this.poolFor(pool).cancel(tasks, graceMs)))
    const groups = new Set<number>()
    for (const ref of jobs) {
      if (ref.data?.poolDir) continue
      const taskDir = String(ref.data?.taskDir ?? '')
      const pgid = Number(ref.data?.pgid ?? ref.pid ?? 0)
      const startTicks = (ref.data?.startTicks as number | null | undefined) ?? null
      if (pgid && isProcessAlive(pgid, startTicks)) groups.add(pgid)
      else if (pgid && processesInGroups([pgid]).length) groups.add(pgid)
      const st = taskDir ? readStarted(taskDir, ref.attempt) : null
      if (st?.childPid) groups.add(st.childPid)
    }
    for (const g of groups) killGroup(g, 'SIGTERM')
    const deadline = Date.now() + graceMs
    while (Date.now() < deadline && processesInGroups(groups).length > 0) await new Promise((r) => setTimeout(r, 50))
    if (processesInGroups(groups).length > 0) {
      for (const g of groups) killGroup(g, 'SIGKILL')
      const d2 = Date.now() + 2000
      while (Date.now() < d2 && processesInGroups(groups).length > 0) await new Promise((r) => setTimeout(r, 25))
    }
  }

  /** detach (the default, a restart): executors go on; `{ detach: false }` (the run ended): they stop once idle */
  async close(opts: { detach?: boolean } = { detach: true }): Promise<void> {
    this.jobs.clear()
    await Promise.all([...this.pools.values()].map((p) => p.close({ detach: opts.detach !== false })))
  }
}

export function signalNumber(name: string | null | undefined): number | null {
  return name ? (SIGNALS[name] ?? null) : null
}
