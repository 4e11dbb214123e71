'use client'
/**
 * The task table: every task of the run in one virtualised list (only the rows in view are in the
 * DOM, so 10,000 tasks scroll smoothly), filtered (state, pool, stage, worker) and sorted (plan
 * order, state, pool, worker, duration, start) here, with the streamed task states laid over the
 * rows at once. The rows are read once in pages of 1,000 (`run.tasks`), re-read now and then while
 * the run is active for what the stream does not carry (host, batch job, profile), and once when
 * it ends. The columns have fixed widths (`table-layout: fixed`): the table scrolls inside its panel,
 * never the page, and the actions column stays in view.
 */
import { memo, type ReactNode, useEffect, useMemo, useRef, useState } from 'react'
import { keepPreviousData, useMutation, useQuery } from '@tanstack/react-query'
import { useVirtualizer } from '@tanstack/react-virtual'
import { useTRPC, useTRPCClient } from '~/components/trpc/client'
import { FilterBar } from '~/components/ui/FilterBar'
import { formatDuration, formatTime, shortId, STATE_COLORS, TASK_STATE_ORDER } from './aggregate'
import type { LiveState } from './liveState'
import {
  EMPTY_FILTERS,
  createTaskMerger,
  filterAndSort,
  profileSummary,
  type TaskFilters,
  type TaskSort,
  type TaskView,
} from './taskRows'
import type { RunDetail, RunTaskRow } from './types'
import { EmptyRow, Pager, poolField, stageField } from './ListParts'

export { EMPTY_FILTERS, type TaskFilters, type TaskView }

/** rows per read of `run.tasks` (its largest page) */
export const READ_PAGE = 1000
/** the height of one row (fixed: the list is virtualised) */
export const ROW_PX = 28
/** re-read the rows while the run is active (host, batch job, profile are not streamed) */
const REREAD_SMALL_MS = 5000
const REREAD_LARGE_MS = 60_000

/** every task row of the run, read in pages of READ_PAGE */
function useTaskRows(runId: string, active: boolean) {
  const client = useTRPCClient()
  const q = useQuery({
    queryKey: ['controlroom', 'run-tasks-all', runId],
    queryFn: async ({ signal }) => {
      const rows: RunTaskRow[] = []
      let cursor: number | null = 0
      while (cursor != null) {
        const page = await client.run.tasks.query({ runId, sort: 'index', cursor, limit: READ_PAGE }, { signal })
        rows.push(...page.items)
        cursor = page.nextCursor
      }
      return rows
    },
    placeholderData: keepPreviousData,
    staleTime: 0,
    refetchInterval: (query) =>
      active ? ((query.state.data?.length ?? 0) > READ_PAGE ? REREAD_LARGE_MS : REREAD_SMALL_MS) : false,
  })
  // one more read when the run ends (final exit codes, durations, profiles)
  const wasActive = useRef(active)
  const { refetch } = q
  useEffect(() => {
    if (wasActive.current && !active) void refetch()
    wasActive.current = active
  }, [active, refetch])
  return q
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
  const [actionError, setActionError] = useState<string | null>(null)
  const q = useTaskRows(runId, active)

  const [merge] = useState(createTaskMerger)
  const merged = useMemo(() => merge(q.data ?? [], live.tasks, now), [merge, q.data, live.tasks, now])
  const rows = useMemo(() => filterAndSort(merged, filters), [merged, filters])
  const total = merged.length

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
  // one object for every row, its methods calling this render's handlers: a row is drawn again only
  // when its task, colour, selection or the busy flag changed (TaskRow is memoised)
  const handlers = useRef<RowActions>(null as unknown as RowActions)
  handlers.current = {
    select: (t) => onSelectTask(t.id === selectedTaskId ? null : t.id, t),
    openLog: (t) => onSelectTask(t.id, t),
    worker: (id) => set({ worker: id }),
    cancel: (t) => cancelTask.mutate({ taskId: t.id }),
    retry: (t) => retryTask.mutate({ taskId: t.id }),
  }
  const [actions] = useState<RowActions>(() => ({
    select: (t) => handlers.current.select(t),
    openLog: (t) => handlers.current.openLog(t),
    worker: (id) => handlers.current.worker(id),
    cancel: (t) => handlers.current.cancel(t),
    retry: (t) => handlers.current.retry(t),
  }))
  const toggleSort = (asc: TaskSort, desc: TaskSort | null = null) =>
    set({ sort: filters.sort === asc ? (desc ?? 'index') : filters.sort === desc ? 'index' : asc })
  const arrow = (asc: TaskSort, desc: TaskSort | null = null) =>
    filters.sort === asc ? ' ▲' : desc && filters.sort === desc ? ' ▼' : ''

  const scroller = useRef<HTMLDivElement>(null)
  const v = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_PX,
    overscan: 20,
  })
  // a task selected elsewhere (the timeline, the failure alert) is scrolled into view
  const selectedIndex = selectedTaskId ? rows.findIndex((t) => t.id === selectedTaskId) : -1
  // biome-ignore lint/correctness/useExhaustiveDependencies: only when the selection changes, not on every update of the rows
  useEffect(() => {
    if (selectedIndex >= 0) v.scrollToIndex(selectedIndex, { align: 'auto' })
  }, [selectedTaskId])

  const items = v.getVirtualItems()
  const padTop = items[0]?.start ?? 0
  const padBottom = items.length ? v.getTotalSize() - items[items.length - 1]!.end : 0
  const stateTotals = useMemo(() => {
    const out: Record<string, number> = {}
    for (const t of merged) out[t.state] = (out[t.state] ?? 0) + 1
    return out
  }, [merged])
  const workers = [...live.workers.values()]

  return (
    <section className="run-panel task-table" data-testid="task-table">
      <div className="panel-head">
        <h2>Tasks</h2>
        <FilterBar
          className="tt-filters"
          fields={[
            {
              kind: 'select',
              name: 'state',
              label: 'state',
              value: filters.state,
              testId: 'filter-state',
              options: TASK_STATE_ORDER.map((s) => ({ value: s, label: `${s} (${stateTotals[s] ?? 0})` })),
            },
            poolField(filters.pool, detail.pools, 'filter-pool'),
            stageField(filters.stage, detail.stages, 'filter-stage'),
            {
              kind: 'select',
              name: 'worker',
              label: 'worker',
              value: filters.worker,
              testId: 'filter-worker',
              options: workers.map((w) => ({
                value: w.id,
                label: `${w.pool} · ${w.host ?? shortId(w.id, 6)}${w.batchJobId ? ` · job ${w.batchJobId}` : ''}`,
              })),
            },
            {
              kind: 'select',
              name: 'sort',
              label: 'sort',
              value: filters.sort,
              testId: 'filter-sort',
              allLabel: null,
              options: SORT_OPTIONS,
            },
          ]}
          onChange={(name, value) => set({ [name]: value })}
          active={!!(filters.state || filters.pool || filters.stage || filters.worker || filters.sort !== 'index')}
          onClear={() => onFilters(EMPTY_FILTERS)}
        />
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
      <div className="tt-scroll" ref={scroller} data-testid="task-scroll">
        <table>
          <colgroup>
            {COLUMNS.map((c) => (
              <col key={c} className={`tt-col-${c}`} />
            ))}
          </colgroup>
          <thead>
            <tr>
              <th>task</th>
              <th>
                <SortButton testId="sort-state" title="sort by state" onClick={() => toggleSort('state')}>
                  state{arrow('state')}
                </SortButton>
              </th>
              <th>reason</th>
              <th>
                <SortButton testId="sort-pool" title="sort by pool" onClick={() => toggleSort('pool')}>
                  pool{arrow('pool')}
                </SortButton>
              </th>
              <th title="attempt (retries allowed)">try</th>
              <th>
                <SortButton testId="sort-worker" title="sort by worker" onClick={() => toggleSort('worker')}>
                  worker{arrow('worker')}
                </SortButton>
              </th>
              <th>batch job</th>
              <th>host</th>
              <th title="exit code / signal">exit</th>
              <th>
                <SortButton
                  testId="sort-duration"
                  title="sort by duration"
                  onClick={() => toggleSort('-duration', 'duration')}
                >
                  duration{filters.sort === '-duration' ? ' ▼' : filters.sort === 'duration' ? ' ▲' : ''}
                </SortButton>
              </th>
              <th>
                <SortButton
                  testId="sort-started"
                  title="sort by start time"
                  onClick={() => toggleSort('started', '-started')}
                >
                  started{arrow('started', '-started')}
                </SortButton>
              </th>
              <th title="execution modifiers applied to the task">modifiers</th>
              <th title="profile: CPU, wall time, peak memory; hover for diagnostics">profile</th>
              <th className="tt-actions" />
            </tr>
          </thead>
          <tbody>
            {padTop > 0 ? (
              <tr aria-hidden className="tt-pad">
                <td colSpan={COLUMNS.length} style={{ height: padTop }} />
              </tr>
            ) : null}
            {items.map((item) => {
              const t = rows[item.index]!
              return (
                <TaskRow
                  key={t.id}
                  t={t}
                  color={colors[t.pool]}
                  selected={t.id === selectedTaskId}
                  actions={actions}
                  busy={cancelTask.isPending || retryTask.isPending}
                />
              )
            })}
            {padBottom > 0 ? (
              <tr aria-hidden className="tt-pad">
                <td colSpan={COLUMNS.length} style={{ height: padBottom }} />
              </tr>
            ) : null}
            {rows.length === 0 && !q.isLoading ? (
              <EmptyRow columns={COLUMNS.length}>
                {total === 0 ? 'No tasks yet.' : 'No task matches the filters.'}
              </EmptyRow>
            ) : null}
          </tbody>
        </table>
      </div>
      <Pager testId="task-count" busy={q.isFetching}>
        {rows.length === total
          ? `${total.toLocaleString()} task${total === 1 ? '' : 's'}`
          : `${rows.length.toLocaleString()} of ${total.toLocaleString()} tasks`}
      </Pager>
    </section>
  )
}

const COLUMNS = [
  'task',
  'state',
  'reason',
  'pool',
  'try',
  'worker',
  'job',
  'host',
  'exit',
  'duration',
  'started',
  'modifiers',
  'profile',
  'actions',
] as const

const SORT_OPTIONS = [
  { value: 'index', label: 'plan order' },
  { value: '-duration', label: 'longest first' },
  { value: 'duration', label: 'shortest first' },
  { value: 'started', label: 'started first' },
  { value: '-started', label: 'started last' },
  { value: 'state', label: 'state' },
  { value: 'pool', label: 'pool' },
  { value: 'worker', label: 'worker' },
]

function SortButton({
  testId,
  title,
  onClick,
  children,
}: {
  testId: string
  title: string
  onClick: () => void
  children: ReactNode
}) {
  return (
    <button type="button" className="linklike" onClick={onClick} data-testid={testId} title={title}>
      {children}
    </button>
  )
}

interface RowActions {
  select(t: TaskView): void
  openLog(t: TaskView): void
  worker(id: string): void
  cancel(t: TaskView): void
  retry(t: TaskView): void
}

interface TaskRowProps {
  t: TaskView
  color: string | undefined
  selected: boolean
  busy: boolean
  actions: RowActions
}

const TaskRow = memo(function TaskRow({ t, color, selected, busy, actions }: TaskRowProps) {
  const p = profileSummary(t.metrics)
  return (
    <tr
      data-testid={`task-row-${t.id}`}
      data-state={t.state}
      data-stage={t.stageId}
      className={selected ? 'is-selected' : undefined}
      onClick={() => actions.select(t)}
      style={{ height: ROW_PX }}
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
        <span style={{ color }}>{t.pool}</span>
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
              actions.worker(t.workerId ?? '')
            }}
          >
            {shortId(t.workerId, 6)}
          </button>
        ) : (
          '–'
        )}
      </td>
      <td className="mono">{t.batchJobId ?? '–'}</td>
      <td title={t.host ?? undefined}>{t.host ?? '–'}</td>
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
      <td className="tt-profile" data-testid={`task-profile-${t.id}`} title={p.title || undefined}>
        {p.text}
        {p.title ? <span className="muted"> ⓘ</span> : null}
      </td>
      {/** biome-ignore lint/a11y/useKeyWithClickEvents: stops a click on the buttons from selecting the row; the buttons take the keys */}
      <td className="tt-actions" onClick={(e) => e.stopPropagation()}>
        <div className="tt-actions-in">
          <button
            type="button"
            onClick={() => actions.openLog(t)}
            data-testid={`task-log-open-${t.id}`}
            title="Show the log"
          >
            log
          </button>
          {t.state === 'pending' || t.state === 'queued' || t.state === 'running' || t.state === 'retrying' ? (
            <button type="button" onClick={() => actions.cancel(t)} disabled={busy} title="Cancel this task">
              cancel
            </button>
          ) : null}
          {t.state === 'failed' || t.state === 'lost' || t.state === 'cancelled' ? (
            <button type="button" onClick={() => actions.retry(t)} disabled={busy} title="Retry this task">
              retry
            </button>
          ) : null}
        </div>
      </td>
    </tr>
  )
})
