/**
 * The task table's rows, pure (no React): a fetched task with the streamed state laid over it
 * (mergeTask), its profile as text, and the filter and sort the table applies (filterAndSort).
 */
import { formatBytes } from '~/server/format'
import { formatDuration, TASK_STATE_ORDER, TERMINAL_TASK, toMs } from './aggregate'
import type { LiveTaskPatch } from './liveState'
import type { RunTaskRow } from './types'

export type TaskSort = 'index' | 'duration' | '-duration' | 'started' | '-started' | 'state' | 'pool' | 'worker'

export interface TaskFilters {
  state: string
  pool: string
  stage: string
  /** a worker id */
  worker: string
  sort: TaskSort
}

export const EMPTY_FILTERS: TaskFilters = { state: '', pool: '', stage: '', worker: '', sort: 'index' }

export interface TaskView {
  id: string
  /** the task's place in plan order */
  index: number
  stageId: string
  partition: string | null
  state: string
  pool: string
  attempt: number
  maxRetries: number
  workerId: string | null
  batchJobId: string | null
  host: string | null
  exitCode: number | null
  signal: string | null
  reason: string | null
  startedAt: number | null
  finishedAt: number | null
  durationMs: number | null
  /** modifiers applied to the task (names) */
  modifiers: string[]
  /** profile / diagnostics results (result.json metrics) */
  metrics: Record<string, unknown> | null
  /** JSON outputs of the task (hep tasks: events processed) */
  outputs: Record<string, unknown> | null
}

/** cpu / wall / peak memory of a task (profile modifier) and where it ran (diagnostics) */
export function profileSummary(m: Record<string, unknown> | null): { text: string; title: string } {
  if (!m) return { text: '–', title: '' }
  const cpu = Number(m.cpuUserMs ?? 0) + Number(m.cpuSystemMs ?? 0)
  const parts: string[] = []
  if (m.cpuUserMs != null) parts.push(`cpu ${formatDuration(cpu)}`)
  if (m.wallMs != null) parts.push(`wall ${formatDuration(Number(m.wallMs))}`)
  if (m.peakRssBytes != null) parts.push(`peak ${formatBytes(Number(m.peakRssBytes))}`)
  if (m.events != null) parts.push(`${Number(m.events).toLocaleString()} ev`)
  const d = m.diagnostics as Record<string, unknown> | undefined
  const title = d
    ? `host ${String(d.host)} · ${String(d.platform)} · node ${String(d.node)} · ${String(d.cpus)} cpus · user ${String(d.user)}`
    : ''
  return { text: parts.join(' · ') || '–', title }
}

/** a fetched row with the streamed state laid over it */
export function mergeTask(row: RunTaskRow, p: LiveTaskPatch | undefined, now: number, index = 0): TaskView {
  const state = p?.state ?? row.state
  const startedAt = p?.startedAt ?? toMs(row.startedAt)
  // a streamed non-final state (running again after a retry) has no end yet
  const finishedAt = p?.finishedAt ?? (p?.state && !TERMINAL_TASK.has(p.state) ? null : toMs(row.finishedAt))
  const durationMs =
    state === 'running' && startedAt
      ? now - startedAt
      : (p?.durationMs ?? row.durationMs ?? (startedAt && finishedAt ? finishedAt - startedAt : null))
  return {
    id: row.id,
    index,
    stageId: row.stageId,
    partition: row.partitionKey ?? (row.partitionIndex != null ? `#${row.partitionIndex}` : null),
    state,
    pool: row.pool,
    attempt: p?.attempt ?? row.attempt,
    maxRetries: row.maxRetries,
    workerId: p?.workerId ?? row.workerId,
    batchJobId: row.batchJobId,
    host: row.host,
    exitCode: p?.exitCode ?? row.exitCode,
    signal: row.signal,
    reason: p?.reason ?? row.reason,
    startedAt,
    finishedAt,
    durationMs,
    modifiers: Array.isArray(row.modifiers)
      ? (row.modifiers as { name?: string }[]).map((m) => String(m?.name ?? m))
      : [],
    metrics: (row.metrics as Record<string, unknown> | null) ?? null,
    outputs: (row.outputs as Record<string, unknown> | null) ?? null,
  }
}

/**
 * mergeTask over every row, keeping the view of a task whose row and streamed patch did not change
 * (a running task's duration follows `now`: it is merged again). On a live page of 10,000 tasks a
 * batch of events touches a few hundred: the rest keep their objects, and the rows drawn from them
 * are not rendered again (TaskRow is memoised on its view).
 */
export function createTaskMerger(): (
  rows: readonly RunTaskRow[],
  patches: ReadonlyMap<string, LiveTaskPatch>,
  now: number,
) => TaskView[] {
  let cache = new Map<string, { row: RunTaskRow; patch: LiveTaskPatch | undefined; view: TaskView }>()
  let cachedRows: readonly RunTaskRow[] | null = null
  return (rows, patches, now) => {
    // new rows (a re-read): entries of tasks no longer listed are dropped with the old map
    if (rows !== cachedRows) {
      const kept = new Map<string, { row: RunTaskRow; patch: LiveTaskPatch | undefined; view: TaskView }>()
      for (const r of rows) {
        const c = cache.get(r.id)
        if (c) kept.set(r.id, c)
      }
      cache = kept
      cachedRows = rows
    }
    const out = new Array<TaskView>(rows.length)
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!
      const p = patches.get(r.id)
      const c = cache.get(r.id)
      if (c && c.row === r && c.patch === p && c.view.index === i && c.view.state !== 'running') out[i] = c.view
      else {
        const view = mergeTask(r, p, now, i)
        cache.set(r.id, { row: r, patch: p, view })
        out[i] = view
      }
    }
    return out
  }
}

const STATE_RANK = new Map<string, number>(TASK_STATE_ORDER.map((s, i) => [s, i]))

/** the rows that pass the filters, in the chosen order (ties in plan order) */
export function filterAndSort(rows: readonly TaskView[], f: TaskFilters): TaskView[] {
  const out = rows.filter(
    (t) =>
      (!f.state || t.state === f.state) &&
      (!f.pool || t.pool === f.pool) &&
      (!f.stage || t.stageId === f.stage) &&
      (!f.worker || t.workerId === f.worker),
  )
  const nullsLast = (a: number | null, b: number | null, dir: 1 | -1) =>
    a == null ? (b == null ? 0 : 1) : b == null ? -1 : dir * (a - b)
  const by: Record<TaskSort, ((a: TaskView, b: TaskView) => number) | null> = {
    index: null,
    duration: (a, b) => nullsLast(a.durationMs, b.durationMs, 1),
    '-duration': (a, b) => nullsLast(a.durationMs, b.durationMs, -1),
    started: (a, b) => nullsLast(a.startedAt, b.startedAt, 1),
    '-started': (a, b) => nullsLast(a.startedAt, b.startedAt, -1),
    state: (a, b) => (STATE_RANK.get(a.state) ?? 99) - (STATE_RANK.get(b.state) ?? 99),
    pool: (a, b) => a.pool.localeCompare(b.pool),
    worker: (a, b) =>
      a.workerId == null
        ? b.workerId == null
          ? 0
          : 1
        : b.workerId == null
          ? -1
          : a.workerId.localeCompare(b.workerId),
  }
  const cmp = by[f.sort]
  if (cmp) out.sort((a, b) => cmp(a, b) || a.index - b.index)
  return out
}
