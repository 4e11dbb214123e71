/**
 * Pure: per-state counts → the aggregate state of a stage (one DAG node stands for all of a stage's
 * tasks), progress, and small formatting helpers shared by the run views.
 */

import {
  RUN_STATES,
  type RunState,
  TERMINAL_RUN_STATES,
  TERMINAL_TASK_STATES,
  type TaskState,
} from '~/server/execution/vocabulary'

/** the task states (server/execution/vocabulary.ts) in the order the views list them */
export const TASK_STATE_ORDER = [
  'pending',
  'queued',
  'running',
  'retrying',
  'succeeded',
  'failed',
  'lost',
  'cancelled',
  'skipped',
] as const satisfies readonly TaskState[]
export type TaskStateName = (typeof TASK_STATE_ORDER)[number]

export const RUN_STATE_NAMES = RUN_STATES
export const FINISHED_RUN_STATES: ReadonlySet<string> = TERMINAL_RUN_STATES
export const TERMINAL_TASK: ReadonlySet<string> = TERMINAL_TASK_STATES
/** tasks that a "Retry failed" may re-queue (the engine accepts failed, cancelled and lost) */
export const RETRYABLE_TASK: ReadonlySet<string> = new Set<TaskState>(['failed', 'lost'])

/** Colours of task states (bars, chips, legend): readable on the dark background. */
export const STATE_COLORS: Readonly<Record<TaskState | RunState, string>> & Readonly<Record<string, string>> = {
  pending: '#59606e',
  queued: '#8f9cff',
  running: '#5aa9ff',
  retrying: '#f2c14e',
  succeeded: '#4cd185',
  failed: '#ff6b6b',
  lost: '#ff8a6b',
  cancelled: '#9aa3b2',
  /** never ran: an upstream task failed or was cancelled */
  skipped: '#b58cd9',
  cancelling: '#c9a06b',
}

export type Counts = Readonly<Record<string, number>>

export function countTotal(c: Counts): number {
  let n = 0
  for (const v of Object.values(c)) if (v > 0) n += v
  return n
}

const n = (c: Counts, k: string) => (c[k] ?? 0) > 0

/**
 * The state a stage node shows for its tasks' counts:
 *  - something active: `running` (if any runs), else `retrying`, else `queued`;
 *  - else a failure wins (`failed`, then `lost`): the stage will not finish cleanly;
 *  - else waiting tasks: `running` when some already finished (the stage is part-way), else `pending`;
 *  - else all finished: `cancelled` if any was, else `skipped` if any was (an upstream task failed),
 *    otherwise `succeeded`.
 * A stage without tasks (not expanded yet) is `pending`.
 */
export function aggregateState(c: Counts): TaskStateName {
  if (n(c, 'running')) return 'running'
  if (n(c, 'retrying')) return 'retrying'
  if (n(c, 'queued')) return 'queued'
  if (n(c, 'failed')) return 'failed'
  if (n(c, 'lost')) return 'lost'
  if (n(c, 'pending')) return n(c, 'succeeded') || n(c, 'cancelled') || n(c, 'skipped') ? 'running' : 'pending'
  if (n(c, 'cancelled')) return 'cancelled'
  if (n(c, 'skipped')) return 'skipped'
  if (n(c, 'succeeded')) return 'succeeded'
  return 'pending'
}

export interface Progress {
  done: number
  total: number
  failed: number
  running: number
}

export function progressOf(c: Counts): Progress {
  return {
    done: c.succeeded ?? 0,
    total: countTotal(c),
    failed: (c.failed ?? 0) + (c.lost ?? 0),
    running: (c.running ?? 0) + (c.queued ?? 0) + (c.retrying ?? 0),
  }
}

/** sum of several per-state count maps */
export function sumCounts(list: Iterable<Counts>): Record<string, number> {
  const out: Record<string, number> = {}
  for (const c of list) for (const k in c) out[k] = (out[k] ?? 0) + (c[k] ?? 0)
  return out
}

/** `1.2 s`, `3 min 04 s`, `2 h 05 min`: the one elapsed-time format (server/format.ts) */
export { formatElapsed as formatDuration } from '~/server/format'

export function formatTime(d: Date | string | number | null | undefined): string {
  if (d == null) return '–'
  const date = d instanceof Date ? d : new Date(d)
  if (Number.isNaN(date.getTime())) return '–'
  const hms = clockFormat().format(date)
  return sameLocalDay(date, new Date()) ? hms : `${date.toISOString().slice(0, 10)} ${hms}`
}

/**
 * One formatter for every time of day shown: `toLocaleTimeString` with options builds a new
 * Intl.DateTimeFormat on each call, which was the heaviest function of a live 10,000-task page.
 */
let clock: Intl.DateTimeFormat | null = null
function clockFormat(): Intl.DateTimeFormat {
  clock ??= new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false })
  return clock
}

function sameLocalDay(a: Date, b: Date): boolean {
  return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate()
}

/** the last characters of a cuid, enough to tell ids apart in one run */
export function shortId(id: string | null | undefined, len = 8): string {
  if (!id) return '–'
  return id.length <= len ? id : id.slice(-len)
}

export function toMs(d: Date | string | number | null | undefined): number | null {
  if (d == null) return null
  const t = d instanceof Date ? d.getTime() : typeof d === 'number' ? d : Date.parse(d)
  return Number.isFinite(t) ? t : null
}
