'use client'
/**
 * The task table: paginated on the server (`run.tasks`: filter by state, pool, stage; sort by
 * duration, start, state), so 10,000 tasks cost one page of rows. The page is refetched every few
 * seconds while the run is active and the streamed task states are overlaid at once.
 */
import { useEffect, useMemo, useState } from 'react'
import { keepPreviousData, useMutation, useQuery } from '@tanstack/react-query'
import { useTRPC } from '~/components/trpc/client'
import { formatDuration, formatTime, shortId, STATE_COLORS, TASK_STATE_ORDER, TERMINAL_TASK, toMs } from './aggregate'
import type { LiveState, LiveTaskPatch } from './liveState'
import type { RunDetail, RunTaskRow } from './types'

export type TaskSort = 'index' | 'duration' | '-duration' | 'started' | '-started' | 'state'

export interface TaskFilters {
  state: string
  pool: string
  stage: string
  /** a worker id */
  worker: string
  sort: TaskSort
}

export const EMPTY_FILTERS: TaskFilters = { state: '', pool: '', stage: '', worker: '', sort: 'index' }
export const PAGE_SIZE = 50

export interface TaskView {
  id: string
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

function fmtBytes(b: unknown): string {
  const n = Number(b)
  if (!Number.isFinite(n) || n <= 0) return '–'
  const u = ['B', 'KiB', 'MiB', 'GiB']
  let i = 0
  let x = n
  while (x >= 1024 && i < u.length - 1) {
    x /= 1024
    i++
  }
  return `${x.toFixed(x >= 100 || i === 0 ? 0 : 1)} ${u[i]}`
}

/** cpu / wall / peak memory of a task (profile modifier) and where it ran (diagnostics) */
export function profileSummary(m: Record<string, unknown> | null): { text: string; title: string } {
  if (!m) return { text: '–', title: '' }
  const cpu = Number(m.cpuUserMs ?? 0) + Number(m.cpuSystemMs ?? 0)
  const parts: string[] = []
  if (m.cpuUserMs != null) parts.push(`cpu ${formatDuration(cpu)}`)
  if (m.wallMs != null) parts.push(`wall ${formatDuration(Number(m.wallMs))}`)
  if (m.peakRssBytes != null) parts.push(`peak ${fmtBytes(m.peakRssBytes)}`)
  if (m.events != null) parts.push(`${Number(m.events).toLocaleString()} ev`)
  const d = m.diagnostics as Record<string, unknown> | undefined
  const title = d
    ? `host ${String(d.host)} · ${String(d.platform)} · node ${String(d.node)} · ${String(d.cpus)} cpus · user ${String(d.user)}`
    : ''
  return { text: parts.join(' · ') || '–', title }
}

/** a fetched row with the streamed state laid over it */
export function mergeTask(row: RunTaskRow, p: LiveTaskPatch | undefined, now: number): TaskView {
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

export interface TaskTableProps {
  runId: string
  detail: RunDetail
  live: LiveState
  active: boolean
  now: number
  colors: Record<string, string>
  filters: TaskFilters
  onFilters: (f: TaskFilters) => void
  selectedTaskId: string | null
  onSelectTask: (id: string | null, view?: TaskView) => void
}

export function TaskTable({
  runId,
  detail,
  live,
  active,
  now,
  colors,
  filters,
  onFilters,
  selectedTaskId,
  onSelectTask,
}: TaskTableProps) {
  const trpc = useTRPC()
  const [page, setPage] = useState(0)
  const [actionError, setActionError] = useState<string | null>(null)
  // biome-ignore lint/correctness/useExhaustiveDependencies: pre-existing: review when this component is next changed
  useEffect(() => setPage(0), [filters.state, filters.pool, filters.stage, filters.worker, filters.sort])

  const input = {
    runId,
    ...(filters.state ? { state: filters.state as RunTaskRow['state'] as never } : {}),
    ...(filters.pool ? { pool: filters.pool } : {}),
    ...(filters.stage ? { stage: filters.stage } : {}),
    ...(filters.worker ? { worker: filters.worker } : {}),
    sort: filters.sort,
    cursor: page * PAGE_SIZE,
    limit: PAGE_SIZE,
  }
  const q = useQuery({
    ...trpc.run.tasks.queryOptions(input),
    placeholderData: keepPreviousData,
    staleTime: 0,
    refetchInterval: active ? 2000 : false,
  })
  // one more read when the run ends (final exit codes, durations)
  // biome-ignore lint/correctness/useExhaustiveDependencies: pre-existing: review when this component is next changed
  useEffect(() => {
    if (!active) void q.refetch()
  }, [active])

  const rows = useMemo(
    () => (q.data?.items ?? []).map((r) => mergeTask(r, live.tasks.get(r.id), now)),
    [q.data, live.tasks, now],
  )
  const total = q.data?.total ?? 0
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE))

  const cancelTask = useMutation(
    trpc.run.cancelTask.mutationOptions({
      onError: (e) => setActionError(e.message),
      onSuccess: () => setActionError(null),
    }),
  )
  const retryTask = useMutation(
    trpc.run.retryTask.mutationOptions({
      onError: (e) => setActionError(e.message),
      onSuccess: () => setActionError(null),
    }),
  )

  const set = (patch: Partial<TaskFilters>) => onFilters({ ...filters, ...patch })
  const sortDuration = () => set({ sort: filters.sort === '-duration' ? 'duration' : '-duration' })

  return (
    <section className="run-panel task-table" data-testid="task-table">
      <div className="panel-head">
        <h2>Tasks</h2>
        <div className="tt-filters">
          <label>
            state
            <select value={filters.state} onChange={(e) => set({ state: e.target.value })} data-testid="filter-state">
              <option value="">all</option>
              {TASK_STATE_ORDER.map((s) => (
                <option key={s} value={s}>
                  {s}
                  {live.stageCounts ? ` (${Object.values(live.stageCounts).reduce((n, c) => n + (c[s] ?? 0), 0)})` : ''}
                </option>
              ))}
            </select>
          </label>
          <label>
            pool
            <select value={filters.pool} onChange={(e) => set({ pool: e.target.value })} data-testid="filter-pool">
              <option value="">all</option>
              {detail.pools.map((p) => (
                <option key={p.name} value={p.name}>
                  {p.name}
                </option>
              ))}
            </select>
          </label>
          <label>
            stage
            <select value={filters.stage} onChange={(e) => set({ stage: e.target.value })} data-testid="filter-stage">
              <option value="">all</option>
              {detail.stages.map((s) => (
                <option key={s.id} value={s.id}>
                  {s.id}
                </option>
              ))}
            </select>
          </label>
          <label>
            worker
            <select
              value={filters.worker}
              onChange={(e) => set({ worker: e.target.value })}
              data-testid="filter-worker"
            >
              <option value="">all</option>
              {[...live.workers.values()].map((w) => (
                <option key={w.id} value={w.id}>
                  {w.pool} · {w.host ?? shortId(w.id, 6)}
                  {w.batchJobId ? ` · job ${w.batchJobId}` : ''}
                </option>
              ))}
            </select>
          </label>
          <label>
            sort
            <select
              value={filters.sort}
              onChange={(e) => set({ sort: e.target.value as TaskSort })}
              data-testid="filter-sort"
            >
              <option value="index">plan order</option>
              <option value="-duration">longest first</option>
              <option value="duration">shortest first</option>
              <option value="started">started first</option>
              <option value="-started">started last</option>
              <option value="state">state</option>
            </select>
          </label>
          {filters.state || filters.pool || filters.stage || filters.worker || filters.sort !== 'index' ? (
            <button type="button" onClick={() => onFilters(EMPTY_FILTERS)}>
              clear
            </button>
          ) : null}
        </div>
      </div>
      {actionError ? (
        <div className="run-alert" role="alert">
          {actionError}
        </div>
      ) : null}
      {q.error ? (
        <div className="run-alert" role="alert">
          {q.error.message}
        </div>
      ) : null}
      <div className="tt-scroll">
        <table>
          <thead>
            <tr>
              <th>task</th>
              <th>
                <button
                  type="button"
                  className="linklike"
                  onClick={() => set({ sort: filters.sort === 'state' ? 'index' : 'state' })}
                  data-testid="sort-state"
                  title="sort by state"
                >
                  state {filters.sort === 'state' ? '▲' : ''}
                </button>
              </th>
              <th>reason</th>
              <th>pool</th>
              <th title="attempt (retries allowed)">try</th>
              <th>worker</th>
              <th>batch job</th>
              <th>host</th>
              <th title="exit code / signal">exit</th>
              <th>
                <button
                  type="button"
                  className="linklike"
                  onClick={sortDuration}
                  data-testid="sort-duration"
                  title="sort by duration"
                >
                  duration {filters.sort === '-duration' ? '▼' : filters.sort === 'duration' ? '▲' : ''}
                </button>
              </th>
              <th>
                <button
                  type="button"
                  className="linklike"
                  onClick={() => set({ sort: filters.sort === 'started' ? '-started' : 'started' })}
                  data-testid="sort-started"
                  title="sort by start time"
                >
                  started {filters.sort === 'started' ? '▲' : filters.sort === '-started' ? '▼' : ''}
                </button>
              </th>
              <th title="execution modifiers applied to the task">modifiers</th>
              <th title="profile: CPU, wall time, peak memory; hover for diagnostics">profile</th>
              <th className="tt-actions" />
            </tr>
          </thead>
          <tbody>
            {rows.map((t) => (
              <tr
                key={t.id}
                data-testid={`task-row-${t.id}`}
                data-state={t.state}
                data-stage={t.stageId}
                className={t.id === selectedTaskId ? 'is-selected' : undefined}
                onClick={() => onSelectTask(t.id === selectedTaskId ? null : t.id, t)}
              >
                <td title={t.id}>
                  <span className="tt-stage">{t.stageId}</span>
                  {t.partition ? <span className="muted"> {t.partition}</span> : null}
                </td>
                <td>
                  <span className="tt-state" style={{ ['--state' as string]: STATE_COLORS[t.state] ?? '#888' }}>
                    {t.state}
                  </span>
                </td>
                <td className="tt-reason" title={t.reason ?? undefined}>
                  {t.reason ?? ''}
                </td>
                <td>
                  <span style={{ color: colors[t.pool] }}>{t.pool}</span>
                </td>
                <td>
                  {t.attempt + 1}
                  {t.maxRetries ? <span className="muted">/{t.maxRetries + 1}</span> : null}
                </td>
                <td className="mono" title={t.workerId ?? undefined}>
                  {t.workerId ? (
                    <button
                      type="button"
                      className="linklike"
                      title="only this worker's tasks"
                      onClick={(e) => {
                        e.stopPropagation()
                        set({ worker: t.workerId ?? '' })
                      }}
                    >
                      {shortId(t.workerId, 6)}
                    </button>
                  ) : (
                    '–'
                  )}
                </td>
                <td className="mono">{t.batchJobId ?? '–'}</td>
                <td>{t.host ?? '–'}</td>
                <td className={t.exitCode ? 'error' : undefined}>{t.signal ? t.signal : (t.exitCode ?? '–')}</td>
                <td>{formatDuration(t.durationMs)}</td>
                <td>{t.startedAt ? formatTime(t.startedAt) : '–'}</td>
                <td className="tt-modifiers" data-testid={`task-modifiers-${t.id}`}>
                  {t.modifiers.length ? (
                    t.modifiers.map((m) => (
                      <span key={m} className="tt-mod">
                        {m}
                      </span>
                    ))
                  ) : (
                    <span className="muted">–</span>
                  )}
                </td>
                {(() => {
                  const p = profileSummary(t.metrics)
                  return (
                    <td className="tt-profile" data-testid={`task-profile-${t.id}`} title={p.title || undefined}>
                      {p.text}
                      {p.title ? <span className="muted"> ⓘ</span> : null}
                    </td>
                  )
                })()}
                {/** biome-ignore lint/a11y/useKeyWithClickEvents: pre-existing: review when this component is next changed */}
                <td className="tt-actions" onClick={(e) => e.stopPropagation()}>
                  <div className="tt-actions-in">
                    <button
                      type="button"
                      onClick={() => onSelectTask(t.id, t)}
                      data-testid={`task-log-open-${t.id}`}
                      title="Show the log"
                    >
                      log
                    </button>
                    {t.state === 'pending' ||
                    t.state === 'queued' ||
                    t.state === 'running' ||
                    t.state === 'retrying' ? (
                      <button
                        type="button"
                        onClick={() => cancelTask.mutate({ taskId: t.id })}
                        disabled={cancelTask.isPending}
                        title="Cancel this task"
                      >
                        cancel
                      </button>
                    ) : null}
                    {t.state === 'failed' || t.state === 'lost' || t.state === 'cancelled' ? (
                      <button
                        type="button"
                        onClick={() => retryTask.mutate({ taskId: t.id })}
                        disabled={retryTask.isPending}
                        title="Retry this task"
                      >
                        retry
                      </button>
                    ) : null}
                  </div>
                </td>
              </tr>
            ))}
            {rows.length === 0 && !q.isLoading ? (
              <tr>
                <td colSpan={14} className="muted">
                  {total === 0 && !filters.state && !filters.pool && !filters.stage && !filters.worker
                    ? 'No tasks yet.'
                    : 'No task matches the filters.'}
                </td>
              </tr>
            ) : null}
          </tbody>
        </table>
      </div>
      <div className="tt-pager">
        <button type="button" disabled={page === 0} onClick={() => setPage((p) => Math.max(0, p - 1))}>
          ‹ prev
        </button>
        <span className="muted" data-testid="task-page">
          {total ? `${page * PAGE_SIZE + 1}–${Math.min(total, (page + 1) * PAGE_SIZE)} of ${total}` : '0'} · page{' '}
          {page + 1}/{pages}
        </span>
        <button type="button" disabled={page + 1 >= pages} onClick={() => setPage((p) => p + 1)}>
          next ›
        </button>
        {q.isFetching ? <span className="muted">…</span> : null}
      </div>
    </section>
  )
}
