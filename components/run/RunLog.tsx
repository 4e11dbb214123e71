'use client'
/**
 * The run-wide log: every task's lines (run.logLines: a page of 200 tasks at a time, their last
 * 32 KiB per stream, redacted on the server) with the time each line was written (to the
 * millisecond; stdout and stderr interleaved as written), task and stage, filtered by stage, pool and
 * state on the server and by a regular expression here; follows the run while it is active;
 * the whole log is one download (/runs/<id>/log). Rows are virtualised.
 */
import { useVirtualizer } from '@tanstack/react-virtual'
import { useQuery } from '@tanstack/react-query'
import { useMemo, useRef, useState } from 'react'
import { useTRPC } from '~/components/trpc/client'
import { FilterBar } from '~/components/ui/FilterBar'
import { useDebounced } from '~/components/ui/useDebounced'
import { STATE_COLORS, TASK_STATE_ORDER } from './aggregate'
import type { RunDetail } from './types'
import { Pager, poolField, stageField } from './ListParts'

const ROW_PX = 18
const STATE_OPTIONS = TASK_STATE_ORDER.map((value) => ({ value }))
const FOLLOW_MS = 2000

/** a line's time on the page: 14:03:07.215 (local time, to the millisecond) */
export function formatLineTime(ms: number | null): string {
  if (ms == null) return '–'
  const d = new Date(ms)
  const two = (n: number) => String(n).padStart(2, '0')
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, '0')}`
}

/** a user's pattern as a RegExp, or the reason it is not one */
export function compilePattern(src: string): { re: RegExp | null; error: string | null } {
  if (!src) return { re: null, error: null }
  if (src.length > 200) return { re: null, error: 'the pattern is longer than 200 characters' }
  try {
    return { re: new RegExp(src, 'i'), error: null }
  } catch (e) {
    return { re: null, error: `not a regular expression: ${(e as Error).message}` }
  }
}

export function RunLog({ runId, detail, active }: { runId: string; detail: RunDetail; active: boolean }) {
  const trpc = useTRPC()
  const [open, setOpen] = useState(false)
  const [stage, setStage] = useState('')
  const [pool, setPool] = useState('')
  const [state, setState] = useState('')
  const [pattern, setPattern] = useState('')
  const [follow, setFollow] = useState(true)
  const [page, setPage] = useState(0)
  const debounced = useDebounced(pattern, 200)
  const { re, error } = useMemo(() => compilePattern(debounced), [debounced])
  const input = {
    runId,
    ...(stage ? { stage } : {}),
    ...(pool ? { pool } : {}),
    ...(state ? { state: state as (typeof TASK_STATE_ORDER)[number] } : {}),
    cursor: page * 200,
  }
  const q = useQuery({
    ...trpc.run.logLines.queryOptions(input),
    enabled: open,
    refetchInterval: open && follow && active ? FOLLOW_MS : false,
  })
  const lines = useMemo(() => {
    const all = q.data?.lines ?? []
    return re ? all.filter((l) => re.test(l.text)) : all
  }, [q.data, re])
  const scroller = useRef<HTMLDivElement>(null)
  const v = useVirtualizer({
    count: lines.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_PX,
    overscan: 30,
  })
  const lastCount = useRef(0)
  if (follow && lines.length !== lastCount.current && lines.length > 0) {
    lastCount.current = lines.length
    queueMicrotask(() => v.scrollToIndex(lines.length - 1, { align: 'end' }))
  }
  const qs = new URLSearchParams({
    ...(stage ? { stage } : {}),
    ...(pool ? { pool } : {}),
    ...(state ? { state } : {}),
  })
  const total = q.data?.total ?? 0
  const pages = Math.max(1, Math.ceil(total / 200))

  return (
    <section className="run-panel run-log" data-testid="run-log">
      <div className="panel-head">
        <h2>
          <button
            type="button"
            className="linklike"
            aria-expanded={open}
            onClick={() => setOpen((o) => !o)}
            data-testid="run-log-toggle"
          >
            {open ? '▾' : '▸'} All logs
          </button>
        </h2>
        {open ? (
          <FilterBar
            className="tt-filters"
            fields={[
              stageField(stage, detail.stages, 'run-log-stage'),
              poolField(pool, detail.pools, 'run-log-pool'),
              {
                kind: 'select',
                name: 'state',
                label: 'state',
                value: state,
                testId: 'run-log-state',
                options: STATE_OPTIONS,
              },
              {
                kind: 'search',
                name: 'pattern',
                label: 'search',
                value: pattern,
                placeholder: 'regular expression',
                invalid: !!error,
                testId: 'run-log-search',
              },
            ]}
            onChange={(name, value) => {
              if (name === 'pattern') return setPattern(value)
              if (name === 'stage') setStage(value)
              else if (name === 'pool') setPool(value)
              else setState(value)
              setPage(0)
            }}
          >
            <label title="Keep the newest lines in view and re-read while the run is active">
              <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} /> follow
            </label>
            <a
              className="button"
              href={`/runs/${encodeURIComponent(runId)}/log${qs.size ? `?${qs}` : ''}`}
              download
              data-testid="run-log-download"
            >
              download
            </a>
          </FilterBar>
        ) : null}
      </div>
      {open ? (
        <>
          {error ? (
            <div className="run-alert" role="alert" data-testid="run-log-error">
              {error}
            </div>
          ) : null}
          {q.error ? (
            <div className="run-alert" role="alert">
              {q.error.message}
            </div>
          ) : null}
          <div className="rlog-scroll" ref={scroller} data-testid="run-log-lines" data-lines={lines.length}>
            <div style={{ height: v.getTotalSize(), position: 'relative' }}>
              {v.getVirtualItems().map((item) => {
                const l = lines[item.index]!
                return (
                  <div
                    key={item.key}
                    className={`rlog-line is-${l.stream}`}
                    style={{ top: item.start, height: ROW_PX }}
                    data-task={l.taskId}
                  >
                    <span className="rlog-at muted" title={l.at ? new Date(l.at).toISOString() : undefined}>
                      {formatLineTime(l.at)}
                    </span>
                    <span className="rlog-task" title={`task ${l.taskId} · pool ${l.pool} · ${l.state}`}>
                      <i style={{ background: STATE_COLORS[l.state] ?? '#888' }} />
                      {l.stage}
                      {l.partition ? ` ${l.partition}` : ''}
                    </span>
                    <span className="rlog-text">{l.text}</span>
                  </div>
                )
              })}
            </div>
            {lines.length === 0 && !q.isLoading ? (
              <div className="muted rlog-empty">{re ? 'No line matches.' : 'No output yet.'}</div>
            ) : null}
          </div>
          <Pager
            testId="run-log-page"
            back={{ label: '‹ earlier tasks', disabled: page === 0, onClick: () => setPage((p) => p - 1) }}
            forward={{ label: 'later tasks ›', disabled: page + 1 >= pages, onClick: () => setPage((p) => p + 1) }}
          >
            tasks {total ? page * 200 + 1 : 0}–{Math.min(total, (page + 1) * 200)} of {total} · {lines.length} lines
            {q.data?.truncated ? ' (each log’s last 32 KiB: download for everything)' : ''}
          </Pager>
        </>
      ) : null}
    </section>
  )
}
