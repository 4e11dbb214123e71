'use client'
/**
 * /runs: every run, newest first, with filters (workflow, state, backend, strategy, owner) and a
 * search (run id or workflow name) kept in the URL and applied on the server, pages of 50 by cursor
 * (thousands of runs), and the history of one workflow (/runs?workflow=<id>) with a button to run
 * its head version. Live: the page listens to the summary stream of every run (`/api/events?summary=1`:
 * which runs each batch of events touched, and their state changes) and re-reads itself, at most once
 * per REFRESH_MS, when a listed run moved or a run started or ended (a new run may belong on the first
 * page); never by polling.
 */
import Link from 'next/link'
import { useRouter } from 'next/navigation'
import { useEffect, useMemo, useRef, useState } from 'react'
import { keepPreviousData, useQuery } from '@tanstack/react-query'
import { useTRPC } from '~/components/trpc/client'
import { FilterBar } from '~/components/ui/FilterBar'
import { useDebounced } from '~/components/ui/useDebounced'
import { formatDuration, formatTime, RUN_STATE_NAMES, shortId, STATE_COLORS } from './aggregate'
import { StateBadge } from './RunHeader'
import { StartRunButton } from './StartRunButton'
import type { RunListItem } from './types'
import { useEventStream } from './useEventStream'
import './run.css'
import { EmptyRow, Pager } from './ListParts'

export interface RunsFilters {
  workflow: string
  state: string
  backend: string
  strategy: string
  owner: string
  q: string
}

export const NO_RUN_FILTERS: RunsFilters = { workflow: '', state: '', backend: '', strategy: '', owner: '', q: '' }
const BACKENDS = [{ value: 'local' }, { value: 'dask' }]
const STRATEGIES = [{ value: 'local' }, { value: 'slurm' }, { value: 'htcondor' }]
const RUN_STATE_OPTIONS = RUN_STATE_NAMES.map((value) => ({ value }))
/** a burst of events is one re-read of the page, at most this often */
const REFRESH_MS = 1000
const PAGE = 50

export function RunsList({ initial }: { initial: RunsFilters }) {
  const trpc = useTRPC()
  const router = useRouter()
  const [f, setF] = useState<RunsFilters>(initial)
  const set = (patch: Partial<RunsFilters>) => {
    const next = { ...f, ...patch }
    setF(next)
    const qs = new URLSearchParams()
    for (const k of Object.keys(NO_RUN_FILTERS) as (keyof RunsFilters)[]) if (next[k]) qs.set(k, next[k])
    router.replace(`/runs${qs.size ? `?${qs}` : ''}`, { scroll: false })
  }

  const workflows = useQuery(trpc.workflow.list.queryOptions({ includeArchived: true, limit: 500 }))
  const wf = useQuery({ ...trpc.workflow.get.queryOptions({ id: f.workflow }), enabled: !!f.workflow })

  // pages by cursor (run.list's strict input takes no `direction`, so no useInfiniteQuery)
  const [cursors, setCursors] = useState<(string | null)[]>([null])
  const cursor = cursors[cursors.length - 1]
  const search = useDebounced(f.q.trim(), 250)
  const filterKey = `${f.workflow}|${f.state}|${f.backend}|${f.strategy}|${f.owner}|${search}`
  const [lastKey, setLastKey] = useState(filterKey)
  if (lastKey !== filterKey) {
    setLastKey(filterKey)
    setCursors([null])
  }
  const input = {
    ...(f.workflow ? { workflowId: f.workflow } : {}),
    ...(f.state ? { state: f.state as (typeof RUN_STATE_NAMES)[number] } : {}),
    ...(f.backend ? { backend: f.backend } : {}),
    ...(f.strategy ? { strategy: f.strategy } : {}),
    ...(f.owner ? { owner: f.owner } : {}),
    ...(search ? { q: search } : {}),
    cursor,
    limit: PAGE,
  }
  const list = useQuery({
    ...trpc.run.list.queryOptions(input),
    placeholderData: keepPreviousData,
    staleTime: 0,
  })
  const rows = useMemo(() => list.data?.items ?? [], [list.data])
  const matching = list.data?.matching ?? 0
  const nextCursor = list.data?.nextCursor
  const anyFilter = Object.values(f).some(Boolean)
  const stream = useRunsStream(rows, cursors.length === 1, list.refetch)
  const head = wf.data?.workflow.head

  return (
    <div className="run-page runs-list" data-testid="runs-list" data-stream={stream.status}>
      <div className="rl-head">
        <h1>{f.workflow && wf.data ? <>Runs of {wf.data.workflow.name}</> : 'Runs'}</h1>
        {f.workflow && wf.data ? (
          <span className="rl-wf">
            <Link href={`/workflows/${f.workflow}`}>workflow</Link>
            {head ? (
              <>
                <span className="muted">
                  head v{head.number}
                  {head.valid ? '' : ' (invalid)'}
                </span>
                <StartRunButton versionId={head.id} disabled={!head.valid} />
              </>
            ) : null}
          </span>
        ) : null}
      </div>
      <FilterBar
        className="rl-filters"
        testId="runs-filters"
        fields={[
          {
            kind: 'search',
            name: 'q',
            label: 'search',
            value: f.q,
            placeholder: 'run id or workflow name',
            testId: 'runs-search',
          },
          {
            kind: 'select',
            name: 'workflow',
            label: 'workflow',
            value: f.workflow,
            testId: 'runs-filter-workflow',
            options: [
              ...(f.workflow && !workflows.data?.items.some((w) => w.id === f.workflow)
                ? [{ value: f.workflow, label: wf.data?.workflow.name ?? f.workflow }]
                : []),
              ...(workflows.data?.items.map((w) => ({ value: w.id, label: w.name })) ?? []),
            ],
          },
          {
            kind: 'select',
            name: 'state',
            label: 'state',
            value: f.state,
            testId: 'runs-filter-state',
            options: RUN_STATE_OPTIONS,
          },
          {
            kind: 'select',
            name: 'backend',
            label: 'backend',
            value: f.backend,
            testId: 'runs-filter-backend',
            options: BACKENDS,
          },
          {
            kind: 'select',
            name: 'strategy',
            label: 'strategy',
            value: f.strategy,
            testId: 'runs-filter-strategy',
            options: STRATEGIES,
          },
          {
            kind: 'text',
            name: 'owner',
            label: 'owner',
            value: f.owner,
            placeholder: 'user name',
            size: 10,
            testId: 'runs-filter-owner',
          },
        ]}
        onChange={(name, value) => set({ [name]: value })}
        onClear={() => set(NO_RUN_FILTERS)}
      />
      {list.error ? (
        <div className="run-alert" role="alert">
          {list.error.message}
        </div>
      ) : null}
      {/* a table wider than the window scrolls in its own box, never the page */}
      <div className="rl-scroll">
        <table className="rl-table">
          <thead>
            <tr>
              <th>run</th>
              {f.workflow ? null : <th>workflow</th>}
              <th>version</th>
              <th>state</th>
              <th>backend / strategy</th>
              <th title="the host whose engine dispatched the run">site</th>
              <th>owner</th>
              <th>tasks</th>
              <th>started</th>
              <th>duration</th>
              <th>from</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <RunRow key={r.id} r={r} showWorkflow={!f.workflow} />
            ))}
            {rows.length === 0 && !list.isLoading ? (
              <EmptyRow columns={11} className="rl-empty">
                {anyFilter ? 'No run matches the filters.' : 'No runs yet. Open a workflow and run it.'}
              </EmptyRow>
            ) : null}
          </tbody>
        </table>
      </div>
      <Pager
        testId="runs-page"
        back={{ label: '‹ newer', disabled: cursors.length === 1, onClick: () => setCursors((c) => c.slice(0, -1)) }}
        forward={{
          label: 'older ›',
          disabled: !nextCursor,
          onClick: () => nextCursor && setCursors((c) => [...c, nextCursor]),
        }}
        busy={list.isFetching}
      >
        page {cursors.length} of {Math.max(1, Math.ceil(matching / PAGE))} · {matching.toLocaleString()} run
        {matching === 1 ? '' : 's'}
      </Pager>
    </div>
  )
}

/**
 * Re-reads the list (`refetch`) when the stream says a listed run moved, or any run changed state
 * (on the first page: a new run appears there), at most once per REFRESH_MS; and once when the
 * stream (re)opens (what happened while it was closed).
 */
function useRunsStream(rows: readonly RunListItem[], firstPage: boolean, refetch: () => unknown) {
  const listed = useRef(new Set<string>())
  listed.current = new Set(rows.map((r) => r.id))
  const newest = useRef(firstPage)
  newest.current = firstPage
  const again = useRef(refetch)
  again.current = refetch
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null)
  const soon = () => {
    timer.current ??= setTimeout(() => {
      timer.current = null
      void again.current()
    }, REFRESH_MS)
  }
  useEffect(
    () => () => {
      if (timer.current) clearTimeout(timer.current)
    },
    [],
  )
  return useEventStream({
    runId: null,
    after: null,
    summary: true,
    onOpen: soon,
    onMessage: (m) => {
      const moved = (m.runs ?? []).some((id) => listed.current.has(id))
      const started = newest.current && m.events.some((e) => e.type === 'run.state')
      if (moved || started) soon()
    },
  })
}

function RunRow({ r, showWorkflow }: { r: RunListItem; showWorkflow: boolean }) {
  const c = r.counts as Record<string, number>
  const done = c.succeeded ?? 0
  const failed = (c.failed ?? 0) + (c.lost ?? 0)
  return (
    <tr data-testid={`run-row-${r.id}`} data-state={r.state}>
      <td className="mono">
        <Link href={`/runs/${r.id}`} title={r.id}>
          {shortId(r.id, 10)}
        </Link>
      </td>
      {showWorkflow ? (
        <td>
          <Link href={`/runs?workflow=${r.workflowId}`} title="runs of this workflow">
            {r.workflowName}
          </Link>
        </td>
      ) : null}
      <td>v{r.versionNumber}</td>
      <td>
        <StateBadge state={r.state} />
        {r.error ? (
          <span className="muted rl-error" title={r.error}>
            {' '}
            {r.error}
          </span>
        ) : null}
      </td>
      <td>
        {r.backend} / {r.strategy}
      </td>
      <td className="muted">{r.site ?? '–'}</td>
      <td data-testid={`run-owner-${r.id}`}>{r.owner ?? <span className="muted">–</span>}</td>
      <td>
        <span
          className="rl-progress"
          title={Object.entries(c)
            .map(([k, v]) => `${v} ${k}`)
            .join(', ')}
        >
          {done}/<wbr />
          {r.total}
          {failed ? <span className="error"> · {failed} failed</span> : null}
          {r.total ? (
            <span className="rh-bar small" aria-hidden>
              {(['succeeded', 'failed', 'lost', 'cancelled', 'running', 'queued'] as const).map((s) =>
                c[s] ? (
                  <span key={s} style={{ width: `${(100 * c[s]) / r.total}%`, background: STATE_COLORS[s] }} />
                ) : null,
              )}
            </span>
          ) : null}
        </span>
      </td>
      <td>{formatTime(r.startedAt ?? r.createdAt)}</td>
      <td>{formatDuration(r.durationMs)}</td>
      <td className="muted">{r.source}</td>
    </tr>
  )
}
