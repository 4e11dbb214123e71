'use client'
/**
 * The timeline: one lane per worker, grouped by pool (packed lanes where a pool has thousands of
 * one-task workers), tasks as bars coloured by state. SVG; tiny bars are coalesced (gantt.ts), so a
 * 10,000-task run draws a bounded number of rectangles. Click a bar to open its task.
 * Keyboard: the bars are one tab stop (roving tabindex); arrow keys move between them (ganttKeys.ts),
 * Enter or Space opens the task as a click does; the focused bar has a visible ring.
 * Zoom with the buttons or Ctrl + wheel (around the pointer), pan by dragging the plot; the axis is
 * labelled from the run's start. Pure window arithmetic: gantt.ts (zoomWindow, panWindow, windowTicks).
 */
import { memo, useEffect, useMemo, useRef, useState } from 'react'
import { formatDuration, STATE_COLORS } from './aggregate'
import { nextBar } from './ganttKeys'
import {
  buildLanes,
  coalesceBars,
  panWindow,
  pendingSegment,
  type TimeWindow,
  TIMELINE_STATES,
  timelineEnd,
  windowTicks,
  zoomWindow,
  type GanttTask,
  type GanttWorker,
} from './gantt'

const LABEL_W = 150
const LANE_H = 16
/** a bar label's width per character (9 px sans-serif), to draw it only where it fits */
const LABEL_CHAR_PX = 6
const POOL_H = 20
const AXIS_H = 18
const MAX_LANES_SHOWN = 400

export interface GanttProps {
  tasks: GanttTask[]
  workers: GanttWorker[]
  poolOrder: string[]
  colors: Record<string, string>
  t0: number | null
  t1: number
  now: number
  truncated: boolean
  /** tasks reused from an earlier run (not drawn: they did not run in this one) */
  reused?: number
  selectedTaskId: string | null
  onSelectTask: (id: string) => void
}

function useWidth<T extends HTMLElement>(): [React.RefObject<T | null>, number] {
  const ref = useRef<T>(null)
  const [w, setW] = useState(900)
  useEffect(() => {
    const el = ref.current
    if (!el) return
    setW(el.clientWidth)
    const ro = new ResizeObserver((es) => {
      const first = es[0]
      if (first) setW(Math.floor(first.contentRect.width))
    })
    ro.observe(el)
    return () => ro.disconnect()
  }, [])
  return [ref, w]
}

export const Gantt = memo(function Gantt({
  tasks,
  workers,
  poolOrder,
  colors,
  t0: runStart,
  t1,
  now,
  truncated,
  reused = 0,
  selectedTaskId,
  onSelectTask,
}: GanttProps) {
  const [box, width] = useWidth<HTMLDivElement>()
  const plotW = Math.max(200, width - LABEL_W - 8)
  const t0 = useMemo(() => {
    let m = runStart ?? Infinity
    for (const t of tasks) if (t.start < m) m = t.start
    return Number.isFinite(m) ? m : now
  }, [tasks, runStart, now])
  const end = timelineEnd(t0, t1)
  // the window shown: null = the whole run (follows a live run's growing end)
  const [view, setView] = useState<TimeWindow | null>(null)
  const bounds = useMemo(() => ({ from: t0, to: end }), [t0, end])
  const v0 = view ? Math.max(t0, view.from) : t0
  const v1 = view ? Math.min(end, view.to) : end
  const scale = (t: number) => ((t - v0) / (v1 - v0)) * plotW
  const zoom = (factor: number, center = (v0 + v1) / 2) => {
    const next = zoomWindow({ from: v0, to: v1 }, factor, center, bounds)
    setView(next.from <= t0 && next.to >= end ? null : next)
  }
  const drag = useRef<{ x: number; from: number; to: number } | null>(null)
  // Ctrl + wheel zooms around the pointer (a non-passive listener: React's onWheel cannot prevent
  // the browser's own Ctrl + wheel page zoom); the plain wheel scrolls the page
  const wheelZoom = useRef<(e: WheelEvent) => void>(() => {})
  wheelZoom.current = (e: WheelEvent) => {
    if (!e.ctrlKey) return
    e.preventDefault()
    const rect = (e.currentTarget as HTMLElement).getBoundingClientRect()
    const x = e.clientX - rect.left - LABEL_W + (e.currentTarget as HTMLElement).scrollLeft
    zoom(e.deltaY < 0 ? 0.8 : 1.25, v0 + (Math.max(0, Math.min(plotW, x)) / plotW) * (v1 - v0))
  }
  useEffect(() => {
    const el = box.current
    if (!el) return
    const onWheel = (e: WheelEvent) => wheelZoom.current(e)
    el.addEventListener('wheel', onWheel, { passive: false })
    return () => el.removeEventListener('wheel', onWheel)
  }, [box])

  const groups = useMemo(() => buildLanes(tasks, workers, { now, poolOrder }), [tasks, workers, now, poolOrder])
  const rows = useMemo(() => {
    const out: (
      | { kind: 'pool'; pool: string; text: string }
      | { kind: 'lane'; key: string; pool: string; label: string; title: string; bars: ReturnType<typeof coalesceBars> }
    )[] = []
    let lanes = 0
    const byId = new Map(workers.map((w) => [w.id, w]))
    for (const g of groups) {
      out.push({
        kind: 'pool',
        pool: g.pool,
        text: `${g.pool} · ${g.workers} worker${g.workers === 1 ? '' : 's'}${g.packed ? ' (tasks packed into lanes)' : ''}`,
      })
      for (const l of g.lanes) {
        if (lanes++ >= MAX_LANES_SHOWN) break
        const w = l.workerId ? byId.get(l.workerId) : undefined
        out.push({
          kind: 'lane',
          key: l.key,
          pool: l.pool,
          label: l.label,
          title: w
            ? `${l.label}: ${w.state}${w.host ? ` on ${w.host}` : ''}${w.batchJobId ? ` · batch id ${w.batchJobId}` : ''}`
            : l.label,
          bars: coalesceBars(l.tasks, (t) => ((t - v0) / (v1 - v0)) * plotW, now).filter(
            (b) => b.x + b.w >= 0 && b.x <= plotW,
          ),
        })
      }
    }
    return out
  }, [groups, workers, v0, v1, plotW, now])

  const ticks = useMemo(() => windowTicks(t0, v0, v1, Math.max(3, Math.floor(plotW / 90))), [t0, v0, v1, plotW])
  let y = AXIS_H
  const laid = rows.map((r) => {
    const top = y
    y += r.kind === 'pool' ? POOL_H : LANE_H
    return { r, top }
  })
  const height = y + 4
  const bars = rows.reduce((n, r) => n + (r.kind === 'lane' ? r.bars.length : 0), 0)
  // keyboard: one bar holds the tab stop (the focused one, else the selected, else the first)
  const svgRef = useRef<SVGSVGElement>(null)
  const [focused, setFocused] = useState<string | null>(null)
  const navLanes = rows.flatMap((r) =>
    r.kind === 'lane' ? [{ bars: r.bars.map((b) => ({ id: b.task.id, x: b.x + b.w / 2 })) }] : [],
  )
  const has = (id: string | null) => id != null && navLanes.some((l) => l.bars.some((b) => b.id === id))
  const tabStop = has(focused)
    ? focused
    : has(selectedTaskId)
      ? selectedTaskId
      : (navLanes.find((l) => l.bars.length)?.bars[0]?.id ?? null)
  const onBarKey = (e: React.KeyboardEvent<SVGSVGElement>) => {
    const id = (e.target as Element).getAttribute?.('data-task')
    if (!id) return
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault()
      onSelectTask(id)
      return
    }
    const to = nextBar(navLanes, id, e.key)
    if (!to) return
    e.preventDefault()
    setFocused(to)
    svgRef.current?.querySelector<SVGRectElement>(`rect[data-task="${CSS.escape(to)}"]`)?.focus()
  }

  return (
    <section className="run-panel gantt-panel" data-testid="gantt" data-tasks={tasks.length} data-bars={bars}>
      <div className="panel-head">
        <h2>Timeline</h2>
        <span className="muted">
          {tasks.length} task{tasks.length === 1 ? '' : 's'} started{truncated ? ' (first 10,000 shown)' : ''} ·{' '}
          {/* the run's own span (as the header's duration); the plot is at least 1 s wide */}
          <span data-testid="gantt-span">{formatDuration(Math.max(0, t1 - t0))}</span>
          {view ? (
            <span data-testid="gantt-window">
              {' '}
              · showing {formatDuration(v0 - t0)}–{formatDuration(v1 - t0)}
            </span>
          ) : null}
          {reused ? ` · ${reused} reused from the earlier run (not drawn)` : ''}
        </span>
        <span className="gantt-zoom">
          <button type="button" onClick={() => zoom(0.5)} aria-label="zoom in" data-testid="gantt-zoom-in">
            +
          </button>
          <button type="button" onClick={() => zoom(2)} aria-label="zoom out" data-testid="gantt-zoom-out">
            −
          </button>
          <button type="button" onClick={() => setView(null)} disabled={!view} data-testid="gantt-zoom-fit">
            fit
          </button>
        </span>
        <span className="gantt-legend">
          {TIMELINE_STATES.map((s) => (
            <span key={s}>
              <i style={{ background: STATE_COLORS[s] }} /> {s}
            </span>
          ))}
        </span>
      </div>
      <div className="gantt-scroll" ref={box}>
        {tasks.length === 0 && workers.length === 0 ? (
          <div className="muted gantt-empty">No task has started yet.</div>
        ) : (
          // the keys are handled here for every bar (onBarKey): one listener, not one per rectangle;
          // an <svg> cannot be a <fieldset>
          // biome-ignore lint/a11y/useSemanticElements: the group of bars is the svg itself
          <svg
            ref={svgRef}
            width={LABEL_W + plotW + 4}
            height={height}
            role="group"
            aria-label="timeline of tasks per worker: arrow keys move between bars, Enter opens a task"
            onKeyDown={onBarKey}
            onFocus={(e) => {
              const id = (e.target as Element).getAttribute?.('data-task')
              if (id) setFocused(id)
            }}
            data-from={Math.round(v0 - t0)}
            data-to={Math.round(v1 - t0)}
            onClick={(e) => {
              const id = (e.target as Element).getAttribute?.('data-task')
              if (id) onSelectTask(id)
            }}
            onPointerDown={(e) => {
              if (!view || (e.target as Element).getAttribute?.('data-task')) return
              drag.current = { x: e.clientX, from: v0, to: v1 }
              e.currentTarget.setPointerCapture(e.pointerId)
            }}
            onPointerMove={(e) => {
              const d = drag.current
              if (!d) return
              const dt = (-(e.clientX - d.x) / plotW) * (d.to - d.from)
              setView(panWindow({ from: d.from, to: d.to }, dt, bounds))
            }}
            onPointerUp={() => {
              drag.current = null
            }}
            style={view ? { cursor: 'grab' } : undefined}
          >
            <defs>
              <clipPath id="gantt-plot-clip">
                <rect x={0} y={0} width={plotW} height={height} />
              </clipPath>
            </defs>
            <g transform={`translate(${LABEL_W},0)`} className="gantt-axis">
              {ticks.map((t) => (
                <g key={t.t} transform={`translate(${scale(t.t)},0)`}>
                  <line y1={AXIS_H - 4} y2={height} />
                  <text y={AXIS_H - 6} x={2}>
                    {t.label}
                  </text>
                </g>
              ))}
              {t1 >= now - 1500 && now <= v1 && now >= v0 ? (
                <line className="gantt-now" x1={scale(now)} x2={scale(now)} y1={AXIS_H - 4} y2={height} />
              ) : null}
            </g>
            {laid.map(({ r, top }) =>
              r.kind === 'pool' ? (
                <g key={`pool-${r.pool}`} transform={`translate(0,${top})`} className="gantt-pool">
                  <rect x={0} y={2} width={4} height={POOL_H - 4} fill={colors[r.pool] ?? '#888'} />
                  <text x={8} y={POOL_H - 6} fill={colors[r.pool] ?? undefined}>
                    {r.text}
                  </text>
                </g>
              ) : (
                <g key={r.key} transform={`translate(0,${top})`} className="gantt-lane" data-lane={r.key}>
                  <title>{r.title}</title>
                  <text x={12} y={LANE_H - 4}>
                    {r.label}
                  </text>
                  <g transform={`translate(${LABEL_W},0)`} clipPath="url(#gantt-plot-clip)">
                    <rect className="gantt-lane-bg" x={0} y={1} width={plotW} height={LANE_H - 2} />
                    {r.bars.map((b) => {
                      const wait = b.count === 1 ? pendingSegment(b.task, scale) : null
                      return wait ? (
                        <rect
                          key={`q-${b.task.id}`}
                          className="gantt-pending"
                          x={wait.x}
                          y={LANE_H / 2 - 1}
                          width={wait.w}
                          height={2}
                          data-pending={b.task.id}
                        >
                          <title>{`${b.task.stage}: ${formatDuration(wait.w && b.task.queuedAt != null ? b.task.start - b.task.queuedAt : 0)} waiting in the queue`}</title>
                        </rect>
                      ) : null
                    })}
                    {r.bars.map((b) => (
                      // biome-ignore lint/a11y/useSemanticElements: an SVG bar cannot be a <button>; its keys are the svg's onKeyDown
                      <rect
                        key={b.task.id}
                        role="button"
                        tabIndex={b.task.id === tabStop ? 0 : -1}
                        aria-label={
                          b.count > 1
                            ? `${b.count} tasks from ${b.task.stage}, ${b.state} shown`
                            : `${b.task.stage}, ${b.state}, ${formatDuration((b.task.end ?? now) - b.task.start)}`
                        }
                        aria-pressed={b.task.id === selectedTaskId}
                        x={b.x}
                        y={2}
                        width={b.w}
                        height={LANE_H - 4}
                        rx={2}
                        fill={STATE_COLORS[b.state] ?? '#888'}
                        className={b.task.id === selectedTaskId ? 'is-selected' : undefined}
                        data-task={b.task.id}
                        data-state={b.state}
                      >
                        <title>
                          {b.count > 1
                            ? `${b.count} tasks from ${b.task.stage}… (${b.state} shown)`
                            : `${b.task.stage} · ${b.state} · ${formatDuration((b.task.end ?? now) - b.task.start)}`}
                        </title>
                      </rect>
                    ))}
                    {r.bars.map((b) => {
                      // the stage's name inside a bar wide enough for it (the bar itself carries the accessible name)
                      const text = b.count > 1 ? `${b.count} × ${b.task.stage}` : b.task.stage
                      return b.w >= text.length * LABEL_CHAR_PX + 8 ? (
                        <text
                          key={`l-${b.task.id}`}
                          className="gantt-bar-label"
                          x={b.x + 4}
                          y={LANE_H - 5}
                          aria-hidden
                          data-label-for={b.task.id}
                        >
                          {text}
                        </text>
                      ) : null
                    })}
                  </g>
                </g>
              ),
            )}
          </svg>
        )}
      </div>
    </section>
  )
})
