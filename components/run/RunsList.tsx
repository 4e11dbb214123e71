'use client'
/**
 * /runs: every run, newest first, with filters (state, workflow, backend) kept in the URL, and the
 * history of one workflow (/runs?workflow=<id>) with a button to run its head version.
 * Refreshed every few seconds while a listed run is active.
 */
import Link from 'next/link'
import { useRouter } from 'next/navigation'
import { useMemo, useState } from 'react'
import { keepPreviousData, useQuery } from '@tanstack/react-query'
import { useTRPC } from '~/components/trpc/client'
import { FINISHED_RUN_STATES, formatDuration, formatTime, RUN_STATE_NAMES, shortId, STATE_COLORS } from './aggregate'
import { StateBadge } from './RunHeader'
import { StartRunButton } from './StartRunButton'
import type { RunListItem } from './types'
import './run.css'

export interface RunsFilters {
  workflow: string
  state: string
  backend: string
}

const BACKENDS = ['local', 'dask']
const PAGE = 50

export function RunsList({ initial }: { initial: RunsFilters }) {
  const trpc = useTRPC()
  const router = useRouter()
  const [f, setF] = useState<RunsFilters>(initial)
  const set = (patch: Partial<RunsFilters>) => {
    const next = { ...f, ...patch }
    setF(next)
    const qs = new URLSearchParams()
    if (next.workflow) qs.set('workflow', next.workflow)
    if (next.state) qs.set('state', next.state)
    if (next.backend) qs.set('backend', next.backend)
    router.replace(`/runs${qs.size ? `?${qs}` : ''}`, { scroll: false })
  }

  const workflows = useQuery(trpc.workflow.list.queryOptions({ includeArchived: true, limit: 500 }))
  const wf = useQuery({ ...trpc.workflow.get.queryOptions({ id: f.workflow }), enabled: !!f.workflow })

  // pages by cursor (run.list's strict input takes no `direction`, so no useInfiniteQuery)
  const [cursors, setCursors] = useState<(string | null)[]>([null])
  const cursor = cursors[cursors.length - 1]
  const filterKey = `${f.workflow}|${f.state}`
  const [lastKey, setLastKey] = useState(filterKey)
  if (lastKey !== filterKey) {
    setLastKey(filterKey)
    setCursors([null])
  }
  const input = {
    ...(f.workflow ? { workflowId: f.workflow } : {}),
    ...(f.state ? { state: f.state as (typeof RUN_STATE_NAMES)[number] } : {}),
    cursor,
    limit: PAGE,
  }
  const list = useQuery({
    ...trpc.run.list.queryOptions(input),
    placeholderData: keepPreviousData,
    staleTime: 0,
    refetchInterval: (q) => (q.state.data?.items.some((r) => !FINISHED_RUN_STATES.has(r.state)) ? 3000 : 15000),
  })
  const all = useMemo(() => list.data?.items ?? [], [list.data])
  // the list procedure has no backend filter: applied here, to the page read
  const rows = f.backend ? all.filter((r) => r.backend === f.backend) : all
  const head = wf.data?.workflow.head

  return (
    <div className="run-page runs-list" data-testid="runs-list">
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
      <div className="rl-filters">
        <label>
          workflow
          <select
            value={f.workflow}
            onChange={(e) => set({ workflow: e.target.value })}
            data-testid="runs-filter-workflow"
          >
            <option value="">all</option>
            {f.workflow && !workflows.data?.items.some((w) => w.id === f.workflow) ? (
              <option value={f.workflow}>{wf.data?.workflow.name ?? f.workflow}</option>
            ) : null}
            {workflows.data?.items.map((w) => (
              <option key={w.id} value={w.id}>
                {w.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          state
          <select value={f.state} onChange={(e) => set({ state: e.target.value })} data-testid="runs-filter-state">
            <option value="">all</option>
            {RUN_STATE_NAMES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          backend
          <select
            value={f.backend}
            onChange={(e) => set({ backend: e.target.value })}
            data-testid="runs-filter-backend"
          >
            <option value="">all</option>
            {BACKENDS.map((b) => (
              <option key={b} value={b}>
                {b}
              </option>
            ))}
          </select>
        </label>
        {f.workflow || f.state || f.backend ? (
          <button type="button" onClick={() => set({ workflow: '', state: '', backend: '' })}>
            clear
          </button>
        ) : null}
      </div>
      {list.error ? (
        <div className="run-alert" role="alert">
          {list.error.message}
        </div>
      ) : null}
      <table className="rl-table">
        <thead>
          <tr>
            <th>run</th>
            {f.workflow ? null : <th>workflow</th>}
            <th>version</th>
            <th>state</th>
            <th>backend / strategy</th>
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
            <tr>
              <td colSpan={9} className="muted rl-empty">
                {f.workflow || f.state || f.backend
                  ? 'No run matches the filters.'
                  : 'No runs yet. Open a workflow and run it.'}
              </td>
            </tr>
          ) : null}
        </tbody>
      </table>
      <div className="tt-pager">
        <button type="button" disabled={cursors.length === 1} onClick={() => setCursors((c) => c.slice(0, -1))}>
          ‹ newer
        </button>
        <span className="muted">page {cursors.length}</span>
        <button
          type="button"
          disabled={!list.data?.nextCursor}
          onClick={() => list.data?.nextCursor && setCursors((c) => [...c, list.data!.nextCursor])}
        >
          older ›
        </button>
        {list.isFetching ? <span className="muted">…</span> : null}
      </div>
    </div>
  )
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
      <td>
        <span
          className="rl-progress"
          title={Object.entries(c)
            .map(([k, v]) => `${v} ${k}`)
            .join(', ')}
        >
          {done}/{r.total}
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
