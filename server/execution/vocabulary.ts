/**
 * The engine's vocabulary, declared once: task / run / worker states, driver names, worker kinds
 * and event types. Everything else (types.ts, the store, the stream, the UI, the CLI) imports these
 * lists instead of spelling the strings again. Zod schemas are the source of the types.
 *
 * Pure module: no I/O, safe in the browser.
 */
import { z } from 'zod'

// ------------------------------------------------------------------ task states

/**
 * pending    waits for its upstream stages
 * queued     handed to a backend (a process / job may exist)
 * running    its command runs
 * succeeded  final
 * failed     its command failed (or could not start); may be retried
 * cancelled  stopped by a user or because its run was cancelled
 * skipped    never ran because an upstream task failed or was cancelled (reason names it)
 * retrying   a new attempt waits to be queued
 * lost       its process / job / executor vanished without a result; retried by policy
 */
export const TASK_STATES = [
  'pending',
  'queued',
  'running',
  'succeeded',
  'failed',
  'cancelled',
  'skipped',
  'retrying',
  'lost',
] as const
export const TaskStateSchema = z.enum(TASK_STATES)
export type TaskState = z.infer<typeof TaskStateSchema>

/** a task in one of these states will not change unless someone retries it */
export const TERMINAL_TASK_STATES: ReadonlySet<TaskState> = new Set(['succeeded', 'failed', 'cancelled', 'skipped'])
/** states in which a task holds (or may hold) a process / job somewhere */
export const ACTIVE_TASK_STATES: ReadonlySet<TaskState> = new Set(['queued', 'running'])

// ------------------------------------------------------------------ run states

export const RUN_STATES = ['pending', 'running', 'cancelling', 'succeeded', 'failed', 'cancelled'] as const
export const RunStateSchema = z.enum(RUN_STATES)
export type RunState = z.infer<typeof RunStateSchema>
export const TERMINAL_RUN_STATES: ReadonlySet<RunState> = new Set(['succeeded', 'failed', 'cancelled'])
/** a run in one of these states has work going on (or about to): the rest of RUN_STATES */
export const LIVE_RUN_STATES = RUN_STATES.filter((s) => !TERMINAL_RUN_STATES.has(s))

// ------------------------------------------------------------------ worker states and kinds

export const WORKER_STATES = ['requested', 'pending-in-queue', 'running', 'gone'] as const
export const WorkerStateSchema = z.enum(WORKER_STATES)
export type WorkerState = z.infer<typeof WorkerStateSchema>

/** Worker.kind: what a worker row stands for */
export const WORKER_KINDS = ['process', 'executor', 'slurm', 'htcondor', 'dask'] as const
export const WorkerKindSchema = z.enum(WORKER_KINDS)
export type WorkerKind = z.infer<typeof WorkerKindSchema>

// ------------------------------------------------------------------ driver names

/** who schedules tasks: `local` = our engine; `dask` = a Dask scheduler */
export const BACKEND_NAMES = ['local', 'dask'] as const
export const BackendNameSchema = z.enum(BACKEND_NAMES)
export type BackendName = z.infer<typeof BackendNameSchema>

/** how workers / jobs are created. `default` in a plan means `local`. */
export const STRATEGY_NAMES = ['local', 'slurm', 'htcondor'] as const
export const StrategyNameSchema = z.enum(STRATEGY_NAMES)
export type StrategyName = z.infer<typeof StrategyNameSchema>

// ------------------------------------------------------------------ event types

/**
 * Event.type values. Their payloads are declared in events.ts (a discriminated union).
 *  run.state       the run changed state
 *  task.state      a task changed state
 *  task.submitted  a task's job was submitted (how to find it again after a restart)
 *  task.info       news about a task without a state change (a pending reason)
 *  worker.state    a worker changed state
 *  run.log         an engine / driver message about the run
 *  control         a request to the process that owns the run (cancel, cancelTask, retryTask)
 */
export const EVENT_TYPES = [
  'run.state',
  'task.state',
  'task.submitted',
  'task.info',
  'worker.state',
  'run.log',
  'control',
] as const
export const EventTypeSchema = z.enum(EVENT_TYPES)
export type EventType = z.infer<typeof EventTypeSchema>

export const CONTROL_ACTIONS = ['cancel', 'cancelTask', 'retryTask'] as const
export const ControlActionSchema = z.enum(CONTROL_ACTIONS)
export type ControlAction = z.infer<typeof ControlActionSchema>

export const LOG_LEVELS = ['info', 'warn', 'error'] as const
export const LogLevelSchema = z.enum(LOG_LEVELS)
export type LogLevel = z.infer<typeof LogLevelSchema>
