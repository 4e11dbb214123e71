'use client'
/**
 * /runs: every run, newest first, with filters (workflow, state, backend, strategy, owner) and a
 * search (run id or workflow name) kept in the URL and applied on the server, pages of 50 by cursor
 * (thousands of runs), and the history of one workflow (/runs?workflow=<id>) with a button to run
 * its head version. Refreshed every few seconds while a listed run is active.
 */
import Link from 'next/link'
import { useRouter } from 'next/navigation'
import { useMemo, useState } from 'react'
import { keepPreviousData, useQuery } from '@tanstack/react-query'
import { useTRPC } from '~/components/trpc/client'
import { useDebounced } from '~/components/ui/useDebounced'
import { FINISHED_RUN_STATES, formatDuration, formatTime, RUN_STATE_NAMES, shortId, STATE_COLORS } from './aggregate'
import { StateBadge } from './RunHeader'
import { StartRunButton } from './StartRunButton'
import type { RunListItem } from './types'
import './run.css'

export interface RunsFilters {
  workflow: string
  state: string
  backend: string
  strategy: string
  owner: string
  q: string
}

export const NO_RUN_FILTERS: RunsFilters = { workflow: '', state: '', backend: '', strategy: '', owner: '', q: '' }
const BACKENDS = ['local', 'dask']
const STRATEGIES = ['local', 'slurm', 'htcondor']
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
    refetchInterval: (q) => (q.state.data?.items.some((r) => !FINISHED_RUN_STATES.has(r.state)) ? 3000 : 15000),
  })
  const rows = useMemo(() => list.data?.items ?? [], [list.data])
  const matching = list.data?.matching ?? 0
  const anyFilter = Object.values(f).some(Boolean)
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
          search
          <input
            type="search"
            value={f.q}
            placeholder="run id or workflow name"
            onChange={(e) => set({ q: e.target.value })}
            data-testid="runs-search"
          />
        </label>
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
        <label>
          strategy
          <select
            value={f.strategy}
            onChange={(e) => set({ strategy: e.target.value })}
            data-testid="runs-filter-strategy"
          >
            <option value="">all</option>
            {STRATEGIES.map((b) => (
              <option key={b} value={b}>
                {b}
              </option>
            ))}
          </select>
        </label>
        <label>
          owner
          <input
            value={f.owner}
            placeholder="user name"
            size={10}
            onChange={(e) => set({ owner: e.target.value })}
            data-testid="runs-filter-owner"
          />
        </label>
        {anyFilter ? (
          <button type="button" onClick={() => set(NO_RUN_FILTERS)}>
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
            <tr>
              <td colSpan={11} className="muted rl-empty">
                {anyFilter ? 'No run matches the filters.' : 'No runs yet. Open a workflow and run it.'}
              </td>
            </tr>
          ) : null}
        </tbody>
      </table>
      <div className="tt-pager">
        <button type="button" disabled={cursors.length === 1} onClick={() => setCursors((c) => c.slice(0, -1))}>
          ‹ newer
        </button>
        <span className="muted" data-testid="runs-page">
          page {cursors.length} of {Math.max(1, Math.ceil(matching / PAGE))} · {matching.toLocaleString()} run
          {matching === 1 ? '' : 's'}
        </span>
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
      <td className="muted">{r.site ?? '–'}</td>
      <td data-testid={`run-owner-${r.id}`}>{r.owner ?? <span className="muted">–</span>}</td>
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
