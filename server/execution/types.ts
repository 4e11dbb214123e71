/**
 * Run engine: states, transitions and the driver contracts (Backend, Strategy).
 *
 *   engine (DAG, state machine, events, retries, failure policy)   <- never changes per driver
 *     └─ Backend  (who schedules tasks: `local` = our engine dispatches to the strategy; `dask` = a
 *        │         Dask scheduler that receives tasks and reports their states)
 *        └─ Strategy (how workers/jobs are created: `local` processes, `slurm` jobs, `htcondor` jobs)
 *
 * The engine talks only to a BackendSession (capacity / dispatch / cancel / reattach) and receives
 * TaskUpdate / WorkerUpdate through a BackendReporter. A Backend talks to a StrategySession
 * (submit / poll / cancel / reattach). The model: docs/execution-model.md.
 *
 * Pure module (types + the transition function): no I/O.
 */
import { z } from 'zod'
import type { ExecutionPlan, PlanPool } from '../workflow/types.ts'

// ------------------------------------------------------------------ states (declared in vocabulary.ts)

import {
  ACTIVE_TASK_STATES,
  RUN_STATES,
  type RunState,
  TASK_STATES,
  type TaskState,
  TERMINAL_RUN_STATES,
  TERMINAL_TASK_STATES,
  WORKER_STATES,
  type WorkerKind,
  type WorkerState,
} from './vocabulary.ts'

export {
  ACTIVE_TASK_STATES,
  RUN_STATES,
  TASK_STATES,
  TERMINAL_RUN_STATES,
  TERMINAL_TASK_STATES,
  WORKER_STATES,
  type RunState,
  type TaskState,
  type WorkerKind,
  type WorkerState,
}

/**
 * Allowed task transitions.
 *  pending   -> queued (its needs succeeded and its pool has a free slot) | cancelled (run or task cancelled)
 *             | skipped (an upstream task failed or was cancelled)
 *  queued    -> running | failed (submission refused) | cancelled | lost (its job vanished before start)
 *  running   -> succeeded | failed | cancelled | lost (its worker vanished)
 *  failed    -> retrying (automatic retry within `retries`, or a manual retry)
 *  lost      -> retrying | failed (no retries left)
 *  cancelled -> retrying (manual retry) | pending (reset when a failed upstream task is retried)
 *  skipped   -> pending (its failed upstream task is retried) | retrying (manual retry)
 *  retrying  -> queued | pending (waits again for a re-run upstream) | cancelled | skipped
 *  succeeded -> (final)
 */
export const TASK_TRANSITIONS: Readonly<Record<TaskState, readonly TaskState[]>> = {
  pending: ['queued', 'cancelled', 'skipped'],
  queued: ['running', 'failed', 'cancelled', 'lost'],
  running: ['succeeded', 'failed', 'cancelled', 'lost'],
  failed: ['retrying'],
  lost: ['retrying', 'failed'],
  cancelled: ['retrying', 'pending'],
  skipped: ['pending', 'retrying'],
  retrying: ['queued', 'pending', 'cancelled', 'skipped'],
  succeeded: [],
}

export const WORKER_TRANSITIONS: Readonly<Record<WorkerState, readonly WorkerState[]>> = {
  requested: ['pending-in-queue', 'running', 'gone'],
  'pending-in-queue': ['running', 'gone'],
  running: ['gone', 'pending-in-queue'],
  gone: [],
}

export const RUN_TRANSITIONS: Readonly<Record<RunState, readonly RunState[]>> = {
  pending: ['running', 'failed', 'cancelled', 'cancelling'],
  running: ['succeeded', 'failed', 'cancelling', 'cancelled'],
  cancelling: ['cancelled', 'failed', 'succeeded'],
  // a manual retry / re-run of a task re-opens a finished run
  failed: ['running'],
  cancelled: ['running'],
  succeeded: [],
}

export class IllegalTransitionError extends Error {
  constructor(
    readonly kind: 'task' | 'worker' | 'run',
    readonly from: string,
    readonly to: string,
    readonly subject?: string,
  ) {
    super(`illegal ${kind} transition ${from} -> ${to}${subject ? ` (${subject})` : ''}`)
    this.name = 'IllegalTransitionError'
  }
}

export function canTransition(kind: 'task', from: TaskState, to: TaskState): boolean
export function canTransition(kind: 'worker', from: WorkerState, to: WorkerState): boolean
export function canTransition(kind: 'run', from: RunState, to: RunState): boolean
export function canTransition(kind: 'task' | 'worker' | 'run', from: string, to: string): boolean {
  const table = (
    kind === 'task' ? TASK_TRANSITIONS : kind === 'worker' ? WORKER_TRANSITIONS : RUN_TRANSITIONS
  ) as Record<string, readonly string[]>
  return (table[from] ?? []).includes(to)
}

/** strict = throw on an illegal transition (development, tests); otherwise it is logged and refused */
export function isStrictTransitions(): boolean {
  const v = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env
  if (v?.CONTROLROOM_STRICT_TRANSITIONS === '0') return false
  if (v?.CONTROLROOM_STRICT_TRANSITIONS === '1') return true
  return v?.NODE_ENV !== 'production'
}

/**
 * Checks a transition. Returns true when allowed. When not: throws IllegalTransitionError in strict
 * mode (dev/test), otherwise calls `log` and returns false (the caller must then not apply it).
 */
export function checkTransition(
  kind: 'task' | 'worker' | 'run',
  from: string,
  to: string,
  subject?: string,
  log: (msg: string) => void = (m) => console.warn(`[controlroom] ${m}`),
): boolean {
  if (canTransition(kind as 'task', from as TaskState, to as TaskState)) return true
  const err = new IllegalTransitionError(kind, from, to, subject)
  log(err.message)
  if (isStrictTransitions()) throw err
  return false
}

// ------------------------------------------------------------------ events

/** Event.type values and their payloads: vocabulary.ts (EVENT_TYPES) and events.ts (the union) */
export type { EventType as RunEventType } from './vocabulary.ts'
export type { RunEvent } from './events.ts'

// ------------------------------------------------------------------ running as another OS user

/**
 * `RunOptions.runAs`: the OS user a run's executors and tasks run as (users mode fills it from the
 * account's OS user mapping). Executors and tasks get this uid/gid with supplementary groups dropped,
 * HOME=home and an environment built from the allow-list (env-allow.ts), never the server's. The run
 * directory is owned by this user, mode 0700. Without runAs, tasks run as the server's user.
 */
export const RunAsSchema = z.object({
  user: z
    .string()
    .regex(/^[a-z_][a-z0-9_.-]{0,31}$/i, 'an OS user name: letters, digits, _ . - (at most 32 characters)'),
  uid: z.number().int().min(1, 'tasks never run as root (uid 0)'),
  gid: z.number().int().min(1, 'tasks never run in the root group (gid 0)'),
  home: z.string().startsWith('/', 'home must be an absolute path'),
})
export type RunAs = z.infer<typeof RunAsSchema>

// ------------------------------------------------------------------ in-process JS tasks

/**
 * `TaskSpec.module`: a task given as a JS module instead of a command. The executor (a warm process,
 * runtime/executor.mjs) imports `path` once per process and calls its export `export` per task:
 *
 *   export async function run(spec: TaskSpec, ctx: TaskModuleContext): Promise<TaskModuleReturn | void>
 *
 * `path` is an absolute path to built JavaScript (ESM, `.mjs` / `.js`): no TypeScript at task start.
 * The executor writes the same files as for a command (started.json, stdout.log / stderr.log through
 * ctx.stdout / ctx.stderr, result.json). A throw fails the task (exit code 1, the message as the
 * error, the stack in stderr.log). On cancel or timeout ctx.signal aborts; a function that does not
 * return within the kill grace period takes its executor down with it (the executor is replaced).
 * Outside an executor (a Slurm job, a re-attached runner) runtime/runner.mjs does the same in its own
 * process, so a module task runs on every strategy.
 */
export const TaskModuleSchema = z.object({
  /** absolute path of the ES module */
  path: z.string().startsWith('/', 'the module path must be absolute'),
  /** the exported function's name */
  export: z.string().min(1).default('default'),
})
export type TaskModule = z.infer<typeof TaskModuleSchema>

export interface TaskModuleContext {
  /** append to the task's stdout.log / stderr.log */
  stdout(text: string): void
  stderr(text: string): void
  /** aborted on cancel (reason 'cancel') or timeout (reason 'timeout') */
  signal: AbortSignal
  /** the task's environment as a command would get it (spec.env + CONTROLROOM_*); process.env is the executor's */
  env: Record<string, string>
  /** the attempt's metrics file a command would write to (CONTROLROOM_METRICS); returning `metrics` is simpler */
  metricsPath: string
}

export interface TaskModuleReturn {
  /** stored as the task's outputs (like outputs.json written by a command; the file wins when both exist) */
  outputs?: Record<string, unknown>
  /** merged into result.json metrics */
  metrics?: Record<string, unknown>
  /** non-zero fails the task (default 0) */
  exitCode?: number
}

export type TaskModuleFunction = (
  spec: TaskSpec,
  ctx: TaskModuleContext,
) => Promise<TaskModuleReturn | undefined> | TaskModuleReturn | undefined

// ------------------------------------------------------------------ task runtime

/** What a task process runs, resolved by the engine from op + params + modifiers (spec.json). */
export interface TaskSpec {
  version: 1
  runId: string
  taskId: string
  stageId: string
  pool: string
  attempt: number
  op: string
  /** the command the runtime executes; empty for in-process ops (noop) and module tasks */
  argv: string[]
  /** a JS module task (argv empty): see TaskModuleSchema */
  module?: TaskModule | null
  /** added to the runtime's environment */
  env: Record<string, string>
  /** working directory of the command (default: the task directory) */
  cwd: string
  taskDir: string
  runDir: string
  /** where to write the logs and the result (absolute) */
  stdoutPath: string
  stderrPath: string
  resultPath: string
  /** the runtime kills the command after this many seconds */
  timeoutSeconds: number | null
  /** runtime collectors switched on by modifiers */
  collect: { profile: boolean; diagnostics: boolean; rssSampleMs: number }
  /** a file the command may write JSON outputs to (CONTROLROOM_OUTPUTS) */
  outputsPath: string
  /** plan modifiers and their resolved metadata (travel with the task) */
  modifiers: { name: string; params: Record<string, unknown> }[]
  metadata: Record<string, unknown>
}

/** result.json, written by the runtime at the end of an attempt (atomically: tmp + rename). */
export interface TaskResult {
  version: 1
  taskId: string
  attempt: number
  exitCode: number | null
  signal: string | null
  /** true when the runtime killed the command because of `timeoutSeconds` */
  timedOut: boolean
  /** true when the runtime was asked to stop (SIGTERM/SIGINT) */
  cancelled: boolean
  startedAt: string
  finishedAt: string
  durationMs: number
  /** wall, cpu user/system ms, peak RSS bytes, ... */
  metrics: Record<string, unknown>
  outputs: Record<string, unknown> | null
  /** runtime-level error (command not found, spec unreadable, ...) */
  error: string | null
  host: string
  pid: number
}

/** started.json: written by the runtime as soon as it runs (re-attach after a server restart) */
export interface TaskStarted {
  taskId: string
  attempt: number
  pid: number
  pgid: number
  /** process start time in clock ticks since boot (/proc/<pid>/stat field 22): pid + this is unique */
  startTicks: number | null
  /** the command's own process group (it runs detached from the runtime) */
  childPid: number | null
  childStartTicks: number | null
  host: string
  at: string
}

// ------------------------------------------------------------------ strategy contract

export type { PoolProblem } from './events.ts'
import type { JobRef, PoolProblem } from './events.ts'
export type { JobRef }

/** the outcome of one task's job as seen by the batch system / process table */
export type TaskOutcome = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'lost'

/** an external state mapped for the engine and the UI */
export interface MappedJobState {
  worker: WorkerState
  task: TaskOutcome
  /** terminal for the job (no more changes expected) */
  final: boolean
  /** pending reason or why it ended, for humans */
  reason: string | null
  /** a pending reason that waiting cannot resolve (BadConstraints, ...): fail the task now */
  hopeless: boolean
}

/** One task handed to a strategy. The spec file is already written in taskDir. */
export interface TaskLaunch {
  runId: string
  taskId: string
  attempt: number
  stageId: string
  pool: string
  taskDir: string
  specPath: string
  /** the command that runs the task runtime with this spec (strategies may re-root it for remote nodes) */
  argv: string[]
  /** environment for the runtime (CONTROLROOM_* identifiers) */
  env: Record<string, string>
  timeoutSeconds: number | null
  /** the spec itself, for strategies that write spec.json themselves (`writesSpecs`) */
  spec?: TaskSpec
}

export interface JobStatus extends MappedJobState {
  ref: JobRef
  /** the external state as the batch system spells it (RUNNING, PENDING, alive, exited, ...) */
  raw: string
  exitCode: number | null
  signal: string | null
  host: string | null
  startedAt?: string | null
  endedAt?: string | null
}

export type SubmitResult =
  | { ok: true; ref: JobRef }
  | { ok: false; taskId: string; problem: PoolProblem; retryable?: boolean }

export interface RenderedSubmission {
  /** `slurm-script` | `condor-submit` | `command` */
  kind: string
  /** the exact text that is (or would be) submitted */
  text: string
  problems: PoolProblem[]
}

/** host capacity (local strategy); tests may override it */
export interface HostCapacity {
  cpus: number
  memoryBytes: number
  gpus: number
  diskBytes: number | null
}

export interface StrategyContext {
  /** the run directory (absolute, as this host sees it) */
  runDir?: string
  /** override what the host provides (local strategy) */
  host?: Partial<HostCapacity>
  /** site config (batch strategies); opaque here */
  site?: unknown
  /** run the run's workers / tasks as this OS user (RunAsSchema) */
  runAs?: RunAs | null
}

export interface StrategyRunContext extends StrategyContext {
  runId: string
  runDir: string
  plan: ExecutionPlan
  /** push a status as soon as the strategy learns it (optional: the backend also polls) */
  onStatus(status: JobStatus): void
  /** strategies that manage their own workers (`ownWorkers`) report them here */
  onWorker?(update: WorkerUpdate): void
  log(level: 'info' | 'warn' | 'error', message: string): void
}

/**
 * A Strategy creates workers / jobs. `local` (processes on this host), `slurm`, `htcondor`
 * (each in server/execution/strategies/<name>.ts or <name>/). Contract tests:
 * server/execution/strategies/contract.ts.
 */
export interface Strategy {
  readonly name: string
  /**
   * `slot`: pool.workers long-lived lanes on which tasks run one after another (local processes,
   * Dask workers); `job`: every submission is its own worker (a batch job).
   */
  readonly workerModel: 'slot' | 'job'
  /** worker kind stored in Worker.kind */
  readonly workerKind: WorkerKind
  /** true when submit() accepts a group that becomes one array job */
  readonly supportsArrays: boolean
  /** the strategy reports its own Worker rows (onWorker) and each task's workerId; the backend creates none */
  readonly ownWorkers?: boolean
  /** tasks a slot accepts at once (default 1): more than one keeps warm workers busy between reports */
  readonly queueDepth?: number
  /**
   * `job` strategies that pack several tasks into one job: how many one job of this pool carries.
   * The backend then lets pool.workers JOBS run (up to workers x this many tasks), not workers tasks.
   */
  tasksPerJob?(pool: PlanPool, plan: ExecutionPlan, ctx?: StrategyContext): number
  /** the strategy writes spec.json (it gets TaskLaunch.spec); the engine does not write it first */
  readonly writesSpecs?: boolean
  /** problems per pool before dispatch (a pool this host / cluster cannot satisfy is an error) */
  preflight(plan: ExecutionPlan, ctx?: StrategyContext): Promise<PoolProblem[]>
  /** the submission text for a pool (plan panel preview, and per job after submission) */
  render(
    pool: PlanPool,
    plan: ExecutionPlan,
    ctx?: StrategyContext & { launch?: TaskLaunch[] },
  ): Promise<RenderedSubmission>
  /** maps the batch system's state + reason (e.g. PENDING/Priority) onto worker and task states */
  mapState(external: {
    state: string
    reason?: string | null
    exitCode?: number | null
    signal?: string | number | null
  }): MappedJobState
  open(ctx: StrategyRunContext): Promise<StrategySession>
  /**
   * Starts the pools' workers ahead of the run's first task (while the engine stores the run), where
   * the strategy has warm workers of its own; returns how to stop them when the run does not start.
   */
  prestart?(ctx: PrestartContext): () => void
}

/** what a run's workers need to start ahead of its first task */
export interface PrestartContext {
  runDir: string
  runAs: RunAs | null
  /** pool name -> how many of its tasks need a process (not counting in-process noops) */
  tasksPerPool: Map<string, number>
  plan: ExecutionPlan
}

export interface StrategySession {
  /** submit tasks; a group of several tasks of one stage/pool may become one array job. One result per launch, same order. */
  submit(group: TaskLaunch[]): Promise<SubmitResult[]>
  /** the status of all given jobs of the run, in one call (one squeue / condor_q) */
  poll(jobs: JobRef[]): Promise<JobStatus[]>
  /** stop jobs (scancel / condor_rm / kill the process groups). Resolves when they are stopped or the request is accepted. */
  cancel(jobs: JobRef[]): Promise<void>
  /** after a server restart: resume watching these jobs (no resubmission); returns their current status */
  reattach(jobs: JobRef[]): Promise<JobStatus[]>
  /** suggested poll interval now (ms); strategies may back off */
  pollIntervalMs(): number
  /**
   * Stop following the jobs. `detach: true`: the server leaves and the jobs go on (keep what they
   * need, e.g. staged credentials); `detach: false` (the run ended): also stop the workers this
   * session started and remove what it staged.
   */
  close(opts?: { detach?: boolean }): Promise<void>
}

// ------------------------------------------------------------------ backend contract

/** what the engine hands to a backend when a task may run */
export interface DispatchTask {
  launch: TaskLaunch
  spec: TaskSpec
  /** run in the engine's process (noop): no process, no job */
  inProcess: boolean
}

/** a task that was active when the engine (re)loaded a run */
export interface ActiveTask {
  taskId: string
  attempt: number
  pool: string
  stageId: string
  state: TaskState
  taskDir: string
  /** from the last task.submitted event; null when it never reached submission */
  ref: JobRef | null
  timeoutSeconds: number | null
  startedAt: string | null
}

/** reports from a backend to the engine (the engine checks transitions, stores events, emits them) */
export type TaskUpdate =
  | { kind: 'submitted'; taskId: string; attempt: number; ref: JobRef }
  | { kind: 'info'; taskId: string; attempt: number; reason: string | null; raw?: string }
  | {
      kind: 'running'
      taskId: string
      attempt: number
      at?: string
      workerId?: string | null
      host?: string | null
      pid?: number | null
    }
  /** the attempt ended; `result` from result.json when there is one */
  | {
      kind: 'finished'
      taskId: string
      attempt: number
      result: TaskResult | null
      exitCode?: number | null
      signal?: string | null
      reason?: string | null
    }
  /** the job/process vanished without a result */
  | { kind: 'lost'; taskId: string; attempt: number; reason: string }
  /** refused or impossible (submission error, hopeless pending reason) */
  | { kind: 'failed'; taskId: string; attempt: number; reason: string }

export interface WorkerUpdate {
  /** our Worker id (stable per slot / job) */
  workerId: string
  pool: string
  state: WorkerState
  kind: Strategy['workerKind']
  batchJobId?: string | null
  host?: string | null
  pid?: number | null
  reason?: string | null
  currentTaskId?: string | null
}

export interface BackendReporter {
  task(update: TaskUpdate): void
  worker(update: WorkerUpdate): void
  log(level: 'info' | 'warn' | 'error', message: string): void
}

export interface BackendRunContext {
  runId: string
  runDir: string
  plan: ExecutionPlan
  strategy: Strategy
  strategyContext: StrategyContext
  report: BackendReporter
  /** run an in-process task (noop); resolves with its result */
  runInProcess(task: DispatchTask): Promise<TaskResult>
}

/**
 * A Backend schedules tasks. The engine asks capacity(pool) and dispatches at most that many ready
 * tasks; the backend reports states through ctx.report.
 */
export interface Backend {
  readonly name: string
  supportsStrategy(strategy: string): boolean
  /** backend-level problems before dispatch (e.g. no Python with dask) */
  preflight?(plan: ExecutionPlan, strategy: Strategy, ctx?: StrategyContext): Promise<PoolProblem[]>
  /**
   * true when the pools run on workers the strategy does not place (an existing Dask cluster): the
   * strategy's capacity preflight (this host, the cluster's partitions) does not apply, and the
   * backend's preflight checks the pools against what those workers offer instead
   */
  checksCapacity?(plan: ExecutionPlan): boolean
  /** the strategy's prestart, where this backend hands tasks to the strategy's own workers */
  prestart?(strategy: Strategy, ctx: PrestartContext): () => void
  open(ctx: BackendRunContext): Promise<BackendSession>
}

export interface BackendSession {
  /**
   * The session writes each task's spec.json itself (from TaskLaunch.spec) rather than the engine.
   * True only where the tasks reach a strategy that does so (the local backend over the warm
   * executors); a Dask worker reads the spec the engine wrote.
   */
  readonly writesSpecs?: boolean
  /** how many more tasks this pool accepts now (Infinity: everything ready may be handed over) */
  capacity(pool: string): number
  dispatch(tasks: DispatchTask[]): Promise<void>
  /** stop these tasks (the whole process tree / job); their final state is reported through report.task */
  cancel(tasks: { taskId: string; attempt: number; ref: JobRef | null }[]): Promise<void>
  /** resume tasks that were active before a restart */
  reattach(tasks: ActiveTask[]): Promise<void>
  /** the run ended (or the engine shuts down with `detach`: leave processes/jobs running) */
  close(opts?: { detach?: boolean }): Promise<void>
}
