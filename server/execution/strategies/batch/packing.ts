import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import type { ExecutionPlan, PlanPool } from '../../../workflow/types.ts'
import { stageFile } from '../../transport/files.ts'
import type { CommandTransport } from '../../transport/types.ts'
import type { JobRef, JobStatus, TaskLaunch, TaskResult, TaskStarted } from '../../types.ts'
import { readTaskJson } from '../../user-files.ts'

/** tasks of a hep.* pool packed into one job when nothing says otherwise */
export const DEFAULT_HEP_TASKS_PER_JOB = 16
/** a packed job's task list is one argv: keep it well under ARG_MAX and the scheduler's script limits */
export const MAX_TASKS_PER_JOB = 256

const HEP_EVENT_OP = /^hep\.(define|select|hist)$/

export interface PackingConfig {
  /** tasks one job carries (1: no packing) */
  tasksPerJob: number
  /** tasks a packed job runs at once (the pool's cpus) */
  parallel: number
  /** where tasksPerJob came from, shown in the Submission preview */
  source: string
  /** a bad value (the default was used instead) */
  problem: string | null
}

function count(v: unknown): number | null | 'bad' {
  if (v === undefined || v === null) return null
  const n = typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : v
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= MAX_TASKS_PER_JOB ? n : 'bad'
}

/**
 * The packing of a pool. `site` holds the scheduler section's `tasksPerJob` and per-pool
 * `tasks_per_job` (site.slurm / site.htcondor); `sitePath` names it in messages.
 */
export function packingFor(
  pool: PlanPool,
  plan: Pick<ExecutionPlan, 'stages'>,
  site: { tasksPerJob?: unknown; pools?: Record<string, unknown> },
  sitePath: string,
): PackingConfig {
  const parallel = Math.max(1, Math.floor(pool.resources.cpus || 1))
  const sitePool = (site.pools?.[pool.name] ?? {}) as Record<string, unknown>
  const candidates: [unknown, string][] = [
    [pool.config?.tasks_per_job, `execution.pools.${pool.name}.config.tasks_per_job`],
    [sitePool.tasks_per_job, `site ${sitePath}.pools.${pool.name}.tasks_per_job`],
    [site.tasksPerJob, `site ${sitePath}.tasksPerJob`],
  ]
  let problem: string | null = null
  for (const [v, source] of candidates) {
    const n = count(v)
    if (n === 'bad') {
      problem ??= `${source} is ${JSON.stringify(v)}: give a whole number of tasks from 1 to ${MAX_TASKS_PER_JOB} (1 = a job per task)`
      continue
    }
    if (n !== null) return { tasksPerJob: n, parallel, source, problem }
  }
  const stages = plan.stages.filter((s) => s.pool === pool.name)
  const hep = stages.length > 0 && stages.every((s) => HEP_EVENT_OP.test(s.op))
  return hep
    ? { tasksPerJob: DEFAULT_HEP_TASKS_PER_JOB, parallel, source: 'default for hep.* pools', problem }
    : { tasksPerJob: 1, parallel, source: 'default (a job per task)', problem }
}

/** the packed runtime beside runner.mjs in a runtime argv (null when the argv is not runner.mjs's) */
export function packRuntimeArgv(runnerArgv: string[]): string[] | null {
  const i = runnerArgv.indexOf('--spec')
  const prefix = i >= 0 ? runnerArgv.slice(0, i) : runnerArgv
  const last = prefix.at(-1)
  if (!last || path.basename(last) !== 'runner.mjs') return null
  return [...prefix.slice(0, -1), path.join(path.dirname(last), 'pack.mjs')]
}

/** the argv of a packed job: one --spec per task, in order */
export function packArgv(prefix: string[], parallel: number, specPaths: string[]): string[] {
  return [
    ...prefix,
    '--parallel',
    String(Math.max(1, Math.min(parallel, specPaths.length))),
    ...specPaths.flatMap((s) => ['--spec', s]),
  ]
}

/** split the launches of one pool into jobs of at most `size` tasks */
export function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += Math.max(1, size)) out.push(items.slice(i, i + Math.max(1, size)))
  return out
}

/** `--time` for a packed job: its tasks' timeouts run `parallel` at a time, plus a margin (null: no bound) */
export function packedTimeLimit(launches: Pick<TaskLaunch, 'timeoutSeconds'>[], parallel: number): number | null {
  const t = launches.map((l) => l.timeoutSeconds)
  if (t.length === 0 || t.some((x) => !(typeof x === 'number' && x > 0))) return null
  const rounds = Math.ceil(t.length / Math.max(1, parallel))
  const max = Math.max(...(t as number[]))
  const total = rounds * max
  return Math.ceil(total + Math.max(60, total * 0.1))
}

/** what a task's JobRef carries when it runs inside a packed job */
export interface PackedData {
  /** the job's key (`123`, `123_4`, `42.0`): every task of the job has the same */
  job: string
  /** position in the job, and the job's task count */
  index: number
  of: number
  taskDir: string
}

export function packedDataOf(ref: JobRef): PackedData | null {
  const p = ref.data?.packed as PackedData | undefined
  return p && typeof p.job === 'string' && typeof p.taskDir === 'string' ? p : null
}

/**
 * The state of one task of a packed job: the job's state (from the scheduler) for the job as a
 * whole, the task's own files for the task. The result is final once result.json of this attempt
 * exists; a job that ended without running a task leaves it `cancelled` (the job was cancelled) or
 * `lost` (anything else: time limit, node failure), so the engine retries it.
 */
export function packedTaskStatus(ref: JobRef, job: JobStatus): JobStatus {
  const p = packedDataOf(ref)!
  const where = `packed job ${p.job} (task ${p.index + 1} of ${p.of})`
  const result = readTaskJson<TaskResult>(p.taskDir, 'result.json')
  if (result && result.attempt === ref.attempt) {
    const task = result.cancelled
      ? 'cancelled'
      : result.exitCode === 0 && !result.timedOut && !result.error
        ? 'succeeded'
        : 'failed'
    return {
      ...job,
      ref,
      worker: 'gone',
      task,
      final: true,
      hopeless: false,
      reason: result.error ?? (task === 'succeeded' ? null : `ended in ${where}`),
      exitCode: result.exitCode,
      signal: result.signal,
      host: result.host ?? job.host,
      startedAt: result.startedAt,
      endedAt: result.finishedAt,
    }
  }
  const started = readTaskJson<TaskStarted>(p.taskDir, 'started.json')
  const isStarted = !!started && started.attempt === ref.attempt
  if (job.hopeless) return { ...job, ref }
  if (!job.final) {
    if (job.task === 'running' && isStarted)
      return { ...job, ref, task: 'running', reason: null, host: started.host ?? job.host, startedAt: started.at }
    const waiting = job.task === 'running' ? `waiting its turn in ${where}` : (job.reason ?? `in ${where}`)
    return { ...job, ref, task: 'queued', worker: job.task === 'running' ? 'running' : job.worker, reason: waiting }
  }
  if (job.task === 'cancelled' && !isStarted)
    return { ...job, ref, task: 'cancelled', reason: `its ${where} was cancelled before it ran` }
  return {
    ...job,
    ref,
    task: 'lost',
    reason: `${where} ended (${job.raw}${job.reason ? `: ${job.reason}` : ''}) ${isStarted ? 'while it ran' : 'before it ran'}, without its result`,
  }
}

/** true while a packed job's tasks may still change state without the job changing (poll often) */
export function packedBusy(statuses: JobStatus[]): boolean {
  return statuses.some((s) => !s.final && s.worker === 'running' && !!packedDataOf(s.ref))
}

/**
 * Cancel tasks of packed jobs: a job whose every unfinished task is cancelled is cancelled in the
 * scheduler (returned); otherwise each task gets its cancel file, which the packed runtime obeys.
 */
export async function cancelPacked(
  refs: JobRef[],
  members: (job: string) => JobRef[],
  isFinal: (ref: JobRef) => boolean,
  transport: CommandTransport,
): Promise<{ wholeJobs: string[] }> {
  const byJob = new Map<string, JobRef[]>()
  for (const r of refs) {
    const p = packedDataOf(r)
    if (p) byJob.set(p.job, [...(byJob.get(p.job) ?? []), r])
  }
  const wholeJobs: string[] = []
  for (const [job, chosen] of byJob) {
    const ids = new Set(chosen.map((r) => r.taskId))
    const open = members(job).filter((r) => !isFinal(r))
    if (open.length > 0 && open.every((r) => ids.has(r.taskId))) {
      wholeJobs.push(job)
      continue
    }
    for (const r of chosen) {
      const file = path.join(packedDataOf(r)!.taskDir, `cancel.${r.attempt}`)
      if (transport.kind === 'local') await writeFile(file, `${new Date().toISOString()}\n`, { mode: 0o600 })
      else await stageFile(transport, file, `${new Date().toISOString()}\n`, { mode: 0o600 })
    }
  }
  return { wholeJobs }
}

/** a result the packed runtime left for this attempt (the task is over whatever its job does) */
export function hasResult(ref: JobRef): boolean {
  const p = packedDataOf(ref)
  if (!p) return false
  return readTaskJson<TaskResult>(p.taskDir, 'result.json')?.attempt === ref.attempt
}
